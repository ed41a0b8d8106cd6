import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  rekorHandler,
  type HandlerFn,
} from '@sigstore/mock';

/** The GitHub Actions OIDC issuer, as real Fulcio records it for workflow identities. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * The mock logs a proposed entry as it comes; real Rekor stores a `dsse` entry in its canonical
 * form (envelope and payload hashes, signatures with their verifiers), which verifiers compare
 * against. Do that here so DSSE bundles verify as they would against rekor.sigstore.dev.
 */
function asRekorStoresIt(body: string): string {
  const entry = JSON.parse(body) as {
    kind?: string;
    apiVersion?: string;
    spec?: { proposedContent?: { envelope: string; verifiers: string[] } };
  };
  const proposed = entry.spec?.proposedContent;
  if (entry.kind !== 'dsse' || !proposed) return body;
  const envelope = JSON.parse(proposed.envelope) as { payload: string; signatures: { sig: string }[] };
  const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
  return JSON.stringify({
    kind: 'dsse',
    apiVersion: entry.apiVersion,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(proposed.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s, i) => ({
        signature: s.sig,
        verifier: proposed.verifiers[i] ?? proposed.verifiers[0],
      })),
    },
  });
}

export interface MockSigstoreOptions {
  /** `owner/repo/.github/workflows/file.yml@ref`; the certificate's SAN is `https://github.com/` + this. */
  workflowRef?: string;
  /** The token's `iss` (Fulcio copies it into the certificate's issuer extension). */
  issuer?: string;
  /**
   * The SANs of each certificate, in order, from the workflow URI Fulcio was asked for (e.g. an
   * email beside the URI): the certificates then come from fulcioStyleCa instead of
   * @sigstore/mock's one-SAN CA.
   */
  subjectAlternativeNames?: (workflowUri: string) => x509.JsonGeneralName[];
}

type CA = Awaited<ReturnType<typeof initializeCA>>;
type CTLog = Awaited<ReturnType<typeof initializeCTLog>>;

const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * A Fulcio-like CA (the same certificate profile as @sigstore/mock's: code signing, the OIDC
 * claims as extensions, an embedded SCT from `ctLog`) whose certificates carry the SANs `sans`
 * makes of the requested URI, all in one SubjectAlternativeName extension.
 */
async function fulcioStyleCa(
  ctLog: CTLog,
  sans: (workflowUri: string) => x509.JsonGeneralName[],
): Promise<CA> {
  const crypto = webcrypto as never;
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const name = 'CN=sigstore,O=sigstore.mock';
  const root = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 24 * 3600_000),
      signingAlgorithm: ECDSA_SHA256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const issuerId = await webcrypto.subtle.digest('SHA-256', root.publicKey.rawData);
  let serial = 0x2000;
  return {
    rootCertificate: Buffer.from(root.rawData),
    async issueCertificate(opts) {
      const publicKey = await webcrypto.subtle.importKey('spki', opts.publicKey, EC_P256, true, ['verify']);
      const now = new Date();
      const tbs = {
        serialNumber: (serial++).toString(16),
        notBefore: now,
        notAfter: new Date(now.getTime() + 10 * 60_000),
        issuer: name,
        publicKey,
        signingAlgorithm: ECDSA_SHA256,
        signingKey: keys.privateKey,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
          new x509.SubjectAlternativeNameExtension(sans(opts.subjectAltName), true),
          await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
          await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          // Fulcio's claim extensions: v1 ones hold the raw string, v2 ones a DER UTF8String.
          ...(opts.extensions ?? []).map(
            (e) => new x509.Extension(e.oid, false, e.legacy ? Buffer.from(e.value) : derUtf8String(e.value)),
          ),
        ],
      };
      // As Fulcio: the precertificate goes to the CT log, its SCT is embedded in the certificate.
      const precert = await x509.X509CertificateGenerator.create(tbs, crypto);
      const sct = Buffer.from(await ctLog.log(precert.rawData, issuerId));
      const list = Buffer.concat([Buffer.from([0, sct.length]), sct]);
      tbs.extensions.push(
        new x509.Extension(OID_SCT_LIST, false, Buffer.concat([Buffer.from([0x04, list.length]), list])),
      );
      return Buffer.from((await x509.X509CertificateGenerator.create(tbs, crypto)).rawData);
    },
  };
}

/** DER UTF8String of a short string (Fulcio's claim values fit in one length byte). */
const derUtf8String = (value: string) => {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]);
};

