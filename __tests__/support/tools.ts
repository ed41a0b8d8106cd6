import { delimiter, join, resolve } from 'node:path';

/** Where the test bed put kubectl and helm (scripts/setup-test-bed.mjs). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
export const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
export const KUBECTL = join(TOOLS_BIN, 'kubectl');
export const HELM = join(TOOLS_BIN, 'helm');
/** Debian's python3 with python3-nacl/cryptography/jwcrypto: not the pyenv one first on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const FIXTURES = join(PROJECT_ROOT, '__tests__', 'fixtures');

/** An environment whose PATH finds the test bed's kubectl and helm first. */
export function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${TOOLS_BIN}${delimiter}${process.env.PATH ?? ''}`, ...extra };
}
