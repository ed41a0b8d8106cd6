import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/tools.js';

describe('dist/', () => {
  it('is exactly the bundle of the committed sources (and action.yml their declaration)', () => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'bundle.mjs'), '--check'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toContain('dist check: dist/ and action.yml are the bundle of src/');
    expect(r.status).toBe(0);
  }, 300000);
});
