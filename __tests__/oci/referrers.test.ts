import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { RegistryClient, fallbackTag, sha256Digest } from '../../src/oci/client.js';
import { EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST } from '../../src/oci/media-types.js';
import { sharedRegistryHost } from '../support/registry.js';

describe('referrers on a registry without the OCI 1.1 API (distribution 2.8)', () => {
  it('stores referrers in the sha256-<hex> tag index, with artifactType and annotations, and lists them back', async () => {
    const host = sharedRegistryHost();
    const repo = 'oci-test/referrers';
    const client = new RegistryClient({ env: {} });
    const config = await client.pushBlob(host, repo, EMPTY_JSON, OCI_EMPTY);
    const subjectBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
    );
    const subject = await client.putManifest(host, repo, 'v1', subjectBytes, OCI_MANIFEST);

    const referrer = (artifactType: string, note: string) => {
      const layer = Buffer.from(note);
      return {
        layer,
        bytes: Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType,
            config: { mediaType: OCI_EMPTY, digest: sha256Digest(EMPTY_JSON), size: 2 },
            layers: [{ mediaType: 'text/plain', digest: sha256Digest(layer), size: layer.length }],
            subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
            annotations: { 'org.example/note': note },
          }),
        ),
      };
    };
    for (const [type, note] of [
      ['application/vnd.example.sig', 'one'],
      ['application/vnd.example.sbom', 'two'],
    ] as const) {
      const r = referrer(type, note);
      await client.pushBlob(host, repo, r.layer, 'text/plain');
      await client.pushReferrer(host, repo, r.bytes, OCI_MANIFEST);
    }

    const all = await client.referrers(host, repo, subject.digest);
    expect(all.map((d) => [d.artifactType, d.annotations?.['org.example/note']])).toEqual([
      ['application/vnd.example.sig', 'one'],
      ['application/vnd.example.sbom', 'two'],
    ]);
    expect(await client.referrers(host, repo, subject.digest, 'application/vnd.example.sbom')).toHaveLength(
      1,
    );

    // An independent client sees the fallback index under the spec's tag.
    const index = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${repo}:${fallbackTag(subject.digest)}`],
        {
          encoding: 'utf8',
        },
      ),
    );
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(2);
    expect(fallbackTag(subject.digest)).toBe(subject.digest.replace(':', '-'));
  });

  it('lists no referrers for a digest that has none', async () => {
    const client = new RegistryClient({ env: {} });
    expect(await client.referrers(sharedRegistryHost(), 'oci-test/none', `sha256:${'0'.repeat(64)}`)).toEqual(
      [],
    );
  });
});
