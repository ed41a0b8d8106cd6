/**
 * `push --diff-tag TAG`: is the directory what TAG already holds? As controlplaneio-fluxcd/
 * distribution `actions/push` decides with `flux diff artifact`, but entry by entry (names, types,
 * modes, contents: src/oci/artifact/compare.ts), so a repack by another tool counts as the same.
 */
import type { ContentOptions } from '../commands/artifact-flags.js';
import type { Logger } from '../log.js';
import type { RegistryClient } from '../oci/client.js';
import { collectContent } from '../oci/artifact/content.js';
import { compareEntries, type EntryDifference } from '../oci/artifact/compare.js';
import { pullArtifact } from '../oci/artifact/pull.js';
import { readLayer } from '../oci/artifact/tarball.js';

/** The artifact a tag points at, when the directory matches it (nothing to push). */
export interface UnchangedArtifact {
  digest: string;
  mediaType: string;
  size: number;
  /** The manifest bytes, to copy tags with one PUT each. */
  manifest: Buffer;
  /** Its `org.opencontainers.image.revision`: the revision the content was first pushed from. */
  revision?: string;
}

export type DiffTagOutcome =
  | { changed: false; artifact: UnchangedArtifact }
  | { changed: true; reason: 'missing' }
  | { changed: true; reason: 'differs'; differences: EntryDifference[] };

export async function compareWithTag(
  client: RegistryClient,
  target: { registry: string; repository: string },
  tag: string,
  content: ContentOptions,
  cwd: string,
  log: Logger,
): Promise<DiffTagOutcome> {
  const { registry, repository } = target;
  const head = await client.headManifest(registry, repository, tag);
  if (!head) {
    log.info(`${registry}/${repository}:${tag} does not exist yet: pushing`);
    return { changed: true, reason: 'missing' };
  }
  // Pinned to the digest just seen, so a tag moved meanwhile cannot mix two artifacts.
  const { bytes, descriptor } = await client.getManifest(registry, repository, head.digest);
  const pulled = await pullArtifact(client, { registry, repository, digest: descriptor.digest });
  const remote = await readLayer(pulled.layer, `${registry}/${repository}:${tag}`);
  const differences = compareEntries(collectContent(content, cwd, log), remote);
  if (differences.length) {
    log.info(
      `${content.path} differs from ${registry}/${repository}:${tag} in ${differences.length} entries: pushing`,
    );
    for (const d of differences) log.debug(`${d.change} ${d.path}`);
    return { changed: true, reason: 'differs', differences };
  }
  log.info(`${content.path} is unchanged since ${registry}/${repository}:${tag} (${descriptor.digest})`);
  return {
    changed: false,
    artifact: {
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      manifest: bytes,
      revision: pulled.annotations['org.opencontainers.image.revision'],
    },
  };
}
