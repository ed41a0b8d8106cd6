/** The COSE_Sign1 envelope (`application/cose`). */
import { EnvelopeError, type EnvelopeContent } from './envelope.js';

export function openCose(_bytes: Buffer): EnvelopeContent {
  throw new EnvelopeError('COSE envelopes are not supported yet');
}
