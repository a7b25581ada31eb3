import type { AgentSpec } from "../agents/index.js";

/** Where a binding publishes the workflow's result. */
export type BindingOutbound = { mode: "auto" } | { mode: "none" } | { mode: "topic"; topic: string };

/** A validated agent binding with defaults applied. */
export interface BindingSpec {
  /** Unique; names the subscription (`binding:<name>`), the reply's source (`binding.<name>`) and log lines. */
  name: string;
  /** Inbound topic patterns, all under `plugin.inbound.`. */
  patterns: string[];
  /** The workflow run per event; absent when the binding runs an agent. */
  workflow?: string;
  /** The agent run per event (instead of a workflow). */
  agent?: AgentSpec;
  outbound: BindingOutbound;
  /** `payload`: the event's payload is the inputs (must be an object); `event`: the whole event is. */
  inputs: "payload" | "event";
  /** Workflow runs at a time. Default 1 (events handled in arrival order). */
  concurrency: number;
  /** Events waiting per subscription beyond the running ones; past it the broker drops and counts. Default 256. */
  queueSize: number;
}

/** Counters of one binding since it started. */
export interface BindingStats {
  name: string;
  patterns: string[];
  /** The workflow's name, or `agent` for an agent binding. */
  workflow: string;
  outbound: string;
  /** Events taken off the subscription (loops stopped included). */
  received: number;
  /** Workflow runs that returned. */
  completed: number;
  /** Workflow runs that threw (nothing published; see `workflow.<name>.failed`). */
  failed: number;
  /** Results published on the outbound topic. */
  replies: number;
  /** Runs that published nothing: the result was null/undefined or `outbound: none`. */
  noReply: number;
  /** Events skipped because they carry the correlation id of a reply this binding published (a loop). */
  loopsStopped: number;
  /** Events the broker dropped because the binding's queue was full. */
  dropped: number;
  /** Runs in progress. */
  running: number;
}
