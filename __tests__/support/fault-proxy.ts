import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FaultPlan {
  /** Decides, per request (1-based count), what goes wrong: nothing, a status, or a dropped connection. */
  fault(n: number, req: IncomingMessage): 'pass' | 'drop' | 500 | 429 | 503;
}

export interface FaultProxy {
  host: string;
  requests: number;
  faults: number;
  stop(): Promise<void>;
}

/** A loopback reverse proxy in front of a registry that injects faults deterministically. */
export async function startFaultProxy(upstream: string, plan: FaultPlan): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const state = { requests: 0, faults: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = ++state.requests;
    const fault = plan.fault(n, req);
    if (fault !== 'pass') {
      state.faults++;
      req.resume();
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(fault, fault === 429 ? { 'retry-after': '0' } : {});
      res.end();
      return;
    }
    const [host, port] = upstream.split(':');
    const forward = request(
      {
        host,
        port: Number(port),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        const headers = { ...up.headers };
        // Upload locations point at the upstream: rewrite them to come back through us.
        if (typeof headers.location === 'string')
          headers.location = headers.location.replace(`//${upstream}`, `//${address()}`);
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = () => {
    const a = server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  };
  return {
    host: address(),
    get requests() {
      return state.requests;
    },
    get faults() {
      return state.faults;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
