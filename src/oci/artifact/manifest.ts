import { FluxgateError } from '../../errors.js';
import { FLUX_CONFIG, FLUX_CONTENT, OCI_MANIFEST } from '../media-types.js';
import { sha256Digest, type Descriptor } from '../client.js';

export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_SOURCE = 'org.opencontainers.image.source';
export const ANNOTATION_REVISION = 'org.opencontainers.image.revision';

export interface ArtifactMetadata {
  source: string;
  revision: string;
  /** RFC 3339 without fractional seconds; `--reproducible` uses the Unix epoch. */
  created: string;
  /** `--annotation`s, merged after the built-ins so they may override them (created must stay RFC 3339). */
  extra: [string, string][];
}

export interface BuiltArtifact {
  manifest: Buffer;
  manifestDescriptor: Descriptor;
  config: Buffer;
  layer: Buffer;
  annotations: Record<string, string>;
}

/** `time.Now().UTC().Format(time.RFC3339)` */
export function rfc3339Now(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The manifest `flux push artifact` writes: OCI image manifest, Flux config media type (the
 * config blob as Flux 2.9 writes it; source-controller never reads it), one content layer,
 * and the created/source/revision annotations. No artifactType, no subject.
 */
export function buildArtifactManifest(layer: Buffer, meta: ArtifactMetadata): BuiltArtifact {
  const annotations: Record<string, string> = {
    [ANNOTATION_CREATED]: meta.created,
    [ANNOTATION_SOURCE]: meta.source,
    [ANNOTATION_REVISION]: meta.revision,
  };
  for (const [k, v] of meta.extra) annotations[k] = v;
  if (
    Number.isNaN(Date.parse(annotations[ANNOTATION_CREATED]!)) ||
    !/T/.test(annotations[ANNOTATION_CREATED]!)
  ) {
    throw new FluxgateError(
      'INPUT',
      `annotation ${ANNOTATION_CREATED}='${annotations[ANNOTATION_CREATED]}' is not an RFC 3339 time`,
    );
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      os: '',
      rootfs: { type: 'layers', diff_ids: null },
      config: {},
    }),
  );
  const manifestObject = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: FLUX_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: [{ mediaType: FLUX_CONTENT, size: layer.length, digest: sha256Digest(layer) }],
    annotations,
  };
  const manifest = Buffer.from(JSON.stringify(manifestObject));
  return {
    manifest,
    manifestDescriptor: { mediaType: OCI_MANIFEST, digest: sha256Digest(manifest), size: manifest.length },
    config,
    layer,
    annotations,
  };
}
