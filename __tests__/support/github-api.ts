import { createServer, type Server } from 'node:http';

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type?: string };
  html_url: string;
  issue?: number;
}

export interface FakeGitHub {
  url: string;
  comments: FakeComment[];
  requests: string[];
  /** The next `count` requests (any path) answer `status` (e.g. 500), then normal service. */
  fail(status: number, count?: number): void;
  /** Normal service again (drops the faults not yet served). */
  heal(): void;
  stop(): Promise<void>;
}

/**
 * A loopback stand-in for the GitHub REST endpoints the review uses: GET /user, list, create
 * and update issue comments. Tokens map to users; `readOnly` tokens get 403 on writes.
 */
export async function startFakeGitHub(
  users: Record<string, string>,
  readOnly: string[] = [],
): Promise<FakeGitHub> {
  const comments: FakeComment[] = [];
  const requests: string[] = [];
  let nextId = 1;
  let self = '';
  const faults: number[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const token = (req.headers.authorization ?? '').replace(/^(Bearer|token) /i, '');
    const login = users[token];
    const url = new URL(req.url ?? '/', self);
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    const fault = faults.shift();
    if (fault) return send(fault, { message: 'Server Error' });
    if (!login) return send(401, { message: 'Bad credentials' });
    if (url.pathname === '/user')
      return login.endsWith('[bot]')
        ? send(403, { message: 'Resource not accessible by integration' })
        : send(200, { login });
    const list = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    const one = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if ((req.method === 'POST' || req.method === 'PATCH') && readOnly.includes(token)) {
      return send(403, { message: 'Resource not accessible by integration' });
    }
    if (list && req.method === 'GET') {
      // Pages with a Link header, as GitHub paginates (Octokit's paginate follows rel="next").
      const page = Number(url.searchParams.get('page') ?? 1);
      const per = Number(url.searchParams.get('per_page') ?? 30);
      const all = comments.filter((c) => c.issue === undefined || c.issue === Number(list[2]));
      const next = new URL(url.href);
      next.searchParams.set('page', String(page + 1));
      return send(
        200,
        all.slice((page - 1) * per, page * per),
        page * per < all.length ? { link: `<${next.href}>; rel="next"` } : {},
      );
    }
    if (list && req.method === 'POST') {
      if (body.body.length > 65536)
        return send(422, { message: 'body is too long (maximum is 65536 characters)' });
      const id = nextId++;
      const c = {
        id,
        body: body.body,
        user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
        issue: Number(list[2]),
        html_url: `https://github.com/${list[1]}/pull/${list[2]}#issuecomment-${id}`,
      };
      comments.push(c);
      return send(201, c);
    }
    if (one && req.method === 'PATCH') {
      const c = comments.find((x) => x.id === Number(one[2]));
      if (!c) return send(404, { message: 'Not Found' });
      if (c.user.login !== login) return send(403, { message: 'not yours' });
      if (body.body.length > 65536)
        return send(422, { message: 'body is too long (maximum is 65536 characters)' });
      c.body = body.body;
      return send(200, c);
    }
    return send(404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  self = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return {
    url: self,
    comments,
    requests,
    fail: (status, count = 1) => faults.push(...Array<number>(count).fill(status)),
    heal: () => void faults.splice(0),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
