import type { RegistryCredentials } from '../oci/auth.js';
import { ArgReader, parseKeyValue } from '../options/flags.js';
import { formatFlag, registryFlags, signingFlags, urlPositional, verboseFlag } from '../options/common.js';
import { defineCommand } from './types.js';
import {
  contentFlags,
  parseArtifactUrl,
  printJson,
  readContentOptions,
  readSigningOptions,
  registryClientFor,
  type ContentOptions,
  type SigningOptions,
  readRegistryCredentials,
  readTags,
} from './artifact-flags.js';
import { UsageError } from '../errors.js';
import { buildLayer } from '../oci/artifact/content.js';
import { buildArtifactManifest, rfc3339Now } from '../oci/artifact/manifest.js';
import { pushArtifact } from '../oci/artifact/push.js';
import { ociRepositoryYaml } from '../flux/oci-repository.js';
import { signArtifact } from '../sign/index.js';
import type { SignatureRecord } from '../sign/types.js';
import { OCI_MANIFEST } from '../oci/media-types.js';
import { TAG } from '../oci/reference.js';
import { compareWithTag } from '../release/diff-tag.js';
import { attestProvenance, type AttestationRecord } from '../sign/attest/index.js';
import type { ClusterAccessOptions } from '../cluster/client.js';
import { clusterFlags, connectCluster, readClusterAccess } from './cluster-flags.js';
import { waitInCluster } from './wait.js';

export interface PushOptions extends ContentOptions {
  url: string;
  source: string;
  revision: string;
  tags: string[];
  reproducible: boolean;
  annotations: [string, string][];
  signing?: SigningOptions;
  /** Push only when the content differs from the artifact at this tag. */
  diffTag?: string;
  /** `provenance`: attest the pushed digest, signed as `attestSigning` says. */
  attest?: 'provenance';
  attestSigning?: SigningOptions;
  format: 'text' | 'json';
  insecureRegistry: boolean;
  creds?: RegistryCredentials;
  /** `--wait`: until the cluster's OCIRepositories and Kustomizations applied the pushed digest. */
  wait?: ClusterAccessOptions;
}

