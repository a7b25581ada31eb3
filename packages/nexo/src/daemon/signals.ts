import type { Daemon } from "./daemon.js";

/** Signals that stop the daemon cleanly. SIGHUP is one of them until a reload exists: a closed terminal must not leave plugins running. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Run until one of `STOP_SIGNALS` arrives, then stop the daemon (plugins get
 * `shutdown`, then the grace, then SIGKILL) and resolve with that signal; the
 * caller then exits 0. A second signal exits at once with 130, after a
 * synchronous SIGKILL of every plugin's process group, as does any other way
 * the process exits while plugins still run.
 */
export function stopOnSignals(daemon: Daemon): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping: NodeJS.Signals | undefined;
    const onExit = (): void => daemon.host.killAll();
    process.on("exit", onExit);
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        daemon.logger.warn({ signal }, "second signal: exiting now");
        process.exit(130);
      }
      stopping = signal;
      daemon.logger.info({ signal }, "stopping");
      const done = (): void => {
        process.off("exit", onExit);
        resolve(signal);
      };
      daemon.stop().then(done, (err: unknown) => {
        daemon.logger.error({ err }, "error while stopping");
        done();
      });
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
  });
}
