import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sharedRegistryHost, startRegistry } from '../support/registry.js';
import { FIXTURES, HELM, KUBECTL, SYSTEM_PYTHON } from '../support/tools.js';

const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function pushBlob(
  base: string,
  repo: string,
  blob: Buffer,
  headers: Record<string, string> = {},
): Promise<string> {
  const digest = sha256(blob);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: blob,
    headers: { ...headers, 'content-type': 'application/octet-stream' },
  });
  expect(put.status).toBe(201);
  return digest;
}

describe('test bed', () => {
  it('the shared registry takes a blob and a manifest over plain HTTP, and skopeo reads the manifest back', async () => {
    const host = sharedRegistryHost();
    const base = `http://${host}`;
    const config = Buffer.from('{}');
    const layer = Buffer.from('hello fluxgate');
    const configDigest = await pushBlob(base, 'testbed/hello', config);
    const layerDigest = await pushBlob(base, 'testbed/hello', layer);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'text/plain', digest: layerDigest, size: layer.length }],
    });
    const put = await fetch(`${base}/v2/testbed/hello/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));

    const raw = execFileSync(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${host}/testbed/hello:v1`],
      {
        encoding: 'utf8',
      },
    );
    expect(raw).toBe(manifest);
  });

  it('a registry with htpasswd basic auth refuses anonymous pushes and takes authenticated ones', async () => {
    const registry = await startRegistry({ basicAuth: { user: 'ci', password: 'pa55word' } });
    try {
      const base = `http://${registry.host}`;
      const anonymous = await fetch(`${base}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
      const auth = { authorization: 'Basic ' + Buffer.from('ci:pa55word').toString('base64') };
      const digest = await pushBlob(base, 'private/app', Buffer.from('x'), auth);
      const head = await fetch(`${base}/v2/private/app/blobs/${digest}`, { method: 'HEAD', headers: auth });
      expect(head.status).toBe(200);
    } finally {
      await registry.stop();
    }
  });

  it('helm and kubectl from the tools directory run, and kubectl kustomize builds a fixture', () => {
    expect(execFileSync(HELM, ['version', '--short'], { encoding: 'utf8' })).toMatch(/^v[34]\./);
    const out = execFileSync(KUBECTL, ['kustomize', join(FIXTURES, 'kustomize-basic')], { encoding: 'utf8' });
    expect(out).toContain('name: fg-web');
    expect(out).toContain('namespace: demo');
  });

  it("Debian's python3 has the independent crypto checkers, and openssl runs", () => {
    const r = spawnSync(
      SYSTEM_PYTHON,
      ['-c', 'import nacl.secret, cryptography, jwcrypto.jws; print("ok")'],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('ok');
    expect(execFileSync('openssl', ['version'], { encoding: 'utf8' })).toMatch(/OpenSSL/);
  });
});
