import { stringify } from 'yaml';

export interface OciRepositoryManifestInput {
  registry: string;
  repository: string;
  tag: string;
  insecure: boolean;
  /** Present when the push was signed. */
  verify?: { provider: 'cosign' | 'notation'; keyless?: { issuer: string; subject: string } };
}

/**
 * The OCIRepository that picks a pushed artifact up in-cluster, pinned to its tag, with
 * verification switched on when it was signed (the keys Secret is for the user to create).
 */
export function ociRepositoryYaml(input: OciRepositoryManifestInput): string {
  const name = input.repository
    .split('/')
    .pop()!
    .replace(/[^a-z0-9-]/g, '-');
  const spec: Record<string, unknown> = {
    interval: '5m',
    url: `oci://${input.registry}/${input.repository}`,
    ref: { tag: input.tag },
  };
  if (input.insecure) spec.insecure = true;
  if (input.verify) {
    spec.verify = input.verify.keyless
      ? { provider: 'cosign', matchOIDCIdentity: [input.verify.keyless] }
      : { provider: input.verify.provider, secretRef: { name: `${name}-${input.verify.provider}` } };
  }
  return stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: 'flux-system' },
    spec,
  });
}
