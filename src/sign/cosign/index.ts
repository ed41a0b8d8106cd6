/**
 * The cosign provider: signing (key in cosign's format; keyless through Fulcio and Rekor) in the
 * `.sig` tag layout or as a sigstore bundle referrer, and verification as source-controller does it.
 */
import { readFileSync } from 'node:fs';
import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { FluxgateError } from '../../errors.js';
import type { RegistryClient } from '../../oci/client.js';
import { RegistryError } from '../../oci/errors.js';
import type { SigningOptions } from '../../commands/artifact-flags.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  pushBundle,
  readBundles,
  SIGN_PREDICATE_TYPE,
  signStatement,
} from './bundle-format.js';
import { createBundle, keylessBuilder, keySigner, type KeylessEndpoints } from './keyless.js';
import { appendSignature, readSignatureLayers } from './legacy.js';
import { readCosignPrivateKey } from './keys.js';
import { keyFingerprint, SIGNATURE_ANNOTATION, signPayload, simpleSigningPayload } from './simple-signing.js';
import {
  certificateIdentity,
  CHAIN_ANNOTATION,
  REKOR_BUNDLE_ANNOTATION,
  TrustedRootError,
  verifyBundles,
  verifySignatureLayers,
} from './verify.js';
import { CERTIFICATE_ANNOTATION } from './simple-signing.js';
import type {
  CosignVerifyPolicy,
  ProviderContext,
  SignatureRecord,
  SignTarget,
  VerificationOutcome,
} from '../types.js';

const toPem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;

/** The leaf certificate of a keyless bundle (DER). */
function leafCertificate(bundle: Bundle): Buffer {
  const c = bundle.verificationMaterial.content;
  if (c.$case === 'x509CertificateChain') return c.x509CertificateChain.certificates[0]!.rawBytes;
  if (c.$case === 'certificate') return c.certificate.rawBytes;
  throw new FluxgateError('SIGN', 'cosign --keyless: Fulcio returned no certificate');
}

/**
 * The `.sig` layer annotations cosign writes for a keyless signature, converted from a
 * message-signature bundle: the certificate, the chain, and the Rekor entry as cosign's
 * `dev.sigstore.cosign/bundle` (Go field names, SET over the canonical JSON of `Payload`).
 */
export function legacyAnnotations(bundle: Bundle): Record<string, string> {
  if (bundle.content.$case !== 'messageSignature')
    throw new FluxgateError('SIGN', 'cosign: expected a message signature');
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (!entry?.inclusionPromise)
    throw new FluxgateError('SIGN', 'cosign --keyless: Rekor returned no signed entry timestamp');
  return {
    [SIGNATURE_ANNOTATION]: bundle.content.messageSignature.signature.toString('base64'),
    [CERTIFICATE_ANNOTATION]: toPem(leafCertificate(bundle)),
    // FulcioSigner keeps only the leaf; verifiers take the intermediates from the trusted root.
    [CHAIN_ANNOTATION]: '',
    [REKOR_BUNDLE_ANNOTATION]: JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp.toString('base64'),
      Payload: {
        body: entry.canonicalizedBody.toString('base64'),
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: entry.logId.keyId.toString('hex'),
      },
    }),
  };
}

async function storeBundle(
  client: RegistryClient,
  target: SignTarget,
  bundle: Bundle,
  signer: string,
  ctx: ProviderContext,
): Promise<SignatureRecord> {
  const stored = await pushBundle(client, target, JSON.stringify(bundleToJSON(bundle)), SIGN_PREDICATE_TYPE);
  ctx.log.info(
    `signed ${target.registry}/${target.repository}@${target.digest} (${signer}); sigstore bundle referrer ${stored.digest}`,
  );
  return { provider: 'cosign', storage: 'referrer', ref: stored.digest, signer, format: 'sigstore-bundle' };
}

/**
 * Signs in the `.sig` layout, which every Flux version verifies; with `--bundle-format` also as
 * a cosign v3 bundle referrer (Flux ≥ 2.8 then verifies the bundle alone).
 */
