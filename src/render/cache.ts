/**
 * Build results by the hash of every input of the build: shared in memory between the two sides
 * of a diff (a build whose inputs are equal on base and head runs once), and kept on disk under
 * `--cache-dir` across runs (a pull request's base side is read from what the last run on the
 * main branch stored). An entry is the tool's output text; it is stored only when it holds no
 * Secret (values never reach the disk; their markers are keyed afresh in every run, see
 * secrets.ts), read back only when its schema, key and content hash check out, and written to a
 * temporary file first, then renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VERSION } from '../version.js';
import type { ParseCache } from '../flux/graph.js';

/** Bumped when what a key covers or how an entry is laid out changes: older entries are foreign. */
export const BUILD_CACHE_SCHEMA = 1;
const KEY = /^[0-9a-f]{64}$/;

/** Where each build of a render came from. */
export interface BuildCounts {
  /** Builds that ran a tool (kustomize or helm). */
  built: number;
  /** Builds whose inputs equal a build of this run (the other side of a diff): run once, used twice. */
  shared: number;
  /** Builds read from `--cache-dir`. */
  cached: number;
}

export const noBuilds = (): BuildCounts => ({ built: 0, shared: 0, cached: 0 });

export function addBuilds(to: BuildCounts, from?: BuildCounts): BuildCounts {
  if (from) {
    to.built += from.built;
    to.shared += from.shared;
    to.cached += from.cached;
  }
  return to;
}

/** The hash of a build's inputs: every part in order, fluxgate's version and the schema first. */
export function buildKey(kind: string, inputs: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify({ schema: BUILD_CACHE_SCHEMA, fluxgate: VERSION, kind, inputs }))
    .digest('hex');
}

interface StoredEntry {
  schema: number;
  key: string;
  sha256: string;
  output: string;
}

/** The file under the cache directory that keeps parsed Flux objects by blob id. */
const FLUX_PARSES = 'flux-objects.json';

/** Values by blob id: those a cache directory kept, and what this run parsed or read from them. */
export class KeptParses<V> extends Map<string, V> {
  /** Read from the cache directory. */
  readonly stored = new Map<string, V>();
  private readonly touched = new Set<string>();

  override get(oid: string) {
    const found = super.get(oid) ?? this.stored.get(oid);
    if (found !== undefined) this.touched.add(oid);
    return found;
  }

  override has(oid: string): boolean {
    return super.has(oid) || this.stored.has(oid);
  }

  override set(oid: string, value: V) {
    this.touched.add(oid);
    return super.set(oid, value);
  }

  /** Whether this run parsed a file the kept parses did not have, or left one unused. */
  changed(): boolean {
    return this.size > 0 || [...this.stored.keys()].some((oid) => !this.touched.has(oid));
  }

  used(): [string, V][] {
    return [...this.touched].sort().map((oid) => [oid, this.get(oid)!]);
  }

  /** Keeps `[oid, value]` entries of a stored file whose value passes `valid`. */
  restore(entries: unknown, valid: (value: unknown) => boolean): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries as unknown[])
      if (Array.isArray(entry) && typeof entry[0] === 'string' && valid(entry[1]))
        this.stored.set(entry[0], entry[1] as V);
  }
}

/**
 * What the Flux graph parses from files, by blob id: the Flux objects of each file
 * (flux/graph.ts ParseCache) and the paths each kustomization file references (flux/reach.ts).
 */
export class FluxParses {
  readonly objects = new KeptParses<NonNullable<ReturnType<ParseCache['get']>>>();
  readonly references = new KeptParses<string[]>();

  changed(): boolean {
    return this.objects.changed() || this.references.changed();
  }
}

/**
 * The header line of a stored parse (the JSON of the value follows it): `output` is the sha256
 * of the output it parses, `sha256` that of the value's text.
 */
interface StoredParse {
  schema: number;
  key: string;
  output: string;
  sha256: string;
}

/** JSON of `value`, or undefined when JSON cannot hold it exactly (infinity, NaN, -0: YAML can write them). */
function exactJson(value: unknown): string | undefined {
  let exact = true;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) exact = false;
    return v;
  });
  return exact ? text : undefined;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export type BuildOrigin = keyof BuildCounts;

/**
 * One run's builds (a render, or both sides of a diff). `output` returns a build's result from
 * this run, the cache directory, or by running `build`; a failed build is not remembered.
 */
