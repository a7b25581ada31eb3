import type { ResourceLimits } from "./types.js";

/** Any limit set at all. */
export function hasLimits(limits: ResourceLimits): boolean {
  return limits.memoryMb !== undefined || limits.processes !== undefined || limits.openFiles !== undefined || limits.cpuWeight !== undefined;
}

/** Any limit a cgroup holds (memory, processes, CPU share). */
export function hasCgroupLimits(limits: ResourceLimits): boolean {
  return limits.memoryMb !== undefined || limits.processes !== undefined || limits.cpuWeight !== undefined;
}

/**
 * The nice level standing in for a CPU weight without cgroups: each nice step
 * is about 1.25x less CPU, so weight 50 is nice 3. Weights of 100 and more
 * give 0 (raising priority needs privilege). Pure.
 */
export function niceLevel(cpuWeight: number): number {
  if (cpuWeight >= 100) return 0;
  return Math.min(19, Math.round(Math.log(100 / cpuWeight) / Math.log(1.25)));
}

/** prlimit(1) options for the limits (soft = hard, so the plugin cannot raise them). Pure. */
export function prlimitArgs(limits: ResourceLimits): string[] {
  const args: string[] = [];
  if (limits.memoryMb !== undefined) args.push(`--as=${limits.memoryMb * 1024 * 1024}`);
  if (limits.processes !== undefined) args.push(`--nproc=${limits.processes}`);
  if (limits.openFiles !== undefined) args.push(`--nofile=${limits.openFiles}`);
  return args;
}

/** Lines a runtime prints when an allocation failed: Node/V8, Python, C++, glibc. */
const OUT_OF_MEMORY = /out of memory|MemoryError|std::bad_alloc|Cannot allocate memory|allocation failed/i;

/**
 * Why a limited plugin ended, where that can be told: `oom` when its cgroup
 * says the kernel's OOM killer acted; `limit` when it had a memory limit and
 * its last stderr lines show a failed allocation (an rlimit leaves no other
 * trace, no signal of its own).
 */
export function exitReason(limits: ResourceLimits | undefined, stderrTail: readonly string[], oomKilled = false): "oom" | "limit" | null {
  if (oomKilled) return "oom";
  if (!limits || limits.memoryMb === undefined) return null;
  return stderrTail.some((l) => OUT_OF_MEMORY.test(l)) ? "limit" : null;
}
