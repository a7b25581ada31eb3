/**
 * The local control channel: JSON-RPC 2.0, one object per line, over a Unix
 * socket (`<state_dir>/nexo.sock`, mode 0600) — the same framing plugins speak.
 * The CLI's `plugin`, `publish`, `tail` and `workflow` commands use it.
 */
export const ControlMethods = {
  INFO: "daemon.info",
  PLUGIN_LIST: "plugin.list",
  PLUGIN_STATUS: "plugin.status",
  PLUGIN_RESTART: "plugin.restart",
  PUBLISH: "broker.publish",
  /** Streams matching events as `event` notifications until the client disconnects. */
  TAIL: "broker.tail",
  WORKFLOW_LIST: "workflow.list",
  WORKFLOW_RUN: "workflow.run",
} as const;

/** Notification carrying one tailed event: `{ method: "event", params: { subscription, event } }`. */
export const TAIL_EVENT = "event";
