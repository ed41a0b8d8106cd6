/** What an envelope signs, independent of its format. */
import type { KeyObject } from 'node:crypto';
import type { Algorithm } from './constants.js';

export interface SignRequest {
  alg: Algorithm;
  key: KeyObject;
  /** DER, leaf first, ending in the root. */
  certificates: Buffer[];
  payload: Buffer;
  contentType: string;
  /** Whole seconds (notation truncates). */
  signingTime: Date;
  expiry?: Date;
  signingAgent: string;
}

export interface TargetDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * `{"targetArtifact":{digest,mediaType,size}}`: keys sorted, as notation's JSON of a Go map
 * comes out (notation-go signs the descriptor without annotations here).
 */
export function notationPayload(target: TargetDescriptor): Buffer {
  return Buffer.from(
    JSON.stringify({
      targetArtifact: { digest: target.digest, mediaType: target.mediaType, size: target.size },
    }),
  );
}