export const pushCommand = defineCommand<PushOptions>({
  name: 'push',
  summary: 'Build a directory as a Flux OCI artifact, push it, tag it and optionally sign it.',
  positionals: [urlPositional(true, 'Where to push, e.g. oci://ghcr.io/org/app/manifests:v1.2.3.')],
  flags: [
    ...contentFlags,
    {
      name: 'source',
      type: 'string',
      value: 'URL',
      description: 'org.opencontainers.image.source (action default: the repository URL).',
    },
    {
      name: 'revision',
      type: 'string',
      value: 'REV',
      description:
        'org.opencontainers.image.revision, e.g. main@sha1:<sha> (action default: from the GitHub context).',
    },
    {
      name: 'tag',
      type: 'list',
      value: 'TAG',
      input: 'tags',
      deprecatedInputs: ['tag'],
      description: 'More tags for the pushed digest.',
    },
    {
      name: 'reproducible',
      type: 'boolean',
      description: 'Fixed created time: the same content gives the same digest.',
    },
    {
      name: 'annotation',
      type: 'list',
      value: 'KEY=VALUE',
      input: 'annotations',
      deprecatedInputs: ['annotation'],
      description: 'Extra manifest annotations.',
    },
    {
      name: 'sign',
      type: 'string',
      value: 'cosign|notation',
      choices: ['cosign', 'notation'],
      description: 'Sign the pushed digest.',
    },
    ...signingFlags,
    {
      name: 'diff-tag',
      type: 'string',
      value: 'TAG',
      description:
        'Push only when the content differs from the artifact at TAG (entry by entry); unchanged: nothing is pushed or signed, the tags are copied from its digest. The tag moves to a new push.',
    },
    {
      name: 'attest',
      type: 'string',
      value: 'provenance',
      choices: ['provenance'],
      description:
        'Attach a SLSA v1 provenance attestation (Sigstore bundle referrer, as actions/attest), signed keyless or with --cosign-key.',
    },
    {
      name: 'wait',
      type: 'boolean',
      description:
        'After the push, request reconciliation of the OCIRepositories in the cluster that point at the digest and wait (within --timeout) until they and their Kustomizations applied it.',
    },
    ...clusterFlags,
    formatFlag(['text', 'json'], 'text'),
    ...registryFlags,
    verboseFlag,
  ],
  toOptions(raw, env) {
    const args = new ArgReader('push', raw);
    const url = args.requiredPositional(0, 'an oci://HOST/REPO:TAG reference');
    if (!url.startsWith('oci://')) throw new UsageError(`push: expected an oci:// reference, got '${url}'`);
    const sign = args.string('sign');
    if (sign && sign !== 'cosign' && sign !== 'notation') {
      throw new UsageError(`push: --sign must be cosign or notation, got '${sign}'`);
    }
    // In a workflow, source and revision come from the GitHub context (RFC-0005 revision format).
    const inWorkflow = env.GITHUB_ACTIONS === 'true';
    const source =
      args.string('source') ||
      (inWorkflow && env.GITHUB_REPOSITORY
        ? `${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}`
        : '');
    const revision =
      args.string('revision') ||
      (inWorkflow && env.GITHUB_SHA ? `${env.GITHUB_REF_NAME || 'HEAD'}@sha1:${env.GITHUB_SHA}` : '');
    const attest = args.string('attest');
    if (attest && attest !== 'provenance')
      throw new UsageError(`push: --attest must be provenance, got '${attest}'`);
    if (!source) throw new UsageError('push: --source is required (e.g. the repository URL)');
    if (!revision) throw new UsageError('push: --revision is required (e.g. main@sha1:<commit>)');
    return {
      ...readContentOptions(args, raw),
      url,
      source,
      revision,
      tags: readTags('push', args.list('tag')),
      reproducible: args.boolean('reproducible'),
      annotations: args.list('annotation').map((a) => parseKeyValue('push', 'annotation', a)),
      signing: sign ? readSigningOptions('push', args, sign as 'cosign' | 'notation', env) : undefined,
      diffTag: readDiffTag(args.string('diff-tag')),
      attest: attest ? 'provenance' : undefined,
      attestSigning: attest ? readSigningOptions('push', args, 'cosign', env) : undefined,
      format: args.choice('format', ['text', 'json'] as const, 'text'),
      insecureRegistry: args.boolean('insecure-registry'),
      creds: readRegistryCredentials('push', args, env, url),
      wait: args.boolean('wait') ? readClusterAccess(args) : undefined,
    };
  },
  async run(options, io) {
    const ref = parseArtifactUrl('push', options.url);
    if (ref.digest) throw new UsageError(`push: ${options.url}: push to a tag, not a digest`);
    const tag = ref.tag ?? 'latest';
    const tags = [tag, ...options.tags.filter((t) => t !== tag)];
    const client = registryClientFor(options, io);
    // A cluster that cannot be reached fails the command before anything is pushed.
    const cluster = options.wait ? await connectCluster(options.wait, io) : undefined;

    const target = { registry: ref.registry, repository: ref.repository };
    const baseline = options.diffTag
      ? await io.log.group(`Compare with ${ref.registry}/${ref.repository}:${options.diffTag}`, () =>
          compareWithTag(client, target, options.diffTag!, options, io.cwd, io.log),
        )
      : undefined;

    let pushed: { digest: string; mediaType: string; size: number };
    let signatures: SignatureRecord[] = [];
    let attestations: AttestationRecord[] = [];
    if (baseline && !baseline.changed) {
      // As actions/push: nothing new to push or sign; the other tags follow the existing digest.
      const existing = baseline.artifact;
      await io.log.group(`Tag ${ref.registry}/${ref.repository}@${existing.digest}`, async () => {
        for (const t of tags.filter((t) => t !== options.diffTag)) {
          await client.putManifest(ref.registry, ref.repository, t, existing.manifest, existing.mediaType);
          io.log.info(`artifact tagged as ${ref.registry}/${ref.repository}:${t}`);
        }
      });
      pushed = existing;
    } else {
      if (options.diffTag && !tags.includes(options.diffTag)) tags.push(options.diffTag);
      const layer = await buildLayer(options, io.cwd, io.log);
      const artifact = buildArtifactManifest(layer, {
        source: options.source,
        revision: options.revision,
        created: options.reproducible ? '1970-01-01T00:00:00Z' : rfc3339Now(),
        extra: options.annotations,
      });
      pushed = await io.log.group(`Push ${ref.registry}/${ref.repository}`, () =>
        pushArtifact(client, ref.registry, ref.repository, artifact, tags),
      );
      io.log.info(
        `artifact successfully pushed to oci://${ref.registry}/${ref.repository}@${pushed.digest} (tags: ${tags.join(', ')})`,
      );
      const signTarget = { ...target, digest: pushed.digest, mediaType: OCI_MANIFEST, size: pushed.size };
      const ctx = { log: io.log, env: io.env };
      if (options.signing)
        signatures = await io.log.group('Sign', () =>
          signArtifact(client, signTarget, options.signing!, ctx),
        );
      if (options.attest)
        attestations = [
          await io.log.group('Attest provenance', () =>
            attestProvenance(client, signTarget, options.attestSigning!, ctx),
          ),
        ];
    }
    const url = `oci://${ref.registry}/${ref.repository}@${pushed.digest}`;
    const digestUrl = `${ref.registry}/${ref.repository}@${pushed.digest}`;
    const wasPushed = !baseline || baseline.changed;
    // Unchanged: the artifact keeps the revision it was first pushed from.
    const revisionPushed =
      baseline && !baseline.changed ? (baseline.artifact.revision ?? options.revision) : options.revision;

    const ociRepository = ociRepositoryYaml({
      registry: ref.registry,
      repository: ref.repository,
      tag,
      insecure: options.insecureRegistry,
      verify: options.signing
        ? { provider: options.signing.provider, keyless: keylessMatch(signatures) }
        : undefined,
    });
    const picked = cluster
      ? await waitInCluster(cluster, client, { ...target, digest: pushed.digest }, io).finally(() =>
          cluster.close(),
        )
      : undefined;
    const result = {
      pushed: wasPushed,
      digest: pushed.digest,
      digestUrl,
      url,
      tags,
      revision: revisionPushed,
      signatures,
      ...(options.attest ? { attestations } : {}),
      ociRepository,
      ...(picked ? { wait: picked } : {}),
    };
    if (options.format === 'json') printJson(io, result);
    else io.stdout(ociRepository);
    return {
      exitCode: 0,
      outputs: {
        pushed: String(wasPushed),
        digest: pushed.digest,
        'digest-url': digestUrl,
        url,
        tags: tags.join(','),
        revision: revisionPushed,
        signatures: JSON.stringify(signatures),
        ...(options.attest ? { attestations: JSON.stringify(attestations) } : {}),
        'oci-repository': ociRepository,
        ...(picked ? { 'picked-up': JSON.stringify(picked) } : {}),
        json: JSON.stringify(result),
      },
    };
  },
});

function readDiffTag(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!TAG.test(value)) throw new UsageError(`push: --diff-tag '${value}' is not a valid tag`);
  return value;
}

/** Flux's matchOIDCIdentity (regexps) for the exact identity a keyless signature was made with. */
function keylessMatch(signatures: SignatureRecord[]) {
  const id = signatures.find((s) => s.identity)?.identity;
  const exact = (v: string) => `^${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  return id ? { issuer: exact(id.issuer), subject: exact(id.subject) } : undefined;
}
