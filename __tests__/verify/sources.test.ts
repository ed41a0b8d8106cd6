import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { sharedRegistryHost } from '../support/registry.js';
import { writeRepo } from '../support/repo.js';
import { createCa, issueLeaf, trustPolicy, writeSigningFiles, type TestCa } from '../support/pki.js';
import { startMockSigstore, type MockSigstore } from '../support/sigstore.js';
import { cosignKeyPairs, pushTestArtifact } from '../support/signing.js';
import { PROJECT_ROOT, toolEnv } from '../support/tools.js';
import { readOutputs } from './github-outputs.js';

/**
 * A fixture repository whose sources point at artifacts in the test registry, each signed in a
 * different way (or not), and each asking for verification with its own spec.verify.
 */
const host = () => sharedRegistryHost();
const prefix = `vsrc-${process.pid}-${Date.now().toString(36)}`;
let keys: string;
let sigstore: MockSigstore;
const digests = new Map<string, string>();
/** The signature manifest each signing push stored, by `path:tag`. */
const signatureRefs = new Map<string, string>();
/** The notation PKI: our CA (its certificate in the verify Secret) and a stranger's. */
let notationCa: TestCa;
let notationFiles: {
  ours: { keyFile: string; certFile: string };
  stranger: { keyFile: string; certFile: string };
};
/** The signers' subjects as notation prints them (Go's RDN order), which `by` and reasons name. */
const SIGNER = 'C=US, ST=WA, L=Seattle, O=Fluxgate Test, CN=Fluxgate Test Signer';
const SIGNER_GO = 'CN=Fluxgate Test Signer,O=Fluxgate Test,L=Seattle,ST=WA,C=US';
const STRANGER = 'C=US, ST=OR, O=Elsewhere Inc, CN=Elsewhere Signer';
const STRANGER_GO = 'CN=Elsewhere Signer,O=Elsewhere Inc,ST=OR,C=US';

const indent = (text: string, n: number) => text.replace(/^/gm, ' '.repeat(n));

async function push(path: string, tag: string, sign?: string[], env?: NodeJS.ProcessEnv) {
  const out = await pushTestArtifact(
    `oci://${host()}/${prefix}/${path}:${tag}`,
    { 'a.yaml': `a: ${path}-${tag}\n` },
    { extra: sign, env },
  );
  digests.set(`${path}:${tag}`, out.digest);
  if (out.signatures?.[0]?.ref) signatureRefs.set(`${path}:${tag}`, out.signatures[0].ref);
}

