/**
 * Keyless signing: the workflow's OIDC token → a Fulcio certificate for an ephemeral key → a
 * Rekor entry, with sigstore-js doing the Fulcio and Rekor exchanges.
 */
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  type Bundle,
  type BundleBuilder,
  type IdentityProvider,
  type Signer,
} from '@sigstore/sign';
import type { KeyObject } from 'node:crypto';
import { FluxgateError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { keyFingerprint, signPayload } from './simple-signing.js';
import { publicKeyPem } from './keys.js';
import { remainingTime, runLimits } from '../../util/run-limits.js';

export const PUBLIC_FULCIO_URL = 'https://fulcio.sigstore.dev';
export const PUBLIC_REKOR_URL = 'https://rekor.sigstore.dev';
/** The audience Fulcio expects in the token (cosign and sigstore-js ask for this one). */
const AUDIENCE = 'sigstore';
/** A Fulcio or Rekor request's own bound (sigstore-js' default is 5 s; Rekor can be slower). */
const SIGSTORE_REQUEST_TIMEOUT = 30_000;

/**
 * The OIDC token for Fulcio: `SIGSTORE_ID_TOKEN` when given (as cosign and sigstore-js honour it),
 * else GitHub Actions' token service. Read from the command's environment, not process.env.
 */
export function oidcIdentityProvider(env: NodeJS.ProcessEnv, log: Logger): IdentityProvider {
  return {
    async getToken() {
      if (env.SIGSTORE_ID_TOKEN) {
        log.mask(env.SIGSTORE_ID_TOKEN);
        return env.SIGSTORE_ID_TOKEN;
      }
      const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
      if (!url || !bearer) {
        throw new FluxgateError(
          'SIGN',
          'cosign --keyless: no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; give the job `permissions: id-token: write` (or set SIGSTORE_ID_TOKEN)',
        );
      }
      log.mask(bearer);
      const request = new URL(url);
      request.searchParams.append('audience', AUDIENCE);
      let res: Response;
      try {
        res = await fetch(request, {
          headers: { accept: 'application/json', authorization: `Bearer ${bearer}` },
          signal: AbortSignal.any([AbortSignal.timeout(30_000), runLimits().signal]),
        });
      } catch (err) {
        throw new FluxgateError(
          'SIGN',
          `cosign --keyless: cannot reach the GitHub OIDC token service ${request.host}: ${(err as Error).message}`,
        );
      }
      if (!res.ok) {
        throw new FluxgateError(
          'SIGN',
          `cosign --keyless: the GitHub OIDC token service ${request.host} answered HTTP ${res.status}; does the job have \`permissions: id-token: write\`?`,
        );
      }
      const token = ((await res.json().catch(() => ({}))) as { value?: unknown }).value;
      if (typeof token !== 'string' || !token)
        throw new FluxgateError(
          'SIGN',
          `cosign --keyless: the GitHub OIDC token service ${request.host} returned no token`,
        );
      log.mask(token);
      return token;
    },
  };
}

export interface KeylessEndpoints {
  fulcioUrl?: string;
  rekorUrl?: string;
}

/** A sigstore-js bundle builder that signs with a Fulcio certificate and logs to Rekor. */
export function keylessBuilder(
  kind: 'message' | 'dsse',
  endpoints: KeylessEndpoints,
  env: NodeJS.ProcessEnv,
  log: Logger,
): BundleBuilder {
  // Each Fulcio and Rekor request (sigstore-js make-fetch-happen, with its retries) ends by the
  // run's --timeout at the latest: it takes a timeout in milliseconds, not our abort signal.
  const timeout = Math.min(remainingTime() ?? SIGSTORE_REQUEST_TIMEOUT, SIGSTORE_REQUEST_TIMEOUT);
  const signer = new FulcioSigner({
    fulcioBaseURL: endpoints.fulcioUrl ?? PUBLIC_FULCIO_URL,
    identityProvider: oidcIdentityProvider(env, log),
    timeout,
  });
  const witnesses = [
    new RekorWitness({
      rekorBaseURL: endpoints.rekorUrl ?? PUBLIC_REKOR_URL,
      fetchOnConflict: true,
      timeout,
    }),
  ];
  return kind === 'message'
    ? new MessageSignatureBundleBuilder({ signer, witnesses })
    : new DSSEBundleBuilder({ signer, witnesses });
}

/** A sigstore-js signer over a cosign key: key-based bundles carry the key's hint, no certificate. */
export function keySigner(key: KeyObject): Signer {
  return {
    async sign(data: Buffer) {
      return {
        signature: signPayload(data, key),
        key: { $case: 'publicKey', publicKey: publicKeyPem(key), hint: keyFingerprint(key) },
      };
    },
  };
}

/** Runs a sigstore-js builder, turning its errors (and their causes) into one clear line. */
export async function createBundle(
  builder: BundleBuilder,
  artifact: { data: Buffer; type?: string },
  endpoints: KeylessEndpoints,
): Promise<Bundle> {
  try {
    return await builder.create(artifact);
  } catch (err) {
    if (err instanceof FluxgateError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof FluxgateError) throw cause;
    const code = (err as { code?: string }).code ?? '';
    const where = code.startsWith('CA_')
      ? `Fulcio ${endpoints.fulcioUrl ?? PUBLIC_FULCIO_URL}`
      : code.startsWith('TLOG_')
        ? `Rekor ${endpoints.rekorUrl ?? PUBLIC_REKOR_URL}`
        : 'sigstore';
    const detail = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : '';
    throw new FluxgateError('SIGN', `cosign signing failed at ${where}: ${(err as Error).message}${detail}`);
  }
}
