import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { FIXTURES, toolEnv } from '../support/tools.js';
import { gitIn } from '../support/history.js';

/**
 * SOPS files written by the sops CLI, with the keys published beside them
 * (fluxcd/kustomize-controller internal/controller/testdata/sops, getsops/sops functional-tests;
 * see __tests__/fixtures/SOURCES.md). Every kustomize-controller file decrypts to `value`
 * (merge1.yaml to `merge1`), getsops' format.enc.env to `foo = bar`.
 */
const KC = join(FIXTURES, 'sops', 'kustomize-controller');
const GETSOPS = join(FIXTURES, 'sops', 'getsops');
const fixture = (path: string) => readFileSync(join(path), 'utf8');
const AGE_KEY = join(KC, 'keys', 'age.txt');
const PGP_KEY = join(KC, 'keys', 'pgp.asc');
const GETSOPS_PGP_KEY = join(GETSOPS, 'sops_functional_tests_key.asc');
const ALL_KEYS = [
  '--sops-age-key-file',
  AGE_KEY,
  '--sops-pgp-key-file',
  PGP_KEY,
  '--sops-pgp-key-file',
  GETSOPS_PGP_KEY,
];
/** Plaintexts of the fixtures, raw and base64, as they must never appear in any output. */
const PLAINTEXTS = ['merge1', 'foo = bar', 'key=value', 'foo: bar'].flatMap((p) => [
  p,
  Buffer.from(p).toString('base64'),
]);
const VALUE_B64 = Buffer.from('value').toString('base64');

/** No env key: the tests choose the keys. */
const env = () => {
  const e = toolEnv();
  delete e.SOPS_AGE_KEY;
  delete e.SOPS_AGE_KEY_FILE;
  return e;
};

interface Rendered {
  objects: { owner: { kind: string; namespace: string; name: string }; object: Record<string, any> }[];
  errors: { owner: { kind: string; namespace: string; name: string }; message: string }[];
}

async function render(repo: string, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = await runCli(['render', '--format', 'json', '--repo', repo, '--path', 'clusters/test', ...args], {
    env: { ...env(), ...extraEnv },
  });
  return { ...r, out: (r.stdout ? JSON.parse(r.stdout) : { objects: [], errors: [] }) as Rendered };
}

const find = (out: Rendered, kind: string, name: string) =>
  out.objects.find((o) => o.object.kind === kind && o.object.metadata.name === name)?.object;

/**
 * A fleet as SOPS users have it: the entry Kustomization's definition (bootstrap's gotk-sync,
 * with decryption configured) next to a SOPS Secret, and a `secrets` Kustomization with
 * decryption whose kustomization holds an encrypted Secret and a secretGenerator reading
 * encrypted files. The renaming patches give every variant of secret.yaml one name, so a swap
 * of upstream files is a change of the same Secret.
 */
function fleet(files: Record<string, string> = {}): string {
  return writeRepo({
    'clusters/test/flux-system/kustomization.yaml': 'resources: [gotk-sync.yaml]\n',
    'clusters/test/flux-system/gotk-sync.yaml': [
      'apiVersion: source.toolkit.fluxcd.io/v1',
      'kind: GitRepository',
      'metadata: {name: flux-system, namespace: flux-system}',
      'spec: {interval: 1m, url: https://example.com/fleet, ref: {branch: main}}',
      '---',
      fluxKustomization('flux-system', './clusters/test', {
        decryption: { provider: 'sops', secretRef: { name: 'sops-keys' } },
      }),
      '',
    ].join('\n'),
    'clusters/test/cluster-secret.yaml': fixture(join(KC, 'algorithms', 'pgp.yaml')),
    'clusters/test/secrets.yaml': fluxKustomization('secrets', './secrets', {
      targetNamespace: 'apps',
      decryption: { provider: 'sops', secretRef: { name: 'sops-keys' } },
    }),
    'secrets/kustomization.yaml': [
      'resources: [secret.yaml]',
      'generatorOptions: {disableNameSuffixHash: true}',
      'secretGenerator:',
      '  - name: generated',
      '    files: [one=a.txt, two.env=b.env]',
      'patches:',
      ...['age', 'pgp', 'secret'].map(
        (name) =>
          `  - target: {kind: Secret, name: ${name}}\n    patch: '[{"op": "replace", "path": "/metadata/name", "value": "app"}]'`,
      ),
      '',
    ].join('\n'),
    'secrets/secret.yaml': fixture(join(KC, 'algorithms', 'age.yaml')),
    'secrets/a.txt': fixture(join(KC, 'files', 'file.txt')),
    'secrets/b.env': fixture(join(KC, 'envs', 'env.env')),
    ...files,
  });
}

