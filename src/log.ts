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
  /**
   * Where long work stands (`owners built/total, elapsed`): rewritten in place on a terminal, a
   * log line every few seconds in Actions, nothing elsewhere. `''` ends it (clears the line).
   */
  progress?(line: string): void;
}

/** How often a progress line reaches a log that cannot rewrite it (Actions). */
export const PROGRESS_LOG_INTERVAL_MS = 5000;
/** How often a terminal's progress line is redrawn. */
const PROGRESS_TTY_INTERVAL_MS = 100;

export class StderrLogger implements Logger {
  private readonly secrets = new Set<string>();
  /** A progress line is on screen (a terminal): cleared before anything else is written. */
  private progressShown = false;
  private progressAt = 0;

  /**
   * @param terminal stderr is a terminal: progress is drawn with `raw` (no line end) and
   * rewritten in place.
   */
  constructor(
    private readonly verbose = false,
    private readonly writeLine: (line: string) => void = (line) => process.stderr.write(line + '\n'),
    private readonly terminal?: { raw: (text: string) => void },
  ) {}

  private write(line: string): void {
    if (this.progressShown) {
      this.terminal!.raw('\r\x1b[2K');
      this.progressShown = false;
    }
    this.writeLine(line);
  }

  progress(line: string): void {
    if (!this.terminal) return;
    const now = Date.now();
    if (line && now - this.progressAt < PROGRESS_TTY_INTERVAL_MS) return;
    this.progressAt = now;
    // One screen line: a long line would wrap and `\r` would no longer rewrite all of it.
    const columns = process.stderr.columns || 100;
    this.terminal.raw(`\r\x1b[2K${this.redact(line).slice(0, columns - 1)}`);
    this.progressShown = line !== '';
  }

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

/**
 * A logger whose lines wait until `attach`: work that runs beside other work (a diff's head
 * side, rendered while the base side renders) logs after it, in its own group, as if it had run
 * second. Masks reach the target at once; progress lines are dropped until attached.
 */
export class DeferredLogger implements Logger {
  private readonly held: ((log: Logger) => void)[] = [];
  private target?: Logger;

  constructor(private readonly masks: Logger) {}

  /** Writes what was held to `log`, then passes every later line straight through. */
  attach(log: Logger): void {
    this.target = log;
    for (const line of this.held.splice(0)) line(log);
  }

  private send(line: (log: Logger) => void): void {
    if (this.target) line(this.target);
    else this.held.push(line);
  }

  debug(message: string): void {
    this.send((log) => log.debug(message));
  }
  info(message: string): void {
    this.send((log) => log.info(message));
  }
  warn(message: string, annotation?: Annotation): void {
    this.send((log) => log.warn(message, annotation));
  }
  error(message: string, annotation?: Annotation): void {
    this.send((log) => log.error(message, annotation));
  }
  /** Groups do not nest (Actions' do not): the name is a line of the enclosing group. */
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.debug(`» ${name}`);
    return fn();
  }
  mask(secret: string): void {
    this.masks.mask(secret);
  }
  progress(line: string): void {
    this.target?.progress?.(line);
  }
}

/** `log` with every message (and annotation field) passed through `redact` first. */
export function redactingLogger(log: Logger, redact: (text: string) => string): Logger {
  const annotation = (a?: Annotation): Annotation | undefined =>
    a && { ...a, file: a.file && redact(a.file), title: a.title && redact(a.title) };
  return {
    debug: (message) => log.debug(redact(message)),
    info: (message) => log.info(redact(message)),
    warn: (message, a) => log.warn(redact(message), annotation(a)),
    error: (message, a) => log.error(redact(message), annotation(a)),
    group: (name, fn) => log.group(redact(name), fn),
    mask: (secret) => log.mask(secret),
    progress: (line) => log.progress?.(redact(line)),
  };
}

/**
 * Process warnings (Node's default handler prints them whole on stderr) become one line.
 * The `yaml` library's warnings are dropped: their text quotes the offending source line, which
 * may hold a secret value, and we report what matters from `doc.warnings` ourselves.
 * For the two entry points only (src/cli.ts, src/index.ts), never for a library caller.
 */
export function routeProcessWarnings(write: (line: string) => void): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'YAMLWarning') return;
    write(`warning: ${warning.name}: ${warning.message.split('\n')[0]}`);
  });
}
