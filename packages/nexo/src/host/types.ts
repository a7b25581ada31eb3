import type { Broker } from "../broker/index.js";
import type { Logger } from "../log/index.js";
import type { PluginManifest } from "../manifest/index.js";
import type { CgroupManager, ResourceLimits, SandboxOperatorConfig } from "./sandbox/index.js";

/** One plugin to run: its manifest plus what the operator's config adds. */
export interface PluginSpec {
  manifest: PluginManifest;
  /** Instance label (pattern 8): topics narrow to `plugin.*.<kind>.<instance>`. */
  instance?: string;
  /** The operator's config for this plugin, sent in `plugin.configure {value}`. */
  config?: unknown;
  /** Extra environment from the operator (e.g. secrets resolved from `*_env` names). */
  env?: Record<string, string>;
  /** The operator's `plugins.<id>.limits` (over `sandbox.limits`). */
  limits?: ResourceLimits;
  /** The operator's `plugins.<id>.grants`: what the plugin may use beyond its channels (src/host/permissions). Absent: its manifest's declarations. */
  grants?: string[];
}

/** The name a running plugin is known by: `<id>` or `<id>.<instance>`. */
export function pluginKey(spec: Pick<PluginSpec, "instance"> & { manifest: Pick<PluginManifest, "id"> }): string {
  return spec.instance ? `${spec.manifest.id}.${spec.instance}` : spec.manifest.id;
}

/** Context handed to a host service handler (a request the plugin makes of the host). */
export interface HostServiceContext {
  pluginKey: string;
  pluginId: string;
  /** The id of the plugin's request being served: streamed replies (`llm.complete.delta {request_id}`) carry it. */
  requestId: string | number | null;
  /** Send a notification to the calling plugin (e.g. `llm.complete.delta`). */
  notify(method: string, params: unknown): boolean;
}

/** Handlers for plugin-to-host requests such as `memory.recall` and `llm.complete`. */
export type HostServiceHandler = (params: unknown, ctx: HostServiceContext) => Promise<unknown>;

/** Timeouts of the host side, all in milliseconds. */
export interface HostTimeouts {
  /** `initialize` deadline. Default NEXO_PLUGIN_INIT_TIMEOUT_MS or 5000. */
  initMs: number;
  /** `plugin.configure` deadline. Default 5000. */
  configureMs: number;
  /** How long to wait for the `shutdown` reply before signalling. Default 3000. */
  shutdownReplyMs: number;
  /** Grace after the shutdown reply (or SIGTERM) before SIGKILL. Default 1000 (docs/contract.md). */
  killGraceMs: number;
  /** `tool.invoke` deadline. Default NEXO_PLUGIN_TOOL_TIMEOUT_MS or 60,000. */
  toolMs: number;
}

/** What every plugin connection needs from the daemon. */
export interface HostContext {
  broker: Broker;
  logger: Logger;
  nexoVersion: string;
  /** Plugins' state lives in `<stateRoot>/plugins/<key>/`. */
  stateRoot: string;
  timeouts: HostTimeouts;
  hostServices: Readonly<Record<string, HostServiceHandler>>;
  /** Extra `NEXO_*` env for a plugin, asked before every spawn (e.g. its allocated HTTP port). */
  extraHostEnv?: (spec: PluginSpec) => Record<string, string> | Promise<Record<string, string>>;
  /** The plugin's HTTP route as `nexo plugin status` shows it (http_server plugins), if any. */
  describeRoute?: (key: string) => string | undefined;
  /** Process groups to kill should the daemon die (see OrphanGuard). Default none. */
  processGroups?: { track(pgid: number): void; untrack(pgid: number): void };
  /** The operator's `sandbox:` settings (src/host/sandbox). Default: manifests' sandboxes enforced, nothing required. */
  sandbox?: SandboxOperatorConfig;
  /** Plugin cgroups for resource limits, where cgroup v2 is usable. Default none: rlimits. */
  cgroups?: CgroupManager;
}

/** Supervisor state of one plugin. */
export type PluginState = "starting" | "ready" | "restarting" | "failed" | "stopped";

/** A tool a plugin serves, from its `initialize` catalogue or `[[plugin.tools.expose]]`. */
export interface PluginToolDescriptor {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** Status of one subprocess plugin, as `nexo plugin status` shows it. */
export interface PluginStatus {
  key: string;
  id: string;
  instance: string | null;
  version: string;
  kind: "subprocess";
  state: PluginState;
  pid: number | null;
  restarts: number;
  lastExitCode: number | null;
  lastSignal: string | null;
  lastError: string | null;
  startedAt: string | null;
  stderrTail: string[];
  /** broker.event notifications dropped because the plugin's queue was full. */
  droppedEvents: number;
  /** broker.publish / broker.subscribe requests refused (allowlist, invalid topic or event). */
  deniedPublishes: number;
  /** Lines from the plugin dropped as bad frames (not JSON, too large, nested too deep, not JSON-RPC, replies to nothing). */
  badFrames: number;
  /** Restarts because the plugin stopped reading its stdin while the host had replies for it. */
  stdinStalls: number;
  /** Lines whose handling failed inside the host; each restarts the plugin. */
  ioFaults: number;
  published: number;
  delivered: number;
  tools: string[];
  channels: string[];
  manifest: string;
  /** How the plugin is contained, e.g. `bwrap (manifest) network=deny drop_user`, or `none`. */
  sandbox: string;
  /** Its resource limits, e.g. `rlimits (prlimit) memory=1024MiB processes=64`, or `none`. */
  limits: string;
  /** Why its last run ended, where known: `oom` (its cgroup's OOM killer acted), `limit` (an allocation failed at its memory rlimit). */
  lastExitReason: "oom" | "limit" | null;
  /** Runs that ended over a resource limit (see lastExitReason). */
  limitExits: number;
  /** What it may use beyond its channels, e.g. `enforced (operator): llm, memory` or `not enforced; declared: memory`. */
  grants: string;
  /** Uses refused because they were not granted. */
  permissionDenials: number;
  /** Where the daemon proxies to the plugin (`[plugin.http]`), e.g. `/webhook/x -> 127.0.0.1:41234 (ready)`. */
  route?: string;
}

/** Env var to number, with a default. */
export function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Default host timeouts, honouring the contract's env overrides. */
export function defaultHostTimeouts(overrides: Partial<HostTimeouts> = {}): HostTimeouts {
  return {
    initMs: envMs("NEXO_PLUGIN_INIT_TIMEOUT_MS", 5000),
    configureMs: 5000,
    shutdownReplyMs: 3000,
    killGraceMs: 1000,
    toolMs: envMs("NEXO_PLUGIN_TOOL_TIMEOUT_MS", 60_000),
    ...overrides,
  };
}
