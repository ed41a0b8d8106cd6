import { FluxgateError } from '../errors.js';

/** Commands whose issue has not landed say so (exit 2) instead of printing fake output. */
export function notImplemented(command: string): never {
  throw new FluxgateError('NOT_IMPLEMENTED', `${command}: not implemented yet`);
}
