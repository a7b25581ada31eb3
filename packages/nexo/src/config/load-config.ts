import { llmConfigFromYaml } from "./llm-config.js";
import type { LlmConfig } from "../llm/index.js";
import { compileAuthorization, type AuthorizationConfig } from "../authz/index.js";
import { clusterConfigFromYaml, type ClusterConfig } from "./cluster-config.js";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ErrorCodes, NexoError, violationLine, type Violation } from "../errors.js";
import { loadPollersConfig, type PollersConfig } from "./pollers-config.js";
import { ajvViolation, examplesDir } from "../util/index.js";
import { isWithin, type ResourceLimits, type SandboxOperatorConfig } from "../host/sandbox/index.js";
import { configSchema } from "./schema.js";
import type { HttpConventionsOptions } from "../surfaces/http/index.js";
import type { RunsOptions } from "../runs/index.js";
import { parseSchedules, type ScheduleConfig } from "./schedules-config.js";

/** One configured instance of a subprocess plugin. */
export interface PluginInstanceConfig {
  enabled: boolean;
  instance?: string;
  /** Sent to the plugin in `plugin.configure {value}`. */
  config?: unknown;
  /** Literal env for the plugin (keys starting NEXO_ are refused). */
  env: Record<string, string>;
  /** `<name>_env: VAR` entries: the plugin gets `<NAME>` = the daemon's `$VAR` (secrets stay out of the file). */
  envFrom: Record<string, string>;
  /** `limits:`, over `sandbox.limits`. */
  limits?: ResourceLimits;
  /** `grants:`: what the plugin may use beyond its channels (enforced for it once listed). */
  grants?: string[];
}

/** One `in_process_plugins:` entry: a built-in by name, or your own module. */
export interface InProcessPluginConfig {
  name: string;
  /** Absolute path of a module whose default export is a NexusPlugin class or factory; absent for built-ins. */
  module?: string;
  /** Everything else in the entry: the plugin's options. */
  options: Record<string, unknown>;
}

/** One `bindings:` entry as written (defaults and cross-field rules: src/bindings `parseBindings`). */
export interface BindingConfig {
  name?: string;
  /** Channel kind: shorthand for `plugin.inbound.<channel>[.<instance>]` and everything below it. */
  channel?: string;
  instance?: string;
  /** Inbound topic pattern under `plugin.inbound.` (instead of channel/instance). */
  inbound?: string;
  /** The workflow to run; or give `agent` instead. */
  workflow?: string;
  /** An LLM agent to run instead of a workflow (src/agents `parseAgent`). */
  agent?: unknown;
  /** `auto` (default), `none`, or a topic. */
  outbound?: string;
  /** `payload` (default): the event's payload is the workflow's inputs; `event`: the whole event is. */
  inputs?: "payload" | "event";
  concurrency?: number;
  queueSize?: number;
}

/** The daemon's configuration with every default applied and paths made absolute. */
export interface NexoConfig {
  /** The file it came from, or null for pure defaults. */
  file: string | null;
  stateDir: string;
  logLevel: string;
  broker: string;
  store: string;
  api: { enabled: boolean; host: string; port: number; maxBodyBytes: number; mcpAllowedOrigins: string[]; conventions: HttpConventionsOptions };
  /** `runs:` (defaults applied by the runs service). */
  runs: RunsOptions;
  /** `schedules:`, checked (cron, time zone, one of cron / every_seconds). */
  schedules: ScheduleConfig[];
  control: { socket: string };
  pluginPaths: string[];
  /** Plugins to run, by id; null = every plugin found in `pluginPaths`. */
  plugins: Record<string, PluginInstanceConfig[]> | null;
  timeouts: { pluginInitMs?: number; pluginToolMs?: number; pluginShutdownGraceMs?: number };
  bindings: BindingConfig[];
  /** YAML-only pollers: inline, from `pollers: <file>`, or from a pollers.yaml beside the config file; null = none. */
  pollers: PollersConfig | null;
  /** In-process plugins, in setup order. */
  inProcessPlugins: InProcessPluginConfig[];
  /** Modules that register workflows (absolute paths). */
  workflows: string[];
  /** LLM providers (`llm:`); empty providers when absent. */
  llm: LlmConfig;
  /** The embedded memory (`memory:`). */
  memory: { rememberTool: boolean; backend?: string };
  /** `authorization:` as written (checked); undefined when absent: every caller may run everything. */
  authorization?: AuthorizationConfig;
  /** Several daemons on one NATS (`cluster:`, docs/cluster.md). */
  cluster: ClusterConfig;
  /** `sandbox:`; `protectedPaths` holds the state dir and control socket. */
  sandbox?: SandboxOperatorConfig;
}

