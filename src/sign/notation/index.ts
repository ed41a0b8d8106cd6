/**
 * The Notary Project provider: X.509 signing in JWS or COSE envelopes stored as OCI referrers,
 * and verification with a trust policy and trust stores, as `notation verify` does it.
 */
import { FluxgateError } from '../../errors.js';
import type { RegistryClient } from '../../oci/client.js';
import type { SigningOptions } from '../../commands/artifact-flags.js';
import type {
  NotationVerifyPolicy,
  ProviderContext,
  SignatureRecord,
  SignTarget,
  VerificationOutcome,
} from '../types.js';

export async function signWithNotation(
  _client: RegistryClient,
  _target: SignTarget,
  _options: SigningOptions,
  _ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  throw new FluxgateError('NOT_IMPLEMENTED', 'signing with notation: not implemented yet');
}

export async function verifyWithNotation(
  _client: RegistryClient,
  _target: SignTarget,
  _policy: NotationVerifyPolicy,
  _ctx: ProviderContext,
): Promise<VerificationOutcome> {
  return { verified: false, provider: 'notation', reason: 'notation verification is not implemented yet' };
}
