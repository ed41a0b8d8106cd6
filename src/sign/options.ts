/** How an artifact is signed: cosign (key or keyless) or notation. */
export interface SigningOptions {
  provider: 'cosign' | 'notation';
  cosignKey?: string;
  cosignPassword?: string;
  keyless: boolean;
  bundleFormat: boolean;
  fulcioUrl?: string;
  rekorUrl?: string;
  notationKey?: string;
  notationCert?: string;
  signatureFormat: 'jws' | 'cose';
  expiry?: string;
}
