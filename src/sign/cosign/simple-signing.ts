import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
const PAYLOAD_TYPE = 'cosign container image signature';

/** The simple-signing payload exactly as Go marshals it (field order, `"optional":null`). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${JSON.stringify(dockerReference)}},"image":{"docker-manifest-digest":${JSON.stringify(digest)}},"type":"${PAYLOAD_TYPE}"},"optional":null}`,
  );
}

/** The digest a payload signs, or why it is not a cosign payload. */
export function payloadDigest(payload: Buffer): { digest?: string; error?: string } {
  let doc: { critical?: { type?: string; image?: { 'docker-manifest-digest'?: string } } };
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { error: 'the payload is not JSON' };
  }
  if (doc.critical?.type !== PAYLOAD_TYPE) return { error: `the payload type is not '${PAYLOAD_TYPE}'` };
  const digest = doc.critical.image?.['docker-manifest-digest'];
  return digest ? { digest } : { error: 'the payload names no manifest digest' };
}

/** ECDSA/RSA sign SHA-256 over the payload bytes (DER signatures), Ed25519 pure. */
export function signPayload(payload: Buffer, key: KeyObject): Buffer {
  return sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key);
}

export function verifyPayload(payload: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, signature);
  } catch {
    return false;
  }
}

/** A short name for a key in reports: its SPKI SHA-256 fingerprint. */
export function keyFingerprint(key: KeyObject): string {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return 'SHA256:' + createHash('sha256').update(spki).digest('base64').replace(/=+$/, '');
}
