import { Agent, fetch as undiciFetch } from 'undici';
import { guardedLookup, RefusedAddressError, refusedUrl } from './network-guard.js';
import { formatSize, runLimits } from './run-limits.js';

/**
 * HTTP for hostile servers (registries, token services, chart repositories): every request has
 * a deadline for its response headers, every body a deadline between two chunks and a size cap
 * checked while it is read, and all of it ends when the command's `--timeout` passes.
 * Redirects are never followed here: callers decide what a redirect may carry. No connection is
 * made to a link-local or cloud metadata address (network-guard.ts).
 */

/** Connections checked where they are made: every address a name resolves to. */
const guardedAgent = new Agent({ connect: { lookup: guardedLookup } });

/** No response headers within this: the request is abandoned (and may be retried). */
export const RESPONSE_TIMEOUT_MS = 60_000;
/** No body bytes for this long: the transfer is abandoned. */
export const IDLE_TIMEOUT_MS = 60_000;

export type TransferFailure = 'response-timeout' | 'idle-timeout' | 'deadline' | 'too-large';

/** What went wrong with a transfer; callers turn it into a line naming the reference. */
export class TransferError extends Error {
  constructor(
    readonly kind: TransferFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

const transfers = new WeakMap<Response, { controller: AbortController; signal: AbortSignal }>();

export interface BoundedRequest extends Omit<RequestInit, 'signal' | 'redirect'> {
  /** Response header deadline; default RESPONSE_TIMEOUT_MS. */
  responseTimeoutMs?: number;
}

/** One request, redirects not followed, within the response deadline and the run's deadline. */
export async function boundedFetch(url: string, init: BoundedRequest = {}): Promise<Response> {
  throwIfPastDeadline();
  const controller = new AbortController();
  const signal = AbortSignal.any([runLimits().signal, controller.signal]);
  const ms = init.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS;
  const timer = setTimeout(
    () => controller.abort(new TransferError('response-timeout', `no response within ${ms / 1000}s`)),
    ms,
  );
  try {
    const refused = refusedUrl(new URL(url));
    if (refused) throw refused;
    const { responseTimeoutMs: _ignored, ...rest } = init;
    const res = (await undiciFetch(url, {
      ...(rest as Parameters<typeof undiciFetch>[1]),
      redirect: 'manual',
      signal,
      dispatcher: guardedAgent,
    })) as unknown as Response;
    transfers.set(res, { controller, signal });
    return res;
  } catch (err) {
    // fetch reports a failed connection as "fetch failed"; the refusal is the line to show.
    const cause = (err as { cause?: unknown }).cause;
    throw abortReason(signal) ?? (cause instanceof RefusedAddressError ? cause : err);
  } finally {
    clearTimeout(timer);
  }
}

/** The run deadline (set by run.ts) or a transfer timeout, when that is what ended a request. */
function abortReason(signal: AbortSignal | undefined): TransferError | undefined {
  return signal?.aborted && signal.reason instanceof TransferError ? signal.reason : undefined;
}

/** Reads a body of at most `maxBytes`: the announced length is checked first, then every chunk. */
export async function readBounded(res: Response, maxBytes: number): Promise<Buffer> {
  const announced = Number(res.headers.get('content-length'));
  const tooLarge = () => new TransferError('too-large', `larger than the limit of ${formatSize(maxBytes)}`);
  if (Number.isFinite(announced) && announced > maxBytes) {
    discard(res);
    throw tooLarge();
  }
  if (!res.body) return Buffer.alloc(0);
  const transfer = transfers.get(res);
  const controller = transfer?.controller;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      const reason = new TransferError('idle-timeout', `no data for ${IDLE_TIMEOUT_MS / 1000}s`);
      controller?.abort(reason);
      reader.cancel(reason).catch(() => undefined);
    }, IDLE_TIMEOUT_MS);
  };
  try {
    for (;;) {
      arm();
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => undefined);
        controller?.abort();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof TransferError) throw err;
    throw abortReason(transfer?.signal) ?? err;
  } finally {
    clearTimeout(idle);
  }
  return Buffer.concat(chunks, total);
}

/** Drops a body we do not want without reading it. */
export function discard(res: Response): void {
  res.body?.cancel().catch(() => undefined);
  transfers.get(res)?.controller.abort();
}

export function deadlineError(timeout = runLimits().timeout): TransferError {
  return new TransferError('deadline', `gave up at the --timeout of ${timeout}`);
}

export function throwIfPastDeadline(): void {
  if (runLimits().signal.aborted) throw deadlineError();
}

/** Waits, but no longer than the run's deadline. */
export function sleepWithinDeadline(ms: number): Promise<void> {
  const { signal } = runLimits();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(deadlineError());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(deadlineError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A GET of a public document (a chart repository's index.yaml or chart archive), redirects
 * followed (http and https only, at most 10) as helm's getter does, no credentials anywhere,
 * the body capped at `maxBytes`. Non-2xx answers are an Error with the status.
 */
export async function boundedGet(url: string, maxBytes: number): Promise<Buffer> {
  let current = new URL(url);
  for (let hops = 0; ; hops++) {
    const res = await boundedFetch(current.href);
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      const location = res.headers.get('location');
      discard(res);
      if (!location || hops >= 10) throw new Error(`HTTP ${res.status} without a usable redirect`);
      current = new URL(location, current);
      if (current.protocol !== 'https:' && current.protocol !== 'http:') {
        throw new Error(`redirect to a ${current.protocol} URL refused`);
      }
      continue;
    }
    if (!res.ok) {
      discard(res);
      throw new Error(`HTTP ${res.status}`);
    }
    return readBounded(res, maxBytes);
  }
}
