import { Counter, Histogram, Registry } from "prom-client";

/** The agents' metrics, one registry per app (contributed to /metrics when Monitoring is on). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly turns = new Counter({
    name: "nexo_agent_turns_total",
    help: "Agent turns by binding and outcome (replied, no_reply, failed, step_limit)",
    labelNames: ["binding", "outcome"],
    registers: [this.registry],
  });
  readonly steps = new Counter({
    name: "nexo_agent_steps_total",
    help: "Agent steps by binding and kind (model, tool)",
    labelNames: ["binding", "kind"],
    registers: [this.registry],
  });
  readonly toolErrors = new Counter({
    name: "nexo_agent_tool_errors_total",
    help: "Tool calls of agents that failed or answered is_error",
    labelNames: ["binding"],
    registers: [this.registry],
  });
  readonly droppedToolCalls = new Counter({
    name: "nexo_agent_tool_calls_dropped_total",
    help: "Tool calls a model asked for that were not run, by reason (over max_tool_calls in one answer, arguments too large)",
    labelNames: ["binding", "reason"],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: "nexo_agent_tokens_total",
    help: "Tokens used by agents (prompt, completion)",
    labelNames: ["binding", "kind"],
    registers: [this.registry],
  });
  readonly turnSeconds = new Histogram({
    name: "nexo_agent_turn_duration_seconds",
    help: "Duration of agent turns, model time included",
    labelNames: ["binding"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
}
