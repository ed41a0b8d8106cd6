import type { RegistryClient } from '../oci/client.js';
import { RegistryError } from '../oci/errors.js';
import { highestSatisfying } from './versions.js';

export interface OciRefSpec {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

/**
 * Resolves an OCIRepository `spec.ref` as source-controller does: digest > semver (tags that
 * parse, filtered by semverFilter, highest wins) > tag > `latest`. Helm chart tags map `_` to `+`.
 */
export async function resolveOciRef(
  client: RegistryClient,
  registry: string,
  repository: string,
  ref: OciRefSpec | undefined,
  options: { helmTags?: boolean } = {},
): Promise<{ digest: string; tag?: string }> {
  if (ref?.digest) return { digest: ref.digest };
  let tag = ref?.tag || 'latest';
  if (ref?.semver) {
    const filter = ref.semverFilter ? new RegExp(ref.semverFilter) : undefined;
    // Helm chart tags carry `_` where versions have `+`.
    const candidates = (await client.listTags(registry, repository))
      .filter((t) => !filter || filter.test(t))
      .map((t) => ({ tag: t, version: options.helmTags ? t.replace(/_/g, '+') : t }));
    const best = highestSatisfying(
      candidates.map((c) => c.version),
      ref.semver,
    );
    if (best === undefined) {
      throw new RegistryError(
        `${registry}/${repository}: no tag matches semver '${ref.semver}'${ref.semverFilter ? ` with filter '${ref.semverFilter}'` : ''}`,
      );
    }
    tag = candidates.find((c) => c.version === best)!.tag;
  }
  const descriptor = await client.headManifest(registry, repository, tag);
  if (!descriptor) throw new RegistryError(`${registry}/${repository}:${tag}: not found`);
  return { digest: descriptor.digest, tag };
}
