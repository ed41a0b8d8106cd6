import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Writes a throwaway repository from a path → content map; returns its root. */
export function writeRepo(
  files: Record<string, string>,
  root = mkdtempSync(join(tmpdir(), 'fg-repo-')),
): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content.replace(/^\n/, ''));
  }
  return root;
}

/** A Flux Kustomization manifest. */
export function fluxKustomization(
  name: string,
  path: string,
  spec: Record<string, unknown> = {},
  source = 'GitRepository/flux-system',
): string {
  const [kind, sourceName] = source.split('/');
  return JSON.stringify({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: { interval: '10m', path, prune: true, sourceRef: { kind, name: sourceName }, ...spec },
  });
}