/** 1-based line of the first line matching `needle` after the line containing `after`, read from the file itself. */
function lineAfter(repo: string, file: string, after: string, needle: RegExp): number {
  const lines = readFileSync(join(repo, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes(after));
  return lines.findIndex((l, i) => i > start && needle.test(l)) + 1;
}

const cosign = (key: string) => ['--sign', 'cosign', '--cosign-key', join(keys, key)];
const notation = (f: { keyFile: string; certFile: string }) => [
  '--sign',
  'notation',
  '--notation-key',
  f.keyFile,
  '--notation-cert',
  f.certFile,
];
/** A GitHub Actions job with `id-token: write`, signing through the mock Fulcio and Rekor. */
const keylessEnv = () => {
  const env = toolEnv(sigstore.oidcEnv);
  delete env.SIGSTORE_ID_TOKEN;
  return env;
};

beforeAll(async () => {
  keys = await cosignKeyPairs('ours', 'theirs');
  await push('signed', 'v1.0.0', cosign('ours.key'));
  await push('unsigned', 'v1.0.0');
  await push('other-key', 'v1.0.0', cosign('theirs.key'));
  await push('notation', 'v1.0.0');
  // Notation: a leaf of our CA, and one of a CA the verify Secret does not hold.
  notationCa = await createCa({ key: 'ec-p384' });
  const strangerCa = await createCa({
    key: 'ec-p256',
    subject: 'C=US, ST=OR, O=Elsewhere Inc, CN=Elsewhere Root',
  });
  notationFiles = {
    ours: writeSigningFiles(
      join(keys, 'notation-ours'),
      await issueLeaf(notationCa, { key: 'ec-p256', subject: SIGNER }),
    ),
    stranger: writeSigningFiles(
      join(keys, 'notation-stranger'),
      await issueLeaf(strangerCa, { key: 'ec-p256', subject: STRANGER }),
    ),
  };
  await push('notation-signed', 'v1.0.0', notation(notationFiles.ours));
  await push('notation-stranger', 'v1.0.0', notation(notationFiles.stranger));
  sigstore = await startMockSigstore();
  const keyless = ['--sign', 'cosign', '--keyless', ...sigstore.signFlags];
  await push('keyless', 'v1.0.0', keyless, keylessEnv());
  await push('keyless-bundle', 'v1.0.0', [...keyless, '--bundle-format'], keylessEnv());
  await push('keyless-stranger', 'v1.0.0', keyless, keylessEnv());
  // Charts in an OCI Helm repository: versions as tags, `+` written `_`.
  await push('charts/app', '1.2.0', cosign('ours.key'));
  await push('charts/app', '1.3.0_build.1', cosign('ours.key'));
  await push('charts/app', '2.0.0');
  await push('charts/other', '0.1.0', cosign('theirs.key'));
}, 120000);
afterAll(() => sigstore?.stop());

const ociRepository = (name: string, ref: string, verify: string) => `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 5m
  url: oci://${host()}/${prefix}/${name}
  ref: ${ref}
  insecure: true
  verify: ${verify}
`;

const keylessVerify = (subject: string) =>
  JSON.stringify({
    provider: 'cosign',
    matchOIDCIdentity: [{ issuer: '^https://token[.]actions[.]githubusercontent[.]com$', subject }],
    trustedRootSecretRef: { name: 'sigstore-root' },
  });

/** A verify Secret as Flux's notation provider reads it: the trust policy and the CA certificate. */
const notationSecret = (name: string, policy: string) => `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: flux-system}
stringData:
  trustpolicy.json: |
${indent(policy, 4)}
  ca.crt: |
${indent(notationCa.pem.trimEnd(), 4)}
`;

function fixture() {
  const keysSecret = `
apiVersion: v1
kind: Secret
metadata: {name: cosign-keys, namespace: flux-system}
stringData:
  ours.pub: |
${indent(readFileSync(join(keys, 'ours.pub'), 'utf8'), 4)}
`;
  return writeRepo({
    'clusters/dev/oci.yaml': [
      ociRepository('signed', '{semver: ">=1.0.0"}', '{provider: cosign, secretRef: {name: cosign-keys}}'),
      ociRepository('unsigned', '{tag: v1.0.0}', '{provider: cosign, secretRef: {name: cosign-keys}}'),
      ociRepository('other-key', '{tag: v1.0.0}', '{provider: cosign, secretRef: {name: cosign-keys}}'),
      ociRepository('notation', '{tag: v1.0.0}', '{provider: notation, secretRef: {name: notation-empty}}'),
      ociRepository(
        'notation-signed',
        '{tag: v1.0.0}',
        '{provider: notation, secretRef: {name: notation-trust}}',
      ),
      ociRepository(
        'notation-stranger',
        '{tag: v1.0.0}',
        '{provider: notation, secretRef: {name: notation-trust}}',
      ),
    ].join('---'),
    'clusters/dev/by-digest.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: pinned, namespace: flux-system}
spec:
  interval: 5m
  url: oci://${host()}/${prefix}/signed
  ref: {digest: "${digests.get('signed:v1.0.0')}"}
  verify:
    provider: cosign
    secretRef: {name: cosign-keys}
`,
    // Keyless: matchOIDCIdentity regexps and a custom trusted root from trustedRootSecretRef.
    'clusters/dev/keyless.yaml': [
      // Go-only syntax, as source-controller reads it: (?i), \z, (?P<name>…), POSIX classes.
      ociRepository(
        'keyless',
        '{tag: v1.0.0}',
        keylessVerify('(?i)^HTTPS://github[.]com/octo/demo/.+@refs/heads/main\\z'),
      ),
      ociRepository(
        'keyless-bundle',
        '{tag: v1.0.0}',
        keylessVerify('^https://github[.]com/(?P<org>[[:alnum:]]+)/.+'),
      ),
      ociRepository(
        'keyless-stranger',
        '{tag: v1.0.0}',
        keylessVerify('^https://github[.]com/someone-else/.+$'),
      ),
    ].join('---'),
    'clusters/dev/secrets.yaml': `${keysSecret}---
apiVersion: v1
kind: Secret
metadata: {name: sigstore-root, namespace: flux-system}
data:
  trusted_root.json: ${Buffer.from(sigstore.trustedRootJson).toString('base64')}
---
apiVersion: v1
kind: Secret
metadata: {name: notation-empty, namespace: flux-system}
stringData:
  ca.crt: not a certificate
---
${notationSecret('notation-trust', trustPolicy({ trustStores: ['ca:acme'], identities: [`x509.subject: ${SIGNER}`] }))}
`,
    'apps/charts.yaml': `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec:
  type: oci
  interval: 5m
  url: oci://${host()}/${prefix}/charts
  insecure: true
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: app, namespace: flux-system}
spec:
  interval: 5m
  chart: app
  version: "1.x"
  sourceRef: {kind: HelmRepository, name: charts}
  verify:
    provider: cosign
    secretRef: {name: cosign-keys}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: other, namespace: web}
spec:
  interval: 5m
  chart:
    spec:
      chart: other
      version: 0.1.0
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
      verify:
        provider: cosign
        secretRef: {name: cosign-keys}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: classic, namespace: flux-system}
spec:
  interval: 5m
  url: https://charts.example.com
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: classic, namespace: web}
spec:
  interval: 5m
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: classic, namespace: flux-system}
      verify:
        provider: cosign
        secretRef: {name: cosign-keys}
