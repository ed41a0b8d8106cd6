/**
 * An OCI 1.1 registry stand-in: a loopback proxy in front of the real registry (distribution
 * 2.8, which has no referrers API) that adds what distribution-spec v1.1 does for referrers.
 * A manifest with a `subject` pushed through it is stored upstream, indexed here, and answered
 * with `OCI-Subject` (so a client writes no tag-schema index); `GET /v2/<repo>/referrers/<digest>`
 * answers an OCI index of those descriptors (artifactType from the manifest, else its config's
 * media type; annotations copied), filtered by `?artifactType=` with `OCI-Filters-Applied`.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersProxy {
  host: string;
  /** Referrers API requests answered. */
  listed: number;
  stop(): Promise<void>;
}

export async function startReferrersProxy(upstream: string): Promise<ReferrersProxy> {
  const sockets = new Set<Socket>();
  const index = new Map<string, Descriptor[]>(); // `${repo}@${subject digest}` → referrers
  const state = { listed: 0 };
  let self = '';

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer,
    created?: { headers: Record<string, string>; record: () => void },
  ) => {
    const [host, port] = upstream.split(':');
    const out = request(
      {
        host,
        port: Number(port),
        method: req.method,
        path: req.url,
        agent: false,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        const ok = up.statusCode === 201 && created;
        if (ok) created.record();
        const headers = { ...up.headers, ...(ok ? created.headers : {}) };
        if (typeof headers.location === 'string')
          headers.location = headers.location.replace(`//${upstream}`, `//${self}`);
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const referrers = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(url.pathname);
    if (referrers && req.method === 'GET') {
      req.resume();
      state.listed++;
      const wanted = url.searchParams.get('artifactType');
      const all = index.get(`${referrers[1]}@${referrers[2]}`) ?? [];
      const manifests = wanted ? all.filter((d) => d.artifactType === wanted) : all;
      res.writeHead(200, {
        'content-type': OCI_INDEX,
        ...(wanted ? { 'oci-filters-applied': 'artifactType' } : {}),
      });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest && req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let parsed: {
          subject?: { digest?: string };
          artifactType?: string;
          config?: { mediaType?: string };
          annotations?: Record<string, string>;
        } = {};
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          // not JSON: the registry will say so
        }
        const subject = parsed.subject?.digest;
        if (!subject) return forward(req, res, body);
        const descriptor: Descriptor = {
          mediaType: String(req.headers['content-type'] ?? ''),
          digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
          size: body.length,
        };
        const artifactType = parsed.artifactType ?? parsed.config?.mediaType;
        if (artifactType) descriptor.artifactType = artifactType;
        if (parsed.annotations && Object.keys(parsed.annotations).length)
          descriptor.annotations = parsed.annotations;
        const key = `${manifest[1]}@${subject}`;
        forward(req, res, body, {
          headers: { 'oci-subject': subject },
          record: () =>
            index.set(key, [
              ...(index.get(key) ?? []).filter((d) => d.digest !== descriptor.digest),
              descriptor,
            ]),
        });
      });
      return;
    }
    forward(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  self = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return {
    host: self,
    get listed() {
      return state.listed;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
