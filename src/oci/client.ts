import { createHash } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import {
  basicHeader,
  credentialSecrets,
  parseChallenge,
  resolveCredentials,
  type Credentials,
  type RegistryCredentials,
  UNBOUND_CREDENTIALS,
} from './auth.js';
import { boundedFetch, discard, readBounded, sleepWithinDeadline, TransferError } from '../util/http.js';
import { runLimits } from '../util/run-limits.js';
import { RegistryError } from './errors.js';
import { MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import { isLoopback } from './reference.js';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  attempts: number;
  /** First backoff; doubles each time, with jitter, capped at 30 s (Retry-After wins when given). */
  baseDelayMs: number;
}

export interface RegistryClientOptions {
  /** Plain HTTP allowed (always allowed for loopback hosts). */
  insecure?: boolean;
  /** Credentials bound to hosts (`--creds HOST=…`, `--creds-file`, FLUXGATE_CREDS). */
  creds?: RegistryCredentials;
  /** DOCKER_CONFIG / HOME for config.json, GITHUB_TOKEN for ghcr.io. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Registry host → mirror host (render's --registry-mirror). */
  mirrors?: Map<string, string>;
  retry?: Partial<RetryPolicy>;
  /**
   * Blobs larger than this are uploaded in chunks of this size. Smaller ones go in one PUT, which
   * every registry takes and which is the fastest (each chunk costs a round trip and a saved hash state).
   */
  chunkSize?: number;
}

export const sha256Digest = (data: Uint8Array) => 'sha256:' + createHash('sha256').update(data).digest('hex');

const RETRIABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/** distribution's limit on a manifest body (`maxManifestBodySize`, 4 MiB); indexes and referrers too. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
/** A token service answer or an error body: small JSON. */
const MAX_SMALL_BODY = 1024 * 1024;
/** One page of a tag list, and all pages together. */
const MAX_TAG_PAGE = 4 * 1024 * 1024;
const MAX_TAG_LIST = 64 * 1024 * 1024;

/** Credentials sets already warned about an unbound --creds (one warning per run). */
const warnedUnbound = new WeakSet<RegistryCredentials>();

/** Where a response came from after redirects: auth is answered only for the registry's own origin. */
const finalUrls = new WeakMap<Response, string>();

interface RequestSpec {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path after the host (`/v2/...`), or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** What the repository access is for: pull, or push (bearer scopes). */
  access: 'pull' | 'push';
}

/**
 * A registry client on the OCI distribution spec: bearer and basic auth, retries with backoff,
 * blob existence checks and mounts before uploads, chunked uploads, and the OCI 1.1 referrers
 * API with the `sha256-<hex>` tag-schema fallback. Shared by push, pull, render, sign and verify.
 */
