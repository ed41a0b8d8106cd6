import * as core from '@actions/core';
import { PROGRESS_LOG_INTERVAL_MS, type Annotation, type Logger } from '../log.js';
import { inertForLog } from './workflow-commands.js';

/**
 * Logs through @actions/core: groups, annotations with file/line, masking. core.debug, warning,
 * error and group escape their text into one command; info writes it raw, so it is made inert.
 */
export class ActionLogger implements Logger {
  private progressAt = 0;

  debug(message: string): void {
    core.debug(message);
  }
  info(message: string): void {
    process.stdout.write(inertForLog(`${message}\n`));
  }
  warn(message: string, annotation?: Annotation): void {
    core.warning(message, toProperties(annotation));
  }
  error(message: string, annotation?: Annotation): void {
    core.error(message, toProperties(annotation));
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return core.group(name, fn);
  }
  mask(secret: string): void {
    core.setSecret(secret);
  }
  /** A log line every few seconds (inside the phase's group): the log cannot rewrite a line. */
  progress(line: string): void {
    const now = Date.now();
    if (!line || now - this.progressAt < PROGRESS_LOG_INTERVAL_MS) return;
    this.progressAt = now;
    this.info(line);
  }
}

function toProperties(annotation?: Annotation): core.AnnotationProperties | undefined {
  if (!annotation) return undefined;
  return { file: annotation.file, startLine: annotation.line, title: annotation.title };
}
