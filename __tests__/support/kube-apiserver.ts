/**
 * A loopback stand-in for a Kubernetes API server, speaking its wire protocol for the few
 * resources fluxgate and its tests use (k8s.io/apiserver and apimachinery are the references):
 *
 * - discovery: /version, /api, /apis, /api/v1, /apis/GROUP/VERSION (APIResourceList); clients
 *   asking for aggregated discovery get the legacy documents, as from an older server;
 * - get, list and watch (`watch=1`: a chunked stream of JSON events) with resourceVersion,
 *   label and field selectors, `allowWatchBookmarks`, `sendInitialEvents`, `timeoutSeconds`, and
 *   an ERROR event with a 410 Status for a resourceVersion older than the compaction point;
 * - create, update, delete, the `status` subresource, and PATCH as merge, strategic merge (as a
 *   merge patch: lists are replaced) and server-side apply (`application/apply-patch+yaml` with
 *   `fieldManager`, `force`, `dryRun=All`, managedFields, conflicts between managers);
 * - Status error bodies (401, 403, 404, 409, 410, 415, 422) and the Table form kubectl asks for.
 *
 * HTTPS on 127.0.0.1 with a test CA (client-go sends no bearer token over plain HTTP); the
 * kubeconfig it writes carries the CA. The test drives it
 * in-process: `put`, `setStatus`, `onChange` play the controllers; `dropWatches` cuts every
 * open watch mid-stream; `compact` makes older resourceVersions expire.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createCa, issueServerCertificate } from './pki.js';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

interface ResourceType {
  group: string;
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  status?: boolean;
}

/** What the stand-in serves: the kinds fluxgate reads, patches or dry-runs. */
export const RESOURCES: ResourceType[] = [
  {
    group: '',
    versions: ['v1'],
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    status: true,
  },
  {
    group: '',
    versions: ['v1'],
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
  },
  { group: '', versions: ['v1'], plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true },
  {
    group: '',
    versions: ['v1'],
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    status: true,
  },
  {
    group: '',
    versions: ['v1'],
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    kind: 'ServiceAccount',
    namespaced: true,
    shortNames: ['sa'],
  },
  {
    group: 'apps',
    versions: ['v1'],
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    status: true,
  },
  {
    group: 'source.toolkit.fluxcd.io',
    versions: ['v1', 'v1beta2'],
    plural: 'ocirepositories',
    singular: 'ocirepository',
    kind: 'OCIRepository',
    namespaced: true,
    shortNames: ['ocirepo'],
    status: true,
  },
  {
    group: 'kustomize.toolkit.fluxcd.io',
    versions: ['v1'],
    plural: 'kustomizations',
    singular: 'kustomization',
    kind: 'Kustomization',
    namespaced: true,
    shortNames: ['ks'],
    status: true,
  },
];

const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);

/** One recorded request, for tests asserting what was (not) written. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  fieldManager?: string;
  dryRun: boolean;
  body?: string;
}

export interface KubeApiServerOptions {
  /** Require `Authorization: Bearer TOKEN`; anything else is 401. */
  token?: string;
  /** Whether a verb on a resource is allowed (403 otherwise). */
  authorize?: (
    verb: string,
    resource: string,
    namespace: string | undefined,
    name: string | undefined,
  ) => boolean;
  /** How often an open watch with allowWatchBookmarks gets a BOOKMARK (default 1s). */
  bookmarkMs?: number;
}

export interface ChangeEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: string;
  object: KubeObject;
}

export interface KubeApiServer {
  url: string;
  /** PEM of the CA that issued the server's certificate. */
  caPem: string;
  requests: RecordedRequest[];
  /** Writes a kubeconfig for this server under `dir` and returns its path. */
  writeKubeconfig(dir: string, options?: { token?: string; context?: string; namespace?: string }): string;
  /** Creates or replaces an object as a controller would (manager `test`); returns the stored copy. */
  put(object: KubeObject, manager?: string): KubeObject;
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string): KubeObject[];
  /** Merges `status` into the object's status (conditions replaced as a list), as a controller does. */
  setStatus(kind: string, namespace: string, name: string, status: Record<string, unknown>): KubeObject;
  delete(kind: string, namespace: string | undefined, name: string): void;
  /** Called after every change, from any source. */
  onChange(listener: (event: ChangeEvent) => void): () => void;
  /** Destroys the connection of every open watch (a dropped stream, not a clean end). */
  dropWatches(): number;
  /** Open watch streams now. */
  watchCount(): number;
  /** resourceVersions up to the current one become too old to watch from (410 Gone). */
  compact(): void;
  stop(): Promise<void>;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ResourceType;
  object: KubeObject;
}

interface Watcher {
  resource: ResourceType;
  version: string;
  matches: (o: KubeObject) => boolean;
  send: (type: string, object: KubeObject) => void;
  res: ServerResponse;
}

