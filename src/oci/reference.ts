import { UsageError } from '../errors.js';

/** An OCI reference as the flux CLI takes it: `oci://HOST/REPO[:TAG|@DIGEST]`. */
export interface OciReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
/** An OCI tag (distribution spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
export const TAG = /^[\w][\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Parses `oci://host[:port]/repo/path[:tag][@digest]` (the scheme is optional). */
export function parseOciReference(url: string): OciReference {
  const bad = (why: string) => new UsageError(`invalid OCI reference '${url}': ${why}`);
  let rest = url.startsWith('oci://') ? url.slice('oci://'.length) : url;
  if (rest.includes('://')) throw bad('only oci:// references are supported');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`'${digest}' is not a digest`);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad('expected HOST/REPOSITORY');
  let registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`'${tag}' is not a valid tag`);
  }
  if (!/^[a-zA-Z0-9.-]+(?::\d+)?$/.test(registry) && !/^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(registry)) {
    throw bad(`'${registry}' is not a registry host`);
  }
  if (!REPOSITORY.test(path)) throw bad(`'${path}' is not a valid repository name`);
  // Docker Hub's canonical host, as go-containerregistry names it.
  if (registry === 'docker.io') registry = 'index.docker.io';
  if (registry === 'index.docker.io' && !path.includes('/')) path = `library/${path}`;
  return { registry, repository: path, tag, digest };
}

/** `host/repo[:tag][@digest]`, no scheme. */
export function formatReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Loopback registries may always be spoken to over plain HTTP. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
