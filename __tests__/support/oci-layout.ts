/** Copies an OCI image layout into a registry byte for byte: blobs, then each manifest of index.json. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegistryClient } from '../../src/oci/client.js';

interface LayoutEntry {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

/**
 * Pushes every blob of `layout`, then every manifest its index.json lists, in that order, under
 * its `org.opencontainers.image.ref.name` tag (or its digest). A referrers tag-schema index the
 * layout holds (notation's e2e layouts do) lands as it is. Returns the digests by tag.
 */
export async function pushOciLayout(
  client: RegistryClient,
  registry: string,
  repository: string,
  layout: string,
): Promise<Map<string, string>> {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: LayoutEntry[] };
  const blobs = join(layout, 'blobs', 'sha256');
  const manifests = new Set(index.manifests.map((m) => m.digest));
  for (const name of readdirSync(blobs)) {
    if (manifests.has(`sha256:${name}`)) continue;
    await client.pushBlob(registry, repository, readFileSync(join(blobs, name)), 'application/octet-stream');
  }
  const tags = new Map<string, string>();
  for (const m of index.manifests) {
    const bytes = readFileSync(join(blobs, m.digest.slice('sha256:'.length)));
    const tag = m.annotations?.['org.opencontainers.image.ref.name'];
    await client.putManifest(registry, repository, tag ?? m.digest, bytes, m.mediaType);
    if (tag) tags.set(tag, m.digest);
  }
  return tags;
}
