/**
 * The cosign provider: signing (key in cosign's format; keyless through Fulcio and Rekor) in the
 * `.sig` tag layout or as a sigstore bundle referrer, and verification as source-controller does it.
 */
import { readFileSync } from 'node:fs';
import { FluxgateError } from '../../errors.js';
import type { RegistryClient } from '../../oci/client.js';
import { RegistryError } from '../../oci/errors.js';
import type { SigningOptions } from '../../commands/artifact-flags.js';
import { appendSignature, readSignatureLayers, verifyLayers } from './legacy.js';
import { readCosignPrivateKey } from './keys.js';
import { keyFingerprint, SIGNATURE_ANNOTATION, signPayload, simpleSigningPayload } from './simple-signing.js';
import type {
  CosignVerifyPolicy,
  ProviderContext,
  SignatureRecord,
  SignTarget,
  VerificationOutcome,
} from '../types.js';

export async function signWithCosign(
  client: RegistryClient,
  target: SignTarget,
  options: SigningOptions,
  ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  if (!options.cosignKey)
    throw new FluxgateError('NOT_IMPLEMENTED', 'cosign keyless signing: not implemented yet');
  if (options.bundleFormat)
    throw new FluxgateError('NOT_IMPLEMENTED', 'cosign --bundle-format: not implemented yet');
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
  const payload = simpleSigningPayload(`${target.registry}/${target.repository}`, target.digest);
  const signature = signPayload(payload, key).toString('base64');
  const tag = await appendSignature(client, target, {
    payload,
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  });
  ctx.log.info(
    `signed ${target.registry}/${target.repository}@${target.digest} with cosign key ${options.cosignKey} (${tag})`,
  );
  return [
    { provider: 'cosign', storage: 'tag', ref: tag, signer: keyFingerprint(key), format: 'simplesigning' },
  ];
}

/** Fail-closed: anything not positively verified is `verified: false` with a reason. */
export async function verifyWithCosign(
  client: RegistryClient,
  target: SignTarget,
  policy: CosignVerifyPolicy,
  _ctx: ProviderContext,
): Promise<VerificationOutcome> {
  try {
    const bundles = await client.referrers(
      target.registry,
      target.repository,
      target.digest,
      'application/vnd.dev.sigstore.bundle.v0.3+json',
    );
    if (bundles.length) {
      // As source-controller: when bundles exist, only bundles count.
      return {
        verified: false,
        provider: 'cosign',
        reason: 'sigstore bundle signatures are not supported yet',
      };
    }
    if (!policy.keys.length)
      return {
        verified: false,
        provider: 'cosign',
        reason: 'keyless cosign verification is not implemented yet',
      };
    return verifyLayers(
      await readSignatureLayers(client, target.registry, target.repository, target.digest),
      target.digest,
      policy.keys,
    );
  } catch (err) {
    if (err instanceof RegistryError) return { verified: false, provider: 'cosign', reason: err.message };
    throw err;
  }
}
