import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ANNOTATIONS_PER_LEVEL, CappedAnnotations } from '../../src/action/annotations.js';
import { ActionLogger } from '../../src/action/logger.js';

// What the runner reads from the step's log when fluxgate annotates: the real @actions/core
// commands, parsed as actions/runner does (`::command k=v,k=v::data`, properties and data escaped).

let out: string[];
let write: typeof process.stdout.write;
beforeEach(() => {
  out = [];
  write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
});
afterEach(() => {
  process.stdout.write = write;
});

interface Command {
  command: string;
  properties: Record<string, string>;
  data: string;
}

/** actions/runner ActionCommand.TryParseV2 and its unescaping. */
function commands(): Command[] {
  const unescape = (s: string) =>
    s
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%3A/g, ':')
      .replace(/%2C/g, ',')
      .replace(/%25/g, '%');
  return out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('::'))
    .map((line) => {
      const end = line.indexOf('::', 2);
      const [command, props = ''] = line.slice(2, end).split(/ (.*)/s);
      const properties: Record<string, string> = {};
      for (const kv of props.split(',').filter(Boolean)) {
        const i = kv.indexOf('=');
        properties[kv.slice(0, i)] = unescape(kv.slice(i + 1));
      }
      return { command: command!, properties, data: unescape(line.slice(end + 2)) };
    });
}

describe('annotations in the action', () => {
  it('one per file and line, at most as many as GitHub shows, the last saying how many more', () => {
    const log = new CappedAnnotations(new ActionLogger());
    log.error('first', { file: 'apps/web/deployment.yaml', line: 24 });
    log.error('same place', { file: 'apps/web/deployment.yaml', line: 24 });
    for (let i = 0; i < 20; i++) log.error(`error ${i}`, { file: `apps/app-${i}/deployment.yaml`, line: 3 });
    log.warn('a risk', { file: 'apps/web/agent.yaml', line: 5 });
    log.finish();
    const errors = commands().filter((c) => c.command === 'error');
    expect(errors).toHaveLength(ANNOTATIONS_PER_LEVEL);
    const places = errors
      .filter((e) => e.properties.file)
      .map((e) => `${e.properties.file}:${e.properties.line}`);
    expect(new Set(places).size).toBe(places.length);
    expect(errors[0]).toEqual({
      command: 'error',
      properties: { file: 'apps/web/deployment.yaml', line: '24' },
      data: 'first',
    });
    expect(errors.at(-1)!.data).toBe(
      '12 more errors not annotated (GitHub shows 10 per step): see the log and the job summary',
    );
    // Nothing is lost: what is not annotated is in the log as plain text.
    const text = out.join('');
    expect(text).toContain('error: apps/web/deployment.yaml:24: same place\n');
    expect(text).toContain('error: apps/app-19/deployment.yaml:3: error 19\n');
    expect(commands().filter((c) => c.command === 'warning')).toEqual([
      { command: 'warning', properties: { file: 'apps/web/agent.yaml', line: '5' }, data: 'a risk' },
    ]);
  });

  it('exactly one past the cap is annotated itself, not summarized', () => {
    const log = new CappedAnnotations(new ActionLogger());
    for (let i = 0; i < ANNOTATIONS_PER_LEVEL; i++) log.warn(`w${i}`, { file: `f${i}.yaml`, line: 1 });
    log.finish();
    const warnings = commands().filter((c) => c.command === 'warning');
    expect(warnings.map((w) => w.data)).toEqual([...Array(ANNOTATIONS_PER_LEVEL)].map((_, i) => `w${i}`));
    expect(warnings.at(-1)!.properties).toEqual({ file: `f${ANNOTATIONS_PER_LEVEL - 1}.yaml`, line: '1' });
  });

  it('a file name or message from the pull request cannot add a command or a property', () => {
    const log = new CappedAnnotations(new ActionLogger());
    const file = 'apps/x,line=1,title=pwned::y\n::error::pwned-file.yaml';
    log.error('broken\n::error file=a,line=1::pwned-message\n::add-mask::pwned', {
      file,
      line: 7,
      title: 'x,y::z',
    });
    log.finish();
    const found = commands();
    expect(found).toHaveLength(1);
    expect(found[0]).toEqual({
      command: 'error',
      properties: { file, line: '7', title: 'x,y::z' },
      data: 'broken\n::error file=a,line=1::pwned-message\n::add-mask::pwned',
    });
    expect(
      out
        .join('')
        .split('\n')
        .filter((l) => l.includes('pwned') && l.startsWith('::')),
    ).toHaveLength(1);
  });
});

describe('progress in the action', () => {
  it('is a log line at most every few seconds, never a workflow command', () => {
    const log = new CappedAnnotations(new ActionLogger());
    log.progress('head clusters/production: 3/40 owners built, 12s');
    log.progress('head clusters/production: 4/40 owners built, 12s');
    log.progress('::error::pwned 5/40 owners built');
    log.progress('');
    expect(out.join('')).toBe('head clusters/production: 3/40 owners built, 12s\n');
  });
});

jest.setTimeout(30000);
