/** One broken rule of a manifest: the dotted field, the rule's name and what was wrong. */
export interface ManifestViolation {
  field: string;
  rule: string;
  message: string;
}

/** A tool declared with `[[plugin.tools.expose]]` (docs/manifest.md), schema loaded from `schema_path`. */
export interface ToolExpose {
  name: string;
  schemaPath: string;
  inputSchema: Record<string, unknown>;
  description?: string;
}

/** A tool declared with `[[plugin.tools.outbound]]` (upstream form): the host calls `rpcMethod {tool_name, args}`. */
export interface ToolOutbound {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** JSON-RPC method sent to the plugin. Default `outbound_tool.invoke`. */
  rpcMethod: string;
  /** Per-call deadline; the host's tool deadline when absent. */
  timeoutMs?: number;
}

/** The operator-config contract of a plugin (`[plugin.config_schema]` or `[plugin.config] schema_path`). */
export interface PluginConfigContract {
  /** JSON Schema of the config (of one element when `shape` is "array"). */
  schema: Record<string, unknown>;
  /** Where the schema came from (`[plugin.config_schema]` or the schema file's path). */
  source: string;
  /** "object": the config is one map; "array": a list of maps, each checked against `schema`. */
  shape: "object" | "array";
}

/** `[plugin.sandbox]`: paths may start with the `${state_dir}` token (the plugin's state dir). */
export interface ManifestSandbox {
  enabled: boolean;
  network: "deny" | "host";
  fsReadPaths: string[];
  fsWritePaths: string[];
  /** Run as an unprivileged uid (default true). */
  dropUser: boolean;
}

/** A validated plugin manifest with defaults applied (docs/manifest.md). */
export interface PluginManifest {
  /** Absolute path of the manifest file (or of the binary that printed it). */
  file: string;
  /** Its directory: base for relative paths and the plugin's cwd. */
  dir: string;
  /** Always 2 once loaded: a `manifest_version = 1` manifest is converted (see `warnings`). */
  manifestVersion: 2;
  /** The whole parsed TOML as JSON (what `initialize` returns as `manifest`). */
  raw: Record<string, unknown>;
  id: string;
  version: string;
  name: string;
  description: string;
  minNexoVersion?: string;
  /**
   * `nexoCapabilities` as declared; `bins` must be on PATH and `env` set
   * when the plugin starts, or it is not started.
   */
  requires: { nexoCapabilities: string[]; bins: string[]; env: string[] };
  /** `implicit` when the manifest had no `[plugin.entrypoint]` and the host runs `bin/<id>`. */
  entrypoint: { command: string; args: string[]; env: Record<string, string>; implicit?: boolean };
  channels: Array<{ kind: string; adapter?: string }>;
  extends: { channels: string[]; llmProviders: string[]; memoryBackends: string[]; hooks: string[]; tools: string[] };
  toolsExpose: ToolExpose[];
  /** `[plugin.tools] expose = ["name", ...]` (upstream form): names the plugin may advertise in `initialize`. */
  toolsExposeNames: string[];
  /** `[plugin.tools] deferred`: a subset of the expose names (listed like every other tool on this host). */
  toolsDeferred: string[];
  toolsOutbound: ToolOutbound[];
  /** Extra broker topics: `subscribe` patterns forwarded to the plugin, `publish` patterns it may publish on. */
  broker: { subscribe: string[]; publish: string[] };
  /** Variables of the daemon's environment passed to the plugin (`token_env`, `extra_env_passthrough`, `requires.env`). */
  passEnv: string[];
  /** The operator-config contract, checked before `plugin.configure`. */
  config?: PluginConfigContract;
  supervisor: { respawn: boolean; maxAttempts: number; backoffMs: number; stderrTailLines: number };
  httpServer?: { port: number; bind: string; healthPath: string; tokenEnv?: string };
  /**
   * `[plugin.http]`. `mode` says how requests under the prefix reach the plugin:
   * `reverse_proxy` (with `[plugin.capabilities.http_server]`: to the plugin's own port) or
   * `broker_rpc` (without: upstream's `plugin.<id>.http.request` request/reply).
   */
  http?: { mountPrefix: string; timeoutSeconds: number; mode: "reverse_proxy" | "broker_rpc" };
  /** `[plugin.sandbox]` as declared (enforced only when `enabled`; see src/host/sandbox). */
  sandbox?: ManifestSandbox;
  /** Non-fatal findings (a converted legacy manifest, deprecated sections, non-loopback bind). */
  warnings: string[];
}