export async function signWithCosign(
  client: RegistryClient,
  target: SignTarget,
  options: SigningOptions,
  ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  const where = `${target.registry}/${target.repository}@${target.digest}`;
  const payload = simpleSigningPayload(`${target.registry}/${target.repository}`, target.digest);
  const statement = { data: signStatement(target.digest), type: IN_TOTO_PAYLOAD_TYPE };
  const records: SignatureRecord[] = [];

  if (options.keyless || !options.cosignKey) {
    const endpoints: KeylessEndpoints = { fulcioUrl: options.fulcioUrl, rekorUrl: options.rekorUrl };
    // Each layout gets its own certificate and Rekor entry, as two cosign runs would.
    const bundle = await createBundle(
      keylessBuilder('message', endpoints, ctx.env, ctx.log),
      { data: payload },
      endpoints,
    );
    const identity = certificateIdentity(leafCertificate(bundle));
    const signer = `keyless: ${identity.subject} (${identity.issuer})`;
    const tag = await appendSignature(client, target, { payload, annotations: legacyAnnotations(bundle) });
    ctx.log.info(`signed ${where} (${signer}); ${tag}`);
    records.push({ provider: 'cosign', storage: 'tag', ref: tag, signer, format: 'simplesigning', identity });
    if (options.bundleFormat) {
      const dsse = await createBundle(
        keylessBuilder('dsse', endpoints, ctx.env, ctx.log),
        statement,
        endpoints,
      );
      const id = certificateIdentity(leafCertificate(dsse));
      const record = await storeBundle(client, target, dsse, `keyless: ${id.subject} (${id.issuer})`, ctx);
      records.push({ ...record, identity: id });
    }
    return records;
  }

  if (options.cosignPassword === undefined) {
    throw new FluxgateError(
      'INPUT',
      `${options.cosignKey}: set COSIGN_PASSWORD (or --cosign-password) to decrypt the key`,
    );
  }
  ctx.log.mask(options.cosignPassword);
  let pem: string;
  try {
    pem = readFileSync(options.cosignKey, 'utf8');
  } catch {
    throw new FluxgateError('INPUT', `${options.cosignKey}: cannot read the cosign key`);
  }
  const key = readCosignPrivateKey(pem, options.cosignPassword, options.cosignKey);
  const signature = signPayload(payload, key).toString('base64');
  const tag = await appendSignature(client, target, {
    payload,
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  });
  ctx.log.info(`signed ${where} with cosign key ${options.cosignKey} (${tag})`);
  records.push({
    provider: 'cosign',
    storage: 'tag',
    ref: tag,
    signer: keyFingerprint(key),
    format: 'simplesigning',
  });
  if (options.bundleFormat) {
    // Key-based bundles stay offline (no Rekor entry), as Flux verifies keys without the log.
    const bundle = await createBundle(
      new DSSEBundleBuilder({ signer: keySigner(key), witnesses: [] }),
      statement,
      {},
    );
    records.push(await storeBundle(client, target, bundle, keyFingerprint(key), ctx));
  }
  return records;
}

/**
 * Fail-closed, in source-controller's order (internal/oci/cosign/cosign.go Verify): the sigstore
 * bundles among the referrers first, and when any survive cosign's GetBundles only they count;
 * when none does, or discovery fails, the `.sig` layers.
 */
export async function verifyWithCosign(
  client: RegistryClient,
  target: SignTarget,
  policy: CosignVerifyPolicy,
  ctx: ProviderContext,
): Promise<VerificationOutcome> {
  const { registry, repository, digest } = target;
  const where = `${registry}/${repository}@${digest}`;
  try {
    let bundles: Awaited<ReturnType<typeof readBundles>> = [];
    try {
      bundles = await readBundles(client, registry, repository, digest, (line) =>
        ctx.log.debug(`${where}: ${line}`),
      );
    } catch (err) {
      // As cosign: a failed bundle discovery falls back to the legacy signatures.
      ctx.log.debug(`${where}: no sigstore bundles (${(err as Error).message})`);
    }
    if (bundles.length) return await verifyBundles(bundles, digest, policy);
    return await verifySignatureLayers(
      await readSignatureLayers(client, registry, repository, digest),
      digest,
      policy,
    );
  } catch (err) {
    if (err instanceof RegistryError || err instanceof TrustedRootError)
      return { verified: false, provider: 'cosign', reason: err.message };
    throw err;
  }
}