/** The bundled demo's config, what `nexo demo` (and `nexo run --demo`) loads. */
export function bundledDemoConfig(): string {
  return resolve(bundledExamplesDir(), "demo", "nexo.yaml");
}

/** The bundled examples: the installed package's assets, else the checkout's `examples/`. */
export function bundledExamplesDir(): string {
  return examplesDir();
}

/**
 * Where `nexo mcp` keeps its state when it runs without a config: never the
 * MCP client's working directory, but `$XDG_STATE_HOME/nexo/mcp`
 * (default `~/.local/state/nexo/mcp`).
 */
export function defaultMcpStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(base, "nexo", "mcp");
}

/** Options of `loadConfig`. */
export interface LoadConfigOptions {
  /** Load the bundled demo (`nexo demo`), its state under `cwd`. Default false. */
  demo?: boolean;
  /** With no config file: the state directory of the empty daemon. Default `<cwd>/.nexo-state`. */
  emptyStateDir?: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(configSchema);

/**
 * Load the given file, else `./nexo.yaml`, else nothing: an empty daemon (no
 * plugins, no workflows; `file` null) with its state in `options.emptyStateDir`
 * or `<cwd>/.nexo-state`. `options.demo` loads the bundled demo instead
 * (`examples/demo/nexo.yaml`, its state under `cwd`). Defaults applied.
 * Errors: NEXO_ERR_CONFIG_PARSE (with line) or NEXO_ERR_CONFIG_INVALID listing every violation.
 */
export function loadConfig(file?: string, cwd = process.cwd(), options: LoadConfigOptions = {}): NexoConfig {
  let path: string;
  let stateBaseDir: string | undefined;
  if (options.demo) {
    path = bundledDemoConfig();
    // The demo's state (and control socket) belongs to where it is run from, not inside nexo's own files.
    stateBaseDir = cwd;
  } else if (file) {
    path = resolve(cwd, file);
    if (!existsSync(path)) throw new NexoError(ErrorCodes.CONFIG_INVALID, `config file not found: ${path}`, { file: path });
  } else if (existsSync(resolve(cwd, "nexo.yaml"))) {
    path = resolve(cwd, "nexo.yaml");
  } else {
    return normalizeConfig({ state_dir: options.emptyStateDir ?? resolve(cwd, ".nexo-state") }, null, cwd);
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8")) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : "";
    throw new NexoError(ErrorCodes.CONFIG_PARSE, `${path}${where}: ${(err as Error).message.split("\n")[0]}`, { file: path, cause: err });
  }
  return normalizeConfig(raw, path, dirname(path), stateBaseDir === undefined ? {} : { stateBaseDir });
}

/** Options of `normalizeConfig`. */
export interface NormalizeConfigOptions {
  /** Resolves a relative `state_dir` (default: `baseDir`). */
  stateBaseDir?: string;
}

/**
 * Validate a parsed config object and apply defaults. `baseDir` resolves
 * relative paths. Defaults describe an empty daemon: no plugin paths, no
 * workflows, local broker, SQLite under `<state_dir>`; `plugins` absent means
 * every plugin found in `plugin_paths` runs.
 */
export function normalizeConfig(raw: unknown, file: string | null, baseDir: string, options: NormalizeConfigOptions = {}): NexoConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${file ?? "config"}: the top level must be a mapping`, { file: file ?? undefined });
  }
  if (!validate(raw)) {
    const violations: Violation[] = (validate.errors ?? []).map(ajvViolation);
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${file ?? "config"} is invalid:\n  ${violations.map(violationLine).join("\n  ")}`, {
      file: file ?? undefined,
      data: { violations },
    });
  }
  const r = raw as Record<string, any>;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const stateDir = resolve(options.stateBaseDir ?? baseDir, r.state_dir ?? ".nexo-state");
  const pluginsRaw: Record<string, unknown> | undefined = r.plugins;
  let plugins: Record<string, PluginInstanceConfig[]> | null = null;
  if (pluginsRaw !== undefined) {
    plugins = {};
    for (const [id, entry] of Object.entries<any>(pluginsRaw)) {
      const entries = Array.isArray(entry) ? entry : [entry];
      plugins[id] = entries.map((e, i) => normalizePluginEntry(id, i, e ?? {}, file));
    }
  }
  const t = r.timeouts ?? {};
  return {
    file,
    stateDir,
    logLevel: r.log_level ?? process.env.NEXO_LOG_LEVEL ?? "info",
    broker: r.broker ?? "local",
    store: storeUrl(r.store, stateDir, abs),
    api: {
      enabled: r.api?.enabled ?? true,
      host: r.api?.host ?? "127.0.0.1",
      port: r.api?.port ?? 8000,
      maxBodyBytes: r.api?.max_body_bytes ?? 1_048_576,
      mcpAllowedOrigins: r.api?.mcp_allowed_origins ?? [],
      conventions: httpConventions(r.api),
    },
    runs: {
      ...(r.runs?.retention_seconds !== undefined ? { retentionSeconds: r.runs.retention_seconds } : {}),
      ...(r.runs?.max_concurrent !== undefined ? { maxConcurrent: r.runs.max_concurrent } : {}),
      ...(r.runs?.max_queued !== undefined ? { maxQueued: r.runs.max_queued } : {}),
      ...(r.runs?.event_buffer !== undefined ? { eventBuffer: r.runs.event_buffer } : {}),
      ...(r.runs?.max_event_streams !== undefined ? { maxEventStreams: r.runs.max_event_streams } : {}),
    },
    schedules: parseSchedules(r.schedules ?? [], file),
    control: { socket: abs(r.control?.socket ?? resolve(stateDir, "nexo.sock")) },
    pluginPaths: (r.plugin_paths ?? []).map(abs),
    plugins,
    timeouts: { pluginInitMs: t.plugin_init_ms, pluginToolMs: t.plugin_tool_ms, pluginShutdownGraceMs: t.plugin_shutdown_grace_ms },
    bindings: (r.bindings ?? []).map(
      ({ queue_size, ...b }: Record<string, unknown>) => ({ ...b, ...(queue_size !== undefined ? { queueSize: queue_size } : {}) }) as BindingConfig,
    ),
    pollers: loadPollersConfig(r.pollers, file, baseDir),
    inProcessPlugins: Object.entries<Record<string, unknown> | null>(r.in_process_plugins ?? {}).map(([name, entry]) => {
      const { module, ...options } = entry ?? {};
      return { name, ...(typeof module === "string" ? { module: abs(module) } : {}), options };
    }),
    workflows: (r.workflows ?? []).map(abs),
    llm: llmConfigFromYaml(r.llm),
    memory: { rememberTool: r.memory?.remember_tool ?? false, ...(r.memory?.backend !== undefined ? { backend: r.memory.backend } : {}) },
    ...(r.authorization !== undefined ? { authorization: checkAuthorization(r.authorization, file) } : {}),
    cluster: clusterConfigFromYaml(r.cluster),
    sandbox: normalizeSandbox(
      r.sandbox ?? {},
      r.permissions?.enforce === true,
      daemonPaths(stateDir, abs(r.control?.socket ?? resolve(stateDir, "nexo.sock")), storeUrl(r.store, stateDir, abs)),
    ),
  };
}

