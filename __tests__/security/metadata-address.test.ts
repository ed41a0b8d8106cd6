import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { fluxKustomization, writeRepo } from '../support/repo.js';
import { runCli } from '../support/cli.js';
import { guardedLookup, refusedAddress } from '../../src/util/network-guard.js';

/**
 * A pull request names the addresses its sources are fetched from. One that points a
 * HelmRepository or OCIRepository at a cloud metadata service (directly, as IPv6, as an
 * IPv4-mapped address, or through a redirect from a server it controls) would have the runner
 * fetch its credentials into the review: no connection is made to such an address.
 */
let root: string;
let redirector: Server;
const hits: string[] = [];

const helmRepository = (name: string, url: string) =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: ${name}, namespace: apps}\nspec: {url: "${url}", interval: 1h}\n`;
const helmRelease = (name: string, repository: string) =>
  JSON.stringify({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: 'apps' },
    spec: {
      interval: '5m',
      chart: {
        spec: { chart: 'creds', version: '1.0.0', sourceRef: { kind: 'HelmRepository', name: repository } },
      },
    },
  });

beforeAll(async () => {
  redirector = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/index.yaml' });
    res.end();
  });
  await new Promise<void>((done) => redirector.listen(0, '127.0.0.1', done));
  const { port } = redirector.address() as AddressInfo;
  root = writeRepo({
    'clusters/prod/kustomization.yaml': 'resources: [apps.yaml]\n',
    'clusters/prod/apps.yaml': fluxKustomization('apps', './apps'),
    'apps/kustomization.yaml': 'resources: [sources.yaml, releases.yaml, oci.yaml]\n',
    'apps/sources.yaml': [
      helmRepository('imds', 'http://169.254.169.254/latest/meta-data/'),
      helmRepository('imds-decimal', 'http://2852039166/latest/'),
      helmRepository('imds-mapped', 'http://[::ffff:169.254.169.254]/latest/'),
      helmRepository('imds-v6', 'http://[fd00:ec2::254]/latest/'),
      helmRepository('redirects', `http://127.0.0.1:${port}/charts/`),
    ].join('---\n'),
    'apps/releases.yaml': ['imds', 'imds-decimal', 'imds-mapped', 'imds-v6', 'redirects']
      .map((r) => helmRelease(`from-${r}`, r))
      .join('\n---\n'),
    'apps/oci.yaml': [
      'apiVersion: source.toolkit.fluxcd.io/v1',
      'kind: OCIRepository',
      'metadata: {name: imds, namespace: apps}',
      'spec: {interval: 5m, url: "oci://169.254.169.254/latest/meta-data", ref: {tag: latest}, insecure: true}',
      '---',
      JSON.stringify({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'from-imds', namespace: 'apps' },
        spec: {
          interval: '10m',
          path: './',
          prune: true,
          sourceRef: { kind: 'OCIRepository', name: 'imds' },
        },
      }),
    ].join('\n'),
  });
});

afterAll(async () => {
  await new Promise((done) => redirector.close(done));
  rmSync(root, { recursive: true, force: true });
});

describe('sources at cloud metadata addresses', () => {
  it('are refused before any connection, each with one line naming its owner', async () => {
    const r = await runCli(['render', '--repo', root, '--path', 'clusters/prod', '--format', 'json']);
    expect(r.code).toBe(1);
    const errors = (JSON.parse(r.stdout) as { errors: { owner: { name: string }; message: string }[] })
      .errors;
    const byOwner = Object.fromEntries(errors.map((e) => [e.owner.name, e.message]));
    for (const owner of [
      'from-imds',
      'from-imds-decimal',
      'from-imds-mapped',
      'from-imds-v6',
      'from-redirects',
    ])
      expect([owner, byOwner[owner]]).toEqual([
        owner,
        expect.stringMatching(/refused to connect to .*link-local or cloud metadata address/),
      ]);
    expect(byOwner['from-imds-v6']).toContain('fd00:ec2::254');
    // The redirecting server was asked (it is on loopback); where it pointed was not.
    expect(hits.length).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/fetch failed/);
  });

  it('are refused whatever a name resolves to, at connection time', async () => {
    const lookup = (host: string) =>
      new Promise<unknown>((done, fail) =>
        guardedLookup(host, { all: true }, (err, addresses) => (err ? fail(err) : done(addresses))),
      );
    await expect(lookup('169.254.169.254')).rejects.toThrow(/refused to connect to 169\.254\.169\.254/);
    await expect(lookup('localhost')).resolves.toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]),
    );
    expect(refusedAddress('::ffff:a9fe:a9fe')).toMatch(/metadata/);
    expect(refusedAddress('100.100.100.200')).toMatch(/metadata/);
    expect(refusedAddress('127.0.0.1')).toBeUndefined();
    expect(refusedAddress('10.0.0.5')).toBeUndefined();
  });
});
