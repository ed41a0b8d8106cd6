/**
 * Logging seam. Logs go to stderr on the CLI and through @actions/core in the action, so stdout
 * stays clean for machine output.
 */
export interface Annotation {
  file?: string;
  line?: number;
  title?: string;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string, annotation?: Annotation): void;
  error(message: string, annotation?: Annotation): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Hide a credential from every later log line (core.setSecret in the action). */
  mask(secret: string): void;
}

export class StderrLogger implements Logger {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly verbose = false,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  debug(message: string): void {
    if (this.verbose) this.write(this.redact(message));
  }
  info(message: string): void {
    this.write(this.redact(message));
  }
  warn(message: string, annotation?: Annotation): void {
    this.write(`warning: ${this.redact(where(annotation))}${this.redact(message)}`);
  }
  error(message: string, annotation?: Annotation): void {
    this.write(`error: ${this.redact(where(annotation))}${this.redact(message)}`);
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.debug(`» ${name}`);
    return fn();
  }
  mask(secret: string): void {
    if (secret.length >= 3) this.secrets.add(secret);
  }
  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

function where(annotation?: Annotation): string {
  if (!annotation?.file) return '';
  return annotation.line ? `${annotation.file}:${annotation.line}: ` : `${annotation.file}: `;
}

/** A logger that drops everything: for library callers and tests that do not care. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  group: (_name, fn) => fn(),
  mask() {},
};
