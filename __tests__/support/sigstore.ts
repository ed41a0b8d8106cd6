import { createHash, generateKeyPairSync } from 'node:crypto';
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
}

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
  const ca = await initializeCA(ec(), ctLog);
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