type Managed = Map<
  string,
  { operation: 'Apply' | 'Update'; apiVersion: string; time: string; paths: Set<string> }
>;

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const objects = new Map<string, KubeObject>();
  const managed = new Map<string, Managed>();
  const history: HistoryEvent[] = [];
  const watchers = new Set<Watcher>();
  const listeners = new Set<(e: ChangeEvent) => void>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Duplex>();
  let rv = 100;
  let compactedAt = 0;
  let uid = 1;

  const keyOf = (r: ResourceType, ns: string | undefined, name: string) =>
    `${r.group}/${r.plural}/${r.namespaced ? (ns ?? '') : ''}/${name}`;
  const ofType = (r: ResourceType) =>
    [...objects.entries()].filter(([k]) => k.startsWith(`${r.group}/${r.plural}/`)).map(([, o]) => o);
  const byKind = (kind: string) => {
    const r = RESOURCES.find((x) => x.kind === kind);
    if (!r) throw new Error(`kube-apiserver stand-in: no resource of kind ${kind}`);
    return r;
  };
  const served = (r: ResourceType, version: string, o: KubeObject): KubeObject => {
    const copy = clone(o);
    copy.apiVersion = gv(r.group, version);
    copy.kind = r.kind;
    const m = managed.get(keyOf(r, o.metadata.namespace, o.metadata.name));
    if (m && m.size) copy.metadata.managedFields = managedFieldsOf(m);
    return copy;
  };

  function record(r: ResourceType, type: HistoryEvent['type'], object: KubeObject) {
    history.push({ rv: Number(object.metadata.resourceVersion), type, resource: r, object: clone(object) });
    for (const w of watchers) {
      if (w.resource === r && w.matches(object)) w.send(type, served(r, w.version, object));
    }
    for (const l of listeners) l({ type, kind: r.kind, object: served(r, r.versions[0]!, object) });
  }

  /** Stores `next` (a full object) with a new resourceVersion; generation moves with spec. */
  function store(r: ResourceType, next: KubeObject, previous: KubeObject | undefined): KubeObject {
    const o = clone(next);
    delete o.metadata.managedFields;
    o.apiVersion = gv(r.group, r.versions[0]!);
    o.kind = r.kind;
    if (!r.namespaced) delete o.metadata.namespace;
    o.metadata.resourceVersion = String(++rv);
    o.metadata.uid = previous?.metadata.uid ?? `00000000-0000-4000-8000-${String(uid++).padStart(12, '0')}`;
    o.metadata.creationTimestamp = previous?.metadata.creationTimestamp ?? now();
    const specChanged = JSON.stringify(previous?.spec) !== JSON.stringify(o.spec);
    o.metadata.generation = previous ? Number(previous.metadata.generation ?? 1) + (specChanged ? 1 : 0) : 1;
    if (r.kind === 'Secret' && o.stringData) {
      // The API server folds stringData into data and never stores it.
      const data = (o.data ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>))
        data[k] = Buffer.from(String(v)).toString('base64');
      o.data = data;
      delete o.stringData;
    }
    objects.set(keyOf(r, o.metadata.namespace, o.metadata.name), o);
    record(r, previous ? 'MODIFIED' : 'ADDED', o);
    return o;
  }

  function managersOf(r: ResourceType, ns: string | undefined, name: string): Managed {
    const key = keyOf(r, ns, name);
    let m = managed.get(key);
    if (!m) managed.set(key, (m = new Map()));
    return m;
  }

  /** An Update (create, PUT, merge patch) takes the fields it changed from every other manager. */
  function noteUpdate(
    m: Managed,
    manager: string,
    version: string,
    before: KubeObject | undefined,
    after: KubeObject,
  ) {
    const changed = new Set<string>();
    const a = leafPaths(ownedPart(after));
    const b = before ? leafValues(ownedPart(before)) : new Map<string, string>();
    const av = leafValues(ownedPart(after));
    for (const p of a) if (b.get(p) !== av.get(p)) changed.add(p);
    if (!changed.size) return;
    for (const [name, entry] of m) if (name !== manager) for (const p of changed) entry.paths.delete(p);
    const own = m.get(manager) ?? {
      operation: 'Update' as const,
      apiVersion: version,
      time: now(),
      paths: new Set<string>(),
    };
    for (const p of changed) own.paths.add(p);
    own.time = now();
    m.set(manager, own);
    for (const [name, entry] of m) if (!entry.paths.size) m.delete(name);
  }

  const fail = (code: number, reason: string, message: string, details?: Record<string, unknown>) => {
    throw new HttpError(code, reason, message, details);
  };
  const notFound = (r: ResourceType, name: string) =>
    fail(404, 'NotFound', `${r.plural}${r.group ? '.' + r.group : ''} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.plural,
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const q = url.searchParams;
    const dryRun = q.getAll('dryRun').includes('All');
    requests.push({
      method,
      path: url.pathname,
      query: url.search,
      contentType: contentType || undefined,
      fieldManager: q.get('fieldManager') ?? undefined,
      dryRun,
      body: body || undefined,
    });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`)
      fail(401, 'Unauthorized', 'Unauthorized');

    // Discovery.
    const p = url.pathname.replace(/\/+$/, '') || '/';
    if (p === '/version')
      return send(200, { major: '1', minor: '35', gitVersion: 'v1.35.0', platform: 'linux/amd64' });
    if (p === '/api')
      return send(200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }],
      });
    if (p === '/apis') {
      const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))].map((name) => {
        const versions = [...new Set(RESOURCES.filter((r) => r.group === name).flatMap((r) => r.versions))];
        const list = versions.map((v) => ({ groupVersion: gv(name, v), version: v }));
        return { name, versions: list, preferredVersion: list[0] };
      });
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
    if (discovery) {
      const group = discovery[2] ?? '';
      const version = discovery[1] ?? discovery[3]!;
      const types = RESOURCES.filter((r) => r.group === group && r.versions.includes(version));
      if (!types.length) fail(404, 'NotFound', 'the server could not find the requested resource');
      const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
      return send(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv(group, version),
        resources: types.flatMap((r) => [
          {
            name: r.plural,
            singularName: r.singular,
            namespaced: r.namespaced,
            kind: r.kind,
            verbs,
            ...(r.shortNames ? { shortNames: r.shortNames } : {}),
          },
          ...(r.status
            ? [
                {
                  name: `${r.plural}/status`,
                  singularName: '',
                  namespaced: r.namespaced,
                  kind: r.kind,
                  verbs: ['get', 'patch', 'update'],
                },
              ]
            : []),
        ]),
      });
    }
    // OpenAPI v3, only as far as kubectl reads it: which PATCH endpoints take `fieldValidation`
    // (cli-runtime query_param_verifier_v3.go), so that it validates on the server side.
    if (p === '/openapi/v3')
      return send(200, {
        paths: Object.fromEntries(
          [
            ...new Set(
              RESOURCES.flatMap((r) =>
                r.versions.map((v) => (r.group ? `apis/${r.group}/${v}` : `api/${v}`)),
              ),
            ),
          ].map((gvPath) => [gvPath, { serverRelativeURL: `/openapi/v3/${gvPath}?hash=0` }]),
        ),
      });
    const openapi = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
    if (openapi) {
      const group = openapi[2] ?? '';
      const version = openapi[1] ?? openapi[3]!;
      const types = RESOURCES.filter((r) => r.group === group && r.versions.includes(version));
      if (!types.length) fail(404, 'NotFound', 'the server could not find the requested resource');
      const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
      return send(200, {
        openapi: '3.0.0',
        info: { title: 'Kubernetes', version: 'v1.35.0' },
        paths: Object.fromEntries(
          types.map((r) => [
            `${base}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`,
            {
              patch: {
                'x-kubernetes-group-version-kind': { group, version, kind: r.kind },
                parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
                  name,
                  in: 'query',
                  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
                })),
                responses: {},
              },
            },
          ]),
        ),
        components: { schemas: {} },
      });
    }
    if (p.startsWith('/openapi')) fail(404, 'NotFound', 'the server could not find the requested resource');

    // Resources: /api/v1[/namespaces/NS]/PLURAL[/NAME[/status]] and /apis/G/V/...
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(
        p,
      );
    if (!m) fail(404, 'NotFound', 'the server could not find the requested resource');
    const group = m![2] ?? '';
    const version = m![1] ?? m![3]!;
    let namespace = m![4] ? decodeURIComponent(m![4]) : undefined;
    let plural = m![5]!;
    let name = m![6] ? decodeURIComponent(m![6]) : undefined;
    const subresource = m![7];
    // /api/v1/namespaces/NAME is the namespace itself.
    if (
      namespace !== undefined &&
      group === '' &&
      plural !== 'namespaces' &&
      !RESOURCES.some((r) => r.plural === plural)
    ) {
      fail(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (group === '' && m![4] && !m![6] && plural === 'status') {
      // /api/v1/namespaces/NS/status
      name = namespace;
      namespace = undefined;
      plural = 'namespaces';
    } else if (group === '' && m![4] === undefined && plural === 'namespaces') {
      // listed below
    }
    const r = RESOURCES.find((x) => x.group === group && x.plural === plural && x.versions.includes(version));
    if (!r) {
      // /api/v1/namespaces/NAME (matched as namespace NAME with no plural).
      fail(404, 'NotFound', 'the server could not find the requested resource');
    }
    const type = r!;
    if (!type.namespaced && namespace !== undefined)
      fail(404, 'NotFound', 'the server could not find the requested resource');
    const verb =
      method === 'GET'
        ? name
          ? 'get'
          : q.get('watch') === '1' || q.get('watch') === 'true'
            ? 'watch'
            : 'list'
        : (({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[
            method
          ] ?? method);
    if (options.authorize && !options.authorize(verb, type.plural, namespace, name))
      fail(
        403,
        'Forbidden',
        `${type.plural}${type.group ? '.' + type.group : ''}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:ci:fluxgate" cannot ${verb} resource "${type.plural}" in API group "${type.group}"${namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope'}`,
        { name, group: type.group, kind: type.plural },
      );
    const table = (req.headers.accept ?? '').includes('as=Table');

    if (verb === 'list' || verb === 'watch') {
      const matches = selector(q.get('labelSelector') ?? '', q.get('fieldSelector') ?? '', namespace);
      if (verb === 'list') {
        const items = ofType(type)
          .filter(matches)
          .sort((a, b) =>
            `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
              `${b.metadata.namespace}/${b.metadata.name}`,
            ),
          )
          .map((o) => served(type, version, o));
        if (table) return send(200, tableOf(items, String(rv)));
        return send(200, {
          kind: `${type.kind}List`,
          apiVersion: gv(type.group, version),
          metadata: { resourceVersion: String(rv) },
          items,
        });
      }
      return watch(type, version, matches, q, res, table);
    }

    const key = keyOf(type, namespace, name ?? '');
    const live = name ? objects.get(key) : undefined;
    if (method === 'GET') {
      if (!live) notFound(type, name!);
      return send(
        200,
        table ? tableOf([served(type, version, live!)], String(rv)) : served(type, version, live!),
      );
    }
    if (method === 'DELETE') {
      if (!live) notFound(type, name!);
      if (dryRun) return send(200, served(type, version, live!));
      objects.delete(key);
      managed.delete(key);
      const gone = clone(live!);
      gone.metadata.resourceVersion = String(++rv);
      record(type, 'DELETED', gone);
      return send(200, served(type, version, gone));
    }

    const manager = q.get('fieldManager') ?? userAgentManager(req.headers['user-agent']);
    const parse = (): KubeObject => {
      try {
        const v = contentType === 'application/apply-patch+yaml' ? parseYaml(body) : JSON.parse(body);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        return v as KubeObject;
      } catch (err) {
        return fail(
          400,
          'BadRequest',
          `the body of the request could not be decoded: ${(err as Error).message}`,
        );
      }
    };

    if (method === 'POST') {
      if (name)
        fail(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const o = parse();
      validate(type, version, o, namespace);
      if (type.namespaced) o.metadata.namespace = namespace;
      const k = keyOf(type, namespace, o.metadata.name);
      if (objects.has(k))
        fail(
          409,
          'AlreadyExists',
          `${type.plural}${type.group ? '.' + type.group : ''} "${o.metadata.name}" already exists`,
          {
            name: o.metadata.name,
            group: type.group,
            kind: type.plural,
          },
        );
      if (dryRun)
        return send(201, served(type, version, { ...o, metadata: { ...o.metadata, uid: 'dry-run' } }));
      const m = managersOf(type, namespace, o.metadata.name);
      const stored = store(type, o, undefined);
      noteUpdate(m, manager, gv(type.group, version), undefined, stored);
      return send(201, served(type, version, stored));
    }

    if (method === 'PUT') {
      const o = parse();
      validate(type, version, o, namespace, name);
      if (!live) notFound(type, name!);
      if (o.metadata.resourceVersion && o.metadata.resourceVersion !== live!.metadata.resourceVersion)
        fail(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${type.plural}${type.group ? '.' + type.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, group: type.group, kind: type.plural },
        );
      const next =
        subresource === 'status' ? { ...clone(live!), status: o.status } : { ...o, status: live!.status };
      if (dryRun) return send(200, served(type, version, next));
      const stored = store(type, next, live);
      noteUpdate(managersOf(type, namespace, name!), manager, gv(type.group, version), live, stored);
      return send(200, served(type, version, stored));
    }

    if (method === 'PATCH') {
      if (contentType === 'application/apply-patch+yaml') {
        const applied = parse();
        validate(type, version, applied, namespace, name);
        if (!q.get('fieldManager'))
          fail(
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          );
        const force = q.get('force') === 'true';
        const m = clone(managersOf(type, namespace, name!));
        const result = serverSideApply(
          live,
          applied,
          m,
          manager,
          gv(type.group, version),
          force,
          subresource,
        );
        if (type.namespaced) result.metadata.namespace = namespace;
        result.metadata.name = name!;
        if (dryRun) {
          const preview = clone(result);
          preview.apiVersion = gv(type.group, version);
          preview.kind = type.kind;
          preview.metadata.uid = live?.metadata.uid ?? 'dry-run';
          preview.metadata.resourceVersion = live?.metadata.resourceVersion;
          preview.metadata.creationTimestamp = live?.metadata.creationTimestamp ?? now();
          preview.metadata.generation = live?.metadata.generation ?? 1;
          if (m.size) preview.metadata.managedFields = managedFieldsOf(m);
          if (!preview.metadata.resourceVersion) delete preview.metadata.resourceVersion;
          return send(live ? 200 : 201, preview);
        }
        managed.set(key, m);
        const stored = store(type, result, live);
        return send(live ? 200 : 201, served(type, version, stored));
      }
      if (!live) notFound(type, name!);
      let patched: KubeObject;
      if (
        contentType === 'application/merge-patch+json' ||
        contentType === 'application/strategic-merge-patch+json'
      ) {
        patched = mergePatch(clone(live!), parse()) as KubeObject;
      } else if (contentType === 'application/json-patch+json') {
        patched = jsonPatch(clone(live!), body);
      } else {
        return fail(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      }
      validate(type, version, patched, namespace, name);
      const next =
        subresource === 'status'
          ? { ...clone(live!), status: patched.status }
          : { ...patched, status: live!.status };
      if (dryRun) return send(200, served(type, version, next));
      const stored = store(type, next, live);
      noteUpdate(managersOf(type, namespace, name!), manager, gv(type.group, version), live, stored);
      return send(200, served(type, version, stored));
    }
    fail(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  function validate(type: ResourceType, version: string, o: KubeObject, namespace?: string, name?: string) {
    const causes: { type: string; message: string; field: string }[] = [];
    if (!o.metadata || typeof o.metadata !== 'object' || !o.metadata.name)
      causes.push({
        type: 'FieldValueRequired',
        message: 'Required value: name is required',
        field: 'metadata.name',
      });
    else if (name && o.metadata.name !== name)
      causes.push({
        type: 'FieldValueInvalid',
        message: `Invalid value: "${o.metadata.name}": the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`,
        field: 'metadata.name',
      });
    else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata.name))
      causes.push({
        type: 'FieldValueInvalid',
        message: `Invalid value: "${o.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        field: 'metadata.name',
      });
    if (namespace && o.metadata?.namespace && o.metadata.namespace !== namespace)
      causes.push({
        type: 'FieldValueInvalid',
        message:
          'Invalid value: the namespace of the provided object does not match the namespace sent on the request',
        field: 'metadata.namespace',
      });
    if (o.apiVersion && o.apiVersion !== gv(type.group, version))
      fail(
        400,
        'BadRequest',
        `the API version in the data (${o.apiVersion}) does not match the expected API version (${gv(type.group, version)})`,
      );
    if (o.kind && o.kind !== type.kind)
      fail(
        400,
        'BadRequest',
        `the kind in the data (${o.kind}) does not match the expected kind (${type.kind})`,
      );
    if (causes.length)
      fail(
        422,
        'Invalid',
        `${type.kind} "${o.metadata?.name ?? ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        {
          name: o.metadata?.name,
          group: type.group,
          kind: type.kind,
          causes,
        },
      );
  }

  function watch(
    type: ResourceType,
    version: string,
    matches: (o: KubeObject) => boolean,
    q: URLSearchParams,
    res: ServerResponse,
    table: boolean,
  ) {
    const from = q.get('resourceVersion') ?? '';
    const initial = q.get('sendInitialEvents') === 'true';
    if (from !== '' && from !== '0' && !initial && Number(from) < compactedAt) {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: statusBody(410, 'Expired', `too old resource version: ${from} (${compactedAt})`),
        }) + '\n',
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const send = (evType: string, object: KubeObject) => {
      if (res.writableEnded || res.destroyed) return;
      res.write(
        JSON.stringify({
          type: evType,
          object:
            table && evType !== 'BOOKMARK' ? tableOf([object], object.metadata.resourceVersion!) : object,
        }) + '\n',
      );
    };
    const w: Watcher = { resource: type, version, matches, send, res };
    const current = () => ofType(type).filter(matches);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const bookmark = (initialEnd = false) =>
      send('BOOKMARK', {
        kind: type.kind,
        apiVersion: gv(type.group, version),
        metadata: {
          name: '',
          resourceVersion: String(rv),
          ...(initialEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
        },
      });
    if (initial || from === '' || from === '0') {
      for (const o of current()) send('ADDED', served(type, version, o));
      if (initial) bookmark(true);
    } else {
      for (const e of history)
        if (e.rv > Number(from) && e.resource === type && matches(e.object))
          send(e.type, served(type, version, e.object));
    }
    watchers.add(w);
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(() => bookmark(), options.bookmarkMs ?? 1000));
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
    const done = () => {
      watchers.delete(w);
      for (const t of timers) clearTimeout(t);
    };
    res.on('close', done);
    res.on('finish', done);
  }

  const ca = await createCa({ key: 'ec-p256', subject: 'CN=kube-apiserver stand-in CA' });
  const tls = await issueServerCertificate(ca);
  const server: Server = createServer({ key: tls.keyPem, cert: tls.chainPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const e =
        err instanceof HttpError
          ? err
          : new HttpError(500, 'InternalError', String((err as Error)?.stack ?? err));
      res
        .writeHead(e.code, { 'content-type': 'application/json' })
        .end(JSON.stringify(statusBody(e.code, e.reason, e.message, e.details)));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    url,
    caPem: ca.pem,
    requests,
    writeKubeconfig(dir, o = {}) {
      mkdirSync(dir, { recursive: true });
      const context = o.context ?? 'standin';
      const path = join(dir, `kubeconfig-${context}`);
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: ${context}`,
          `  cluster: {server: "${url}", certificate-authority-data: ${Buffer.from(ca.pem).toString('base64')}}`,
          'users:',
          `- name: ${context}`,
          `  user: {token: "${o.token ?? options.token ?? 'none'}"}`,
          'contexts:',
          `- name: ${context}`,
          `  context: {cluster: ${context}, user: ${context}${o.namespace ? `, namespace: ${o.namespace}` : ''}}`,
          `current-context: ${context}`,
          '',
        ].join('\n'),
      );
      return path;
    },
    put(object, manager = 'test') {
      const type = byKind(object.kind!);
      const key = keyOf(type, object.metadata.namespace, object.metadata.name);
      const previous = objects.get(key);
      const next = clone(object);
      if (previous && next.status === undefined && previous.status !== undefined)
        next.status = previous.status;
      const stored = store(type, next, previous);
      noteUpdate(
        managersOf(type, object.metadata.namespace, object.metadata.name),
        manager,
        gv(type.group, type.versions[0]!),
        previous,
        stored,
      );
      return served(type, type.versions[0]!, stored);
    },
    get(kind, namespace, name) {
      const type = byKind(kind);
      const o = objects.get(keyOf(type, namespace, name));
      return o && served(type, type.versions[0]!, o);
    },
    list(kind) {
      const type = byKind(kind);
      return ofType(type).map((o) => served(type, type.versions[0]!, o));
    },
    setStatus(kind, namespace, name, status) {
      const type = byKind(kind);
      const live = objects.get(keyOf(type, namespace, name));
      if (!live) throw new Error(`kube-apiserver stand-in: no ${kind} ${namespace}/${name}`);
      const next = clone(live);
      next.status = { ...((live.status as object) ?? {}), ...status };
      return served(type, type.versions[0]!, store(type, next, live));
    },
    delete(kind, namespace, name) {
      const type = byKind(kind);
      const key = keyOf(type, namespace, name);
      const live = objects.get(key);
      if (!live) return;
      objects.delete(key);
      managed.delete(key);
      const gone = clone(live);
      gone.metadata.resourceVersion = String(++rv);
      record(type, 'DELETED', gone);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dropWatches() {
      const open = [...watchers];
      for (const w of open) {
        watchers.delete(w);
        w.res.socket?.destroy();
      }
      return open.length;
    },
    watchCount: () => watchers.size,
    compact() {
      compactedAt = rv + 1;
      history.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.res.end();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** The field manager name an API server derives from a client's user agent (`kubectl-annotate/v1.35...` → `kubectl-annotate`). */
function userAgentManager(agent: string | undefined): string {
  return (agent ?? 'unknown').split('/')[0]!.slice(0, 128) || 'unknown';
}

function tableOf(items: KubeObject[], resourceVersion: string) {
  const age = (o: KubeObject) => {
    const created = Date.parse(String(o.metadata.creationTimestamp ?? ''));
    return Number.isNaN(created) ? '<unknown>' : `${Math.max(0, Math.round((Date.now() - created) / 1000))}s`;
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description: 'Name must be unique within a namespace.',
        priority: 0,
      },
      { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 },
    ],
    rows: items.map((o) => ({
      cells: [o.metadata.name, age(o)],
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: Object.fromEntries(Object.entries(o.metadata).filter(([k]) => k !== 'managedFields')),
      },
    })),
  };
}

/** Label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`) and field selectors on name and namespace. */
function selector(labels: string, fields: string, namespace: string | undefined): (o: KubeObject) => boolean {
  const terms =
    labels
      .match(/[^,(]+(\([^)]*\))?/g)
      ?.map((t) => t.trim())
      .filter(Boolean) ?? [];
  const tests = terms.map((t) => {
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
      const set = m[3]!.split(',').map((s) => s.trim());
      const [key, op] = [m[1]!, m[2]!];
      return (l: Record<string, string>) => (op === 'in' ? set.includes(l[key]!) : !set.includes(l[key]!));
    }
    if ((m = /^([^\s!=]+)\s*(!=|==|=)\s*(\S*)$/.exec(t))) {
      const [key, op, value] = [m[1]!, m[2]!, m[3]!];
      return (l: Record<string, string>) => (op === '!=' ? l[key] !== value : l[key] === value);
    }
    if (t.startsWith('!')) return (l: Record<string, string>) => !(t.slice(1) in l);
    return (l: Record<string, string>) => t in l;
  });
  const fieldTests = fields
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(t)!;
      const get = (o: KubeObject) =>
        m[1] === 'metadata.name'
          ? o.metadata.name
          : m[1] === 'metadata.namespace'
            ? (o.metadata.namespace ?? '')
            : undefined;
      return (o: KubeObject) => (m[2] === '!=' ? get(o) !== m[3] : get(o) === m[3]);
    });
  return (o) =>
    (namespace === undefined || o.metadata.namespace === namespace) &&
    tests.every((t) => t(o.metadata.labels ?? {})) &&
    fieldTests.every((t) => t(o));
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902, the operations clients send (add, replace, remove, test). */
function jsonPatch(target: KubeObject, body: string): KubeObject {
  const ops = JSON.parse(body) as { op: string; path: string; value?: unknown }[];
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: Record<string, unknown> = target;
    for (const part of parts) parent = parent[part] as Record<string, unknown>;
    if (op.op === 'remove') delete parent[last];
    else if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(parent) && last === '-') (parent as unknown[]).push(op.value);
      else parent[last] = op.value;
    } else if (op.op === 'test' && JSON.stringify(parent[last]) !== JSON.stringify(op.value))
      throw new HttpError(422, 'Invalid', `the test operation at ${op.path} failed`);
  }
  return target;
}

