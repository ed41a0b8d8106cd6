import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { FIXTURES, toolEnv } from '../support/tools.js';

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
    'clusters/test/cluster-secret.yaml': fixture(join(KC, 'algorithms', 'age.yaml')),
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
    const cluster = find(out, 'Secret', 'age')!;
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
    for (const text of [stdout, stderr]) for (const p of [...PLAINTEXTS, VALUE_B64]) expect(text).not.toContain(p);
    const yaml = await runCli(['render', '--repo', repo, '--path', 'clusters/test', ...ALL_KEYS], { env: env() });
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
    // getsops' no_mac.yaml: `sops decrypt` refuses a file without a MAC.
    const noMac = loadEncrypted(fixture(join(GETSOPS, 'no_mac.yaml')), 'yaml');
    const key = (await keys.dataKey(noMac.metadata))!;
    const d = decryptBranches(noMac.branches, noMac.metadata, key, (p) => p);
    expect(() => verifyMac(noMac, d.mac, key)).toThrow('integrity');
  });
});
