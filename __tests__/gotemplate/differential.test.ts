/**
 * Differential test of src/util/gotemplate against Go's text/template: every case of cases.ts
 * is rendered by `helm template` (Go's text/template with sprig) and by our engine, and the
 * outputs must be byte-identical; a template Go rejects must be rejected here too.
 *
 * How helm is made to show raw Go output: each case is a file `templates/_cN.tpl` (not rendered
 * by itself), which one manifest includes with `include "t/templates/_cN.tpl" <data> | b64enc`.
 * Going through include and b64enc keeps helm's post-processing (it replaces "<no value>" in the
 * final manifest and parses it as YAML) away from the case's output. What remains of helm's
 * engine is modelled on our side: missingkey=zero (engine.go sets it outside --strict), values
 * numbers are float64 (values.yaml goes through JSON), and helm's toYaml trims the final newline
 * that the Flux Operator's keeps.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  type GoValue,
  TemplateError,
  fromJSONValue,
  goFunc,
  parseTemplate,
  slimSprigFunctions,
} from '../../src/util/gotemplate/index.js';
import { goYamlMarshal } from '../../src/util/gotemplate/goyaml.js';
import { HELM } from '../support/tools.js';
import { CASES, SHARED, type TemplateCase } from './cases.js';

const run = promisify(execFile);
const CHART = 't';

interface GoResult {
  output?: string;
  error?: string;
}

/** Our engine configured as helm's: slim-sprig plus helm's toYaml, missingkey=zero. */
function ours(c: TemplateCase, index: number): GoResult {
  const functions = {
    ...slimSprigFunctions(),
    toYaml: goFunc(['interface'], (v: GoValue) => {
      try {
        return goYamlMarshal(v).replace(/\n$/, '');
      } catch {
        return '';
      }
    }),
  };
  try {
    const template = parseTemplate(c.t, {
      name: `${CHART}/templates/_c${index}.tpl`,
      missingKey: 'zero',
      functions,
    });
    return { output: template.execute(fromJSONValue(c.data === undefined ? SHARED : c.data, 'float64')) };
  } catch (err) {
    if (err instanceof TemplateError) return { error: err.message };
    throw err;
  }
}

/** Writes a chart holding the given cases and renders it; the outputs by case index. */
async function helmRender(
  dir: string,
  cases: Array<[number, TemplateCase]>,
): Promise<Map<number, GoResult> | GoResult> {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${CHART}\nversion: 0.1.0\n`);
  const values: Record<string, unknown> = { shared: SHARED };
  const lines: string[] = [];
  for (const [i, c] of cases) {
    writeFileSync(join(dir, 'templates', `_c${i}.tpl`), c.t);
    const dataRef = c.data === undefined ? '$.Values.shared' : `$.Values.c${i}`;
    if (c.data !== undefined) values[`c${i}`] = c.data;
    lines.push(`  c${i}: {{ include "${CHART}/templates/_c${i}.tpl" ${dataRef} | b64enc | quote }}`);
  }
  writeFileSync(join(dir, 'values.yaml'), JSON.stringify(values));
  writeFileSync(
    join(dir, 'templates', 'out.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: out\ndata:\n${lines.join('\n')}\n`,
  );
  try {
    const { stdout } = await run(HELM, ['template', 'r', dir], {
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, '.cache'),
        HELM_CONFIG_HOME: join(dir, '.config'),
        HELM_DATA_HOME: join(dir, '.data'),
      },
    });
    const results = new Map<number, GoResult>();
    for (const m of stdout.matchAll(/^ {2}c(\d+): "([^"]*)"$/gm)) {
      results.set(Number(m[1]), { output: Buffer.from(m[2]!, 'base64').toString('utf8') });
    }
    return results;
  } catch (err) {
    return { error: String((err as { stderr?: string }).stderr ?? err).trim() };
  }
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

describe('Go text/template differential (helm template)', () => {
  const root = mkdtempSync(join(tmpdir(), 'gotemplate-diff-'));
  const go = new Map<number, GoResult>();
  let batchError: string | undefined;

  beforeAll(async () => {
    const indexed = CASES.map((c, i) => [i, c] as [number, TemplateCase]);
    const batch = await helmRender(
      join(root, 'batch'),
      indexed.filter(([, c]) => !c.err),
    );
    if (batch instanceof Map) for (const [i, r] of batch) go.set(i, r);
    else batchError = batch.error;
    await pool(
      indexed.filter(([, c]) => c.err),
      3,
      async ([i, c]) => {
        const r = await helmRender(join(root, `err${i}`), [[i, c]]);
        go.set(i, r instanceof Map ? (r.get(i) ?? { error: 'no output' }) : r);
      },
    );
  }, 600_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('renders every case that Go accepts in one helm run', () => {
    expect(batchError).toBeUndefined();
  });

  it('agrees with Go on every case, byte for byte, errors included', () => {
    const disagreements: string[] = [];
    let agreed = 0;
    CASES.forEach((c, i) => {
      const theirs = go.get(i);
      const mine = ours(c, i);
      if (!theirs) {
        disagreements.push(`#${i} ${JSON.stringify(c.t)}: no result from helm`);
        return;
      }
      if (theirs.error !== undefined || mine.error !== undefined) {
        if (theirs.error !== undefined && mine.error !== undefined) agreed++;
        else
          disagreements.push(
            `#${i} ${JSON.stringify(c.t)}: go ${JSON.stringify(theirs.error ?? theirs.output)} ours ${JSON.stringify(mine.error ?? mine.output)}`,
          );
        return;
      }
      if (theirs.output === mine.output) agreed++;
      else
        disagreements.push(
          `#${i} ${JSON.stringify(c.t)}: go ${JSON.stringify(theirs.output)} ours ${JSON.stringify(mine.output)}`,
        );
    });
    expect(disagreements).toEqual([]);
    expect(agreed).toBe(CASES.length);
    expect(agreed).toBeGreaterThanOrEqual(300);
  });

  it('marks as errors exactly the cases Go rejects', () => {
    const wrong = CASES.flatMap((c, i) =>
      Boolean(c.err) === (go.get(i)?.error !== undefined)
        ? []
        : [`#${i} ${JSON.stringify(c.t)}: ${JSON.stringify(go.get(i))}`],
    );
    expect(wrong).toEqual([]);
  });
});