export class BuildCache {
  private readonly memo = new Map<string, Promise<string>>();

  private readonly parsed = new Map<string, unknown>();

  /** The sha256 of each output this run read from or wrote to the cache directory. */
  private readonly onDisk = new Map<string, string>();

  constructor(
    /** `--cache-dir`: the entries live in its `builds/` directory. */
    private readonly dir?: string,
    /** Whether several renders use it (a diff's two sides): their equal builds are shared. */
    private readonly shared = false,
  ) {}

  /** Whether entries persist across runs (then keys must name tool versions too). */
  get persistent(): boolean {
    return this.dir !== undefined;
  }

  /** Whether a build can be found again (else keys are not worth computing: one render alone). */
  get active(): boolean {
    return this.persistent || this.shared;
  }

  /**
   * The parse of a build's output, once per run: a later render gets its own copy (renders
   * change the objects they are given), cheaper than parsing again. An output kept in the
   * cache directory keeps its parse beside it (JSON reads many times faster than YAML).
   */
  objects<T>(key: string, parse: () => T): T {
    if (this.shared && this.parsed.has(key)) return structuredClone(this.parsed.get(key)) as T;
    const outputSha256 = this.onDisk.get(key);
    let value = outputSha256 === undefined ? undefined : this.readParsed<T>(key, outputSha256);
    if (value === undefined) {
      value = parse();
      if (outputSha256 !== undefined) this.writeParsed(key, outputSha256, value);
    }
    if (this.shared) this.parsed.set(key, structuredClone(value));
    return value;
  }

