/**
 * What source-controller leaves out of a Git artifact, matched exactly as it matches: patterns
 * from every `.sourceignore` in the tree (each scoped to its own directory) and the
 * GitRepository's `spec.ignore`, the last matching pattern winning; its default exclusions only
 * when there are none (fluxcd/pkg artifact/storage SourceIgnoreFilter). Paths are matched one by
 * one and directories are never pruned (storage Archive walks into an excluded directory), so a
 * negation re-includes a file below an excluded directory, unlike git.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { yamlDocuments } from '../util/yaml-documents.js';

export { SOURCE_IGNORE_FILE } from '../flux/objects.js';
import { SOURCE_IGNORE_FILE } from '../flux/objects.js';

/** fluxcd/pkg sourceignore ExcludeVCS: always applied. */
export const VCS_EXCLUSIONS = ['.git/', '.gitignore', '.gitmodules', '.gitattributes'];

/** fluxcd/pkg sourceignore ExcludeExt. */
const EXT_EXCLUSIONS = ['*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip'];

/**
 * What `flux push artifact` leaves out by default: its `--ignore-paths` default excludeOCI
 * (flux2 cmd/flux/push_artifact.go: sourceignore ExcludeVCS + ExcludeExt), matched by fluxcd/pkg
 * oci/client Build with the sourceignore matcher. Build reads no `.sourceignore` file: those in
 * the pushed directory travel in the artifact, and a `.sourceignore` above it (the repository
 * root's, when CI pushes `./kubernetes`) is never applied to it.
 */
export const PUSH_DEFAULT_EXCLUSIONS = [...VCS_EXCLUSIONS, ...EXT_EXCLUSIONS];

/** fluxcd/pkg sourceignore ExcludeExt, ExcludeCI, ExcludeExtra: applied when no pattern is given. */
export const DEFAULT_GIT_EXCLUSIONS = [
  ...EXT_EXCLUSIONS,
  '.github/',
  '.circleci/',
  '.travis.yml',
  '.gitlab-ci.yml',
  'appveyor.yml',
  '.drone.yml',
  'cloudbuild.yaml',
  'codeship-services.yml',
  'codeship-steps.yml',
  '**/.goreleaser.yml',
  '**/.sops.yaml',
  '**/.flux.yaml',
];

/** One gitignore pattern as fluxcd/pkg sourceignore/gitignore parses it (ParsePattern). */
export interface IgnorePattern {
  /** The directory (path elements) whose `.sourceignore` holds the pattern; it matches only below. */
  domain: string[];
  elements: string[];
  inclusion: boolean;
  dirOnly: boolean;
  /** A pattern with a `/` is anchored and matched element by element (globMatch). */
  isGlob: boolean;
}

export function parsePattern(text: string, domain: string[] = []): IgnorePattern {
  let p = text;
  const inclusion = p.startsWith('!');
  if (inclusion) p = p.slice(1);
  if (!p.endsWith('\\ ')) p = p.replace(/ +$/, '');
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  return { domain: [...domain], elements: p.split('/'), inclusion, dirOnly, isGlob: p.includes('/') };
}

/** The lines of an ignore file that are patterns (not comments, not blank), as ReadPatterns reads them. */
export function readPatterns(text: string, domain: string[] = []): IgnorePattern[] {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('#') && line.trim().length > 0)
    .map((line) => parsePattern(line, domain));
}

type MatchResult = 'none' | 'exclude' | 'include';

function matchPattern(pattern: IgnorePattern, path: string[], isDir: boolean): MatchResult {
  if (path.length <= pattern.domain.length) return 'none';
  if (pattern.domain.some((e, i) => path[i] !== e)) return 'none';
  const rest = path.slice(pattern.domain.length);
  const matched = pattern.isGlob ? globMatch(pattern, rest, isDir) : simpleNameMatch(pattern, rest, isDir);
  if (!matched) return 'none';
  return pattern.inclusion ? 'include' : 'exclude';
}

