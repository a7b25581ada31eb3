import type { Daemon } from "./daemon.js";

/** Signals that stop the daemon cleanly. SIGHUP is one of them until a reload exists: a closed terminal must not leave plugins running. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Start the daemon with `start` and run until one of `STOP_SIGNALS` arrives,
 * then stop it (plugins get `shutdown`, then the grace, then SIGKILL) and
 * resolve with that signal; the caller then exits 0. The handlers are in
 * place before `start` runs, so a signal during start-up stops the daemon
 * as soon as it is up instead of killing the process half-started. A second
 * signal exits at once with 130; on any exit while plugins still run, every
 * plugin's process group is SIGKILLed synchronously.
 */
export async function runUntilStopSignal(start: () => Promise<Daemon>): Promise<NodeJS.Signals> {
  let daemon: Daemon | undefined;
  let signalled: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onExit = (): void => daemon?.host.killAll();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      daemon?.logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    signalled = signal;
    wake?.();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.on("exit", onExit);
  try {
    daemon = await start();
    if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
    const signal = signalled!;
    daemon.logger.info({ signal }, "stopping");
    try {
      await daemon.stop();
    } catch (err) {
      daemon.logger.error({ err }, "error while stopping");
    }
    return signal;
  } finally {
    process.off("exit", onExit);
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