// ---- server-side apply (the structured-merge-diff rules, for the shapes the tests use) ----

/** List items are merged by these keys (containers, env, volumes, ports...); other lists are atomic. */
const LIST_KEYS = ['name', 'containerPort', 'port', 'type', 'mountPath'];

function listKey(items: unknown[]): string | undefined {
  if (!items.length || !items.every((i) => i && typeof i === 'object' && !Array.isArray(i))) return undefined;
  return LIST_KEYS.find((k) => items.every((i) => (i as Record<string, unknown>)[k] !== undefined));
}

/** The part of an object whose fields are managed: not identity, not server-set metadata, not status. */
function ownedPart(o: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, status: _s, metadata, ...rest } = o;
  const {
    name: _n,
    namespace: _ns,
    resourceVersion: _r,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    managedFields: _m,
    ...meta
  } = (metadata ?? {}) as Record<string, unknown>;
  return Object.keys(meta).length ? { ...rest, metadata: meta } : rest;
}

/** Field paths (fieldsV1 segments joined by \u0000) of every leaf. */
function leafPaths(v: unknown, prefix = ''): string[] {
  return [...leafValues(v, prefix).keys()];
}

function leafValues(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  const join = (seg: string) => (prefix ? `${prefix}\u0000${seg}` : seg);
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
    for (const [k, child] of Object.entries(v)) leafValues(child, join(`f:${k}`), out);
  } else if (Array.isArray(v) && listKey(v)) {
    const key = listKey(v)!;
    for (const item of v as Record<string, unknown>[]) {
      const seg = join(`k:${JSON.stringify({ [key]: item[key] })}`);
      const { ...fields } = item;
      leafValues(fields, seg, out);
    }
  } else if (prefix) out.set(prefix, JSON.stringify(v));
  return out;
}

