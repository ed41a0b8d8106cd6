/** Timing helpers for the benchmark: wall time, our CPU, and the CPU of the tools we ran. */
import { readFileSync } from 'node:fs';
import { runProcess, type ProcessRunner } from '../src/render/process.js';

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
