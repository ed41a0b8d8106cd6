import { createServer, request, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface TokenAuthProxy {
  host: string;
  /** Scopes the token service was asked for, in order. */
  scopes: string[];
  stop(): Promise<void>;
}

/**
 * A stand-in for a registry with bearer-token auth (as ghcr.io, Docker Hub, Harbor): a loopback
 * proxy in front of the real registry that answers 401 with a Bearer challenge, and a token
 * endpoint that exchanges basic credentials for a token scoped to one repository.
 * (Debian's distribution 2.8 can do token auth only with a JWT issuer and certificates.)
 */
export async function startTokenAuthProxy(
  upstream: string,
  user: string,
  password: string,
): Promise<TokenAuthProxy> {
  const tokens = new Map<string, string>(); // token → scope
  const scopes: string[] = [];
  let self = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${self}`);
    if (url.pathname === '/token') {
      const expected = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      const scope = url.searchParams.get('scope') ?? '';
      scopes.push(scope);
      const token = randomBytes(16).toString('hex');
      tokens.set(token, scope);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(url.pathname)?.[1];
    const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const scope = presented ? tokens.get(presented) : undefined;
    const needs = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const allowed =
      scope &&
      repo &&
      scope.startsWith(`repository:${repo}:`) &&
      scope.split(':')[2]!.split(',').includes(needs);
    if (url.pathname !== '/v2/' && !allowed) {
      req.resume();
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${self}/token",service="fluxgate-test",scope="repository:${repo}:${needs}"`,
        })
        .end();
      return;
    }
    const [h, p] = upstream.split(':');
    const forward = request(
      {
        host: h,
        port: Number(p),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        const headers = { ...up.headers };
        if (typeof headers.location === 'string')
          headers.location = headers.location.replace(`//${upstream}`, `//${self}`);
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  self = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return { host: self, scopes, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