export interface MockSigstore {
  /** Base URLs for `--fulcio-url` / `--rekor-url`. */
  fulcioUrl: string;
  rekorUrl: string;
  /** A `trusted_root.json` that trusts this Fulcio (and its CT log) and this Rekor. */
  trustedRootPath: string;
  trustedRootJson: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, as a runner with `id-token: write` sets them. */
  oidcEnv: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** The identity keyless signatures get: certificate SAN and OIDC issuer. */
  identity: { subject: string; issuer: string };
  /** `--fulcio-url URL --rekor-url URL`, to spread into a CLI call. */
  signFlags: string[];
  /** Audiences the OIDC stand-in was asked for, in order. */
  audiences: string[];
  stop(): Promise<void>;
}

/**
 * A private Sigstore on loopback for keyless tests: @sigstore/mock's Fulcio (with a CT log) and
 * Rekor served over plain HTTP, a stand-in for the GitHub Actions OIDC token endpoint, and the
 * trusted root that verifies what they issue. The token is unsigned (the mock Fulcio does not
 * check it); everything else is real crypto.
 */
export async function startMockSigstore(options: MockSigstoreOptions = {}): Promise<MockSigstore> {
  const workflowRef = options.workflowRef ?? 'octo/demo/.github/workflows/release.yml@refs/heads/main';
  const issuer = options.issuer ?? GITHUB_ISSUER;
  const subject = `https://github.com/${workflowRef}`;
  const requestToken = `req-${Math.random().toString(36).slice(2)}`;
  const audiences: string[] = [];

  const routes = new Map<string, HandlerFn>();
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'GET' && url.pathname === '/oidc/token') {
      // As the runner's token service: the request token as bearer, the audience as a query.
      if (req.headers.authorization !== `Bearer ${requestToken}`) {
        res.writeHead(401).end();
        return;
      }
      const audience = url.searchParams.get('audience') ?? '';
      audiences.push(audience);
      const claims = {
        iss: issuer,
        aud: audience,
        sub: `repo:${workflowRef.split('/').slice(0, 2).join('/')}:ref:refs/heads/main`,
        job_workflow_ref: workflowRef,
        x_san: subject,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
      };
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const jwt = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: jwt }));
      return;
    }
    const fn = req.method === 'POST' ? routes.get(url.pathname) : undefined;
    if (!fn) {
      res.writeHead(404).end();
      return;
    }
    const out = await fn(Buffer.concat(chunks).toString('utf8'));
    res
      .writeHead(out.statusCode, { 'content-type': out.contentType ?? 'text/plain' })
      .end(
        typeof out.response === 'string'
          ? out.response
          : Buffer.from(out.response.buffer, out.response.byteOffset, out.response.byteLength),
      );
  }

  const fulcioUrl = `${base}/fulcio`;
  const rekorUrl = `${base}/rekor`;
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctLog = await initializeCTLog(ec());
  const ca = options.subjectAlternativeNames
    ? await fulcioStyleCa(ctLog, options.subjectAlternativeNames)
    : await initializeCA(ec(), ctLog);
  const tlog = await initializeTLog(rekorUrl, ec());
  // The SAN comes from a claim that holds the workflow URL, as real Fulcio derives it for GitHub.
  const fulcio = fulcioHandler(ca, { subjectClaim: 'x_san' });
  const rekor = rekorHandler(tlog);
  routes.set('/fulcio' + fulcio.path, fulcio.fn);
  routes.set('/rekor' + rekor.path, (body) => rekor.fn(asRekorStoresIt(body)));

  const b64 = (b: ArrayBufferView) =>
    Buffer.from(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength).toString('base64');
  const start = new Date(Date.now() - 60_000).toISOString();
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: rekorUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(tlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start },
        },
        logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: fulcioUrl,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: `${base}/ctfe`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(ctLog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start },
        },
        logId: { keyId: b64(ctLog.logID) },
      },
    ],
    timestampAuthorities: [],
  };
  const dir = mkdtempSync(join(tmpdir(), 'fg-sigstore-'));
  const trustedRootPath = join(dir, 'trusted_root.json');
  const trustedRootJson = JSON.stringify(trustedRoot, null, 2);
  writeFileSync(trustedRootPath, trustedRootJson);

  return {
    fulcioUrl,
    rekorUrl,
    trustedRootPath,
    trustedRootJson,
    oidcEnv: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/oidc/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    },
    identity: { subject, issuer },
    signFlags: ['--fulcio-url', fulcioUrl, '--rekor-url', rekorUrl],
    audiences,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
