/**
 * Provenance attestations: a SLSA v1 statement about an artifact digest, signed as a DSSE
 * Sigstore bundle (keyless with the workflow's OIDC identity, or a cosign key) and stored as an
 * OCI 1.1 referrer of the artifact in the layout `actions/attest` writes with
 * `push-to-registry: true` (actions/attest src/attest.ts → @sigstore/oci image.ts addArtifact).
 */
import { readFileSync } from 'node:fs';
import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { FluxgateError } from '../../errors.js';
import type { RegistryClient, Descriptor } from '../../oci/client.js';
import { OCI_MANIFEST } from '../../oci/media-types.js';
import type { SigningOptions } from '../options.js';
import { IN_TOTO_PAYLOAD_TYPE, readBundles } from '../cosign/bundle-format.js';
import { parseBundleJson } from '../cosign/bundle-json.js';
import { createBundle, keylessBuilder, keySigner, oidcIdentityProvider } from '../cosign/keyless.js';
import { readCosignPrivateKey } from '../cosign/keys.js';
import { certificateIdentity, verifyBundles } from '../cosign/verify.js';
import type { CosignVerifyPolicy, ProviderContext, SignTarget } from '../types.js';
import {
  provenanceStatement,
  SLSA_PROVENANCE_V1,
  workflowRunFrom,
  type ProvenanceStatement,
} from './provenance.js';

export { SLSA_PROVENANCE_V1 } from './provenance.js';
/** The config of an artifact manifest that has none (OCI image-spec 1.1). */
export const EMPTY_CONFIG_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
export const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';

/** One attestation made, as reported in `push --attest` / `attest` JSON (`attestations: []`). */
export interface AttestationRecord {
  predicateType: string;
  /** Digest of the referrer manifest holding the bundle. */
  ref: string;
  signer: string;
  identity?: { subject: string; issuer: string };
  subject: { name: string; digest: string };
  builder: string;
}

/** The claims of a JWT, unverified: the token comes straight from the runner's token service. */
function tokenClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return {};
  }
}

function signedBy(bundle: Bundle): { signer: string; identity?: { subject: string; issuer: string } } {
  const c = bundle.verificationMaterial.content;
  const der =
    c.$case === 'x509CertificateChain'
      ? c.x509CertificateChain.certificates[0]?.rawBytes
      : c.$case === 'certificate'
        ? c.certificate.rawBytes
        : undefined;
  if (!der) return { signer: c.$case === 'publicKey' ? c.publicKey.hint : 'unknown' };
  const identity = certificateIdentity(der);
  return { signer: `keyless: ${identity.subject} (${identity.issuer})`, identity };
}

/** Signs the provenance of `target` and stores it as a referrer; the run comes from `ctx.env`. */
export async function attestProvenance(
  client: RegistryClient,
  target: SignTarget,
  signing: SigningOptions,
  ctx: ProviderContext,
): Promise<AttestationRecord> {
  const keyless = signing.keyless || !signing.cosignKey;
  // Keyless: the run's facts from the OIDC token's claims, as the toolkit reads them (the
  // builder is the job's workflow, which differs from GITHUB_WORKFLOW_REF in reusable workflows).
  const claims = keyless ? tokenClaims(await oidcIdentityProvider(ctx.env, ctx.log).getToken()) : {};
  const name = `${target.registry}/${target.repository}`;
  const statement = provenanceStatement({ name, digest: target.digest }, workflowRunFrom(ctx.env, claims));
  const artifact = { data: Buffer.from(JSON.stringify(statement)), type: IN_TOTO_PAYLOAD_TYPE };
  let bundle: Bundle;
  if (keyless) {
    const endpoints = { fulcioUrl: signing.fulcioUrl, rekorUrl: signing.rekorUrl };
    bundle = await createBundle(keylessBuilder('dsse', endpoints, ctx.env, ctx.log), artifact, endpoints);
  } else {
    const file = signing.cosignKey!;
    if (signing.cosignPassword === undefined)
      throw new FluxgateError(
        'INPUT',
        `${file}: set COSIGN_PASSWORD (or --cosign-password) to decrypt the key`,
      );
    ctx.log.mask(signing.cosignPassword);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch {
      throw new FluxgateError('INPUT', `${file}: cannot read the cosign key`);
    }
    const key = readCosignPrivateKey(pem, signing.cosignPassword, file);
    bundle = await createBundle(
      new DSSEBundleBuilder({ signer: keySigner(key), witnesses: [] }),
      artifact,
      {},
    );
  }
  const stored = await storeAttestation(client, target, bundle, SLSA_PROVENANCE_V1);
  const by = signedBy(bundle);
  ctx.log.info(
    `attested the provenance of ${name}@${target.digest} (${by.signer}); referrer ${stored.digest}`,
  );
  return {
    predicateType: SLSA_PROVENANCE_V1,
    ref: stored.digest,
    ...by,
    subject: { name: statement.subject[0]!.name, digest: target.digest },
    builder: statement.predicate.runDetails.builder.id,
  };
}

