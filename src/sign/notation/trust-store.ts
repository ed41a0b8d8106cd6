/**
 * Trust stores as notation reads them: every certificate of each file (PEM or DER), a CA or a
 * self-signed signing certificate each; tsa stores hold roots only (notation-go
 * verifier/truststore). `*` answers for any store name, as the certificates of a Flux verify
 * Secret do, and its certificates are not checked.
 */
import type { TrustStoreFile } from '../types.js';
import { isCaOrSelfSigned, isRootCertificate, readCertificates, type Certificate } from './certificates.js';

export class TrustStoreError extends Error {}

export interface TrustedCertificate {
  cert: Certificate;
  /** `TYPE:NAME` of the store it came from. */
  store: string;
}

/** The certificates of every listed store of `type` (`ca`, `signingAuthority` or `tsa`). */
export function loadTrustStores(
  stores: Map<string, TrustStoreFile[]>,
  listed: string[],
  type: 'ca' | 'signingAuthority' | 'tsa',
): TrustedCertificate[] {
  const out: TrustedCertificate[] = [];
  for (const store of new Set(listed)) {
    const colon = store.indexOf(':');
    if (store.slice(0, colon) !== type) continue;
    const named = stores.get(store);
    const files = named ?? stores.get('*');
    if (!files) throw new TrustStoreError(`trust store ${store} was not given`);
    // A Flux verify Secret's certificates are taken as they are, whatever the store's type
    // (source-controller internal/oci/notation trustStore.GetCertificates checks none of them).
    const asIs = !named;
    const certs: Certificate[] = [];
    for (const file of files) {
      let fileCerts: Certificate[];
      try {
        fileCerts = readCertificates(file.data);
      } catch (err) {
        throw new TrustStoreError(`trust store ${store}: ${file.name}: ${(err as Error).message}`);
      }
      for (const cert of asIs ? [] : fileCerts) {
        if (!isCaOrSelfSigned(cert))
          throw new TrustStoreError(
            `trust store ${store}: ${file.name}: "${cert.subject}" is neither a CA nor a self-signed signing certificate`,
          );
        if (type === 'tsa' && !isRootCertificate(cert))
          throw new TrustStoreError(
            `trust store ${store}: ${file.name}: "${cert.subject}" is not a root CA certificate`,
          );
      }
      certs.push(...fileCerts);
    }
    if (!certs.length) throw new TrustStoreError(`trust store ${store} has no certificates`);
    out.push(...certs.map((cert) => ({ cert, store })));
  }
  return out;
}