/** A pattern without `/` matches any element of the path (gitignore pattern.go simpleNameMatch). */
function simpleNameMatch(pattern: IgnorePattern, path: string[], isDir: boolean): boolean {
  for (const [i, name] of path.entries()) {
    if (!goPathMatch(pattern.elements[0]!, name)) continue;
    return !(pattern.dirOnly && !isDir && i === path.length - 1);
  }
  return false;
}

/**
 * A pattern with `/` matches a prefix of the path element by element, `**` spanning directories
 * (gitignore pattern.go globMatch): so `dir/` also matches every file below `dir`.
 */
function globMatch(pattern: IgnorePattern, path: string[], isDir: boolean): boolean {
  let rest = path;
  let matched = false;
  let canTraverse = false;
  for (const [i, element] of pattern.elements.entries()) {
    if (element === '') {
      canTraverse = false;
      continue;
    }
    if (element === '**') {
      if (i === pattern.elements.length - 1) break;
      canTraverse = true;
      continue;
    }
    if (element.includes('**')) return false;
    if (rest.length === 0) return false;
    if (canTraverse) {
      canTraverse = false;
      while (rest.length > 0) {
        const name = rest[0]!;
        rest = rest.slice(1);
        if (goPathMatch(element, name)) {
          matched = true;
          break;
        }
        if (rest.length === 0) matched = false;
      }
    } else {
      if (!goPathMatch(element, rest[0]!)) return false;
      matched = true;
      rest = rest.slice(1);
    }
  }
  if (matched && pattern.dirOnly && !isDir && rest.length === 0) return false;
  return matched;
}

const goPatternCache = new Map<string, RegExp | null>();

/**
 * Go's path/filepath.Match on one path element: `*`, `?`, `[...]` with `^` negation and ranges,
 * `\` escapes; a malformed pattern matches nothing (the callers treat ErrBadPattern as no match).
 */
export function goPathMatch(pattern: string, name: string): boolean {
  let re = goPatternCache.get(pattern);
  if (re === undefined) {
    re = compileGoPattern(pattern);
    goPatternCache.set(pattern, re);
  }
  return re !== null && re.test(name);
}