describe('SOPS decryption as kustomize-controller does it', () => {
  it('decrypts age and OpenPGP Secrets and secretGenerator files to the published plaintext, and prints none of it', async () => {
    const repo = fleet();
    const { code, out, stdout, stderr } = await render(repo, ALL_KEYS);
    expect(out.errors).toEqual([]);
    expect(code).toBe(0);
    // The Secrets are masked like any Secret: markers, no sops metadata, no ciphertext.
    const app = find(out, 'Secret', 'app')!;
    const generated = find(out, 'Secret', 'generated')!;
    const cluster = find(out, 'Secret', 'pgp')!;
    expect(app.sops).toBeUndefined();
    expect(app.metadata.namespace).toBe('apps');
    expect(Object.keys(app.stringData)).toEqual(['key']);
    expect(Object.keys(generated.data).sort()).toEqual(['one', 'two.env']);
    expect(JSON.stringify(out)).not.toContain('ENC[');
    // The same plaintext gives the same marker: the three files hold `value`, and the
    // generator's `one` (binary format) is `value` too; two.env is the dotenv `key=value`.
    expect(app.stringData.key).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    expect(cluster.stringData.key).toBe(app.stringData.key);
    expect(generated.data.one).toBe(app.stringData.key);
    expect(generated.data['two.env']).not.toBe(app.stringData.key);
    for (const text of [stdout, stderr])
      for (const p of [...PLAINTEXTS, VALUE_B64]) expect(text).not.toContain(p);
    const yaml = await runCli(['render', '--repo', repo, '--path', 'clusters/test', ...ALL_KEYS], {
      env: env(),
    });
    for (const p of [...PLAINTEXTS, VALUE_B64]) expect(yaml.stdout).not.toContain(p);
  });

  it('decrypts inside the test to the published plaintext (age, post-quantum age, OpenPGP)', async () => {
    // The engine's result is masked; the decryptor itself is checked against the plaintext here.
    const { SopsKeys } = await import('../../src/render/sops/keys.js');
    const { loadEncrypted, emitPlain } = await import('../../src/render/sops/tree.js');
    const { decryptBranches, verifyMac } = await import('../../src/render/sops/decrypt.js');
    const keys = await SopsKeys.load({
      ageKeyFiles: [AGE_KEY, join(KC, 'keys', 'age-pq.txt')],
      pgpKeyFiles: [PGP_KEY, GETSOPS_PGP_KEY],
      env: {},
      cwd: '/',
    });
    const cases: [string, 'yaml' | 'json' | 'dotenv' | 'binary', string][] = [
      [join(KC, 'algorithms', 'age.yaml'), 'yaml', 'stringData:\n    key: value\n'],
      [join(KC, 'algorithms', 'age-pq.yaml'), 'yaml', 'stringData:\n    key: value\n'],
      [join(KC, 'algorithms', 'pgp.yaml'), 'yaml', 'stringData:\n    key: value\n'],
      [join(KC, 'envs', 'env.env'), 'dotenv', 'key=value\n'],
      [join(KC, 'files', 'file.txt'), 'binary', 'value'],
      // getsops/sops functional-tests/src/lib.rs expects exactly these outputs of `sops decrypt`.
      [join(GETSOPS, 'format.enc.yaml'), 'yaml', 'foo: bar\n'],
      [join(GETSOPS, 'format.enc.json'), 'json', '"foo": "bar"'],
      [join(GETSOPS, 'format.enc.env'), 'dotenv', 'foo = bar\n'],
    ];
    for (const [file, format, plain] of cases) {
      const tree = loadEncrypted(fixture(file), format);
      const key = (await keys.dataKey(tree.metadata))!;
      const decrypted = decryptBranches(tree.branches, tree.metadata, key, (p) => p);
      expect(() => verifyMac(tree, decrypted.mac, key)).not.toThrow();
      expect(emitPlain(decrypted.branches, format)).toContain(plain);
    }
    // A hostile encryption rule cannot stall the check: RE2 semantics, linear time.
    const { repositoryRegExp } = await import('../../src/render/sops/decrypt.js');
    expect(repositoryRegExp('(a+)+$').test('a'.repeat(64) + '!')).toBe(false);
    // getsops' no_mac.yaml: `sops decrypt` refuses a file without a MAC.
    const noMac = loadEncrypted(fixture(join(GETSOPS, 'no_mac.yaml')), 'yaml');
    const key = (await keys.dataKey(noMac.metadata))!;
    const d = decryptBranches(noMac.branches, noMac.metadata, key, (p) => p);
    expect(() => verifyMac(noMac, d.mac, key)).toThrow('integrity');
  });
  it('the entry Kustomization made by a FluxInstance takes the decryption its kustomize patches add', async () => {
    const instance = [
      'apiVersion: fluxcd.controlplane.io/v1',
      'kind: FluxInstance',
      'metadata: {name: flux, namespace: flux-system}',
      'spec:',
      '  distribution: {version: 2.x, registry: ghcr.io/fluxcd}',
      '  sync: {kind: GitRepository, url: https://example.com/fleet, ref: refs/heads/main, path: clusters/test}',
      '  kustomize:',
      '    patches:',
      '      - target: {kind: Kustomization}',
      '        patch: |',
      '          - op: add',
      '            path: /spec/decryption',
      '            value: {provider: sops, secretRef: {name: flux-sops}}',
      '',
    ].join('\n');
    const repo = fleet({ 'clusters/test/flux-system/gotk-sync.yaml': instance });
    const { out } = await render(repo, ALL_KEYS);
    expect(out.errors).toEqual([]);
    expect(find(out, 'Secret', 'pgp')!.stringData.key).toMatch(/^\(secret:[0-9a-f]{12}\)$/);
    // Without that patch, the entry Kustomization has no decryption and kustomize-controller refuses the Secret.
    const bare = await render(
      fleet({ 'clusters/test/flux-system/gotk-sync.yaml': instance.split('  kustomize:')[0]! }),
      ALL_KEYS,
    );
    expect(bare.out.errors.map((e) => e.message)).toEqual([
      'Kustomization flux-system/flux-system: Secret/pgp is SOPS encrypted, configuring decryption is required for this secret to be reconciled',
    ]);
  });
});

