/**
 * The local control channel: JSON-RPC 2.0, one object per line, over a Unix
 * socket (`<state_dir>/nexo.sock`, mode 0600) — the same framing plugins speak.
 * The CLI's `plugin`, `publish`, `tail`, `workflow` and `pollers` commands use it.
 */
export const ControlMethods = {
  INFO: "daemon.info",
  PLUGIN_LIST: "plugin.list",
  PLUGIN_STATUS: "plugin.status",
  PLUGIN_RESTART: "plugin.restart",
  /** Read nexo.yaml again and apply the difference -> ReloadReport; a config that does not validate is refused (-32602, `data.code`, `data.violations`). */
  RELOAD: "daemon.reload",
  PUBLISH: "broker.publish",
  /** Streams matching events as `event` notifications until the client disconnects. */
  TAIL: "broker.tail",
  WORKFLOW_LIST: "workflow.list",
  WORKFLOW_RUN: "workflow.run",
  /** `{principal?, tenant?, kind?, name?, allowed?, since?, limit?, before?}` -> AuditEntry[] (newest first). */
  AUDIT_QUERY: "audit.query",
  /** YAML-only pollers: `{enabled, source, jobs: JobStatus[]}`. */
  POLLER_LIST: "poller.list",
  /** `{id}` -> RunResult: run a job now. */
  POLLER_RUN: "poller.run",
  /** `{id, reason?}` -> JobStatus. */
  POLLER_PAUSE: "poller.pause",
  /** `{id}` -> JobStatus. */
  POLLER_RESUME: "poller.resume",
  /** `{id}` -> JobStatus: forget cursor, seen ids, errors and pause. */
  POLLER_RESET: "poller.reset",
  /** `{status?, workflow?, limit?}` -> RunView[]: every principal's runs, newest first. */
  RUN_LIST: "run.list",
  /** `{id}` -> RunView. */
  RUN_SHOW: "run.show",
  /** `{id}` -> RunView (+ cancelRequested when another daemon holds it). */
  RUN_CANCEL: "run.cancel",
} as const;

/** Notification carrying one tailed event: `{ method: "event", params: { subscription, event } }`. */
export const TAIL_EVENT = "event";
