/**
 * Access to a Kubernetes API server. `@kubernetes/client-node` reads the kubeconfig (files,
 * contexts, exec and token auth, in-cluster service accounts) and supplies the TLS material and
 * credentials of each request; the requests themselves are ours, so that each one has a deadline
 * within the run's `--timeout`, errors become one line naming the server, and watches resume.
 */
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { FluxgateError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { KubeObject } from '../flux/objects.js';
import { deadlineError, sleepWithinDeadline } from '../util/http.js';
import { runLimits } from '../util/run-limits.js';
import type { SecretRegistry } from '../util/redact.js';

/** Where the kubeconfig comes from (`--kubeconfig`, the action's `kubeconfig` input, `--context`). */
export interface ClusterAccessOptions {
  /** A kubeconfig file, or (the action input) its content. */
  kubeconfig?: string;
  context?: string;
}

/** A request without a response within this is abandoned (kubectl's default is none; Flux's 30s). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A watch that brings nothing (not even a bookmark) for this long is reopened. */
export const WATCH_IDLE_MS = 90_000;

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class ClusterError extends FluxgateError {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super('CLUSTER', message);
    this.name = 'ClusterError';
  }
}

/** A kubeconfig given as content (the action input) rather than as a file name. */
const isContent = (value: string) => /\n/.test(value.trim()) || value.trim().startsWith('{');

/**
 * The kubeconfig as kubectl finds it: `--kubeconfig` (file or content), else `KUBECONFIG`
 * (files separated by the path delimiter, merged, the first one's current context), else the
 * in-cluster service account, else ~/.kube/config. Credentials in it join the run's secrets.
 */
export async function loadKubeConfig(
  options: ClusterAccessOptions,
  env: NodeJS.ProcessEnv,
  secrets?: SecretRegistry,
): Promise<KubeConfig> {
  // Loaded on first use: its proxy agents share modules with sigstore's fetch stack, and commands
  // that never reach a cluster need none of it.
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kc = new KubeConfig();
  const given = options.kubeconfig?.trim();
  const fromFile = (file: string, where: string) => {
    if (!existsSync(file)) throw new UsageError(`${where} ${file}: no such file`);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${where} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  const parse = (text: string, where: string) => {
    const one = new KubeConfig();
    try {
      one.loadFromString(text);
    } catch (err) {
      throw new UsageError(`${where}: not a kubeconfig (${(err as Error).message.split('\n')[0]})`);
    }
    return one;
  };
  if (given) {
    const text = isContent(given) ? given : fromFile(resolve(given), '--kubeconfig');
    kc.mergeConfig(parse(text, isContent(given) ? 'input kubeconfig' : `--kubeconfig ${given}`));
  } else if (env.KUBECONFIG?.trim()) {
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f.trim() && existsSync(f));
    if (!files.length) throw new UsageError(`KUBECONFIG ${env.KUBECONFIG}: no such file`);
    // As kubectl: the first file's current context; the others add what it lacks.
    files.forEach((file, i) =>
      kc.mergeConfig(parse(fromFile(file, 'KUBECONFIG'), `KUBECONFIG ${file}`), i > 0),
    );
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) {
    kc.loadFromCluster();
  } else {
    const file = join(env.HOME || homedir(), '.kube', 'config');
    if (!existsSync(file))
      throw new UsageError(
        'no cluster: give --kubeconfig (action input kubeconfig), set KUBECONFIG, or run in a pod with a service account',
      );
    kc.mergeConfig(parse(fromFile(file, 'kubeconfig'), file));
  }
  if (options.context) {
    if (!kc.getContextObject(options.context))
      throw new UsageError(`--context ${options.context}: no such context in the kubeconfig`);
    kc.setCurrentContext(options.context);
  }
  for (const user of kc.users) {
    const u = user as unknown as Record<string, unknown>;
    for (const field of ['token', 'password', 'keyData', 'certData'])
      if (typeof u[field] === 'string') secrets?.add(u[field]);
    const config = (u.authProvider as { config?: Record<string, unknown> } | undefined)?.config ?? {};
    for (const v of Object.values(config)) if (typeof v === 'string' && v.length >= 16) secrets?.add(v);
  }
  if (!kc.getCurrentCluster()) throw new UsageError('the kubeconfig has no current context or cluster');
  return kc;
}

