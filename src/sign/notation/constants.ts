/** Names the Notary Project specifications fix (FORMATS.md A.5). */
export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
export const THUMBPRINT_ANNOTATION = 'io.cncf.notary.x509chain.thumbprint#S256';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

export const SCHEME_X509 = 'notary.x509';
export const SCHEME_SIGNING_AUTHORITY = 'notary.x509.signingAuthority';
export type SigningScheme = typeof SCHEME_X509 | typeof SCHEME_SIGNING_AUTHORITY;

export const HEADER_SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const HEADER_SIGNING_TIME = 'io.cncf.notary.signingTime';
export const HEADER_AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const HEADER_EXPIRY = 'io.cncf.notary.expiry';
export const HEADER_SIGNING_AGENT = 'io.cncf.notary.signingAgent';
export const HEADER_TIMESTAMP_SIGNATURE = 'io.cncf.notary.timestampSignature';
export const VERIFICATION_PLUGIN_HEADERS = [
  'io.cncf.notary.verificationPlugin',
  'io.cncf.notary.verificationPluginMinVersion',
];

export type Algorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';
export const ALGORITHMS: readonly Algorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** The hash of each algorithm, as node crypto names it. */
export const HASH_OF: Record<Algorithm, 'sha256' | 'sha384' | 'sha512'> = {
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
};

/** Notation limits (notation-go registry/repository.go). */
export const MAX_SIGNATURE_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_SIGNATURE_BLOB_BYTES = 32 * 1024 * 1024;
/** notation-go and source-controller try at most this many signatures per artifact. */
export const MAX_SIGNATURE_ATTEMPTS = 3;
