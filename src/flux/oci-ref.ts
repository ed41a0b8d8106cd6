import semver from 'semver';
import type { RegistryClient } from '../oci/client.js';
import { RegistryError } from '../oci/errors.js';

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
    const candidates = (await client.listTags(registry, repository))
      .filter((t) => !filter || filter.test(t))
      .map((t) => ({
        tag: t,
        version:
          semver.coerce(options.helmTags ? t.replace(/_/g, '+') : t, { loose: true }) &&
          semver.valid(options.helmTags ? t.replace(/_/g, '+') : t, { loose: true }),
      }))
      .filter(
        (c): c is { tag: string; version: string } =>
          Boolean(c.version) && semver.satisfies(c.version as string, ref.semver!, { loose: true }),
      );
    if (!candidates.length) {
      throw new RegistryError(
        `${registry}/${repository}: no tag matches semver '${ref.semver}'${ref.semverFilter ? ` with filter '${ref.semverFilter}'` : ''}`,
      );
    }
    candidates.sort((a, b) => semver.rcompare(a.version, b.version));
    tag = candidates[0]!.tag;
  }
  const descriptor = await client.headManifest(registry, repository, tag);
  if (!descriptor) throw new RegistryError(`${registry}/${repository}:${tag}: not found`);
  return { digest: descriptor.digest, tag };
}
