import { createHash } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import { basicHeader, parseChallenge, resolveCredentials, type Credentials } from './auth.js';
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
  /** `user:password`, or a bearer token when there is no ':'. */
  creds?: string;
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
    if (options.creds) {
      const i = options.creds.indexOf(':');
      this.log.mask(i >= 0 ? options.creds.slice(i + 1) : options.creds);
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
    const bytes = Buffer.from(await res.arrayBuffer());
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

  async getBlob(registry: string, repository: string, digest: string): Promise<Buffer> {
    const res = await this.send(registry, repository, {
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      access: 'pull',
    });
    await this.expect(res, [200], registry, repository, `blob ${digest}`);
    const bytes = Buffer.from(await res.arrayBuffer());
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
      await mount.arrayBuffer().catch(() => undefined);
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
    while (path) {
      const res = await this.send(registry, repository, { method: 'GET', path, access: 'pull' });
      if (res.status === 404) return tags;
      await this.expect(res, [200], registry, repository, 'tag list');
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
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
      manifests = ((await res.json()) as { manifests?: Descriptor[] }).manifests ?? [];
    } else {
      await res.arrayBuffer().catch(() => undefined);
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

  private async send(registry: string, repository: string, spec: RequestSpec): Promise<Response> {
    const url = spec.path.startsWith('http') ? spec.path : this.baseUrl(registry) + spec.path;
    const key = `${registry}|${repository}|${spec.access}`;
    let res = await this.fetchWithRetry(
      url,
      spec,
      this.authorizations.get(key) ?? this.authorizations.get(registry),
    );
    if (res.status !== 401) return res;

    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    await res.arrayBuffer().catch(() => undefined);
    const authorization = await this.authorize(registry, repository, spec.access, challenge);
    if (!authorization) return res;
    this.authorizations.set(challenge?.scheme === 'bearer' ? key : registry, authorization);
    res = await this.fetchWithRetry(url, spec, authorization);
    return res;
  }

  private credentialsFor(registry: string): Credentials | undefined {
    if (!this.credentials.has(registry)) {
      const creds = resolveCredentials(registry, this.options.creds, this.env);
      if (creds) this.log.mask(creds.kind === 'basic' ? creds.password : creds.token);
      this.credentials.set(registry, creds);
    }
    return this.credentials.get(registry);
  }

  private async authorize(
    registry: string,
    repository: string,
    access: 'pull' | 'push',
    challenge: ReturnType<typeof parseChallenge>,
  ): Promise<string | undefined> {
    const creds = this.credentialsFor(registry);
    if (!challenge || challenge.scheme === 'basic') {
      return creds?.kind === 'basic' ? basicHeader(creds.username, creds.password) : undefined;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (creds?.kind === 'token') return `Bearer ${creds.token}`;
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${registry}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}`);
    const headers: Record<string, string> = {};
    if (creds?.kind === 'basic') headers.authorization = basicHeader(creds.username, creds.password);
    const res = await this.fetchWithRetry(
      url.href,
      { method: 'GET', path: url.href, headers, access },
      undefined,
    );
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(`authentication failed for ${registry}/${repository} (${res.status})`, {
        status: res.status,
      });
    }
    if (!res.ok)
      throw new RegistryError(`token service ${url.host} for ${registry} answered ${res.status}`, {
        status: res.status,
      });
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token service ${url.host} for ${registry} returned no token`);
    this.log.mask(token);
    return `Bearer ${token}`;
  }

  private async fetchWithRetry(
    url: string,
    spec: RequestSpec,
    authorization: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...spec.headers };
    if (authorization) headers.authorization = authorization;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      this.stats.requests++;
      try {
        const res = await fetch(url, {
          method: spec.method,
          headers,
          body: spec.body,
          redirect: 'follow',
          signal: AbortSignal.timeout(120_000),
        });
        if (spec.body) this.stats.bytesSent += spec.body.length;
        if (!RETRIABLE_STATUS.has(res.status) || attempt === this.retry.attempts) return res;
        const retryAfter = Number(res.headers.get('retry-after'));
        await res.arrayBuffer().catch(() => undefined);
        this.log.debug(`${spec.method} ${url}: ${res.status}, retrying`);
        await sleep(
          Number.isFinite(retryAfter) && retryAfter > 0
            ? Math.min(retryAfter * 1000, 30_000)
            : this.backoff(attempt),
        );
      } catch (err) {
        lastError = err;
        // An unknown host will not appear by waiting.
        if (attempt === this.retry.attempts || describeNetworkError(err) === 'unknown host') break;
        this.log.debug(`${spec.method} ${url}: ${describeNetworkError(err)}, retrying`);
        await sleep(this.backoff(attempt));
      }
    }
    const host = new URL(url).host;
    throw new RegistryError(`cannot reach registry ${host}: ${describeNetworkError(lastError)}`, {
      cause: lastError,
    });
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
    const body = await res.text().catch(() => '');
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
    throw new RegistryError(`${where}: ${what}: ${status}${detail ? ` ${detail}` : ''}`, {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
