import type { ResourceLimits } from "./types.js";

/** Any limit set at all. */
export function hasLimits(limits: ResourceLimits): boolean {
  return limits.memoryMb !== undefined || limits.processes !== undefined || limits.openFiles !== undefined;
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
 * Why a limited plugin ended, where that can be told: `limit` when it had a
 * memory limit and its last stderr lines show a failed allocation. An rlimit
 * leaves no other trace (no signal of its own), so this is the best an
 * rlimit can say; a cgroup would report it exactly.
 */
export function exitReason(limits: ResourceLimits | undefined, stderrTail: readonly string[]): "limit" | null {
  if (!limits || limits.memoryMb === undefined) return null;
  return stderrTail.some((l) => OUT_OF_MEMORY.test(l)) ? "limit" : null;
}
