import type { Annotation, Logger } from '../log.js';

/**
 * GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job); the rest
 * are dropped without a word (actions/toolkit docs/problem-matchers.md "Limitations"; the runner
 * enforces it). Nine of each are annotated, the tenth slot says how many more there are.
 */
export const ANNOTATIONS_PER_LEVEL = 10;

type Level = 'error' | 'warning';

/**
 * A logger that annotates each file and line once, and no more than GitHub shows: a second
 * message at an annotated place, or one past the cap, is a plain log line (it reaches the log,
 * never an annotation that would push out another). `finish` adds the "N more" annotation.
 */
export class CappedAnnotations implements Logger {
  private readonly placed = new Set<string>();
  private readonly shown: Record<Level, number> = { error: 0, warning: 0 };
  private readonly over: Record<Level, number> = { error: 0, warning: 0 };
  /** The first message past the cap: annotated after all when it is the only one. */
  private readonly firstOver: Partial<Record<Level, { message: string; annotation?: Annotation }>> = {};

  constructor(
    private readonly log: Logger,
    private readonly perLevel = ANNOTATIONS_PER_LEVEL,
  ) {}

  debug(message: string): void {
    this.log.debug(message);
  }
  info(message: string): void {
    this.log.info(message);
  }
  warn(message: string, annotation?: Annotation): void {
    this.annotate('warning', message, annotation);
  }
  error(message: string, annotation?: Annotation): void {
    this.annotate('error', message, annotation);
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.log.group(name, fn);
  }
  mask(secret: string): void {
    this.log.mask(secret);
  }
  progress(line: string): void {
    this.log.progress?.(line);
  }

  private annotate(level: Level, message: string, annotation?: Annotation): void {
    const place = annotation?.file
      ? `${level}\u0000${annotation.file}\u0000${annotation.line ?? ''}`
      : undefined;
    const again = place !== undefined && this.placed.has(place);
    if (!again && this.shown[level] < this.perLevel - 1) {
      if (place) this.placed.add(place);
      this.shown[level]++;
      if (level === 'error') this.log.error(message, annotation);
      else this.log.warn(message, annotation);
      return;
    }
    if (!again && !this.over[level]++) this.firstOver[level] = { message, annotation };
    const where = annotation?.file
      ? `${annotation.file}${annotation.line ? `:${annotation.line}` : ''}: `
      : '';
    this.log.info(`${level}: ${where}${message}`);
  }

  /** The last annotation of each level that overflowed: how many more the log holds. */
  finish(): void {
    for (const level of ['error', 'warning'] as const) {
      const n = this.over[level];
      if (!n) continue;
      const only = this.firstOver[level]!;
      const text = `${n} more ${level}${n === 1 ? '' : 's'} not annotated (GitHub shows ${this.perLevel} per step): see the log and the job summary`;
      const [message, annotation] = n === 1 ? [only.message, only.annotation] : [text, undefined];
      if (level === 'error') this.log.error(message, annotation);
      else this.log.warn(message, annotation);
      this.over[level] = 0;
    }
  }
}
