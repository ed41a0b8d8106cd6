/**
 * What source-controller keeps in a Git artifact. The expectations follow fluxcd/pkg
 * sourceignore/gitignore pattern.go (ParsePattern, simpleNameMatch, globMatch: a directory pattern
 * matches every path below it, nothing is pruned), its Matcher (the last matching pattern decides)
 * and artifact/storage SourceIgnoreFilter (defaults only when no pattern is given).
 */
import { describe, expect, it } from '@jest/globals';
import {
  goPathMatch,
  parsePattern,
  readPatterns,
  SourceIgnoreMatcher,
} from '../../src/render/sourceignore.js';

const matcher = (text: string, domain: string[] = []) =>
  SourceIgnoreMatcher.forSource(readPatterns(text, domain));

describe('sourceignore as source-controller matches it', () => {
  it('re-includes a file below an excluded directory (a real fleet keeps its cluster-config this way)', () => {
    const m = matcher(
      '/kubernetes/clusters/**/secrets/\n!/kubernetes/clusters/**/secrets/cluster-config.yaml\n',
    );
    expect(m.ignores('kubernetes/clusters/main/secrets/cluster-config.yaml')).toBe(false);
    expect(m.ignores('kubernetes/clusters/main/secrets/token.sops.yaml')).toBe(true);
    expect(m.ignores('kubernetes/clusters/main/secrets/')).toBe(true);
    expect(m.ignores('kubernetes/clusters/main/apps.yaml')).toBe(false);
  });

  it('drops the default exclusions when any pattern is given, but never the VCS ones', () => {
    const none = SourceIgnoreMatcher.forSource([]);
    expect(none.ignores('apps/logo.png')).toBe(true);
    expect(none.ignores('.github/workflows/ci.yaml')).toBe(true);
    expect(none.ignores('.git/config')).toBe(true);
    const some = matcher('drafts/\n');
    expect(some.ignores('apps/logo.png')).toBe(false);
    expect(some.ignores('.github/workflows/ci.yaml')).toBe(false);
    expect(some.ignores('.git/config')).toBe(true);
    expect(some.ignores('.gitignore')).toBe(true);
    expect(some.ignores('drafts/a.yaml')).toBe(true);
  });

  it('scopes a pattern to the directory of its .sourceignore', () => {
    const m = SourceIgnoreMatcher.forSource(readPatterns('*.draft.yaml\n/top.yaml\n', ['apps', 'dev']));
    expect(m.ignores('apps/dev/a.draft.yaml')).toBe(true);
    expect(m.ignores('apps/dev/deep/b.draft.yaml')).toBe(true);
    expect(m.ignores('apps/c.draft.yaml')).toBe(false);
    expect(m.ignores('apps/dev/top.yaml')).toBe(true);
    expect(m.ignores('apps/dev/deep/top.yaml')).toBe(false);
  });

  it('matches names without a slash at any depth, and a trailing slash only on directories', () => {
    const m = matcher('build/\n*.tmp\n');
    expect(m.ignores('build/')).toBe(true);
    expect(m.ignores('a/build/x.yaml')).toBe(true);
    expect(m.ignores('a/build')).toBe(false);
    expect(m.ignores('x/y/z.tmp')).toBe(true);
  });

  it('spans directories with ** and anchors patterns that hold a slash', () => {
    const m = matcher('**/cache\na/**/b.yaml\nlogs/**\ndocs/*.md\n');
    expect(m.ignores('cache')).toBe(true);
    expect(m.ignores('x/y/cache')).toBe(true);
    expect(m.ignores('a/b.yaml')).toBe(true);
    expect(m.ignores('a/x/y/b.yaml')).toBe(true);
    expect(m.ignores('z/a/b.yaml')).toBe(false);
    expect(m.ignores('logs/today/x')).toBe(true);
    expect(m.ignores('docs/readme.md')).toBe(true);
    expect(m.ignores('docs/sub/readme.md')).toBe(false);
    expect(m.ignores('docs/a.md/inner.yaml')).toBe(true); // a matched prefix covers what is below it
  });

  it('keeps the last matching pattern, whatever its kind', () => {
    const m = matcher('*.yaml\n!keep.yaml\n');
    expect(m.ignores('a/keep.yaml')).toBe(false);
    expect(m.ignores('a/other.yaml')).toBe(true);
    const reversed = matcher('!keep.yaml\n*.yaml\n');
    expect(reversed.ignores('a/keep.yaml')).toBe(true);
  });

  it("matches one element with Go's filepath.Match, a malformed pattern matching nothing", () => {
    expect(goPathMatch('[a-c]x', 'bx')).toBe(true);
    expect(goPathMatch('[a-c]x', 'dx')).toBe(false);
    expect(goPathMatch('[^a]', 'b')).toBe(true);
    expect(goPathMatch('[^a]', 'a')).toBe(false);
    expect(goPathMatch('\\*', '*')).toBe(true);
    expect(goPathMatch('\\*', 'x')).toBe(false);
    expect(goPathMatch('a?c', 'abc')).toBe(true);
    expect(goPathMatch('[', '[')).toBe(false);
    expect(goPathMatch('[]a]', ']')).toBe(false);
    expect(goPathMatch('*.(yaml)', 'x.(yaml)')).toBe(true);
    expect(parsePattern('name\\ ').elements).toEqual(['name\\ ']);
    expect(parsePattern('name  ').elements).toEqual(['name']);
  });
});
