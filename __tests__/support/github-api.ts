import { createServer, type Server } from 'node:http';

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string };
  html_url: string;
}

export interface FakeGitHub {
  url: string;
  comments: FakeComment[];
  requests: string[];
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
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const login = users[token];
    const url = new URL(req.url ?? '/', self);
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
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
      const page = Number(url.searchParams.get('page') ?? 1);
      const per = Number(url.searchParams.get('per_page') ?? 30);
      return send(200, comments.slice((page - 1) * per, page * per));
    }
    if (list && req.method === 'POST') {
      if (body.body.length > 65536)
        return send(422, { message: 'body is too long (maximum is 65536 characters)' });
      const id = nextId++;
      const c = {
        id,
        body: body.body,
        user: { login },
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
  return { url: self, comments, requests, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
