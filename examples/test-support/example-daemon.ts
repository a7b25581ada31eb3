import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { LocalBroker, type Broker, type Subscription } from "../../packages/nexo/src/broker/index.js";
import { normalizeConfig } from "../../packages/nexo/src/config/index.js";
import type { Event } from "../../packages/nexo/src/contract/index.js";
import { Daemon } from "../../packages/nexo/src/daemon/index.js";
import type { Logger } from "../../packages/nexo/src/log/index.js";
import { captureLogger } from "../../packages/nexo/test/helpers/log-capture.js";

/** The raw (parsed, not normalized) `nexo.yaml` of an example, to adjust before starting it. */
export type RawConfig = Record<string, any>;

/** A fresh temp dir (realpath, so Unix socket paths stay short and stable), removed after the test. */
export function tempDir(t: TestContext, prefix = "nexo-example-"): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Read and parse `<exampleDir>/nexo.yaml`. */
export function readExampleConfig(exampleDir: string): RawConfig {
  return (parseYaml(readFileSync(join(exampleDir, "nexo.yaml"), "utf8")) ?? {}) as RawConfig;
}

/**
 * Write an example's `nexo.yaml`, changed by `edit`, into `dir` with every
 * relative path made absolute (they resolve against the example's directory),
 * so `nexo run --config <returned path>` runs the example as its own file would.
 */
export function writeExampleConfig(exampleDir: string, dir: string, edit: (raw: RawConfig) => void): string {
  const raw = readExampleConfig(exampleDir);
  edit(raw);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(exampleDir, p));
  if (Array.isArray(raw.plugin_paths)) raw.plugin_paths = raw.plugin_paths.map(abs);
  if (typeof raw.state_dir === "string") raw.state_dir = abs(raw.state_dir);
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, stringifyYaml(raw));
  return file;
}

/** An in-memory debug logger (the daemon's own pino), read back as text for leak checks. */
export function memoryLogger(level = "debug"): { logger: Logger; text: () => string } {
  const { logger, lines } = captureLogger(level);
  return {
    logger,
    text: () =>
      lines()
        .map((l) => JSON.stringify(l))
        .join("\n"),
  };
}

export interface StartExampleOptions {
  /** Where the daemon keeps plugin state and its control socket (a daemon restart reuses it). */
  stateDir: string;
  /** Change the example's config before it is normalized (fake server URLs, short intervals). */
  edit?: (raw: RawConfig) => void;
  /** Default: a debug-level in-memory logger (read it back with `log`). */
  logger?: Logger;
  /** Use this broker (left open by `stop()`, so events published during shutdown can still be read). Default: the config's. */
  broker?: Broker;
}

/** A daemon started from an example's `nexo.yaml`, in this process. */
export interface ExampleDaemon {
  daemon: Daemon;
  broker: Broker;
  /** Everything the daemon logged so far (JSON lines), when the default logger is used. */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Start the daemon exactly as `nexo run --config <exampleDir>/nexo.yaml` would
 * (same file, same relative-path resolution), with state in `stateDir`, the
 * HTTP API off, a 10 s shutdown grace and the edits applied. Stopped after the
 * test unless stopped before.
 */
export async function startExampleDaemon(t: TestContext, exampleDir: string, options: StartExampleOptions): Promise<ExampleDaemon> {
  const raw = readExampleConfig(exampleDir);
  raw.state_dir = options.stateDir;
  raw.api = { ...(raw.api ?? {}), enabled: false };
  // Tests assert that a plugin exits by itself on shutdown, not how fast: a roomy grace
  // keeps a loaded machine from turning a slow interpreter exit into a SIGKILL.
  raw.timeouts = { plugin_shutdown_grace_ms: 10_000, ...(raw.timeouts ?? {}) };
  options.edit?.(raw);
  const config = normalizeConfig(raw, join(exampleDir, "nexo.yaml"), exampleDir);
  const mem = options.logger ? undefined : memoryLogger();
  const daemon = await Daemon.start(config, { logger: options.logger ?? mem!.logger, ...(options.broker ? { broker: options.broker } : {}) });
  const stop = (): Promise<void> => daemon.stop();
  t.after(stop);
  return { daemon, broker: daemon.broker, log: () => mem?.text() ?? "", stop };
}

/**
 * A broker the test owns, closed after the test. Pass it as `broker` to subscribe
 * before the daemon starts, or to read what the daemon publishes while it stops.
 */
export function testBroker(t: TestContext): LocalBroker {
  const broker = new LocalBroker();
  t.after(() => broker.close());
  return broker;
}

/** Events seen on a subscription, in order; unsubscribed after the test. */
export function collect(t: TestContext, broker: Broker, pattern: string): { events: Event[]; sub: Subscription } {
  const events: Event[] = [];
  const sub = broker.subscribe(pattern, (e) => void events.push(e), { name: "test:collect", bufferSize: 65_536 });
  t.after(() => sub.unsubscribe());
  return { events, sub };
}

/** The repository root (examples/test-support/ -> ../..). */
export const REPO_ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..", "..");