describe('a review of SOPS Secrets over a git history', () => {
  let repo: string;
  const git = (...args: string[]) => gitIn(repo, ...args);
  const commit = (name: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) writeFileSync(join(repo, path), text);
    git('add', '-A');
    git('commit', '-qm', name);
    return git('rev-parse', 'HEAD').trim();
  };
  const diff = async (base: string, head: string, format: string, keys: string[] = ALL_KEYS) => {
    const r = await runCli(
      [
        'diff',
        '--repo',
        repo,
        '--base',
        base,
        '--head',
        head,
        '--path',
        'clusters/test',
        '--format',
        format,
        ...keys,
      ],
      { env: env() },
    );
    return r;
  };
  const describeChange = (c: any) => `${c.action} ${c.kind} ${c.namespace}/${c.name}`;
  let c0: string, reencrypted: string, oneValue: string, secretValue: string;

  beforeAll(() => {
    repo = fleet();
    git('init', '-q');
    c0 = commit('base', {});
    // The same plaintexts encrypted again (another key even): sops output differs byte for byte.
    reencrypted = commit('re-encrypted', {
      'secrets/secret.yaml': fixture(join(KC, 'algorithms', 'pgp.yaml')),
      'secrets/b.env': fixture(join(KC, 'component', 'env.env')),
    });
    oneValue = commit('one generator file changes', {
      'secrets/b.env': fixture(join(GETSOPS, 'format.enc.env')),
    });
    secretValue = commit('the Secret value changes', {
      'secrets/secret.yaml': fixture(join(KC, 'patches', 'merge1.yaml')),
    });
  });

  it('shows no change for a file re-encrypted without a change', async () => {
    const r = await diff(c0, reencrypted, 'json');
    const out = JSON.parse(r.stdout);
    expect(out.errors).toEqual([]);
    expect(out.changes).toEqual([]);
  });

  it('shows one changed value as exactly one changed key, in every format, without plaintext', async () => {
    const json = await diff(reencrypted, oneValue, 'json');
    const out = JSON.parse(json.stdout);
    expect(out.errors).toEqual([]);
    expect(out.changes.map(describeChange)).toEqual(['modified Secret apps/generated']);
    const lines = String(out.changes[0].diff)
      .split('\n')
      .filter((l) => /^[-+](?![-+]{2} [ab]\/)/.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^-\s+two\.env: \(secret:[0-9a-f]{12}\)$/);
    expect(lines[1]).toMatch(/^\+\s+two\.env: \(secret:[0-9a-f]{12}\)$/);
    const again = JSON.parse((await diff(oneValue, secretValue, 'json')).stdout);
    expect(again.changes.map(describeChange)).toEqual(['modified Secret apps/app']);
    expect(again.changes[0].diff).toMatch(
      /-\s+key: \(secret:[0-9a-f]{12}\)\n\+\s+key: \(secret:[0-9a-f]{12}\)/,
    );
    for (const format of ['markdown', 'unified']) {
      const r = await diff(c0, secretValue, format);
      expect(r.stdout).toContain('generated');
      for (const text of [r.stdout, r.stderr])
        for (const p of [...PLAINTEXTS, VALUE_B64]) expect(text).not.toContain(p);
    }
    for (const text of [json.stdout, json.stderr])
      for (const p of [...PLAINTEXTS, VALUE_B64]) expect(text).not.toContain(p);
  });

  it('without a key, says that an encrypted Secret changed and that its values cannot be compared', async () => {
    const r = await diff(oneValue, secretValue, 'json', []);
    const out = JSON.parse(r.stdout);
    expect(out.errors).toEqual([]);
    expect(out.changes.map(describeChange)).toEqual(['modified Secret apps/app']);
    const changed = String(out.changes[0].diff)
      .split('\n')
      .filter((l) => /^[-+](?![-+]{2} [ab]\/)/.test(l));
    // One line, not one marker per ciphertext: the key itself is shown unchanged.
    expect(changed).toHaveLength(2);
    expect(changed[0]).toMatch(
      /^-sops: encrypted; no SOPS key given to fluxgate, so its values are not compared \(revision \(secret:[0-9a-f]{12}\)\)$/,
    );
    expect(changed[1]).toMatch(
      /^\+sops: encrypted; no SOPS key given to fluxgate, so its values are not compared \(revision \(secret:[0-9a-f]{12}\)\)$/,
    );
    expect(out.changes[0].diff).toMatch(/\n\s+key: \(sops-encrypted\)/);
    expect(r.stdout).not.toContain('ENC[');
  });
});