/** Compile once to report every mistake at load (and reload) time, with the file's name. */
function checkAuthorization(a: AuthorizationConfig, file: string | null): AuthorizationConfig {
  try {
    compileAuthorization(a);
  } catch (err) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${file ?? "config"}: ${(err as Error).message}`, { file: file ?? undefined, field: (err as NexoError).details?.field });
  }
  return a;
}

function httpConventions(api: Record<string, any> | undefined): HttpConventionsOptions {
  const c = api?.cors as Record<string, any> | undefined;
  return {
    securityHeaders: api?.security_headers ?? true,
    ...(c
      ? {
          cors: {
            origins: c.origins,
            ...(c.methods ? { methods: c.methods } : {}),
            ...(c.allowed_headers ? { allowedHeaders: c.allowed_headers } : {}),
            ...(c.exposed_headers ? { exposedHeaders: c.exposed_headers } : {}),
            ...(c.credentials !== undefined ? { credentials: c.credentials } : {}),
            ...(c.max_age_seconds !== undefined ? { maxAgeSeconds: c.max_age_seconds } : {}),
          },
        }
      : {}),
  };
}

/** The daemon's own files no sandbox may see: its state dir, control socket, and a SQLite store kept elsewhere. */
function daemonPaths(stateDir: string, socket: string, store: string): string[] {
  const sqlite = store.startsWith("sqlite:") && !store.startsWith("sqlite://") && store !== "sqlite::memory:" ? store.slice("sqlite:".length) : undefined;
  return [...new Set([stateDir, socket, ...(sqlite && !isWithin(sqlite, stateDir) ? [sqlite] : [])])];
}

function normalizeLimits(l: Record<string, number> | undefined): ResourceLimits {
  return {
    ...(l?.memory_mb !== undefined ? { memoryMb: l.memory_mb } : {}),
    ...(l?.processes !== undefined ? { processes: l.processes } : {}),
    ...(l?.open_files !== undefined ? { openFiles: l.open_files } : {}),
    ...(l?.cpu_weight !== undefined ? { cpuWeight: l.cpu_weight } : {}),
  };
}

function normalizeSandbox(s: Record<string, any>, enforcePermissions: boolean, protectedPaths: string[]): SandboxOperatorConfig {
  const d = s.default as Record<string, any> | undefined;
  return {
    require: s.require === true,
    ...(d
      ? { default: { network: d.network ?? "deny", fsReadPaths: d.fs_read_paths ?? [], fsWritePaths: d.fs_write_paths ?? ["${state_dir}"], dropUser: d.drop_user ?? true } }
      : {}),
    allowHostNetwork: s.allow_host_network ?? [],
    limits: normalizeLimits(s.limits),
    protectedPaths,
    ...(enforcePermissions ? { enforcePermissions } : {}),
  };
}

/** `store:` with a relative SQLite path made absolute (against the config's directory); default `<state_dir>/nexo.db`. */
function storeUrl(value: string | undefined, stateDir: string, abs: (p: string) => string): string {
  if (value === undefined) return `sqlite:${resolve(stateDir, "nexo.db")}`;
  if (!value.startsWith("sqlite:")) return value;
  const path = value.slice("sqlite:".length);
  return path === ":memory:" || path.startsWith("//") ? value : `sqlite:${abs(path)}`;
}

function normalizePluginEntry(id: string, index: number, e: Record<string, unknown>, file: string | null): PluginInstanceConfig {
  const where = `${file ?? "config"}: plugins.${id}${index > 0 || e.instance ? `[${index}]` : ""}`;
  const env: Record<string, string> = { ...((e.env as Record<string, string>) ?? {}) };
  for (const k of Object.keys(env)) {
    if (k.startsWith("NEXO_"))
      throw new NexoError(ErrorCodes.CONFIG_INVALID, `${where}.env.${k}: keys starting with NEXO_ are reserved for the host`, { field: `plugins.${id}.env.${k}` });
  }
  const envFrom: Record<string, string> = {};
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (["enabled", "instance", "config", "env", "limits", "grants"].includes(k)) continue;
    if (k.endsWith("_env")) {
      if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
        throw new NexoError(ErrorCodes.CONFIG_INVALID, `${where}.${k}: must name an environment variable`, { field: `plugins.${id}.${k}` });
      }
      const target = k.slice(0, -4).toUpperCase();
      if (target.startsWith("NEXO_")) throw new NexoError(ErrorCodes.CONFIG_INVALID, `${where}.${k}: NEXO_ names are reserved for the host`, { field: `plugins.${id}.${k}` });
      envFrom[target] = v;
    } else {
      extra[k] = v;
    }
  }
  // Keys beside `config` (other than the reserved ones) are operator settings too; `config` wins.
  let config: unknown = e.config;
  if (Object.keys(extra).length > 0) {
    config = { ...extra, ...(typeof e.config === "object" && e.config !== null ? (e.config as object) : {}) };
  }
  return {
    enabled: e.enabled !== false,
    ...(typeof e.instance === "string" ? { instance: e.instance } : {}),
    ...(config !== undefined ? { config } : {}),
    env,
    envFrom,
    ...(e.limits !== undefined ? { limits: normalizeLimits(e.limits as Record<string, number>) } : {}),
    ...(Array.isArray(e.grants) ? { grants: e.grants as string[] } : {}),
  };
}