function valueAt(o: unknown, path: string): string | undefined {
  let cur: unknown = o;
  for (const seg of path.split('\u0000')) {
    if (cur === undefined || cur === null) return undefined;
    if (seg.startsWith('f:')) cur = (cur as Record<string, unknown>)[seg.slice(2)];
    else {
      const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      const [k, want] = Object.entries(key)[0]!;
      cur = Array.isArray(cur) ? cur.find((i) => i && (i as Record<string, unknown>)[k] === want) : undefined;
    }
  }
  return cur === undefined ? undefined : JSON.stringify(cur);
}

function removeAt(o: Record<string, unknown>, path: string): void {
  const segs = path.split('\u0000');
  const trail: { parent: unknown; seg: string }[] = [];
  let cur: unknown = o;
  for (const seg of segs) {
    if (!cur || typeof cur !== 'object') return;
    trail.push({ parent: cur, seg });
    if (seg.startsWith('f:')) cur = (cur as Record<string, unknown>)[seg.slice(2)];
    else {
      const [k, want] = Object.entries(JSON.parse(seg.slice(2)) as Record<string, unknown>)[0]!;
      cur = (cur as Record<string, unknown>[]).find((i) => i && i[k] === want);
    }
  }
  // Remove the leaf, then every map or list item left empty (or holding only its key).
  for (let i = trail.length - 1; i >= 0; i--) {
    const { parent, seg } = trail[i]!;
    if (seg.startsWith('f:')) {
      const child = (parent as Record<string, unknown>)[seg.slice(2)];
      const empty =
        i === trail.length - 1 ||
        (child && typeof child === 'object' && !Array.isArray(child) && !Object.keys(child).length) ||
        (Array.isArray(child) && !child.length);
      if (!empty) return;
      delete (parent as Record<string, unknown>)[seg.slice(2)];
    } else {
      const [k, want] = Object.entries(JSON.parse(seg.slice(2)) as Record<string, unknown>)[0]!;
      const list = parent as Record<string, unknown>[];
      const at = list.findIndex((x) => x && x[k] === want);
      if (at < 0) return;
      const item = list[at]!;
      if (i !== trail.length - 1 && Object.keys(item).some((f) => f !== k)) return;
      list.splice(at, 1);
    }
  }
}