describe('what kustomize-controller refuses, as one error on its owner', () => {
  const secretsError = (out: Rendered) => {
    expect(out.errors.map((e) => `${e.owner.kind}/${e.owner.namespace}/${e.owner.name}`)).toEqual([
      'Kustomization/flux-system/secrets',
    ]);
    const message = out.errors[0]!.message;
    expect(message.split('\n')).toHaveLength(1);
    for (const p of [...PLAINTEXTS, VALUE_B64, 'AGE-SECRET-KEY', 'ENC[']) expect(message).not.toContain(p);
    // The rest of the cluster still renders.
    expect(find(out, 'Secret', 'pgp')).toBeDefined();
    return message;
  };
  const ageSecret = fixture(join(KC, 'algorithms', 'age.yaml'));

  it('a tampered value', async () => {
    const tampered = ageSecret.replace('data:mHeXsmQ=', 'data:mHeXsmA=');
    expect(tampered).not.toBe(ageSecret);
    const { code, out } = await render(fleet({ 'secrets/secret.yaml': tampered }), ALL_KEYS);
    expect(code).toBe(1);
    expect(secretsError(out)).toBe(
      'Kustomization flux-system/secrets: decryption failed for Secret apps/app: secrets/secret.yaml: at stringData:key:: Could not decrypt with AES_GCM: message authentication failed',
    );
  });

  it('a tampered MAC, or a change sops did not make', async () => {
    const badMac = ageSecret.replace('mac: ENC[AES256_GCM,data:vmrF', 'mac: ENC[AES256_GCM,data:vmrG');
    expect(badMac).not.toBe(ageSecret);
    let { out } = await render(fleet({ 'secrets/secret.yaml': badMac }), ALL_KEYS);
    expect(secretsError(out)).toMatch(
      /decryption failed for Secret apps\/app: secrets\/secret\.yaml: failed to verify sops data integrity: Could not decrypt with AES_GCM/,
    );
    // An unencrypted field edited by hand: every value still decrypts, the MAC no longer matches.
    const edited = ageSecret.replace('kind: Secret\n', 'kind: Secret\ntype: Opaque\n');
    ({ out } = await render(fleet({ 'secrets/secret.yaml': edited }), ALL_KEYS));
    expect(secretsError(out)).toMatch(
      /secrets\/secret\.yaml: failed to verify sops data integrity: MAC mismatch \(the file was changed without sops\)$/,
    );
  });

  it('a wrong key', async () => {
    const { code, out } = await render(fleet(), ['--sops-age-key-file', join(KC, 'keys', 'age-global.txt')]);
    expect(code).toBe(1);
    expect(secretsError(out)).toBe(
      'Kustomization flux-system/secrets: secrets/a.txt: cannot get sops data key: no key given to fluxgate opens it (age age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29)',
    );
    // The entry's Secret is encrypted for OpenPGP only, and no OpenPGP key was given: not an error, sealed.
    expect(find(out, 'Secret', 'pgp')!.stringData.key).toBe('(sops-encrypted)');
  });

  it('keys from SOPS_AGE_KEY_FILE and SOPS_AGE_KEY, as sops reads them', async () => {
    const repo = fleet({ 'secrets/b.env': fixture(join(KC, 'envs', 'env.env')) });
    const keyLine = fixture(AGE_KEY)
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    for (const extra of [{ SOPS_AGE_KEY_FILE: AGE_KEY }, { SOPS_AGE_KEY: `${keyLine} ${keyLine}` }]) {
      const { code, out } = await render(repo, [], extra);
      expect(out.errors).toEqual([]);
      expect(code).toBe(0);
      expect(find(out, 'Secret', 'app')!.stringData.key).toMatch(/^\(secret:/);
    }
    const bad = await render(repo, [], { SOPS_AGE_KEY: 'AGE-SECRET-KEY-1NOTAKEY' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SOPS_AGE_KEY: line 1 is not a valid age identity');
    expect(bad.stderr).not.toContain('NOTAKEY');
  });

  it('a SOPS Secret under a Kustomization without spec.decryption (kustomization_controller.go refuses to apply it)', async () => {
    const repo = fleet({
      'clusters/test/secrets.yaml': fluxKustomization('secrets', './secrets', { targetNamespace: 'apps' }),
    });
    const { code, out } = await render(repo, ALL_KEYS);
    expect(code).toBe(1);
    expect(secretsError(out)).toBe(
      'Kustomization flux-system/secrets: Secret/apps/app is SOPS encrypted, configuring decryption is required for this secret to be reconciled',
    );
    // With the decrypt opt-out annotation the controller applies it as it is.
    const optOut = ageSecret.replace(
      '  name: age\n',
      '  name: age\n  annotations: {kustomize.toolkit.fluxcd.io/decrypt: disabled}\n',
    );
    const r = await render(
      fleet({
        'clusters/test/secrets.yaml': fluxKustomization('secrets', './secrets', { targetNamespace: 'apps' }),
        'secrets/secret.yaml': optOut,
      }),
      ALL_KEYS,
    );
    expect(r.out.errors).toEqual([]);
    expect(find(r.out, 'Secret', 'app')!.stringData.key).toBe('(sops-encrypted)');
  });
});

describe('the plain-text Secret finding', () => {
  const verify = async (repo: string, args: string[] = []) => {
    const r = await runCli(['verify', '--repo', repo, '--format', 'json', ...args], { env: env() });
    return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr };
  };
  const plain = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db',
    'stringData:',
    '  user: app',
    '  url: postgres://${DB_HOST}/app',
    '  password: ${DB_PASSWORD}',
    '',
  ].join('\n');

  it('reports a Secret committed in clear at its file and line, a warning unless --require-encrypted-secrets', async () => {
    const repo = fleet({
      'secrets/kustomization.yaml': 'resources: [secret.yaml, db.yaml]\n',
      'secrets/db.yaml': plain,
      'clusters/test/notes.yaml': [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: notes}',
        'data:',
        '  token: c2VjcmV0',
        '',
      ].join('\n'),
    });
    const { code, report } = await verify(repo, ['--path', 'clusters/test']);
    const found = report.findings
      .filter((f: any) => f.rule === 'plaintext-secret')
      .map((f: any) => `${f.severity} ${f.file}:${f.line} ${f.object}: ${f.message}`);
    expect(found.sort()).toEqual([
      'warning clusters/test/notes.yaml:5 Secret/notes: Secret committed in clear (data.token) where Kustomization/flux-system/flux-system decrypts SOPS: encrypt it with sops',
      // `password` is only a postBuild variable; the SOPS-encrypted secret.yaml beside it is not flagged.
      'warning secrets/db.yaml:6 Secret/db: Secret committed in clear (stringData.user, stringData.url) where Kustomization/flux-system/secrets decrypts SOPS: encrypt it with sops',
    ]);
    expect(code).toBe(0);
    const strict = await verify(repo, ['--path', 'clusters/test', '--require-encrypted-secrets']);
    expect(strict.code).toBe(1);
    expect(
      strict.report.findings.filter((f: any) => f.rule === 'plaintext-secret').map((f: any) => f.severity),
    ).toEqual(['error', 'error']);
    for (const p of ['c2VjcmV0', 'secret\n'])
      expect(JSON.stringify(strict.report) + strict.stderr).not.toContain(p);
  });

  it('does not flag the upstream flux2-kustomize-helm-example', async () => {
    const { report } = await verify(join(FIXTURES, 'corpora', 'flux2-kustomize-helm-example'), [
      '--require-encrypted-secrets',
    ]);
    expect(report.findings.filter((f: any) => f.rule === 'plaintext-secret')).toEqual([]);
  });
});
