import type { Daemon } from "./daemon.js";

/** Signals that stop the daemon cleanly. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * The signal that reloads `nexo.yaml` (the usual daemon convention). It used
 * to stop the daemon so that a closed terminal left no plugin behind; that is
 * now the orphan watchdog's job (every plugin's process group dies with the
 * daemon however it ends), see docs/operations.md.
 */
export const RELOAD_SIGNAL: NodeJS.Signals = "SIGHUP";

/**
 * Start the daemon with `start` and run until one of `STOP_SIGNALS` arrives,
 * then stop it (plugins get `shutdown`, then the grace, then SIGKILL) and
 * resolve with that signal; the caller then exits 0. The handlers are in
 * place before `start` runs, so a signal during start-up stops the daemon
 * as soon as it is up instead of killing the process half-started. A second
 * signal exits at once with 130; on any exit while plugins still run, every
 * plugin's process group is SIGKILLed synchronously. `RELOAD_SIGNAL` reloads
 * the config (one arriving during start-up reloads once the daemon is up); a
 * config that does not validate changes nothing and is logged.
 */
export async function runUntilStopSignal(start: () => Promise<Daemon>): Promise<NodeJS.Signals> {
  let daemon: Daemon | undefined;
  let signalled: NodeJS.Signals | undefined;
  let reloadWanted = false;
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
  const reload = (d: Daemon): void => {
    d.logger.info({ signal: RELOAD_SIGNAL }, "reloading the config");
    // The reloader logs why a config was refused; the daemon runs on as it was.
    d.reload().catch(() => undefined);
  };
  const onReload = (): void => {
    if (signalled) return;
    if (daemon) reload(daemon);
    else reloadWanted = true;
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.on(RELOAD_SIGNAL, onReload);
  process.on("exit", onExit);
  try {
    daemon = await start();
    if (reloadWanted && !signalled) reload(daemon);
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
    process.off(RELOAD_SIGNAL, onReload);
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