`,
  });
}

async function verify(repo: string, ...extra: string[]) {
  const r = await runCli(['verify', '--repo', repo, '--format', 'json', ...extra]);
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) };
}

describe('verify --path: every source with its own spec.verify, against the registry', () => {
  it('gives each source the right verdict and fails the run because of the bad ones', async () => {
    const repo = fixture();
    const { code, report, stderr } = await verify(repo);
    expect(code).toBe(1);
    const url = (p: string) => `oci://${host()}/${prefix}/${p}`;
    expect(report.sources).toEqual([
      // apps/charts.yaml first (files in order): the HelmChart's range picks 1.3.0+build.1, stored as tag 1.3.0_build.1.
      {
        ref: url('charts/app:1.3.0_build.1'),
        digest: digests.get('charts/app:1.3.0_build.1'),
        provider: 'cosign',
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
      // The HelmRelease template's chart, its Secret read in the HelmRepository's namespace.
      {
        ref: url('charts/other:0.1.0'),
        digest: digests.get('charts/other:0.1.0'),
        provider: 'cosign',
        verified: false,
        reason: 'no signature verifies with the given key',
      },
      {
        ref: url('signed'),
        digest: digests.get('signed:v1.0.0'),
        provider: 'cosign',
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
      {
        ref: url('keyless'),
        digest: digests.get('keyless:v1.0.0'),
        provider: 'cosign',
        verified: true,
        by: `keyless: ${sigstore.identity.subject} (${sigstore.identity.issuer})`,
      },
      {
        ref: url('keyless-bundle'),
        digest: digests.get('keyless-bundle:v1.0.0'),
        provider: 'cosign',
        verified: true,
        by: `keyless: ${sigstore.identity.subject} (${sigstore.identity.issuer})`,
      },
      {
        ref: url('keyless-stranger'),
        digest: digests.get('keyless-stranger:v1.0.0'),
        provider: 'cosign',
        verified: false,
        reason: expect.stringContaining(`the certificate identity ${sigstore.identity.subject}`),
      },
      {
        ref: url('signed'),
        digest: digests.get('signed:v1.0.0'),
        provider: 'cosign',
        verified: true,
        by: 'flux-system/cosign-keys/ours.pub',
      },
      {
        ref: url('unsigned'),
        digest: digests.get('unsigned:v1.0.0'),
        provider: 'cosign',
        verified: false,
        reason: 'no cosign signature found',
      },
      {
        ref: url('other-key'),
        digest: digests.get('other-key:v1.0.0'),
        provider: 'cosign',
        verified: false,
        reason: 'no signature verifies with the given key',
      },
      {
        ref: url('notation'),
        digest: digests.get('notation:v1.0.0'),
        provider: 'notation',
        verified: false,
        reason: "'trustpolicy.json' not found in Secret flux-system/notation-empty",
      },
      // Signed by a leaf of the CA in the Secret, its subject a trusted identity.
      {
        ref: url('notation-signed'),
        digest: digests.get('notation-signed:v1.0.0'),
        provider: 'notation',
        verified: true,
        by: `${SIGNER_GO} (ca:acme)`,
      },
      // Signed by a leaf of another CA: the chain leads to no certificate of the Secret.
      {
        ref: url('notation-stranger'),
        digest: digests.get('notation-stranger:v1.0.0'),
        provider: 'notation',
        verified: false,
        reason: `signature ${signatureRefs.get('notation-stranger:v1.0.0')}: authenticity: the certificate chain of "${STRANGER_GO}" does not lead to a certificate in trust store(s) ca:acme`,
      },
    ]);
    // verify on a chart of a plain HTTPS HelmRepository does nothing in Flux: a finding says so.
    expect(report.findings).toContainEqual({
      severity: 'warning',
      rule: 'unverified-source',
      file: 'apps/charts.yaml',
      line: lineAfter(repo, 'apps/charts.yaml', 'name: classic, namespace: web', /^\s+verify:/),
      object: 'HelmRelease/web/classic',
      message:
        'chart podinfo: verify is ignored because HelmRepository classic is not an OCI HelmRepository in this repository; Flux verifies only charts of HelmRepositories with type: oci',
    });
    // One error line per bad source, at its verify block.
    expect(stderr).toContain(
      `error: clusters/dev/oci.yaml:${lineAfter(repo, 'clusters/dev/oci.yaml', 'name: unsigned', /^\s+verify:/)}: OCIRepository/flux-system/unsigned: ${url('unsigned')}@${digests.get('unsigned:v1.0.0')}: not verified (cosign): no cosign signature found`,
    );
    expect(stderr).toContain(
      `error: apps/charts.yaml:${lineAfter(repo, 'apps/charts.yaml', 'name: other, namespace: web', /^\s+verify:/)}: HelmRelease/web/other: ${url('charts/other:0.1.0')}@${digests.get('charts/other:0.1.0')}: not verified (cosign)`,
    );

    // The text table names the object of each verdict.
    const text = await runCli(['verify', '--repo', repo]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      new RegExp(
        `^${url('unsigned').replace(/[.]/g, '\\.')}\\s+OCIRepository/flux-system/unsigned\\s+cosign\\s+sha256:[0-9a-f]{12}\\s+NO\\s+no cosign signature found$`,
        'm',
      ),
    );
  });

  it('reports what an audit-level notation policy only logs: a warning in JSON, the table, the annotations and the job summary', async () => {
    // Our signer, but the policy trusts another identity: audit logs authenticity and passes.
    const repo = writeRepo({
      'clusters/dev/notation.yaml': [
        ociRepository(
          'notation-signed',
          '{tag: v1.0.0}',
          '{provider: notation, secretRef: {name: notation-audit}}',
        ),
        notationSecret(
          'notation-audit',
          trustPolicy({
            name: 'audit-only',
            level: 'audit',
            trustStores: ['ca:acme'],
            identities: ['x509.subject: C=US, ST=WA, O=Fluxgate Test, CN=Someone Else'],
          }),
        ),
      ].join('---\n'),
    });
    const warning = `authenticity (logged by level audit): signing certificate "${SIGNER_GO}" does not match the trusted identities of trust policy statement "audit-only"`;
    const { code, report, stderr } = await verify(repo);
    expect(code).toBe(0);
    expect(report.sources).toEqual([
      {
        ref: `oci://${host()}/${prefix}/notation-signed`,
        digest: digests.get('notation-signed:v1.0.0'),
        provider: 'notation',
        verified: true,
        by: `${SIGNER_GO} (ca:acme)`,
        warnings: [warning],
      },
    ]);
    // Once on stderr, at the verify block.
    const line = lineAfter(repo, 'clusters/dev/notation.yaml', 'name: notation-signed', /^\s+verify:/);
    const warningLines = stderr.split('\n').filter((l) => l.includes(warning));
    expect(warningLines).toEqual([
      `warning: clusters/dev/notation.yaml:${line}: OCIRepository/flux-system/notation-signed: oci://${host()}/${prefix}/notation-signed@${digests.get('notation-signed:v1.0.0')}: ${warning}`,
    ]);

    const text = await runCli(['verify', '--repo', repo]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `\noci://${host()}/${prefix}/notation-signed (OCIRepository/flux-system/notation-signed): warning: ${warning}\n`,
    );

    const runner = mkdtempSync(join(tmpdir(), 'fg-runner-'));
    const summary = join(runner, 'summary');
    writeFileSync(summary, '');
    writeFileSync(join(runner, 'output'), '');
    const action = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', 'src/index.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: toolEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: join(runner, 'output'),
        GITHUB_STEP_SUMMARY: summary,
        INPUT_COMMAND: 'verify',
        INPUT_REPO: repo,
        'INPUT_GITHUB-TOKEN': '',
      }),
      timeout: 120000,
    });
    expect(action.status).toBe(0);
    expect(action.stdout).toContain(
      `::warning title=fluxgate%3A signature,file=clusters/dev/notation.yaml,line=${line}::`,
    );
    expect(JSON.parse(readOutputs(join(runner, 'output')).json!).sources[0].warnings).toEqual([warning]);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('**1/1** signature verified (1 with warnings);');
    expect(md).toContain('| notation | `sha256:');
    expect(md).toContain('| ⚠️ yes, with warnings |');
    expect(md).toContain(
      `- ⚠️ oci://${host()}/${prefix}/notation-signed (OCIRepository/flux-system/notation-signed): authenticity \\(logged by level audit\\): signing certificate "CN=Fluxgate Test Signer,O=Fluxgate Test,L=Seattle,ST=WA,C=US" does not match the trusted identities of trust policy statement "audit-only"`,
    );
  });

  it('reads verify Secrets kept outside the repository from --verify-secret NS/NAME=DIR', async () => {
    const repo = fixture();
    const outside = mkdtempSync(join(tmpdir(), 'fg-outside-'));
    writeFileSync(join(outside, 'theirs.pub'), readFileSync(join(keys, 'theirs.pub')));
    const { report } = await verify(repo, '--verify-secret', `flux-system/cosign-keys=${outside}`);
    const byRef = Object.fromEntries(
      report.sources
        .filter((s: any) => s.provider === 'cosign' && !s.ref.includes('keyless'))
        .map((s: any) => [s.ref.split('/').pop(), s.verified]),
    );
    expect(byRef).toEqual({
      'app:1.3.0_build.1': false,
      'other:0.1.0': true,
      signed: false,
      unsigned: false,
      'other-key': true,
    });
  });

  it('fails closed when a source cannot be resolved or its Secret is missing, naming what is wrong', async () => {
    const repo = writeRepo({
      'sources.yaml': [
        ociRepository('signed', '{semver: ">=9.0.0"}', '{provider: cosign, secretRef: {name: cosign-keys}}'),
        ociRepository('unsigned', '{tag: v1.0.0}', '{provider: cosign, secretRef: {name: nowhere}}'),
        ociRepository('keyless', '{tag: v1.0.0}', keylessVerify('(')),
        // Go's regexp refuses lookarounds (source-controller compiles these with regexp.Compile).
        ociRepository('keyless', '{tag: v1.0.0}', keylessVerify('^https://github[.]com/(?=octo)')),
      ].join('---'),
    });
    const { code, report } = await verify(repo);
    expect(code).toBe(1);
    expect(report.sources.map((s: any) => [s.verified, s.reason])).toEqual([
      [false, `${host()}/${prefix}/signed: no tag matches semver '>=9.0.0'`],
      [
        false,
        'Secret flux-system/nowhere is not in the repository (pass --verify-secret flux-system/nowhere=DIR with its files)',
      ],
      [
        false,
        "matchOIDCIdentity[0].subject '(' is not a valid regular expression: error parsing regexp: missing closing ): `(`",
      ],
      [
        false,
        "matchOIDCIdentity[0].subject '^https://github[.]com/(?=octo)' is not a valid regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
      ],
    ]);
  });
});