  /** Whether `output` would find the build without running it (this run's, or the cache directory's). */
  has(key: string): boolean {
    if (this.memo.has(key)) return true;
    if (this.dir === undefined || !KEY.test(key) || !this.confined(key)) return false;
    return lstatSync(this.path(key), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  async output(
    key: string,
    build: () => Promise<string>,
    /** Whether an output may be written to disk (false: it holds a Secret, or may). */
    storable: (output: string) => boolean,
  ): Promise<{ output: string; origin: BuildOrigin }> {
    if (!KEY.test(key)) throw new Error(`build cache: malformed key ${JSON.stringify(key.slice(0, 80))}`);
    const earlier = this.memo.get(key);
    if (earlier) {
      try {
        return { output: await earlier, origin: 'shared' };
      } catch {
        // That build failed: this one runs on its own and reports its own error.
        return { output: await build(), origin: 'built' };
      }
    }
    const stored = this.read(key);
    if (stored !== undefined) {
      this.onDisk.set(key, sha256(stored));
      this.memo.set(key, Promise.resolve(stored));
      return { output: stored, origin: 'cached' };
    }
    const running = build();
    this.memo.set(key, running);
    let output: string;
    try {
      output = await running;
    } catch (err) {
      this.memo.delete(key);
      throw err;
    }
    if (this.dir !== undefined && storable(output) && this.write(key, output))
      this.onDisk.set(key, sha256(output));
    return { output, origin: 'built' };
  }

  /**
   * Flux objects parsed from files by blob id (flux/graph.ts ParseCache), as the last run with
   * this cache directory left them: a fleet's files rarely change between two runs, and parsing
   * them is most of what planning a changed-only diff costs. Empty without a cache directory.
   */
  fluxParses(): FluxParses {
    const parses = new FluxParses();
    if (this.dir === undefined) return parses;
    const stored = this.readChecked('', join(this.dir, FLUX_PARSES));
    if (!stored || stored.header.schema !== BUILD_CACHE_SCHEMA || stored.header.fluxgate !== VERSION)
      return parses;
    try {
      const kept = JSON.parse(stored.body) as { objects?: unknown; references?: unknown } | null;
      parses.objects.restore(kept?.objects, Array.isArray);
      parses.references.restore(
        kept?.references,
        (refs) => Array.isArray(refs) && refs.every((r) => typeof r === 'string'),
      );
    } catch {
      return new FluxParses();
    }
    return parses;
  }

  /** Keeps the parses this run used (only those: the file does not grow with history). */
  keepFluxParses(parses: FluxParses): void {
    if (this.dir === undefined || !parses.changed()) return;
    const body = exactJson({ objects: parses.objects.used(), references: parses.references.used() });
    if (body === undefined) return;
    const header = { schema: BUILD_CACHE_SCHEMA, fluxgate: VERSION, sha256: sha256(body) };
    this.store('', join(this.dir, FLUX_PARSES), `${JSON.stringify(header)}\n${body}`);
  }

  private path(key: string): string {
    return join(this.dir!, 'builds', key.slice(0, 2), `${key}.json`);
  }

  /**
   * Whether the entry's directories are real directories, or absent: a restored cache is not
   * ours to trust, and a symlink in it would lead reads and writes out of the cache directory.
   */
  private confined(key: string): boolean {
    const dirs = key
      ? [this.dir!, join(this.dir!, 'builds'), join(this.dir!, 'builds', key.slice(0, 2))]
      : [this.dir!];
    for (const dir of dirs) {
      const stat = lstatSync(dir, { throwIfNoEntry: false });
      if (stat && !stat.isDirectory()) return false;
    }
    return true;
  }

  /** A stored entry, or undefined when there is none or it is not one of ours intact. */
  private read(key: string): string | undefined {
    if (this.dir === undefined) return undefined;
    let entry: StoredEntry;
    try {
      if (!this.confined(key) || !lstatSync(this.path(key)).isFile()) return undefined;
      entry = JSON.parse(readFileSync(this.path(key), 'utf8')) as StoredEntry;
    } catch {
      return undefined;
    }
    if (
      !entry ||
      typeof entry !== 'object' ||
      entry.schema !== BUILD_CACHE_SCHEMA ||
      entry.key !== key ||
      typeof entry.output !== 'string' ||
      entry.sha256 !== sha256(entry.output)
    )
      return undefined;
    return entry.output;
  }

  /**
   * Atomically: a reader sees the whole entry or none. A failure to store is not the build's.
   * Whether it was stored.
   */
  private write(key: string, output: string): boolean {
    const entry: StoredEntry = { schema: BUILD_CACHE_SCHEMA, key, sha256: sha256(output), output };
    return this.store(key, this.path(key), JSON.stringify(entry));
  }

  /**
   * Writes `file` (an entry's, by `key`; the cache directory's own with key '') through a
   * temporary file renamed into place. Whether it was stored.
   */
  private store(key: string, file: string, text: string): boolean {
    const temp = join(key ? join(this.dir!, 'builds') : this.dir!, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      if (!this.confined(key)) return false;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, file);
      return true;
    } catch {
      rmSync(temp, { force: true });
      return false;
    }
  }

  /**
   * A file made of a JSON header line and a body whose SHA-256 the header names (`sha256`):
   * undefined when it is missing, not a plain file, or does not check out.
   */
  private readChecked(
    key: string,
    file: string,
  ): { header: Record<string, unknown>; body: string } | undefined {
    try {
      if (!this.confined(key) || !lstatSync(file).isFile()) return undefined;
      const text = readFileSync(file, 'utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) return undefined;
      const header = JSON.parse(text.slice(0, newline)) as Record<string, unknown> | null;
      const body = text.slice(newline + 1);
      if (!header || typeof header !== 'object' || header.sha256 !== sha256(body)) return undefined;
      return { header, body };
    } catch {
      return undefined;
    }
  }

  /** Where the parse of an entry's output is kept, beside the entry. */
  private parsedPath(key: string): string {
    return this.path(key).replace(/\.json$/, '.parsed.json');
  }

  /** The parse of the output whose sha256 is `outputSha256`, when stored intact beside it. */
  private readParsed<T>(key: string, outputSha256: string): T | undefined {
    const stored = this.readChecked(key, this.parsedPath(key));
    const header = stored?.header as Partial<StoredParse> | undefined;
    if (
      !header ||
      header.schema !== BUILD_CACHE_SCHEMA ||
      header.key !== key ||
      header.output !== outputSha256
    )
      return undefined;
    try {
      return JSON.parse(stored!.body) as T;
    } catch {
      return undefined;
    }
  }

  /** Stored only when JSON holds it exactly. */
  private writeParsed(key: string, outputSha256: string, value: unknown): void {
    const text = exactJson(value);
    if (text === undefined) return;
    const entry: StoredParse = {
      schema: BUILD_CACHE_SCHEMA,
      key,
      output: outputSha256,
      sha256: sha256(text),
    };
    this.store(key, this.parsedPath(key), `${JSON.stringify(entry)}\n${text}`);
  }
}

export { blobId } from '../flux/tree.js';