/** Where a kind lives on the server (discovery). */
export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface Selector {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

interface RequestSpec {
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  /** What the request is about, for messages (`OCIRepository flux-system/podinfo`). */
  about: string;
  /** 404 answers undefined instead of failing. */
  allowNotFound?: boolean;
  /** A watch: the deadline is for the response headers only. */
  stream?: boolean;
}

export class ClusterClient {
  readonly server: string;
  private readonly discovery = new Map<string, Promise<ResourceInfo[] | undefined>>();
  /** client-node's keep-alive agent for this cluster, closed with the client. */
  private agent?: http.Agent;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
  ) {
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  }

  static async connect(
    options: ClusterAccessOptions,
    env: NodeJS.ProcessEnv,
    log: Logger,
    secrets?: SecretRegistry,
  ) {
    const kc = await loadKubeConfig(options, env, secrets);
    const client = new ClusterClient(kc, log);
    log.debug(`cluster ${client.server} (context ${kc.getCurrentContext()})`);
    return client;
  }

  /** Closes the connections kept alive, so that the process can end. */
  close(): void {
    this.agent?.destroy();
  }

  /** Checks that the server answers and accepts the credentials (one line naming it if not). */
  async ping(): Promise<void> {
    await this.send('GET', '/version', { about: 'the server version' });
  }

  /** The resource of `apiVersion`/`kind`, or undefined when the server does not serve it. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let list = this.discovery.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      list = this.send<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', path, {
        about: `API ${apiVersion}`,
        allowNotFound: true,
      }).then((doc) =>
        doc?.resources
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({ apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced })),
      );
      this.discovery.set(apiVersion, list);
    }
    return (await list)?.find((r) => r.kind === kind);
  }

  private async require(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = await this.resource(apiVersion, kind);
    if (!info)
      throw new ClusterError(`cluster ${this.server}: does not serve ${kind} ${apiVersion}`, 404, 'NotFound');
    return info;
  }

  private path(info: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
    const base = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}${subresource ? `/${subresource}` : ''}`;
  }

  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
    const info = await this.require(apiVersion, kind);
    return this.send<KubeObject>('GET', this.path(info, namespace, name), {
      about: describe(kind, namespace, name),
      allowNotFound: true,
    });
  }

  async list(apiVersion: string, kind: string, selector: Selector = {}): Promise<ListResult> {
    const info = await this.require(apiVersion, kind);
    const doc = await this.send<{ items: KubeObject[]; metadata: { resourceVersion: string } }>(
      'GET',
      this.path(info, selector.namespace),
      {
        about: `${kind} list`,
        query: { labelSelector: selector.labelSelector, fieldSelector: selector.fieldSelector },
      },
    );
    const items = doc!.items.map((o) => ({ ...o, apiVersion, kind }));
    return { items, resourceVersion: doc!.metadata.resourceVersion };
  }

  /** A JSON merge patch (RFC 7386), as `flux reconcile` sends its annotation. */
  async mergePatch(object: KubeObject, patch: unknown, fieldManager: string): Promise<KubeObject> {
    const info = await this.require(object.apiVersion, object.kind);
    const m = object.metadata;
    return (await this.send<KubeObject>('PATCH', this.path(info, m.namespace, m.name), {
      about: describe(object.kind, m.namespace, m.name),
      query: { fieldManager },
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
    }))!;
  }

  /**
   * A server-side apply dry run (`dryRun=All`: nothing is stored), with ownership forced as
   * fluxcd/pkg ssa ResourceManager.Diff does: the object as the server would have it after the
   * apply. Undefined when the server does not serve the kind.
   */
  async applyDryRun(object: KubeObject, fieldManager: string): Promise<KubeObject | undefined> {
    const info = await this.resource(object.apiVersion, object.kind);
    if (!info) return undefined;
    const m = object.metadata;
    return this.send<KubeObject>('PATCH', this.path(info, m.namespace, m.name), {
      about: describe(object.kind, m.namespace, m.name),
      query: { dryRun: 'All', fieldManager, force: 'true' },
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
    });
  }

  /**
   * Lists, then watches from the list's resourceVersion, calling `check` with every object of the
   * selection after the list and after each change until it returns a value. A dropped or ended
   * stream resumes from the last resourceVersion seen (bookmarks included); 410 Gone relists.
   */
  async follow<T>(
    apiVersion: string,
    kind: string,
    selector: Selector,
    check: (objects: Map<string, KubeObject>, event?: WatchEvent) => T | undefined,
  ): Promise<T> {
    const info = await this.require(apiVersion, kind);
    const key = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const objects = new Map<string, KubeObject>();
    let resourceVersion = '';
    const relist = async () => {
      const listed = await this.list(apiVersion, kind, selector);
      objects.clear();
      for (const o of listed.items) objects.set(key(o), o);
      resourceVersion = listed.resourceVersion;
      return check(objects);
    };
    let done = await relist();
    let failures = 0;
    while (done === undefined) {
      const outcome = await this.watchOnce(info, selector, resourceVersion, (event) => {
        if (event.type === 'BOOKMARK') {
          resourceVersion = event.object.metadata.resourceVersion as string;
          return undefined;
        }
        const o = { ...event.object, apiVersion, kind };
        resourceVersion = o.metadata.resourceVersion as string;
        if (event.type === 'DELETED') objects.delete(key(o));
        else objects.set(key(o), o);
        failures = 0;
        return check(objects, { type: event.type, object: o });
      });
      if (outcome.result !== undefined) return outcome.result;
      if (outcome.gone) {
        this.log.debug(
          `watch of ${kind}: resourceVersion ${resourceVersion} expired (410 Gone); listing again`,
        );
        done = await relist();
        continue;
      }
      if (outcome.error) {
        failures++;
        this.log.debug(
          `watch of ${kind} dropped (${outcome.error}); resuming from resourceVersion ${resourceVersion}`,
        );
        await sleepWithinDeadline(Math.min(500 * 2 ** (failures - 1), 5000));
      }
    }
    return done;
  }

  /** One watch request; ends when the stream ends, drops, goes idle, or `onEvent` returns a value. */
  private watchOnce<T>(
    info: ResourceInfo,
    selector: Selector,
    resourceVersion: string,
    onEvent: (e: { type: WatchEvent['type'] | 'BOOKMARK'; object: KubeObject }) => T | undefined,
  ): Promise<{ result?: T; gone?: boolean; error?: string }> {
    // Event handlers run outside the run's async context: keep its limits at hand.
    const limits = runLimits();
    const query = {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion,
      timeoutSeconds: '300',
      labelSelector: selector.labelSelector,
      fieldSelector: selector.fieldSelector,
    };
    return this.open('GET', this.path(info, selector.namespace), {
      query,
      about: `${info.kind} watch`,
      stream: true,
    }).then(
      ({ res, stop }) =>
        new Promise((resolveWatch, rejectWatch) => {
          let buffer = '';
          let settled = false;
          let idle: NodeJS.Timeout | undefined;
          const finish = (value: { result?: T; gone?: boolean; error?: string } | Error) => {
            if (settled) return;
            settled = true;
            clearTimeout(idle);
            limits.signal.removeEventListener('abort', onAbort);
            stop();
            if (value instanceof Error) rejectWatch(value);
            else resolveWatch(value);
          };
          const onAbort = () => finish(deadlineError(limits.timeout));
          limits.signal.addEventListener('abort', onAbort, { once: true });
          const arm = () => {
            clearTimeout(idle);
            idle = setTimeout(() => finish({ error: `nothing for ${WATCH_IDLE_MS / 1000}s` }), WATCH_IDLE_MS);
          };
          arm();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            arm();
            buffer += chunk;
            let nl: number;
            while ((nl = buffer.indexOf('\n')) >= 0 && !settled) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (!line) continue;
              let event: { type: string; object: KubeObject & { code?: number; message?: string } };
              try {
                event = JSON.parse(line);
              } catch {
                return finish({ error: 'an event that is not JSON' });
              }
              if (event.type === 'ERROR') {
                if (event.object.code === 410) return finish({ gone: true });
                return finish(
                  new ClusterError(
                    `cluster ${this.server}: watch of ${info.kind} failed: ${event.object.message ?? 'error event'}`,
                    event.object.code,
                  ),
                );
              }
              try {
                const result = onEvent(event as { type: WatchEvent['type']; object: KubeObject });
                if (result !== undefined) return finish({ result });
              } catch (err) {
                return finish(err as Error);
              }
            }
          });
          res.on('end', () => finish({ error: 'the server ended the stream' }));
          res.on('error', (err) => finish({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
          res.on('close', () => finish({ error: 'connection closed' }));
        }),
      (err: unknown) => {
        // A server that cannot be reached mid-wait is retried like a dropped stream.
        if (err instanceof ClusterError && err.status === undefined) return { error: err.message };
        throw err;
      },
    );
  }

  /** One request and its JSON answer; non-2xx answers become one line naming the server or object. */
  private async send<T>(method: string, path: string, spec: RequestSpec): Promise<T | undefined> {
    const { res, stop } = await this.open(method, path, spec);
    try {
      const text = await readBody(res).catch((err: Error) => {
        throw new ClusterError(`cluster ${this.server}: ${spec.about}: ${err.message}`);
      });
      if (res.statusCode === 404 && spec.allowNotFound) return undefined;
      if ((res.statusCode ?? 0) >= 300) throw this.statusError(res.statusCode ?? 0, text, spec.about);
      return JSON.parse(text) as T;
    } finally {
      stop();
    }
  }

  private statusError(code: number, text: string, about: string): ClusterError {
    let status: { message?: string; reason?: string } = {};
    try {
      status = JSON.parse(text);
    } catch {
      // not a Status body
    }
    const reason = status.reason ?? http.STATUS_CODES[code] ?? 'error';
    if (code === 401)
      return new ClusterError(
        `cluster ${this.server}: refused the credentials (401 ${reason})`,
        code,
        reason,
      );
    if (code === 403)
      return new ClusterError(
        `cluster ${this.server}: forbidden (403): ${oneLine(status.message ?? about)}`,
        code,
        reason,
      );
    return new ClusterError(
      `${about}: ${oneLine(status.message ?? text.slice(0, 200))} (${code} ${reason}, cluster ${this.server})`,
      code,
      reason,
    );
  }

  /** Opens a request; resolves with the response once its headers arrive (within REQUEST_TIMEOUT_MS). */
  private async open(
    method: string,
    path: string,
    spec: RequestSpec,
  ): Promise<{ res: http.IncomingMessage; stop: () => void }> {
    const limits = runLimits();
    if (limits.signal.aborted) throw deadlineError(limits.timeout);
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(spec.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const options: https.RequestOptions = { method, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    if (options.agent instanceof http.Agent) this.agent = options.agent;
    const headers = (options.headers ?? {}) as Record<string, string>;
    if (spec.body !== undefined) {
      headers['content-type'] = spec.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(spec.body));
    }
    headers['user-agent'] = 'fluxgate';
    options.headers = headers;
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolveOpen, rejectOpen) => {
      const req = transport.request(url, options);
      const onAbort = () => req.destroy(deadlineError(limits.timeout));
      // The deadline covers the whole answer; a watch only its headers (then its idle timer).
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)),
        REQUEST_TIMEOUT_MS,
      );
      const stop = () => {
        clearTimeout(timer);
        limits.signal.removeEventListener('abort', onAbort);
        req.destroy();
      };
      limits.signal.addEventListener('abort', onAbort, { once: true });
      req.on('response', (res) => {
        if (spec.stream) clearTimeout(timer);
        resolveOpen({ res, stop });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        stop();
        if (limits.signal.aborted) return rejectOpen(deadlineError(limits.timeout));
        rejectOpen(new ClusterError(`cluster ${this.server}: unreachable (${err.code ?? err.message})`));
      });
      req.end(spec.body);
    });
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      // A list of a whole cluster's objects can be large, but not this large.
      if (size > 256 * 1024 * 1024) res.destroy(new Error('response larger than 256 MiB'));
      else chunks.push(c);
    });
    res.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    res.on('error', rejectBody);
  });
}

const oneLine = (s: string) => s.split('\n')[0]!.trim();

export function describe(kind: string, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}
