import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/tools.js';

/** Verifies a JWS from stdin with jwcrypto (Debian python3), the leaf of x5c as key; prints the payload. */
export const JWCRYPTO_VERIFY = join(PROJECT_ROOT, '__tests__', 'notation', 'jwcrypto_verify.py');
