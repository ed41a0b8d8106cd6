/** Timing helpers for the benchmark: wall time, our CPU, and the CPU of the tools we ran. */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { runProcess, type ProcessRunner } from '../src/render/process.js';
import { mapPool } from '../src/util/pool.js';

export interface ToolTimer {
  run: ProcessRunner;
  /** Sum of the wall times of every tool invocation, as if run one after the other. */
  toolWallMs: number;
  invocations: number;
}

/** Wraps the engine's tool runner to time each kustomize/helm invocation. */
export function toolTimer(): ToolTimer {
  const timer: ToolTimer = {
    toolWallMs: 0,
    invocations: 0,
    run: async (command, args, options) => {
      const start = performance.now();
      const result = await runProcess(command, args, options);
      timer.toolWallMs += performance.now() - start;
      timer.invocations++;
      return result;
    },
  };
  return timer;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU of this process and of its waited-for children, in ms (/proc/self/stat utime, stime, cutime, cstime). */
export function cpuMs(): { self: number; children: number } {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const n = (i: number) => Number(fields[i - 3]) * TICK_MS;
  return { self: n(14) + n(15), children: n(16) + n(17) };
}

export async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; wallMs: number; selfCpuMs: number; childCpuMs: number }> {
  const c0 = cpuMs();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const c1 = cpuMs();
  return { value, wallMs, selfCpuMs: c1.self - c0.self, childCpuMs: c1.children - c0.children };
}

export interface RecordedInvocation {
  command: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  stdout: string;
}

export interface ToolRecorder {
  run: ProcessRunner;
  invocations: RecordedInvocation[];
  /**
   * Runs every recorded invocation again on the snapshot of its inputs, one after the other (or
   * `concurrency` at a time, in the recorded order): the floor (the tools' own cost, nothing of
   * fluxgate around them). Returns how many outputs differ from what the tool printed inside
   * fluxgate (0: the floor did the same work).
   */
  replay(concurrency?: number): Promise<{ mismatches: number }>;
}

/** The engine's private source copies, where every build directory and helm work dir lives. */
const SOURCES_ROOT = /^(.*\/fluxgate-sources-[^/]+)(?:\/(.*))?$/;
/** Directories the engine creates for one tool invocation and removes right after it. */
const transient = (segment: string, depth: number) =>
  segment.startsWith('.fluxgate-build-') || (depth === 0 && segment.startsWith('helm-'));

/**
 * Wraps the engine's tool runner to record each kustomize/helm invocation with a snapshot of
 * its inputs (the engine deletes its build directories as soon as a tool returns), so that the
 * benchmark can run the very same invocations itself. Recording copies files: never time it.
 */
export function toolRecorder(snapshotDir: string): ToolRecorder {
  const snapshots = new Map<string, string>();
  const copied = new Set<string>();
  const relink = (dir: string, from: string, to: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = readlinkSync(path);
        if (target === from || target.startsWith(from + '/')) {
          rmSync(path);
          symlinkSync(to + target.slice(from.length), path);
        }
      } else if (entry.isDirectory()) relink(path, from, to);
    }
  };
  const copyTree = (from: string, to: string, root: string, snap: string) => {
    cpSync(from, to, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => src === from || !basename(src).startsWith('.fluxgate-build-'),
    });
    if (statSync(to).isDirectory()) relink(to, root, snap);
  };
  /** The snapshot path of `path`, copying what it needs first. */
  const map = (path: string): string => {
    const m = SOURCES_ROOT.exec(path);
    if (!m) return path;
    const root = m[1]!;
    const rel = m[2] ?? '';
    let snap = snapshots.get(root);
    if (!snap) {
      snap = join(snapshotDir, String(snapshots.size));
      mkdirSync(snap, { recursive: true });
      snapshots.set(root, snap);
    }
    const segments = rel.split('/').filter(Boolean);
    const top = segments[0];
    if (top && !transient(top, 0) && !copied.has(`${root}/${top}`)) {
      copyTree(join(root, top), join(snap, top), root, snap);
      copied.add(`${root}/${top}`);
    }
    const cut = segments.findIndex((s, i) => transient(s, i));
    if (cut >= 0) {
      const dir = segments.slice(0, cut + 1).join('/');
      if (!copied.has(`${root}/${dir}`)) {
        copyTree(join(root, dir), join(snap, dir), root, snap);
        copied.add(`${root}/${dir}`);
      }
    } else if (top && !existsSync(join(snap, rel)) && existsSync(path)) {
      copyTree(path, join(snap, rel), root, snap); // written after its tree was first copied
    }
    return join(snap, rel);
  };
  // The tools' private home (their cwd, HOME and TMPDIR) is removed with the render: the replay
  // gets a home of its own with the same directories, or a tool would fail to start there.
  const homes = new Map<string, string>();
  const rehome = (value: string, home: string | undefined): string => {
    if (!home || (value !== home && !value.startsWith(home + '/'))) return value;
    let copy = homes.get(home);
    if (!copy) {
      copy = join(snapshotDir, `home-${homes.size}`);
      cpSync(home, copy, { recursive: true, verbatimSymlinks: true });
      homes.set(home, copy);
    }
    return copy + value.slice(home.length);
  };
  const recorder: ToolRecorder = {
    invocations: [],
    run: async (command, args, options) => {
      const home = options.env?.HOME;
      const mapped = {
        command,
        args: args.map((a) => (a.startsWith('/') ? rehome(map(a), home) : a)),
        cwd: options.cwd === undefined ? undefined : rehome(map(options.cwd), home),
        env: Object.fromEntries(
          Object.entries(options.env ?? {}).map(([k, v]) => [k, v === undefined ? v : rehome(v, home)]),
        ),
      };
      const result = await runProcess(command, args, options);
      recorder.invocations.push({ ...mapped, stdout: result.stdout });
      return result;
    },
    async replay(concurrency = 1) {
      let mismatches = 0;
      await mapPool(recorder.invocations, concurrency, async (call) => {
        const result = await runProcess(call.command, call.args, { cwd: call.cwd, env: call.env });
        if (result.stdout !== call.stdout) mismatches++;
      });
      return { mismatches };
    },
  };
  return recorder;
}
