import { spawn, type ChildProcess } from "node:child_process";
import { USE_PROCESS_GROUPS } from "./child.js";

/**
 * The watchdog: a POSIX shell in a session of its own that reads `+<pgid>` /
 * `-<pgid>` lines on stdin and, at end of input, SIGKILLs every group still
 * listed. The daemon holds the only write end of that pipe, so however the
 * daemon ends (SIGKILL included) the kernel closes it and the groups die.
 * It ignores the terminal's signals so a Ctrl-C cannot take it down first.
 */
const WATCHDOG_SCRIPT = `
trap '' INT HUP TERM QUIT
groups=" "
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups\${line#+} " ;;
    -*) gone="\${line#-}"; next=" "
        for g in $groups; do [ "$g" = "$gone" ] || next="$next$g "; done
        groups="$next" ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
`;

/**
 * Makes sure no plugin outlives the daemon. Node has no `prctl(PR_SET_PDEATHSIG)`,
 * and a plugin that ignores EOF on stdin and SIGTERM would survive a SIGKILLed
 * daemon; its own children too. Each plugin leads a process group (see
 * `spawnPluginProcess`); this guard keeps the list of live groups in a tiny
 * watchdog process that kills them when the daemon's end of its pipe closes.
 * One watchdog per host, started with the first plugin; `close()` ends it.
 */
export class OrphanGuard {
  private watchdog: ChildProcess | undefined;
  private readonly groups = new Set<number>();

  /** A plugin group to kill if the daemon dies. */
  track(pgid: number): void {
    if (!USE_PROCESS_GROUPS) return;
    this.groups.add(pgid);
    this.send(`+${pgid}\n`);
  }

  /** The group is gone (or was killed by the host). */
  untrack(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`-${pgid}\n`);
  }

  /** Groups currently listed. */
  get tracked(): number[] {
    return [...this.groups];
  }

  /** The watchdog's pid, while it runs. */
  get pid(): number | undefined {
    return this.watchdog?.pid;
  }

  /** End the watchdog (it kills any group still listed, then exits). The guard starts a new one if used again. */
  close(): void {
    const w = this.watchdog;
    this.watchdog = undefined;
    w?.stdin?.end();
  }

  private send(line: string): void {
    const w = this.ensureWatchdog();
    w?.stdin?.write(line);
  }

  private ensureWatchdog(): ChildProcess | undefined {
    if (this.watchdog && this.watchdog.exitCode === null && this.watchdog.signalCode === null) return this.watchdog;
    let w: ChildProcess;
    try {
      w = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT], { stdio: ["pipe", "ignore", "ignore"], detached: true, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    } catch {
      return undefined;
    }
    w.on("error", () => undefined);
    w.stdin?.on("error", () => undefined);
    // Neither the watchdog nor its pipe may keep the daemon's event loop alive.
    w.unref();
    (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    const restart = (): void => {
      if (this.watchdog !== w) return;
      this.watchdog = undefined;
      // Never started (no /bin/sh): nothing to restart, and no retry loop.
      if (w.pid === undefined) return;
      // Killed from outside: start another with the groups still alive.
      if (this.groups.size > 0) this.send([...this.groups].map((g) => `+${g}\n`).join(""));
    };
    w.once("exit", restart);
    this.watchdog = w;
    return w;
  }
}
