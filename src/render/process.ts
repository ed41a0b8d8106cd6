import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { runLimits } from '../util/run-limits.js';
import { FluxgateError } from '../errors.js';

export interface ProcessResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** The one way the renderer runs a tool: an argv array, never a shell; output captured. */
export type ProcessRunner = (
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
) => Promise<ProcessResult>;

export const runProcess: ProcessRunner = (command, args, options) =>
  new Promise((resolve) => {
    // The run's limits as the caller sees them: a child's callback may run outside its context.
    const deadline = runLimits();
    execFile(
      command,
      args,
      // A tool still running at the command's --timeout is killed with it.
      { cwd: options.cwd, env: options.env, maxBuffer: 512 * 1024 * 1024, signal: deadline.signal },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? Number(err.code)
            : 1
          : 0;
        if (err && deadline.signal.aborted) {
          resolve({ stdout: '', stderr: `gave up at the --timeout of ${deadline.timeout}`, code: 1 });
          return;
        }
        resolve({ stdout: String(stdout), stderr: err && !stderr ? err.message : String(stderr), code });
      },
    );
  });

/**
 * `--verbose`: each tool run on the log (debug), with its arguments, exit code and duration.
 * The arguments are ours (paths of private copies, flags), never a value from a Secret.
 */
export function timedRunner(run: ProcessRunner, log: { debug(message: string): void }): ProcessRunner {
  return async (command, args, options) => {
    const started = performance.now();
    const result = await run(command, args, options);
    const ms = performance.now() - started;
    log.debug(
      `tool: ${basename(command)} ${args.join(' ')} (exit ${result.code}, ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`})`,
    );
    return result;
  };
}

export function findOnPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/** How to get each tool fluxgate runs, for the error when it is not on PATH. */
const INSTALL_HINTS: Record<string, string> = {
  kustomize:
    'kustomize builds run `kustomize build`, or `kubectl kustomize` when kustomize is absent: install kubectl (https://kubernetes.io/docs/tasks/tools/) or kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/); GitHub-hosted Ubuntu runners have both',
  kubectl:
    'install kubectl (https://kubernetes.io/docs/tasks/tools/, or the azure/setup-kubectl action); GitHub-hosted Ubuntu runners have it',
  helm: 'HelmReleases render with `helm template`: install Helm 3.x or 4.x (https://helm.sh/docs/intro/install/, or the azure/setup-helm action); GitHub-hosted Ubuntu runners have it',
  git: 'install git (https://git-scm.com/downloads)',
};

/** A tool fluxgate needs is not on PATH: names it and says how to get it. */
export class ToolMissingError extends FluxgateError {
  constructor(tool: string) {
    super('INPUT', `${tool} not found on PATH: ${INSTALL_HINTS[tool] ?? `install ${tool}`}`);
    this.name = 'ToolMissingError';
  }
}

/** Fails with ToolMissingError unless one of `tools` is on PATH (the first is the one named). */
export function requireTool(env: NodeJS.ProcessEnv, ...tools: string[]): void {
  if (!tools.some((tool) => findOnPath(tool, env))) throw new ToolMissingError(tools[0]!);
}

/** Where a proxy variable points so nothing can be fetched: a port nothing listens on. */
const NO_NETWORK = 'http://127.0.0.1:9';

/**
 * The whole environment of a tool process: nothing of ours (no GITHUB_*, INPUT_*, ACTIONS_*,
 * RUNNER_*, cloud or registry credentials, no proxy exceptions), a PATH of the tool's own
 * directory and the system's, and a private HOME and TMPDIR with helm's and XDG's directories
 * in it, so no user configuration, plugin, repository list or registry login is found. kustomize
 * reads a bare key of an `envs:` file from its environment: there is nothing there to read.
 */
export function toolEnvironment(binary: string, home: string): NodeJS.ProcessEnv {
  const dir = (name: string) => {
    const path = join(home, name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const tmp = dir('tmp');
  return {
    PATH: [...new Set([dirname(binary), '/usr/bin', '/bin'])].join(delimiter),
    HOME: home,
    TMPDIR: tmp,
    TMP: tmp,
    TEMP: tmp,
    XDG_CONFIG_HOME: dir('config'),
    XDG_CACHE_HOME: dir('cache'),
    XDG_DATA_HOME: dir('data'),
    HELM_CONFIG_HOME: join(home, 'config', 'helm'),
    HELM_CACHE_HOME: join(home, 'cache', 'helm'),
    HELM_DATA_HOME: join(home, 'data', 'helm'),
    HELM_PLUGINS: join(home, 'data', 'helm', 'plugins'),
    KUBECONFIG: join(home, 'kubeconfig'),
    KUSTOMIZE_PLUGIN_HOME: join(home, 'kustomize-plugins'),
    HTTP_PROXY: NO_NETWORK,
    HTTPS_PROXY: NO_NETWORK,
    ALL_PROXY: NO_NETWORK,
    http_proxy: NO_NETWORK,
    https_proxy: NO_NETWORK,
    all_proxy: NO_NETWORK,
    NO_PROXY: '',
    no_proxy: '',
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C.UTF-8',
  };
}

/**
 * Runs helm, kustomize or kubectl (found on the caller's PATH) with toolEnvironment: a private
 * home made for this one process and removed when it ends.
 */
export async function runTool(
  run: ProcessRunner,
  tool: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; extraEnv?: NodeJS.ProcessEnv; home?: ToolHome },
): Promise<ProcessResult> {
  const binary = findOnPath(tool, options.env);
  if (!binary) throw new ToolMissingError(tool);
  const start = (home: string, env: NodeJS.ProcessEnv) =>
    run(binary, args, { env: { ...env, ...options.extraEnv }, cwd: options.cwd ?? home });
  if (options.home) return start(options.home.path, options.home.environment(binary));
  return withPrivateHome((home) => start(home, toolEnvironment(binary, home)));
}

/**
 * One private home for the tool processes of a render (toolEnvironment's, made once): builds
 * write nothing there (no plugin, repository list or login can be found in it), and making and
 * removing a home for every process was a good part of the engine's own cost.
 */
export class ToolHome {
  readonly path = mkdtempSync(join(tmpdir(), 'fluxgate-tool-'));
  private readonly environments = new Map<string, NodeJS.ProcessEnv>();

  /**
   * `builds`: how many tool processes run at once. Each gets its share of the cores as Go's
   * GOMAXPROCS: kustomize and helm build mostly on one goroutine, and the threads Go adds for its
   * collector only contend with the other builds. `npm run bench` measures both: at 500 apps on
   * 2 cores Go's default threads took 1.36 × the time and 1.36 × the tool CPU; one kubectl
   * kustomize alone, even of 3,000 objects, was no slower with one thread.
   */
  constructor(private readonly builds = 1) {}

  environment(binary: string): NodeJS.ProcessEnv {
    let env = this.environments.get(binary);
    if (!env) {
      const threads = Math.max(1, Math.floor(availableParallelism() / Math.max(1, this.builds)));
      env = { ...toolEnvironment(binary, this.path), GOMAXPROCS: String(threads) };
      this.environments.set(binary, env);
    }
    return env;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * What git adds to toolEnvironment: git's ownership check reads only global configuration, which
 * is private here, so the repository the user named is declared safe on the command's scope.
 */
export const GIT_SAFE_DIRECTORY: NodeJS.ProcessEnv = {
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'safe.directory',
  GIT_CONFIG_VALUE_0: '*',
};

/** Runs `fn` with a private home directory, removed afterwards. */
export function withPrivateHome<T>(fn: (home: string) => T): T {
  const home = mkdtempSync(join(tmpdir(), 'fluxgate-tool-'));
  let async = false;
  try {
    const result = fn(home);
    if (result instanceof Promise) {
      async = true;
      return result.finally(() => rmSync(home, { recursive: true, force: true })) as T;
    }
    return result;
  } finally {
    if (!async) rmSync(home, { recursive: true, force: true });
  }
}

/** Last meaningful line of a tool's stderr, for one-line errors. */
export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? 'failed').replace(/^Error: /, '');
}