function mergeApplied(live: unknown, applied: unknown): unknown {
  if (Array.isArray(applied) && Array.isArray(live)) {
    const key = listKey(applied);
    if (!key || (live.length && listKey(live) !== key)) return clone(applied);
    const out = live.map((i) => clone(i)) as Record<string, unknown>[];
    for (const item of applied as Record<string, unknown>[]) {
      const at = out.findIndex((x) => x[key] === item[key]);
      if (at >= 0) out[at] = mergeApplied(out[at], item) as Record<string, unknown>;
      else out.push(clone(item));
    }
    return out;
  }
  if (
    applied &&
    typeof applied === 'object' &&
    !Array.isArray(applied) &&
    live &&
    typeof live === 'object' &&
    !Array.isArray(live)
  ) {
    const out = { ...(live as Record<string, unknown>) };
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(out[k], v);
    return out;
  }
  return clone(applied);
}

function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  managers: Managed,
  manager: string,
  apiVersion: string,
  force: boolean,
  subresource: string | undefined,
): KubeObject {
  const source = subresource === 'status' ? { status: applied.status } : ownedPart(applied);
  const appliedValues = leafValues(source);
  const liveOwned = live ? (subresource === 'status' ? { status: live.status } : ownedPart(live)) : {};
  const conflicts: { manager: string; path: string }[] = [];
  for (const [name, entry] of managers) {
    if (name === manager) continue;
    for (const p of entry.paths) {
      if (appliedValues.has(p) && valueAt(liveOwned, p) !== appliedValues.get(p))
        conflicts.push({ manager: name, path: p });
    }
  }
  if (conflicts.length && !force) {
    const field = (p: string) =>
      '.' +
      p
        .split('\u0000')
        .map((s) =>
          s.startsWith('f:')
            ? s.slice(2)
            : `[${s
                .slice(2)
                .replace(/^\{"?|"?\}$/g, '')
                .replace(/":/, '=')}]`,
        )
        .join('.')
        .replace(/\.\[/g, '[');
    throw new HttpError(
      409,
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `conflict with "${c.manager}": ${field(c.path)}`).join('\n')}`,
      {
        name: applied.metadata.name,
        group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '',
        kind: applied.kind,
        causes: conflicts.map((c) => ({
          type: 'FieldManagerConflict',
          message: `conflict with "${c.manager}"`,
          field: field(c.path),
        })),
      },
    );
  }
  for (const c of conflicts) managers.get(c.manager)?.paths.delete(c.path);
  const result: KubeObject = live ? clone(live) : { metadata: { name: applied.metadata.name } };
  // Fields this manager applied before and no longer does, that no one else owns, are removed.
  const previous = managers.get(manager);
  if (previous && previous.operation === 'Apply') {
    for (const p of previous.paths) {
      if (appliedValues.has(p)) continue;
      if ([...managers].some(([n, e]) => n !== manager && e.paths.has(p))) continue;
      if (subresource === 'status') removeAt(result as Record<string, unknown>, p);
      else {
        const seg = p.split('\u0000');
        if (seg[0] === 'f:metadata')
          removeAt(result.metadata as Record<string, unknown>, seg.slice(1).join('\u0000'));
        else removeAt(result as Record<string, unknown>, p);
      }
    }
  }
  const merged = mergeApplied(result, source) as KubeObject;
  for (const [n, e] of managers) if (!e.paths.size && n !== manager) managers.delete(n);
  managers.set(manager, {
    operation: 'Apply',
    apiVersion,
    time: now(),
    paths: new Set(appliedValues.keys()),
  });
  if (!appliedValues.size) managers.delete(manager);
  return merged;
}

function managedFieldsOf(m: Managed) {
  return [...m].map(([manager, e]) => {
    const fields: Record<string, unknown> = {};
    for (const p of e.paths) {
      let cur = fields;
      for (const seg of p.split('\u0000')) cur = (cur[seg] ??= {}) as Record<string, unknown>;
    }
    return {
      manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
    };
  });
}
