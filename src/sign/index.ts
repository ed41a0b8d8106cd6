/**
 * The signing providers behind one seam: `push --sign` and `sign` call signArtifact; `verify`
 * calls verifyArtifact. Providers live in src/sign/cosign and src/sign/notation.
 */
import { FluxgateError } from '../errors.js';
import type { RegistryClient } from '../oci/client.js';
import type { SigningOptions } from '../commands/artifact-flags.js';
import type { ProviderContext, SignatureRecord, SignTarget } from './types.js';

export async function signArtifact(
  _client: RegistryClient,
  _target: SignTarget,
  options: SigningOptions,
  _ctx: ProviderContext,
): Promise<SignatureRecord[]> {
  throw new FluxgateError('NOT_IMPLEMENTED', `signing with ${options.provider}: not implemented yet`);
}