function compileGoPattern(pattern: string): RegExp | null {
  const chars = [...pattern];
  const lit = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (++i >= chars.length) return null;
      out += lit(chars[i]!);
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      const ranges: string[] = [];
      const escaped = (): string | null => {
        let ch = chars[i];
        if (ch === undefined || ch === '-' || ch === ']') return null;
        if (ch === '\\') {
          ch = chars[++i];
          if (ch === undefined) return null;
        }
        i++;
        return ch;
      };
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) break;
        const lo = escaped();
        if (lo === null) return null;
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          const h = escaped();
          if (h === null) return null;
          hi = h;
        }
        ranges.push(lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`);
      }
      out += `[${negated ? '^' : ''}${ranges.join('')}]`;
    } else out += lit(c);
  }
  try {
    return new RegExp(`^${out}$`, 'su');
  } catch {
    return null;
  }
}

/** Anything that says whether a source path is left out of an artifact. */
export interface PathFilter {
  ignores(path: string): boolean;
}

/** The artifact of a directory pushed with `flux push artifact`'s defaults, as source-controller stores it. */
export function pushedArtifactFilter(controller: PathFilter): PathFilter {
  const push = new SourceIgnoreMatcher(PUSH_DEFAULT_EXCLUSIONS.map((p) => parsePattern(p)));
  return { ignores: (path) => push.ignores(path) || controller.ignores(path) };
}

/** The matcher of a Git source (gitignore Matcher: the last pattern that matches decides). */
export class SourceIgnoreMatcher implements PathFilter {
  /** Answers so far: builds ask about the same files again and again. */
  private readonly answers = new Map<string, boolean>();

  constructor(private readonly patterns: readonly IgnorePattern[]) {
    this.elements = patterns.map(anyElement);
  }

  /**
   * source-controller's matcher for these patterns: its defaults when there are none, else the
   * VCS exclusions and the patterns (fluxcd/pkg artifact/storage SourceIgnoreFilter).
   */
  static forSource(patterns: IgnorePattern[]): SourceIgnoreMatcher {
    const vcs = VCS_EXCLUSIONS.map((p) => parsePattern(p));
    if (patterns.length === 0)
      return new SourceIgnoreMatcher([...vcs, ...DEFAULT_GIT_EXCLUSIONS.map((p) => parsePattern(p))]);
    return new SourceIgnoreMatcher([...vcs, ...patterns]);
  }

  /** Whether `path` (repo-relative with `/`; a trailing `/` marks a directory) is left out. */
  ignores(path: string): boolean {
    let answer = this.answers.get(path);
    if (answer === undefined) this.answers.set(path, (answer = this.match(path)));
    return answer;
  }

  private match(path: string): boolean {
    const isDir = path.endsWith('/');
    const elements = (isDir ? path.slice(0, -1) : path).split('/');
    if (isDir) {
      for (let i = this.patterns.length - 1; i >= 0; i--) {
        const result = matchPattern(this.patterns[i]!, elements, isDir);
        if (result !== 'none') return result === 'exclude';
      }
      return false;
    }
    // A file: a pattern without `/` matches through its directory (the same for every file in
    // it) or its name (the same for every file so named); both are worked out once.
    const name = elements[elements.length - 1]!;
    const dir = this.directoryMatches(path.slice(0, Math.max(0, path.length - name.length - 1)), elements);
    const named = this.nameMatches(name);
    for (let i = this.patterns.length - 1; i >= 0; i--) {
      const pattern = this.patterns[i]!;
      if (this.elements[i] === undefined) {
        const result = matchPattern(pattern, elements, false);
        if (result !== 'none') return result === 'exclude';
        continue;
      }
      // simpleNameMatch: any element of the directory below the domain, or the name unless the
      // pattern is for directories only.
      const state = dir[i]!;
      if (state === OUT_OF_DOMAIN) continue;
      if (state === IN_DIRECTORY || (named[i] && !pattern.dirOnly)) return !pattern.inclusion;
    }
    return false;
  }

  /** Each pattern's anyElement. */
  private readonly elements: (string | undefined)[];
  private readonly directories = new Map<string, Uint8Array>();
  private readonly names = new Map<string, Uint8Array>();

  /** For each pattern without `/`: whether `dir` is in its domain and an element below that matches. */
  private directoryMatches(dir: string, elements: string[]): Uint8Array {
    let states = this.directories.get(dir);
    if (states) return states;
    states = new Uint8Array(this.patterns.length);
    const parents = elements.length - 1;
    this.patterns.forEach((pattern, i) => {
      const element = this.elements[i];
      if (element === undefined) return;
      const { domain } = pattern;
      if (parents < domain.length || domain.some((e, k) => elements[k] !== e)) {
        states[i] = OUT_OF_DOMAIN;
        return;
      }
      let hit = false;
      for (let k = domain.length; k < parents && !hit; k++) hit = goPathMatch(element, elements[k]!);
      states[i] = hit ? IN_DIRECTORY : IN_DOMAIN;
    });
    this.directories.set(dir, states);
    return states;
  }

  /** For each pattern without `/`: whether it matches this file name. */
  private nameMatches(name: string): Uint8Array {
    let hits = this.names.get(name);
    if (hits) return hits;
    hits = new Uint8Array(this.patterns.length);
    this.elements.forEach((element, i) => {
      if (element !== undefined && goPathMatch(element, name)) hits[i] = 1;
    });
    this.names.set(name, hits);
    return hits;
  }
}

/**
 * The element a pattern matches wherever it appears below its domain: a pattern without `/`, or
 * `**` followed by one element (globMatch then matches the first element like it, as
 * simpleNameMatch does: the defaults' patterns for `.sops.yaml` and `.flux.yaml` are such).
 */
function anyElement(pattern: IgnorePattern): string | undefined {
  if (!pattern.isGlob) return pattern.elements[0];
  const [first, second, ...rest] = pattern.elements;
  if (first === '**' && second !== undefined && second !== '' && !second.includes('**') && !rest.length)
    return second;
  return undefined;
}

const OUT_OF_DOMAIN = 0;
const IN_DOMAIN = 1;
const IN_DIRECTORY = 2;

/** Every `.sourceignore` under `root`, parents before children, siblings in name order (LoadIgnorePatterns). */
export function loadSourceIgnorePatterns(root: string, domain: string[] = []): IgnorePattern[] {
  const dir = join(root, ...domain);
  const patterns: IgnorePattern[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch {
    return patterns;
  }
  if (entries.some((e) => e.isFile() && e.name === SOURCE_IGNORE_FILE)) {
    patterns.push(...readPatterns(readFileSync(join(dir, SOURCE_IGNORE_FILE), 'utf8'), domain));
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === '.git') continue;
    patterns.push(...loadSourceIgnorePatterns(root, [...domain, entry.name]));
  }
  return patterns;
}

/**
 * The matcher for a source's tree on disk: `.sourceignore` files, then `spec.ignore`. The same
 * for a GitRepository's checkout and an OCIRepository's unpacked layer: source-controller's
 * OCIRepository reconcileArtifact loads the `.sourceignore` files of the extracted artifact and
 * appends its `spec.ignore` before storage.Archive, as the GitRepository reconciler does.
 */
export function gitSourceMatcher(root: string, specIgnore?: string): SourceIgnoreMatcher {
  return SourceIgnoreMatcher.forSource([
    ...loadSourceIgnorePatterns(root),
    ...(specIgnore ? readPatterns(specIgnore) : []),
  ]);
}

/** A file of the entry directory; `flux`: its Flux objects when the graph parsed it already. */
export interface EntryFile {
  path: string;
  read(): string | undefined;
  flux?: readonly unknown[];
}

/** The values of a file's documents that can define what entryDefinitions collects. */
function entryDocuments(text: string | undefined): unknown[] {
  if (!text || !/GitRepository|OCIRepository|Kustomization/.test(text)) return [];
  return yamlDocuments(text)
    .filter((doc) => !doc.error)
    .map((doc) => doc.value);
}

/** The kinds entryDefinitions collects. */
const ENTRY_KINDS = new Set(['GitRepository', 'OCIRepository', 'Kustomization']);

/**
 * The sources and Kustomizations defined under the entry directory, keyed `Kind/namespace/name`,
 * read before anything is built: the entry is built from the bootstrap source, whose
 * `spec.ignore` already applies to that first build in a cluster, and the entry's own
 * Kustomization (bootstrap's gotk-sync) says which source and path Flux builds it from.
 */
export function entryDefinitions(entry: string | EntryFile[]): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  const files: EntryFile[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(path);
        continue;
      }
      files.push({ path, read: () => readFileSync(path, 'utf8') });
    }
  };
  if (typeof entry === 'string') walk(entry);
  else files.push(...entry);
  for (const file of files) {
    if (!/\.ya?ml$/.test(file.path)) continue;
    for (const value of file.flux ?? entryDocuments(file.read())) {
      const object = value as {
        apiVersion?: string;
        kind?: string;
        metadata?: { name?: string; namespace?: string };
      };
      if (!object?.kind || !ENTRY_KINDS.has(object.kind) || !object.metadata?.name) continue;
      if (!String(object.apiVersion).includes('.toolkit.fluxcd.io/')) continue;
      found.set(
        `${object.kind}/${object.metadata.namespace ?? 'flux-system'}/${object.metadata.name}`,
        structuredClone(object),
      );
    }
  }
  return found;
}
