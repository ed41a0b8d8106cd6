import { FluxgateError } from '../errors.js';

/** A registry said no, or could not be reached; names the host/repository and the status. */
export class RegistryError extends FluxgateError {
  readonly status?: number;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super('REGISTRY', message, { cause: options.cause });
    this.name = 'RegistryError';
    this.status = options.status;
  }
}
