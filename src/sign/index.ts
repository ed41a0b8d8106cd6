/**
 * The signing providers behind one seam: `push --sign` and `sign` call signArtifact; `verify`
 * calls verifyArtifact. Each provider lives in its own folder (src/sign/cosign, src/sign/notation).
 */
import type { RegistryClient } from '../oci/client.js';
import type { SigningOptions } from './options.js';
import { signWithCosign, verifyWithCosign } from './cosign/index.js';
import { signWithNotation, verifyWithNotation } from './notation/index.js';
import type {
  ProviderContext,
  SignatureRecord,
  SignTarget,
  VerificationOutcome,
  VerifyPolicy,
} from './types.js';

export type { VerifyPolicy } from './types.js';

export function signArtifact(
  client: RegistryClient,
  target: SignTarget,
  options: SigningOptions,
  ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  return options.provider === 'cosign'
    ? signWithCosign(client, target, options, ctx)
    : signWithNotation(client, target, options, ctx);
}

/** Fail-closed: anything not positively verified is `verified: false` with a reason. */
export function verifyArtifact(
  client: RegistryClient,
  target: SignTarget,
  policy: VerifyPolicy,
  ctx: ProviderContext,
): Promise<VerificationOutcome> {
  return policy.provider === 'cosign'
    ? verifyWithCosign(client, target, policy, ctx)
    : verifyWithNotation(client, target, policy, ctx);
}
