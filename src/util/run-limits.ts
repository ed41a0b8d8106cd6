import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The bounds one command runs within: its overall deadline and the largest artifact it unpacks.
 * They are carried by the async context of the run (set once in run.ts) rather than threaded
 * through every domain, so that each network read and each untar obeys them wherever it happens.
 */
export interface RunLimits {
  /** Aborted when the command's `--timeout` passes. */
  signal: AbortSignal;
  /** `--timeout`, for messages. */
  timeout: string;
  /** Decompressed artifact size cap (`--max-artifact-size`), bytes. */
  maxArtifactSize: number;
  /** When `--timeout` passes (epoch milliseconds), for the synchronous children the signal cannot stop. */
  deadline: number;
}

/** fluxcd/pkg tar `DefaultMaxUntarSize`: 100 MiB. */
export const DEFAULT_MAX_ARTIFACT_SIZE = 100 * 1024 * 1024;
export const DEFAULT_TIMEOUT = '10m';

const storage = new AsyncLocalStorage<RunLimits>();
const unbounded: RunLimits = {
  signal: new AbortController().signal,
  timeout: 'none',
  maxArtifactSize: DEFAULT_MAX_ARTIFACT_SIZE,
  deadline: Infinity,
};

export function runLimits(): RunLimits {
  return storage.getStore() ?? unbounded;
}

export function withRunLimits<T>(limits: RunLimits, fn: () => Promise<T>): Promise<T> {
  return storage.run(limits, fn);
}

/**
 * The `timeout` option of a synchronous child (execFileSync): the time left before `--timeout`.
 * An AbortSignal cannot stop a synchronous call, so each is given what remains of the run.
 */
export function remainingTime(): number | undefined {
  const left = runLimits().deadline - Date.now();
  return Number.isFinite(left) ? Math.max(1, left) : undefined;
}

/** `90s`, `10m`, `1h30m`, `500ms` (Go durations, as Flux and the flux CLI take them). */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

/** `104857600`, `100Mi`, `100MiB`, `1Gi`, `512Ki` (binary units). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*(?:(Ki|Mi|Gi|Ti)B?)?$/i.exec(text.trim());
  if (!m) return undefined;
  const scale = { ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 }[m[2]?.toLowerCase() ?? ''] ?? 1;
  return Number(m[1]) * scale;
}

export function formatSize(bytes: number): string {
  for (const [unit, scale] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= scale) return `${+(bytes / scale).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}
