/**
 * Which GitRepository objects mean "this checkout". source-controller clones each GitRepository
 * from its own URL and ref; offline, fluxgate can stand in for one only with the files it has: the
 * repository being rendered, at the branch a change is merged into or the branch being rendered.
 * Any other repository, branch, tag, semver range or commit is a different source, which
 * `--source` maps to a directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { remainingTime } from '../util/run-limits.js';

export interface CheckoutIdentity {
  /** The repository's URLs, normalised (`host/owner/name`): its remotes and GITHUB_REPOSITORY. */
  urls: string[];
  /** Branches that stand for this checkout: base and head of a change, the default and current branch. */
  branches: string[];
}

/** `https://github.com/acme/fleet.git`, `ssh://git@github.com/acme/fleet`, `git@github.com:acme/fleet` → `github.com/acme/fleet`. */
export function normalizeGitUrl(url: string): string {
  let rest = url.trim();
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.*)$/.exec(rest);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) rest = `${scp[1]}/${scp[2]}`;
  else rest = rest.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^@/]+@/, '');
  const slash = rest.indexOf('/');
  const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase().replace(/:(22|443|80)$/, '');
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  return `${host}/${path.replace(/\/+$/, '').replace(/\.git$/, '')}`.replace(/\/$/, '');
}

/** A branch name from a ref as users write it (`origin/main`, `refs/heads/main`, `main`). */
function branchOf(ref: string): string | undefined {
  if (/^[0-9a-f]{7,64}$/i.test(ref) || /[~^@:]/.test(ref) || ref === 'HEAD') return undefined;
  return ref
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

const gitOptions = () => ({
  encoding: 'utf8' as const,
  timeout: remainingTime(),
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' },
});

/** What readCheckout asks git, in one list: the answers come synchronously or all at once. */
const QUESTIONS = [
  ['rev-parse', '--show-toplevel'],
  ['config', '--get-regexp', '^remote\\..*\\.url$'],
  ['symbolic-ref', '-q', '--short', 'HEAD'],
  ['symbolic-ref', '-q', '--short', 'refs/remotes/origin/HEAD'],
] as const;

function gitSync(repo: string, args: readonly string[]): string {
  try {
    return execFileSync('git', ['-C', repo, ...args], {
      ...gitOptions(),
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function gitAsync(repo: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('git', ['-C', repo, ...args], gitOptions(), (err, stdout) =>
      resolve(err ? '' : String(stdout).trim()),
    );
    child.stdin?.end();
  });
}

/**
 * What identifies the checkout at `repo`: its remotes and branches from git, the repository and
 * branches of the Actions run, and the refs a diff compares (`refs`).
 */
export function readCheckout(repo: string, env: NodeJS.ProcessEnv, refs: string[] = []): CheckoutIdentity {
  return checkoutIdentity(
    repo,
    env,
    refs,
    QUESTIONS.map((q) => gitSync(repo, q)),
  );
}

/** readCheckout with git's answers awaited together (a diff asks while it lists its sides). */
export async function readCheckoutAsync(
  repo: string,
  env: NodeJS.ProcessEnv,
  refs: string[] = [],
): Promise<CheckoutIdentity> {
  return checkoutIdentity(repo, env, refs, await Promise.all(QUESTIONS.map((q) => gitAsync(repo, q))));
}

function checkoutIdentity(
  repo: string,
  env: NodeJS.ProcessEnv,
  refs: string[],
  [top, remotes, head, originHead]: string[],
): CheckoutIdentity {
  const urls = new Set<string>();
  // Only the top of a work tree is the repository its remotes name: a directory inside another
  // project (a vendored fleet, a fixture) says nothing of the repository its manifests point at.
  const isTop = top !== '' && realpathOrSelf(top!) === realpathOrSelf(resolve(repo));
  for (const line of isTop ? remotes!.split('\n') : []) {
    const url = line.split(/\s+/)[1];
    // A clone of a local directory names no hosted repository.
    if (url && !url.startsWith('/') && !url.startsWith('.') && !url.startsWith('file:'))
      urls.add(normalizeGitUrl(url));
  }
  // The run's repository names this checkout only when this is the workspace's checkout.
  const inWorkspace =
    isTop && !!env.GITHUB_WORKSPACE && `${resolve(repo)}/`.startsWith(`${resolve(env.GITHUB_WORKSPACE)}/`);
  if (env.GITHUB_REPOSITORY && inWorkspace) {
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    urls.add(normalizeGitUrl(`${server}/${env.GITHUB_REPOSITORY}`));
  }
  const branches = new Set<string>();
  const add = (ref: string | undefined) => {
    const branch = ref ? branchOf(ref) : undefined;
    if (branch) branches.add(branch);
  };
  add(head);
  add(originHead);
  if (inWorkspace) {
    for (const name of ['GITHUB_BASE_REF', 'GITHUB_HEAD_REF']) add(env[name]);
    if (env.GITHUB_REF?.startsWith('refs/heads/')) add(env.GITHUB_REF);
  }
  for (const ref of refs) add(ref);
  return { urls: [...urls], branches: [...branches] };
}

export interface GitRepositorySpec {
  url?: string;
  ref?: { branch?: string; tag?: string; semver?: string; name?: string; commit?: string };
}

/**
 * Why a GitRepository is not this checkout, or undefined when it is. With nothing known of the
 * checkout's repository (a plain directory or a repository without remotes, outside Actions) no
 * GitRepository can be judged: each is taken as this checkout, as before.
 */
export function notThisCheckout(spec: GitRepositorySpec, checkout: CheckoutIdentity): string | undefined {
  if (checkout.urls.length === 0) return undefined;
  const url = spec.url ? normalizeGitUrl(spec.url) : '';
  if (url && !checkout.urls.includes(url)) {
    return `its URL ${spec.url} is not this checkout's repository (${checkout.urls.join(', ')})`;
  }
  const ref = spec.ref ?? {};
  const pinned = ref.commit ?? ref.name ?? ref.tag ?? ref.semver;
  if (pinned) {
    const what = ref.commit ? 'commit' : ref.name ? 'ref' : ref.tag ? 'tag' : 'semver range';
    return `it follows ${what} ${pinned}, not a branch of this checkout`;
  }
  if (ref.branch && checkout.branches.length > 0 && !checkout.branches.includes(ref.branch)) {
    return `it follows branch ${ref.branch}, not ${checkout.branches.join(' or ')}`;
  }
  return undefined;
}
