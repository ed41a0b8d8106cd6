/**
 * Typed errors. Every failure that reaches a front end is a FluxgateError: one line that names
 * the file, object or reference at fault, and the exit code the contract gives it
 * (1: the work failed, 2: bad usage).
 */
export type ErrorCode =
  /** Bad flags or inputs (exit 2). */
  | 'USAGE'
  /** A file, object or reference the user gave is wrong or missing. */
  | 'INPUT'
  /** A tool of a render (helm, kustomize) failed on an owner's input. */
  | 'RENDER'
  /** A registry answered with an error or not at all. */
  | 'REGISTRY'
  /** Signing failed, or a key or certificate cannot sign. */
  | 'SIGN'
  /** The GitHub API refused or failed. */
  | 'GITHUB'
  /** A Kubernetes API server refused, failed or was unreachable; or what it reports failed. */
  | 'CLUSTER';

export class FluxgateError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; exitCode?: 1 | 2 } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FluxgateError';
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'USAGE' ? 2 : 1);
  }
}

export class UsageError extends FluxgateError {
  constructor(message: string) {
    super('USAGE', message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** The one line a user sees for any thrown value. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]?.trim() || 'unknown error';
}

export function exitCodeOf(err: unknown): 1 | 2 {
  return err instanceof FluxgateError ? err.exitCode : 1;
}
