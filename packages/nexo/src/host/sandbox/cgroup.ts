import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResourceLimits } from "./types.js";

/** Controllers a plugin's cgroup needs (cpu is used when present). */
const NEEDED = ["memory", "pids"];

/** Whether cgroup v2 can hold the plugins' limits here, and if not why. */
export type CgroupProbe = { available: true; dir: string; controllers: string[] } | { available: false; reason: string };

/** How the probe reads the system (tests give a fake one). */
export interface CgroupSystem {
  readText(path: string): string;
  isWritable(path: string): boolean;
}

const realSystem: CgroupSystem = {
  readText: (p) => readFileSync(p, "utf8"),
  isWritable: (p) => {
    try {
      accessSync(p, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/**
 * Find the daemon's own cgroup v2 directory and check it can be the root of
 * the plugins' cgroups: a cgroup2 mount, a `0::` line in /proc/self/cgroup,
 * the memory and pids controllers available there (in a hybrid setup cgroup
 * v1 usually holds them) and the directory writable (delegated to the
 * daemon's user). Pure but for the reads.
 */
export function probeCgroup(sys: CgroupSystem = realSystem, procSelf = "/proc/self"): CgroupProbe {
  let mount: string | undefined;
  let own: string | undefined;
  try {
    for (const line of sys.readText(join(procSelf, "mountinfo")).split("\n")) {
      const [pre, post] = line.split(" - ");
      if (post?.split(" ")[0] === "cgroup2") {
        mount = pre!.split(" ")[4];
        break;
      }
    }
    own = sys
      .readText(join(procSelf, "cgroup"))
      .split("\n")
      .find((l) => l.startsWith("0::"))
      ?.slice(3)
      .trim();
  } catch (err) {
    return { available: false, reason: `cannot read ${procSelf}: ${(err as Error).message}` };
  }
  if (!mount) return { available: false, reason: "no cgroup v2 hierarchy is mounted" };
  if (own === undefined) return { available: false, reason: "the daemon is in no cgroup v2 group" };
  const dir = own === "/" ? mount : join(mount, own);
  let controllers: string[];
  try {
    controllers = sys.readText(join(dir, "cgroup.controllers")).trim().split(/\s+/).filter(Boolean);
  } catch (err) {
    return { available: false, reason: `cannot read ${dir}/cgroup.controllers: ${(err as Error).message}` };
  }
  const missing = NEEDED.filter((c) => !controllers.includes(c));
  if (missing.length)
    return {
      available: false,
      reason: `the ${missing.join(" and ")} controller${missing.length > 1 ? "s are" : " is"} not available in ${dir} (it has: ${controllers.join(" ") || "none"})`,
    };
  if (!sys.isWritable(dir) || !sys.isWritable(join(dir, "cgroup.subtree_control")))
    return { available: false, reason: `${dir} is not writable by the daemon (not delegated to it)` };
  return { available: true, dir, controllers };
}

/**
 * The files to write in a plugin's cgroup for `limits` (open files have no
 * cgroup control and stay an rlimit). memory.max with swap off, so the limit
 * is the memory the plugin can hold; memory.oom.group so the kernel kills the
 * whole plugin, not one of its processes; pids.max; cpu.weight (relative
 * share, 100 = as much as anyone else). Pure.
 */
export function cgroupFiles(limits: ResourceLimits, controllers: readonly string[]): Array<[file: string, value: string]> {
  const files: Array<[string, string]> = [];
  if (limits.memoryMb !== undefined) files.push(["memory.max", String(limits.memoryMb * 1024 * 1024)], ["memory.swap.max", "0"], ["memory.oom.group", "1"]);
  if (limits.processes !== undefined) files.push(["pids.max", String(limits.processes)]);
  if (limits.cpuWeight !== undefined && controllers.includes("cpu")) files.push(["cpu.weight", String(limits.cpuWeight)]);
  return files;
}

/** Files a kernel may lack (no swap accounting, before 4.19): written only where they exist. */
const OPTIONAL_FILES = new Set(["memory.swap.max", "memory.oom.group"]);

/** `oom_kill` of a memory.events text (0 when absent). */
export function oomKills(memoryEvents: string): number {
  const m = /^oom_kill (\d+)$/m.exec(memoryEvents);
  return m ? Number(m[1]) : 0;
}

/** One plugin's cgroup: where to attach its process, and whether the kernel killed it for memory. */
export interface PluginCgroup {
  dir: string;
  /** Move `pid` into the cgroup (before it runs the plugin: see the spawn gate). */
  attach(pid: number): void;
  /** True when the kernel's OOM killer acted in this cgroup since it was prepared. */
  oomKilled(): boolean;
  /** Remove the group once the run is over (best effort: the next run makes it again). */
  remove(): void;
}

/**
 * Plugin cgroups under the daemon's own (delegated) cgroup v2 directory.
 * Once: the daemon moves itself into a leaf `daemon/` (cgroup v2 allows
 * controllers for child groups only in a group without processes of its
 * own) and enables memory, pids (and cpu) for the children. Per plugin:
 * `plugin-<key>/` with its limit files. A failure of the one-time setup is
 * kept as the reason the daemon falls back to rlimits.
 */
export class CgroupManager {
  private setupError: string | null | undefined;

  constructor(
    private readonly probe: CgroupProbe,
    private readonly pid: number = process.pid,
  ) {}

  /** Which mechanism limits use, and why not cgroup v2 when it is not. */
  mechanism(): { mechanism: "cgroup v2"; dir: string } | { mechanism: "rlimits"; reason: string } {
    if (!this.probe.available) return { mechanism: "rlimits", reason: this.probe.reason };
    const err = this.setup();
    return err ? { mechanism: "rlimits", reason: err } : { mechanism: "cgroup v2", dir: this.probe.dir };
  }

  /** Prepare plugin `key`'s cgroup with `limits`; null when cgroup v2 is not usable (use rlimits). */
  prepare(key: string, limits: ResourceLimits): PluginCgroup | null {
    const m = this.mechanism();
    if (m.mechanism !== "cgroup v2" || !this.probe.available) return null;
    const dir = join(m.dir, `plugin-${key}`);
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of cgroupFiles(limits, this.probe.controllers)) {
      if (OPTIONAL_FILES.has(file) && !existsSync(join(dir, file))) continue;
      writeFileSync(join(dir, file), value);
    }
    const events = join(dir, "memory.events");
    const read = (): number => {
      try {
        return oomKills(readFileSync(events, "utf8"));
      } catch {
        return 0;
      }
    };
    const baseline = read();
    const remove = (): void => {
      try {
        rmdirSync(dir);
      } catch {
        // Still busy or not a real cgroup: left for the next run, which reuses it.
      }
    };
    return { dir, attach: (pid) => writeFileSync(join(dir, "cgroup.procs"), String(pid)), oomKilled: () => read() > baseline, remove };
  }

  private setup(): string | null {
    if (this.setupError !== undefined) return this.setupError;
    if (!this.probe.available) return (this.setupError = this.probe.reason);
    const { dir, controllers } = this.probe;
    try {
      const enabled = readFileSync(join(dir, "cgroup.subtree_control"), "utf8").split(/\s+/);
      const wanted = controllers.filter((c) => c === "memory" || c === "pids" || c === "cpu");
      if (!wanted.every((c) => enabled.includes(c))) {
        const others = readFileSync(join(dir, "cgroup.procs"), "utf8")
          .split(/\s+/)
          .filter((p) => p && p !== String(this.pid));
        if (others.length)
          return (this.setupError = `the daemon shares its cgroup ${dir} with ${others.length} other process(es); give it one of its own (e.g. systemd Delegate=yes)`);
        mkdirSync(join(dir, "daemon"), { recursive: true });
        writeFileSync(join(dir, "daemon", "cgroup.procs"), String(this.pid));
        writeFileSync(join(dir, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "));
      }
      this.setupError = null;
    } catch (err) {
      this.setupError = `cannot set up plugin cgroups under ${dir}: ${(err as Error).message} (the daemon needs a cgroup of its own, e.g. systemd Delegate=yes)`;
    }
    return this.setupError;
  }
}

/**
 * The shell that holds a plugin until the daemon has moved it into its
 * cgroup: it waits for a line on fd 3, then execs the plugin's command line,
 * so nothing the plugin starts can begin outside the cgroup. Pure.
 */
export function cgroupGate(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: "/bin/sh", args: ["-c", 'read -r _ <&3 || exit 70; exec 3<&-; exec "$@"', "nexo-cgroup-gate", command, ...args] };
}
