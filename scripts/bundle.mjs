// Builds dist/ (the action and the CLI, bundled by ncc) and action.yml from src/.
// `node scripts/bundle.mjs --check` builds into a temp dir and fails if the committed files differ.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, statSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const work = mkdtempSync(join(tmpdir(), 'fluxgate-bundle-'));
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');

function bundle(entry, outDir) {
  execFileSync(process.execPath, [ncc, 'build', join(root, entry), '-o', outDir, '--target', 'es2023', '--quiet'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

try {
  const out = join(work, 'dist');
  mkdirSync(out);
  for (const [entry, name] of [
    ['src/index.ts', 'index.js'],
    ['src/cli.ts', 'cli.js'],
  ]) {
    const dir = join(work, name);
    bundle(entry, dir);
    for (const file of readdirSync(dir)) {
      // ncc copies files that a path expression in src/ could name (its asset relocator): dist/
      // holds code only, so such an expression must be rewritten, not bundled.
      if (statSync(join(dir, file)).isDirectory()) {
        throw new Error(`bundle: ${entry} made ncc emit the asset directory ${file}/: a path literal in src/ matches files of the project`);
      }
      const target = file === 'index.js' ? name : file;
      if (target !== 'package.json' && existsSync(join(out, target)) && file !== 'index.js') {
        if (readFileSync(join(out, target)).equals(readFileSync(join(dir, file)))) continue;
        throw new Error(`bundle: ${entry} emitted ${file}, which another entry emitted differently`);
      }
      cpSync(join(dir, file), join(out, target));
    }
  }
  writeFileSync(join(out, 'package.json'), '{\n  "type": "module"\n}\n');

  const specDir = join(work, 'spec');
  bundle('src/action/spec.ts', specDir);
  const { actionYaml } = await import(pathToFileURL(join(specDir, 'index.js')).href);
  const actionYml = actionYaml();

  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = readFileSync(join(root, 'src', 'version.ts'), 'utf8').match(/VERSION = '([^']+)'/)?.[1];
  if (version !== pkg.version) throw new Error(`bundle: src/version.ts says ${version}, package.json ${pkg.version}`);

  if (check) {
    const diffs = [];
    const committed = join(root, 'dist');
    const want = new Set(readdirSync(out));
    const have = existsSync(committed) ? new Set(readdirSync(committed)) : new Set();
    for (const f of new Set([...want, ...have])) {
      if (!want.has(f) || !have.has(f) || !readFileSync(join(out, f)).equals(readFileSync(join(committed, f)))) {
        diffs.push(`dist/${f}`);
      }
    }
    if (readFileSync(join(root, 'action.yml'), 'utf8') !== actionYml) diffs.push('action.yml');
    if (diffs.length) {
      console.error(`dist check: ${diffs.join(', ')} differ from the bundle of src/; run 'npm run build' and commit`);
      process.exit(1);
    }
    console.error('dist check: dist/ and action.yml are the bundle of src/');
  } else {
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    cpSync(out, join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'action.yml'), actionYml);
    console.error('bundle: wrote dist/ and action.yml');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
