/**
 * The verify benchmark: N small artifacts pushed and signed with a cosign key by fluxgate itself
 * (the CLI module, in-process), then `fluxgate verify` of each, against the I/O floor: a bare
 * manifest HEAD + GET of the same references.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../src/cli/main.js';
import { measure } from './measure.js';

export interface VerifyBench {
  provider: 'cosign' | 'notation';
  artifacts: number;
  signMs: number;
  verifyMs: number;
  perArtifactMs: number;
  floorMs: number;
  floorPerArtifactMs: number;
  ratioToFloor: number;
  /** HTTP requests verify made per artifact (the floor makes 2). */
  requestsPerArtifact: number;
}

/** Counts the HTTP requests `fn` makes (undici announces each on this channel, whichever copy sends it). */
async function countingRequests<T>(fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
  let requests = 0;
  const count = () => void requests++;
  subscribe('undici:request:create', count);
  try {
    const value = await fn();
    return { value, requests };
  } finally {
    unsubscribe('undici:request:create', count);
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  let out = '';
  let err = '';
  const code = await cli(argv, {
    env,
    cwd,
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  if (code !== 0) throw new Error(`fluxgate ${argv.slice(0, 2).join(' ')} exited ${code}: ${err.trim()}`);
  return out;
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** The I/O floor of verifying `ref`: resolve the tag (HEAD) and read the manifest (GET). */
async function headAndGet(host: string, repository: string, tag: string): Promise<void> {
  const url = `http://${host}/v2/${repository}/manifests/${tag}`;
  const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT } });
  if (!head.ok) throw new Error(`HEAD ${url}: ${head.status}`);
  const get = await fetch(url, { headers: { accept: ACCEPT } });
  if (!get.ok) throw new Error(`GET ${url}: ${get.status}`);
  await get.arrayBuffer();
}

interface Provider {
  name: 'cosign' | 'notation';
  /** Writes keys and policy into `work`; returns the flags push and verify take. */
  setup(work: string, env: NodeJS.ProcessEnv): Promise<{ sign: string[]; verify: string[] }>;
}

export const cosignProvider: Provider = {
  name: 'cosign',
  async setup(work, env) {
    await run(['generate-key-pair'], env, work);
    return {
      sign: ['--sign', 'cosign', '--cosign-key', join(work, 'cosign.key')],
      verify: ['--provider', 'cosign', '--key', join(work, 'cosign.pub')],
    };
  },
};

/** notation with an X.509 chain made by the tests' PKI helper, a CA trust store and a trust policy. */
export const notationProvider: Provider = {
  name: 'notation',
  async setup(work) {
    const { createCa, issueLeaf } = await import('../__tests__/support/pki.js');
    const ca = await createCa();
    const leaf = await issueLeaf(ca, { subject: 'C=US, ST=WA, O=Fluxgate Bench, CN=bench signer' });
    writeFileSync(join(work, 'notation.key'), leaf.keyPem, { mode: 0o600 });
    writeFileSync(join(work, 'notation.crt'), leaf.chainPem);
    mkdirSync(join(work, 'trust-store'));
    writeFileSync(join(work, 'trust-store', 'root.crt'), ca.pem);
    writeFileSync(
      join(work, 'trustpolicy.json'),
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'bench',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:bench'],
            trustedIdentities: ['*'],
          },
        ],
      }),
    );
    return {
      sign: [
        '--sign',
        'notation',
        '--notation-key',
        join(work, 'notation.key'),
        '--notation-cert',
        join(work, 'notation.crt'),
      ],
      verify: [
        '--provider',
        'notation',
        '--trust-policy',
        join(work, 'trustpolicy.json'),
        '--trust-store',
        `ca:bench=${join(work, 'trust-store')}`,
      ],
    };
  },
};

export async function benchVerify(
  provider: Provider,
  host: string,
  count: number,
  baseEnv: NodeJS.ProcessEnv,
): Promise<VerifyBench> {
  const work = mkdtempSync(join(tmpdir(), 'bench-verify-'));
  const env = { ...baseEnv, COSIGN_PASSWORD: 'bench' };
  try {
    const flags = await provider.setup(work, env);
    const repos: string[] = [];
    const sign = await measure(async () => {
      for (let i = 0; i < count; i++) {
        const dir = join(work, `content-${i}`);
        mkdirSync(dir);
        writeFileSync(
          join(dir, 'configmap.yaml'),
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-${i}\ndata:\n  index: "${i}"\n`,
        );
        const repository = `bench/verify-${provider.name}-${String(i).padStart(3, '0')}`;
        const out = await run(
          [
            'push',
            `oci://${host}/${repository}:v1`,
            '--path',
            dir,
            '--source',
            'https://example.com/bench',
            '--revision',
            `main@sha1:${i.toString(16).padStart(40, '0')}`,
            ...flags.sign,
            '--insecure-registry',
            '--format',
            'json',
          ],
          env,
          work,
        );
        if (!(JSON.parse(out) as { signatures: unknown[] }).signatures.length)
          throw new Error(`push --sign ${provider.name} of ${repository} reported no signature`);
        repos.push(repository);
      }
    });
    const counted = await countingRequests(() =>
      measure(async () => {
        for (const repository of repos) {
          const out = await run(
            [
              'verify',
              `oci://${host}/${repository}:v1`,
              ...flags.verify,
              '--insecure-registry',
              '--format',
              'json',
            ],
            env,
            work,
          );
          const report = JSON.parse(out) as { sources: { verified: boolean; reason?: string }[] };
          if (!report.sources.length || !report.sources.every((s) => s.verified))
            throw new Error(`verify ${repository}: ${report.sources[0]?.reason ?? 'not verified'}`);
        }
      }),
    );
    const verify = counted.value;
    const floor = await measure(async () => {
      for (const repository of repos) await headAndGet(host, repository, 'v1');
    });
    return {
      provider: provider.name,
      artifacts: count,
      signMs: Math.round(sign.wallMs),
      verifyMs: Math.round(verify.wallMs),
      perArtifactMs: verify.wallMs / count,
      floorMs: Math.round(floor.wallMs),
      floorPerArtifactMs: floor.wallMs / count,
      ratioToFloor: verify.wallMs / floor.wallMs,
      requestsPerArtifact: counted.requests / count,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Whether notation signing has landed in the code being measured (the provider stub said so until then). */
export function notationLanded(): boolean {
  const source = readFileSync(join(import.meta.dirname, '..', 'src', 'sign', 'notation', 'index.ts'), 'utf8');
  return !/not implemented/i.test(source);
}
