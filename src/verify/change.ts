/**
 * `diff --verify`: the verification of what a change touches, on the head side. A source is
 * touched when it, its HelmRepository or its verify Secrets are added or modified, or when an
 * object consuming it (a Kustomization's sourceRef, a HelmRelease's chartRef or chart template)
 * is added or modified. Policy findings are kept for the files the change alters.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkIO } from '../util/io.js';
import { indexObjects, lookupObject, scanObjects } from './policy.js';
import { verifyRepository, type RepositoryVerification, type RepositoryVerifyOptions } from './path.js';

export type ChangeVerifyOptions = RepositoryVerifyOptions;

/** An object a change adds, removes or modifies, as the diff reports it. */
export interface ChangedObject {
  action: 'added' | 'removed' | 'modified';
  kind: string;
  namespace: string;
  name: string;
}

export async function verifyChange(
  sides: { base: string; head: string },
  diff: { changes: readonly ChangedObject[] },
  options: ChangeVerifyOptions,
  io: WorkIO,
): Promise<RepositoryVerification> {
  const touched = new Set<string>();
  const { objects } = scanObjects(sides.head);
  const index = indexObjects(objects);
  for (const c of diff.changes) {
    if (c.action === 'removed') continue;
    touched.add(`${c.kind}/${c.namespace}/${c.name}`);
    // What a changed consumer pulls from is touched too.
    const consumer = lookupObject(index, c.kind, c.namespace || undefined, c.name);
    const spec = consumer?.object.spec;
    const ns = consumer?.namespace ?? c.namespace;
    const refs =
      c.kind === 'Kustomization'
        ? [spec?.sourceRef]
        : c.kind === 'HelmRelease'
          ? [spec?.chartRef, spec?.chart?.spec?.sourceRef]
          : [];
    for (const r of refs)
      if (r?.kind && r?.name) touched.add(`${r.kind}/${r.namespace ?? ns ?? ''}/${r.name}`);
  }
  // Objects without a namespace in their file (it comes from a targetNamespace) match by kind and name.
  const loose = new Set([...touched].map((k) => k.replace(/\/[^/]*\//, '//')));
  const isTouched = (key: string) => touched.has(key) || (/^[^/]+\/\//.test(key) && loose.has(key));
  const differs = (file: string) => {
    const base = join(sides.base, file);
    if (!existsSync(base)) return true;
    return readFileSync(base, 'utf8') !== readFileSync(join(sides.head, file), 'utf8');
  };
  return verifyRepository(sides.head, options, io, {
    targets: (t) => t.related.some(isTouched),
    findings: (f) => differs(f.file),
  });
}
