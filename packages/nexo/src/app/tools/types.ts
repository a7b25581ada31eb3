import type { Principal, ProgressEvent } from "../types.js";

/** Where a tool comes from: a subprocess plugin, or a workflow registered on the app. */
export type ToolSource = "plugin" | "workflow";

/** How the host reaches a plugin tool: the `tool.invoke` request, or the topic form's `plugin.tool.<name>` topics (docs/writing-plugins.md, Tools). */
export type ToolWire = "tool.invoke" | "topic";

/** A tool as `app.listTools()`, `GET /tools` and MCP's `tools/list` show it. */
export interface ToolInfo {
  /** Public name, unique in the app: `<plugin_key>_<name>` for plugin tools (see `publicToolName`), the workflow's name for workflows. */
  name: string;
  description: string;
  /** JSON Schema of the arguments; always `type: "object"`. */
  inputSchema: Record<string, unknown>;
  source: ToolSource;
  /** Plugin key (`<id>` or `<id>.<instance>`), for plugin tools. */
  plugin?: string;
  /** The plugin's own name for the tool (e.g. `stripe.create_invoice`), for plugin tools. */
  pluginTool?: string;
  /** How the host calls it, for plugin tools. */
  wire?: ToolWire;
  /** The daemon serving it, for a tool of another daemon of the cluster (docs/cluster.md). */
  node?: string;
}

/**
 * Tools served by other daemons of a cluster (docs/cluster.md). The registry
 * lists them after its own (a local name wins), checks arguments against
 * their schema, and hands the call over with the remaining deadline.
 */
export interface RemoteTools {
  list(): ToolInfo[];
  /** Call `info` on its daemon; rejects with the same NEXO_ERR_TOOL_* errors a local call raises. */
  call(info: ToolInfo, args: Record<string, unknown>, options: CallToolOptions, timeoutMs: number): Promise<ToolResult>;
  /** Called when the remote list changed; returns the unsubscribe. */
  onChanged(fn: () => void): () => void;
}

/** One item of a tool result; `{type: "text", text}` is the usual one (MCP content blocks). */
export interface ToolContent {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/**
 * What a tool call returns (the contract's shape, passed through from the
 * plugin): `is_error: true` is the tool reporting a failure it handled (shown
 * to the agent), not a transport error. Values that are not of this shape
 * (a workflow's result, a topic-form plugin's `{result}`) are wrapped: text =
 * JSON, `structured_content` = the value when it is an object.
 */
export interface ToolResult {
  content: ToolContent[];
  is_error: boolean;
  structured_content?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Options of `app.callTool(...)`. */
export interface CallToolOptions {
  /** Deadline of the whole call (queueing included). Default: the host's tool timeout (NEXO_PLUGIN_TOOL_TIMEOUT_MS or 60,000 ms). */
  timeoutMs?: number;
  /** Sent to plugin tools as `agent_id`. Default null. */
  agentId?: string | null;
  /** Conversation id: a workflow's `sessionId`, a topic-form call event's `session_id`. Default null. */
  sessionId?: string | null;
  /** Who is calling (set by surfaces from their auth); passed to workflows. */
  principal?: Principal;
  /** Surface the call came from: `mcp`, `http`, `local` (default), ... */
  channel?: string;
  /** Abort a workflow tool (e.g. the MCP client cancelled). Plugin calls cannot be cancelled on the wire; the caller stops waiting. */
  signal?: AbortSignal;
  /** Call only a tool of this daemon, never one routed to another daemon (cluster routing serves with it, so calls never bounce). */
  localOnly?: boolean;
  /**
   * Set when another daemon of the cluster forwarded this call (its node id): that daemon publishes
   * the call's `tool.<name>.completed|failed` event, so this one runs its hooks but publishes none. Default: unset.
   */
  forwardedBy?: string;
  /** Receives a workflow tool's `ctx.progress` / `ctx.emit` (plugin tools stream nothing). Default: none. */
  onProgress?: (event: ProgressEvent) => void;
}

/**
 * Emitted after every call of a known tool, success or failure (metrics,
 * audit). Never carries arguments or results: they may hold secrets.
 */
export interface ToolCalledEvent {
  /** UUID v7 of this call. */
  callId: string;
  toolName: string;
  source: ToolSource;
  /** Plugin key, for plugin tools. */
  plugin: string | null;
  channel: string;
  sessionId: string | null;
  agentId: string | null;
  /** True when the call returned a result (even one with `is_error: true`). */
  ok: boolean;
  /** The result's `is_error` when `ok`. */
  isError: boolean;
  /** Set when `ok` is false: the stable NEXO_ERR_TOOL_* code and message. */
  error?: { code: string; message: string };
  /** The daemon that ran the tool, when it is another daemon of the cluster. */
  node?: string;
  /** Seconds. */
  duration: number;
  /** When the call started, RFC 3339 UTC. */
  timestamp: string;
}

/** A tool-call hook; may be async (never awaited by the call). */
export type ToolCalledHook = (event: ToolCalledEvent) => void | Promise<void>;
