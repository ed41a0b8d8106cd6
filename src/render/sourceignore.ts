/**
 * What source-controller leaves out of a Git artifact: its default exclusions, then every
 * `.sourceignore` in the tree (each scoped to its own directory), then the GitRepository's
 * `spec.ignore`, the last matching pattern winning (fluxcd/pkg sourceignore, gitignore rules).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { parseAllDocuments } from 'yaml';
import { FLUX_DEFAULT_IGNORE } from '../oci/artifact/collect.js';

export { SOURCE_IGNORE_FILE } from '../flux/objects.js';
import { SOURCE_IGNORE_FILE } from '../flux/objects.js';

/** source-controller's defaults for Git artifacts: VCS and binary extensions, CI files, extras. */
export const DEFAULT_GIT_EXCLUSIONS = [
  ...FLUX_DEFAULT_IGNORE,
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

/** The lines of an ignore file that are patterns (not comments, not blank), as ReadPatterns reads them. */
export function readPatterns(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => !line.startsWith('#') && line.trim().length > 0);
}

/**
 * Rewrites a pattern of a `.sourceignore` in directory `domain` (`a/b`) into one relative to the
 * root: a pattern without an inner slash matches at any depth below its directory, one with a
 * slash is anchored there, as gitignore scopes them.
 */
export function scopePattern(pattern: string, domain: string): string {
  if (!domain) return pattern;
  const negated = pattern.startsWith('!');
  let body = negated ? pattern.slice(1) : pattern;
  const dirOnly = body.endsWith('/');
  if (dirOnly) body = body.slice(0, -1);
  const anchored = body.includes('/');
  const scoped = anchored ? `${domain}/${body.replace(/^\//, '')}` : `${domain}/**/${body}`;
  return `${negated ? '!' : ''}${scoped}${dirOnly ? '/' : ''}`;
}

/** Every `.sourceignore` under `root`, parents before children, siblings in name order. */
export function loadSourceIgnorePatterns(root: string, domain = ''): string[] {
  const dir = domain ? join(root, domain) : root;
  const patterns: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch {
    return patterns;
  }
  if (entries.some((e) => e.isFile() && e.name === SOURCE_IGNORE_FILE)) {
    const text = readFileSync(join(dir, SOURCE_IGNORE_FILE), 'utf8');
    patterns.push(...readPatterns(text).map((p) => scopePattern(p, domain)));
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === '.git') continue;
    patterns.push(...loadSourceIgnorePatterns(root, domain ? `${domain}/${entry.name}` : entry.name));
  }
  return patterns;
}

/** The matcher for a Git source's tree: defaults, `.sourceignore` files, then `spec.ignore`. */
export function gitSourceMatcher(root: string, specIgnore?: string): Ignore {
  return ignore()
    .add(DEFAULT_GIT_EXCLUSIONS)
    .add(loadSourceIgnorePatterns(root))
    .add(specIgnore ? readPatterns(specIgnore) : []);
}

/**
 * The GitRepository objects defined under the entry directory, read before anything is built:
 * the entry is built from the bootstrap GitRepository, whose `spec.ignore` already applies to
 * that first build in a cluster.
 */
export function entryGitRepositories(entryDir: string): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
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
      if (!/\.ya?ml$/.test(entry.name)) continue;
      const text = readFileSync(path, 'utf8');
      if (!text.includes('GitRepository')) continue;
      for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length) continue;
        const object = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } };
        if (object?.kind !== 'GitRepository' || !object.metadata?.name) continue;
        found.set(`${object.metadata.namespace ?? 'flux-system'}/${object.metadata.name}`, object);
      }
    }
  };
  walk(entryDir);
  return found;
}
