import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { HELM } from './tools.js';

export interface ChartRepo {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** `helm package` each chart dir into a temp dir, `helm repo index` it, and serve it on loopback. */
export async function startChartRepo(chartDirs: string[]): Promise<ChartRepo> {
  const dir = mkdtempSync(join(tmpdir(), 'fg-charts-'));
  for (const chart of chartDirs)
    execFileSync(HELM, ['package', chart, '--destination', dir], { stdio: 'ignore' });
  const server: Server = createServer((req, res) => {
    const file = join(
      dir,
      normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
        /^(\.\.[/\\])+/,
        '',
      ),
    );
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  execFileSync(HELM, ['repo', 'index', dir, '--url', url], { stdio: 'ignore' });
  return { url, dir, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

export const PODINFO_CHART = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'corpora',
  'podinfo-chart',
  'charts',
  'podinfo',
);