/**
 * The referrer @sigstore/oci writes for actions/attest: artifactType and layer media type are the
 * bundle's, an empty config, the subject descriptor, and three annotations (created first).
 */
export async function storeAttestation(
  client: RegistryClient,
  target: SignTarget,
  bundle: Bundle,
  predicateType: string,
): Promise<Descriptor> {
  const { registry, repository } = target;
  const bytes = Buffer.from(JSON.stringify(bundleToJSON(bundle)));
  const layer = await client.pushBlob(registry, repository, bytes, bundle.mediaType);
  const config = await client.pushBlob(registry, repository, Buffer.from('{}'), EMPTY_CONFIG_MEDIA_TYPE);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: bundle.mediaType,
    config: { mediaType: EMPTY_CONFIG_MEDIA_TYPE, digest: config.digest, size: config.size },
    layers: [{ mediaType: bundle.mediaType, digest: layer.digest, size: layer.size }],
    subject: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    annotations: {
      'org.opencontainers.image.created': new Date().toISOString(),
      [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
      [PREDICATE_TYPE_ANNOTATION]: predicateType,
    },
  };
  return client.pushReferrer(registry, repository, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
}

/** What a verified provenance attestation says. */
export interface VerifiedProvenance {
  verified: true;
  by: string;
  /** Referrer manifest digest. */
  ref: string;
  subject: { name: string; digest: string }[];
  builder: string;
  sourceRepository: string;
  workflow: { repository: string; path: string; ref: string };
  commit?: string;
}

export interface ProvenancePolicy extends CosignVerifyPolicy {
  /** `https://github.com/owner/repo` the statement's workflow must come from. */
  sourceRepository?: string;
}

function statementOf(json: string): ProvenanceStatement | undefined {
  try {
    const bundle = parseBundleJson(json);
    if (bundle.content.$case !== 'dsseEnvelope') return undefined;
    if (bundle.content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return undefined;
    const s = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8')) as ProvenanceStatement;
    return s.predicateType === SLSA_PROVENANCE_V1 ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fail-closed: some provenance bundle among the referrers verifies (signature, certificate chain,
 * transparency log and identity, by the cosign bundle verifier), names `target.digest` as its
 * subject, and (when asked) comes from `sourceRepository`. The predicate type is read from the
 * signed statement, never from the unsigned annotation.
 */
export async function verifyProvenance(
  client: RegistryClient,
  target: SignTarget,
  policy: ProvenancePolicy,
): Promise<VerifiedProvenance | { verified: false; reason: string }> {
  const bundles = await readBundles(client, target.registry, target.repository, target.digest);
  const candidates = bundles
    .map((b) => ({ stored: b, statement: statementOf(b.json) }))
    .filter((c) => c.statement);
  if (!candidates.length)
    return { verified: false, reason: `no ${SLSA_PROVENANCE_V1} attestation refers to ${target.digest}` };
  const reasons = new Set<string>();
  for (const { stored, statement } of candidates) {
    const outcome = await verifyBundles([stored], target.digest, policy);
    if (!outcome.verified) {
      reasons.add(outcome.reason ?? 'not verified');
      continue;
    }
    const p = statement!.predicate;
    const workflow = p?.buildDefinition?.externalParameters?.workflow ?? {
      repository: '',
      path: '',
      ref: '',
    };
    if (policy.sourceRepository && workflow.repository !== policy.sourceRepository) {
      reasons.add(
        `the provenance names source repository ${workflow.repository || '(none)'}, not ${policy.sourceRepository}`,
      );
      continue;
    }
    return {
      verified: true,
      by: outcome.by!,
      ref: stored.name,
      subject: statement!.subject.map((s) => ({
        name: s.name,
        digest: Object.entries(s.digest ?? {})
          .map(([alg, hex]) => `${alg}:${hex}`)
          .join(','),
      })),
      builder: p?.runDetails?.builder?.id ?? '',
      sourceRepository: workflow.repository,
      workflow,
      commit: p?.buildDefinition?.resolvedDependencies?.[0]?.digest?.gitCommit,
    };
  }
  return { verified: false, reason: [...reasons].join('; ') };
}
