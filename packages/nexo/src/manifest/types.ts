/** One broken rule of a manifest: the dotted field, the rule's name and what was wrong. */
export interface ManifestViolation {
  field: string;
  rule: string;
  message: string;
}

/** A tool declared with `[[plugin.tools.expose]]` (seed 000 form), schema loaded from `schema_path`. */
export interface ToolExpose {
  name: string;
  schemaPath: string;
  inputSchema: Record<string, unknown>;
  description?: string;
}

/** A validated plugin manifest with defaults applied (CONTRACT.md, Manifest). */
export interface PluginManifest {
  /** Absolute path of the manifest file. */
  file: string;
  /** Its directory: base for relative paths and the plugin's cwd. */
  dir: string;
  manifestVersion: 2;
  /** The whole parsed TOML as JSON (what `initialize` returns as `manifest`). */
  raw: Record<string, unknown>;
  id: string;
  version: string;
  name: string;
  description: string;
  minNexoVersion?: string;
  requires: { nexoCapabilities: string[] };
  entrypoint: { command: string; args: string[]; env: Record<string, string> };
  channels: Array<{ kind: string; adapter?: string }>;
  extends: { channels: string[]; llmProviders: string[]; memoryBackends: string[]; hooks: string[]; tools: string[] };
  toolsExpose: ToolExpose[];
  supervisor: { respawn: boolean; maxAttempts: number; backoffMs: number; stderrTailLines: number };
  httpServer?: { port: number; bind: string; healthPath: string };
  /**
   * `[plugin.http]`. `mode` says how requests under the prefix reach the plugin:
   * `reverse_proxy` (with `[plugin.capabilities.http_server]`: to the plugin's own port) or
   * `broker_rpc` (without: upstream's `plugin.<id>.http.request` request/reply).
   */
  http?: { mountPrefix: string; timeoutSeconds: number; mode: "reverse_proxy" | "broker_rpc" };
  /** Non-fatal findings (unknown top-level sections, non-loopback bind). */
  warnings: string[];
}
