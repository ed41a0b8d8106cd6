import { describe, expect, it } from '@jest/globals';
import { reviewMarkdown } from '../../src/diff/markdown.js';
import { emptyDiff, type ClusterDiff, type ObjectChange } from '../../src/diff/objects.js';
import type { FieldChange } from '../../src/diff/fields.js';

const owner = { kind: 'Kustomization' as const, namespace: 'flux-system', name: 'apps' };
const modified = (name: string, fields: FieldChange[]): ObjectChange => ({
  cluster: 'clusters/production',
  owner,
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'web',
  name,
  action: 'modified',
  fields,
  risks: [],
  diff: '--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y',
});
const replicas = [{ path: 'spec.replicas', before: 2, after: 3 }];
const diffOf = (changes: ObjectChange[]): ClusterDiff => ({ ...emptyDiff(), changes });
const names = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

describe('the review of many objects changed the same way', () => {
  it('says the change once, with the count and the first objects, and keeps every diff', () => {
    const diff = diffOf([
      ...names(200, 'web').map((n) => modified(n, replicas)),
      ...names(5, 'api').map((n) => modified(n, [{ path: 'metadata.labels.team', before: 'a', after: 'b' }])),
      modified('odd', [{ path: 'spec.paused', after: true }]),
    ]);
    const { markdown } = reviewMarkdown(diff);
    const section = markdown.slice(markdown.indexOf('### Same change in many objects'));
    expect(section.split('\n').slice(0, 5)).toEqual([
      '### Same change in many objects',
      '',
      '- **200 objects** (Deployment web/web-000, Deployment web/web-001, Deployment web/web-002, 197 more): `spec.replicas`: `2` → `3`',
      '- **5 objects** (Deployment web/api-000, Deployment web/api-001, Deployment web/api-002, 2 more): `metadata.labels.team`: `a` → `b`',
      '',
    ]);
    // The odd one out is in no group; each object keeps its own diff in its owner's section.
    expect(markdown).toContain('**modified** Deployment web/odd\n\n- `spec.paused`: _(added)_ `true`');
    expect(markdown.match(/\*\*modified\*\* Deployment web\/web-/g)).toHaveLength(200);
  });

  it('leaves image moves alone to the Images section', () => {
    const image = [
      { path: 'spec.template.spec.containers[name=web].image', before: 'web:1', after: 'web:2' },
    ];
    const { markdown } = reviewMarkdown(diffOf(names(30, 'web').map((n) => modified(n, image))));
    expect(markdown).not.toContain('Same change in many objects');
    const both = [...image, ...replicas];
    const mixed = reviewMarkdown(diffOf(names(30, 'web').map((n) => modified(n, both)))).markdown;
    expect(mixed).toContain('- **30 objects** (');
  });

  it('lists a few changes one by one as before', () => {
    const { markdown } = reviewMarkdown(diffOf(names(20, 'web').map((n) => modified(n, replicas))));
    expect(markdown).not.toContain('Same change in many objects');
  });
});