export class RegistryClient {
  readonly stats = { bytesSent: 0, blobsUploaded: 0, requests: 0 };
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly chunkSize: number;
  /** Bearer tokens per `registry|repository|access`, Basic headers per registry. */
  private readonly authorizations = new Map<string, string>();
  private readonly credentials = new Map<string, Credentials | undefined>();
  /** Where we have seen a blob, for cross-repository mounts. */
  private readonly blobHomes = new Map<string, string>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.env = options.env ?? process.env;
    this.log = options.log ?? silentLogger;
    this.retry = { attempts: 5, baseDelayMs: 500, ...options.retry };
    this.chunkSize = options.chunkSize ?? 256 * 1024 * 1024;
    if (options.creds?.has(UNBOUND_CREDENTIALS) && !warnedUnbound.has(options.creds)) {
      warnedUnbound.add(options.creds);
      this.log.warn(
        '--creds USER:PASSWORD is not used here: the repository names the registries, give --creds HOST=USER:PASSWORD',
      );
    }
    for (const creds of options.creds?.values() ?? []) {
      for (const secret of credentialSecrets(creds.kind === 'basic' ? creds.password : creds.token))
        this.log.mask(secret);
    }
  }

  // ---- manifests ----

  async getManifest(registry: string, repository: string, reference: string) {
    const res = await this.send(registry, repository, {
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      access: 'pull',
    });
    await this.expect(res, [200], registry, repository, `manifest ${reference}`);
    const bytes = await this.read(res, MAX_MANIFEST_SIZE, registry, repository, `manifest ${reference}`);
    const digest = sha256Digest(bytes);
    if (reference.includes(':') && reference !== digest) {
      throw new RegistryError(
        `${registry}/${repository}@${reference}: the registry returned content with digest ${digest}`,
      );
    }
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(`${registry}/${repository}:${reference}: the manifest is not JSON`);
    }
    const mediaType = (manifest.mediaType as string) || res.headers.get('content-type') || '';
    const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
    if (typeof manifest.artifactType === 'string') descriptor.artifactType = manifest.artifactType;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { descriptor, bytes, manifest: manifest as any };
  }

  async headManifest(
    registry: string,
    repository: string,
    reference: string,
  ): Promise<Descriptor | undefined> {
    const res = await this.send(registry, repository, {
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      access: 'pull',
    });
    if (res.status === 404) return undefined;
    await this.expect(res, [200], registry, repository, `manifest ${reference}`);
    const digest = res.headers.get('docker-content-digest');
    const size = Number(res.headers.get('content-length'));
    if (!digest || !Number.isFinite(size)) {
      // Some registries omit the digest on HEAD: fall back to a GET.
      return (await this.getManifest(registry, repository, reference)).descriptor;
    }
    return { mediaType: res.headers.get('content-type') ?? '', digest, size };
  }

  /** PUT a manifest by tag or digest; the registry's digest must equal ours. */
  async putManifest(
    registry: string,
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ) {
    const digest = sha256Digest(bytes);
    const res = await this.send(registry, repository, {
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      access: 'push',
    });
    await this.expect(res, [200, 201], registry, repository, `manifest ${reference}`);
    const returned = res.headers.get('docker-content-digest');
    if (returned && returned !== digest) {
      throw new RegistryError(
        `${registry}/${repository}:${reference}: the registry stored digest ${returned}, expected ${digest}`,
      );
    }
    return {
      mediaType,
      digest,
      size: bytes.length,
      subjectHeader: res.headers.get('oci-subject') ?? undefined,
    };
  }

  async deleteManifest(registry: string, repository: string, digest: string): Promise<void> {
    const res = await this.send(registry, repository, {
      method: 'DELETE',
      path: `/v2/${repository}/manifests/${digest}`,
      access: 'push',
    });
    await this.expect(res, [200, 202, 404], registry, repository, `manifest ${digest}`);
  }

  // ---- blobs ----

  async hasBlob(registry: string, repository: string, digest: string): Promise<boolean> {
    const res = await this.send(registry, repository, {
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      access: 'pull',
    });
    if (res.status === 404) return false;
    await this.expect(res, [200], registry, repository, `blob ${digest}`);
    return true;
  }

  /** A blob, at most `maxSize` bytes (default: the run's `--max-artifact-size`), digest checked. */
  async getBlob(
    registry: string,
    repository: string,
    digest: string,
    maxSize = runLimits().maxArtifactSize,
  ): Promise<Buffer> {
    const res = await this.send(registry, repository, {
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      access: 'pull',
    });
    await this.expect(res, [200], registry, repository, `blob ${digest}`);
    const bytes = await this.read(res, maxSize, registry, repository, `blob ${digest}`);
    if (sha256Digest(bytes) !== digest) {
      throw new RegistryError(
        `${registry}/${repository}@${digest}: the blob's content does not match its digest`,
      );
    }
    this.blobHomes.set(`${registry}|${digest}`, repository);
    return bytes;
  }

  /** Uploads a blob unless the repository has it, mounting it from a sibling repository when we can. */
  async pushBlob(
    registry: string,
    repository: string,
    bytes: Buffer,
    mediaType = 'application/octet-stream',
  ): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const descriptor = { mediaType, digest, size: bytes.length };
    if (await this.hasBlob(registry, repository, digest)) return descriptor;

    const from = this.blobHomes.get(`${registry}|${digest}`);
    if (from && from !== repository) {
      const mount = await this.send(registry, repository, {
        method: 'POST',
        path: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        access: 'push',
      });
      if (mount.status === 201) {
        this.blobHomes.set(`${registry}|${digest}`, repository);
        return descriptor;
      }
      discard(mount);
    }

    // A dropped upload session cannot be resumed safely: start over, a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.upload(registry, repository, bytes, digest);
        break;
      } catch (err) {
        if (attempt >= 3 || !(err instanceof RegistryError) || err.status === 401 || err.status === 403)
          throw err;
        this.log.debug(`retrying the upload of ${digest} to ${registry}/${repository}: ${err.message}`);
      }
    }
    this.stats.blobsUploaded++;
    this.blobHomes.set(`${registry}|${digest}`, repository);
    return descriptor;
  }

  private async upload(registry: string, repository: string, bytes: Buffer, digest: string): Promise<void> {
    const start = await this.send(registry, repository, {
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      access: 'push',
    });
    await this.expect(start, [202], registry, repository, 'blob upload');
    let location = this.uploadLocation(start, registry, repository);

    if (bytes.length > this.chunkSize) {
      for (let offset = 0; offset < bytes.length; offset += this.chunkSize) {
        const chunk = bytes.subarray(offset, Math.min(offset + this.chunkSize, bytes.length));
        const patch = await this.send(registry, repository, {
          method: 'PATCH',
          path: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          body: chunk,
          access: 'push',
        });
        await this.expect(patch, [202], registry, repository, `blob ${digest} chunk at ${offset}`);
        location = this.uploadLocation(patch, registry, repository);
      }
      const done = await this.send(registry, repository, {
        method: 'PUT',
        path: withDigest(location, digest),
        access: 'push',
      });
      await this.expect(done, [201], registry, repository, `blob ${digest}`);
      return;
    }
    const put = await this.send(registry, repository, {
      method: 'PUT',
      path: withDigest(location, digest),
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
      access: 'push',
    });
    await this.expect(put, [201], registry, repository, `blob ${digest}`);
  }

  private uploadLocation(res: Response, registry: string, repository: string): string {
    const location = res.headers.get('location');
    if (!location) throw new RegistryError(`${registry}/${repository}: the registry gave no upload location`);
    return new URL(location, this.baseUrl(registry)).href;
  }

  // ---- tags and referrers ----

  async listTags(registry: string, repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    let read = 0;
    while (path) {
      const res = await this.send(registry, repository, { method: 'GET', path, access: 'pull' });
      if (res.status === 404) {
        discard(res);
        return tags;
      }
      await this.expect(res, [200], registry, repository, 'tag list');
      const page = await this.read(res, MAX_TAG_PAGE, registry, repository, 'tag list');
      read += page.length;
      if (read > MAX_TAG_LIST)
        throw new RegistryError(`${registry}/${repository}: tag list: larger than the limit of 64 MiB`);
      const body = this.json<{ tags?: string[] | null }>(page, registry, repository, 'tag list');
      tags.push(...(body.tags ?? []).filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      path = next ? new URL(next, this.baseUrl(registry)).href : undefined;
    }
    return tags;
  }

  /** Manifests whose subject is `digest`: the OCI 1.1 referrers API, else the `sha256-<hex>` tag index. */
  async referrers(
    registry: string,
    repository: string,
    digest: string,
    artifactType?: string,
  ): Promise<Descriptor[]> {
    const res = await this.send(registry, repository, {
      method: 'GET',
      path: `/v2/${repository}/referrers/${digest}`,
      headers: { accept: OCI_INDEX },
      access: 'pull',
    });
    let manifests: Descriptor[];
    if (res.status === 200 && (res.headers.get('content-type') ?? '').startsWith(OCI_INDEX)) {
      const what = `referrers of ${digest}`;
      const bytes = await this.read(res, MAX_MANIFEST_SIZE, registry, repository, what);
      manifests = this.json<{ manifests?: Descriptor[] }>(bytes, registry, repository, what).manifests ?? [];
    } else {
      discard(res);
      manifests = (await this.fallbackIndex(registry, repository, digest))?.manifests ?? [];
    }
    return artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests;
  }

  /**
   * Stores a manifest that has a `subject`. When the registry does not confirm it indexed the
   * subject (no `OCI-Subject` header), the tag-schema index is updated, copying artifactType and
   * annotations into the descriptor as the distribution spec requires.
   */
  async pushReferrer(
    registry: string,
    repository: string,
    manifestBytes: Buffer,
    mediaType: string,
  ): Promise<Descriptor> {
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      subject?: Descriptor;
      artifactType?: string;
      config?: Descriptor;
      annotations?: Record<string, string>;
    };
    if (!manifest.subject)
      throw new RegistryError(`${registry}/${repository}: a referrer manifest needs a subject`);
    const put = await this.putManifest(
      registry,
      repository,
      sha256Digest(manifestBytes),
      manifestBytes,
      mediaType,
    );
    const descriptor: Descriptor = { mediaType, digest: put.digest, size: put.size };
    const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
    if (artifactType) descriptor.artifactType = artifactType;
    if (manifest.annotations && Object.keys(manifest.annotations).length)
      descriptor.annotations = manifest.annotations;
    if (put.subjectHeader) return descriptor;

    const tag = fallbackTag(manifest.subject.digest);
    const index = (await this.fallbackIndex(registry, repository, manifest.subject.digest)) ?? {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [],
    };
    index.manifests = [...index.manifests.filter((m) => m.digest !== descriptor.digest), descriptor];
    await this.putManifest(registry, repository, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
    return descriptor;
  }

  private async fallbackIndex(registry: string, repository: string, digest: string) {
    const tag = fallbackTag(digest);
    if (!(await this.headManifest(registry, repository, tag))) return undefined;
    const { manifest } = await this.getManifest(registry, repository, tag);
    if (manifest.mediaType !== OCI_INDEX || !Array.isArray(manifest.manifests)) {
      throw new RegistryError(`${registry}/${repository}:${tag} is not an OCI index, cannot list referrers`);
    }
    return manifest as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
  }

  // ---- transport ----

  private baseUrl(registry: string): string {
    const host = this.options.mirrors?.get(registry) ?? registry;
    const plain = this.options.insecure || isLoopback(host);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /**
   * One registry request. Authorization goes only to the registry's own origin (scheme, host
   * and port of the registry, or of its mirror): an upload `Location`, a pagination link or a
   * redirect elsewhere gets none, and a 401 from elsewhere is not answered with credentials
   * (go-containerregistry's transport matches the host the same way; Go's http client drops
   * the header on a redirect to another host).
   */
  private async send(registry: string, repository: string, spec: RequestSpec): Promise<Response> {
    const url = /^https?:\/\//i.test(spec.path) ? spec.path : this.baseUrl(registry) + spec.path;
    const origin = new URL(url).origin;
    const own = origin === new URL(this.baseUrl(registry)).origin;
    const where = { registry, repository, what: describeRequest(spec) };
    const key = `${origin}|${repository}|${spec.access}`;
    let res = await this.fetchWithRetry(
      url,
      spec,
      own ? (this.authorizations.get(key) ?? this.authorizations.get(origin)) : undefined,
      where,
    );
    if (res.status !== 401 || !own || new URL(finalUrls.get(res) ?? url).origin !== origin) return res;

    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    let authorization: string | undefined;
    try {
      authorization = await this.authorize(registry, repository, spec.access, challenge, origin);
    } catch (err) {
      discard(res);
      throw err;
    }
    if (!authorization) return res;
    discard(res);
    this.authorizations.set(challenge?.scheme === 'bearer' ? key : origin, authorization);
    res = await this.fetchWithRetry(url, spec, authorization, where);
    return res;
  }

  /** The credentials for a host we connect to (its own name: a mirror's, not the mirrored registry's). */
  private credentialsFor(host: string): Credentials | undefined {
    if (!this.credentials.has(host)) {
      const creds = resolveCredentials(host, this.options.creds, this.env);
      if (creds) this.log.mask(creds.kind === 'basic' ? creds.password : creds.token);
      this.credentials.set(host, creds);
    }
    return this.credentials.get(host);
  }

  /**
   * Answers a challenge. Basic credentials go to the token service the registry names, wherever
   * it is (auth.docker.io for Docker Hub: docker, containerd and go-containerregistry do the
   * same, and the registry, which holds them already, is the one naming it), but never in clear
   * text: a plain-HTTP realm gets them only on the registry's own host.
   */
  private async authorize(
    registry: string,
    repository: string,
    access: 'pull' | 'push',
    challenge: ReturnType<typeof parseChallenge>,
    origin: string,
  ): Promise<string | undefined> {
    const registryUrl = new URL(origin);
    const creds = this.credentialsFor(registryUrl.host);
    if (!challenge || challenge.scheme === 'basic') {
      return creds?.kind === 'basic' ? basicHeader(creds.username, creds.password) : undefined;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (creds?.kind === 'token') return `Bearer ${creds.token}`;
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${registry}: bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${registry}: bearer challenge with an invalid realm`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(`${registry}: bearer challenge realm is not an http(s) URL`);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}`);
    const headers: Record<string, string> = {};
    const clearText = url.protocol === 'http:' && url.hostname !== registryUrl.hostname;
    if (creds?.kind === 'basic' && !clearText)
      headers.authorization = basicHeader(creds.username, creds.password);
    else if (creds?.kind === 'basic')
      this.log.debug(
        `${registry}: token service ${url.host} is plain HTTP on another host: asking without credentials`,
      );
    const where = { registry, repository, what: `token from ${url.host}` };
    const res = await this.fetchWithRetry(
      url.href,
      { method: 'GET', path: url.href, access },
      headers.authorization,
      where,
    );
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw new RegistryError(`authentication failed for ${registry}/${repository} (${res.status})`, {
        status: res.status,
      });
    }
    if (!res.ok) {
      discard(res);
      throw new RegistryError(`token service ${url.host} for ${registry} answered ${res.status}`, {
        status: res.status,
      });
    }
    const bytes = await this.read(res, MAX_SMALL_BODY, registry, repository, where.what);
    const body = this.json<{ token?: unknown; access_token?: unknown }>(
      bytes,
      registry,
      repository,
      where.what,
    );
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || !token)
      throw new RegistryError(`token service ${url.host} for ${registry} returned no token`);
    this.log.mask(token);
    return `Bearer ${token}`;
  }

  private async fetchWithRetry(
    url: string,
    spec: RequestSpec,
    authorization: string | undefined,
    where: { registry: string; repository: string; what: string },
  ): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      this.stats.requests++;
      try {
        const res = await this.fetchFollowingRedirects(url, spec, authorization);
        if (spec.body) this.stats.bytesSent += spec.body.length;
        if (!RETRIABLE_STATUS.has(res.status) || attempt === this.retry.attempts) return res;
        const retryAfter = Number(res.headers.get('retry-after'));
        discard(res);
        this.log.debug(`${spec.method} ${url}: ${res.status}, retrying`);
        await this.pause(
          Number.isFinite(retryAfter) && retryAfter > 0
            ? Math.min(retryAfter * 1000, 30_000)
            : this.backoff(attempt),
          where,
        );
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        if (err instanceof TransferError && err.kind === 'deadline') throw this.transferFailure(err, where);
        lastError = err;
        // An unknown host will not appear by waiting.
        if (attempt === this.retry.attempts || describeNetworkError(err) === 'unknown host') break;
        this.log.debug(`${spec.method} ${url}: ${describeNetworkError(err)}, retrying`);
        await this.pause(this.backoff(attempt), where);
      }
    }
    if (lastError instanceof TransferError) throw this.transferFailure(lastError, where);
    const host = new URL(url).host;
    throw new RegistryError(`cannot reach registry ${host}: ${describeNetworkError(lastError)}`, {
      cause: lastError,
    });
  }

  /**
   * Follows redirects itself (fetch's `redirect: 'follow'` would resend the Authorization to any
   * host). The header is dropped for good as soon as scheme, host or port change.
   */
  private async fetchFollowingRedirects(
    url: string,
    spec: RequestSpec,
    authorization: string | undefined,
  ): Promise<Response> {
    let current = new URL(url);
    let method: string = spec.method;
    let body = spec.body;
    let auth = authorization;
    const headers: Record<string, string> = { ...spec.headers };
    for (let hops = 0; ; hops++) {
      const res = await boundedFetch(current.href, {
        method,
        headers: auth ? { ...headers, authorization: auth } : headers,
        body,
      });
      if (!REDIRECT_STATUS.has(res.status)) {
        finalUrls.set(res, current.href);
        return res;
      }
      const location = res.headers.get('location');
      discard(res);
      if (!location) throw new RegistryError(`${current.host}: redirect ${res.status} without a location`);
      if (hops >= MAX_REDIRECTS) throw new RegistryError(`${new URL(url).host}: too many redirects`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new RegistryError(`${current.host}: redirect to an invalid location`);
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new RegistryError(`${current.host}: redirect to a ${next.protocol} URL refused`);
      }
      if (next.origin !== current.origin) auth = undefined;
      // As fetch does: 303 becomes a GET, and so do 301/302 of a POST.
      if (
        res.status === 303
          ? method !== 'HEAD'
          : (res.status === 301 || res.status === 302) && method === 'POST'
      ) {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
      }
      current = next;
    }
  }

  private transferFailure(err: TransferError, where: { registry: string; repository: string; what: string }) {
    return new RegistryError(`${where.registry}/${where.repository}: ${where.what}: ${err.message}`, {
      cause: err,
    });
  }

  private async pause(ms: number, where: { registry: string; repository: string; what: string }) {
    try {
      await sleepWithinDeadline(ms);
    } catch (err) {
      throw err instanceof TransferError ? this.transferFailure(err, where) : err;
    }
  }

  /** A body of at most `max` bytes; a timeout, a deadline or too much data is one line naming the reference. */
  private async read(
    res: Response,
    max: number,
    registry: string,
    repository: string,
    what: string,
  ): Promise<Buffer> {
    try {
      return await readBounded(res, max);
    } catch (err) {
      if (err instanceof TransferError) throw this.transferFailure(err, { registry, repository, what });
      throw new RegistryError(`${registry}/${repository}: ${what}: ${describeNetworkError(err)}`, {
        cause: err,
      });
    }
  }

  private json<T>(bytes: Buffer, registry: string, repository: string, what: string): T {
    try {
      const value = JSON.parse(bytes.toString('utf8')) as unknown;
      if (value && typeof value === 'object') return value as T;
    } catch {
      // reported below
    }
    throw new RegistryError(`${registry}/${repository}: ${what}: the registry's answer is not a JSON object`);
  }

  private backoff(attempt: number): number {
    const base = this.retry.baseDelayMs * 2 ** (attempt - 1);
    return Math.min(base / 2 + Math.random() * base, 30_000);
  }

  private async expect(
    res: Response,
    ok: number[],
    registry: string,
    repository: string,
    what: string,
  ): Promise<void> {
    if (ok.includes(res.status)) return;
    const body = await readBounded(res, MAX_SMALL_BODY)
      .then((b) => b.toString('utf8'))
      .catch(() => '');
    const where = `${registry}/${repository}`;
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(`authentication failed for ${where} (${res.status})`, { status: res.status });
    }
    let detail = '';
    try {
      const errors = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
      detail = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      detail = body.trim().split('\n')[0]?.slice(0, 200) ?? '';
    }
    const status = res.status === 404 ? 'not found (404)' : `HTTP ${res.status}`;
    throw new RegistryError(`${where}: ${what}: ${status}${detail ? ` ${detail}` : ''}`.slice(0, 500), {
      status: res.status,
    });
  }
}

export function fallbackTag(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `${alg!.slice(0, 32)}-${hex!.slice(0, 64)}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.href;
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') return 'unknown host';
  return cause?.code ?? cause?.message ?? err.message;
}

/** What a request is about, for error lines: `manifest v1`, `blob sha256:…`, `blob upload`. */
function describeRequest(spec: RequestSpec): string {
  const path = /^https?:/i.test(spec.path) ? new URL(spec.path).pathname : spec.path.split('?')[0]!;
  const m = /\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
  if (/\/blobs\/uploads\//.test(path)) return 'blob upload';
  if (m) return `${m[1] === 'manifests' ? 'manifest' : m[1] === 'blobs' ? 'blob' : 'referrers of'} ${m[2]}`;
  if (/\/tags\/list$/.test(path)) return 'tag list';
  return `${spec.method} ${path}`;
}
