import type { Nexo } from "../app/index.js";
import type { NexoService, ServiceHealth } from "../app/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { AgentMetrics, AgentRunner, ConversationStore } from "../agents/index.js";
import { contributeMetrics } from "../plugins/monitoring/index.js";
import { AgentBinding } from "./agent-binding.js";

/** What every agent binding of an app shares: the conversation store (opened on first use) and the metrics, contributed to /metrics. */
function agentSupport(app: Nexo): { conversations: () => Promise<ConversationStore>; metrics: AgentMetrics } {
  const metrics = new AgentMetrics();
  contributeMetrics(app, metrics.registry);
  let store: Promise<ConversationStore> | undefined;
  const conversations = (): Promise<ConversationStore> => {
    store ??= app.memory.openStore().then((s) => new ConversationStore(s));
    store.catch(() => (store = undefined));
    return store;
  };
  return { conversations, metrics };
}
import type { BindingSpec, BindingStats } from "./types.js";

/**
 * The agent bindings of an app as one service: started with the app (after
 * every in-process plugin's setup, before subprocess plugins start, so no
 * inbound event is missed), stopped in reverse. `/health` lists each binding's counters.
 * @example app.addService(new BindingsService(parseBindings(config.bindings)));
 */
export class BindingsService implements NexoService {
  readonly name = "bindings";
  private readonly running: AgentBinding[] = [];

  constructor(readonly specs: readonly BindingSpec[]) {}

  /** NEXO_ERR_BINDING_WORKFLOW_NOT_FOUND naming every binding whose workflow `app` does not have. */
  checkWorkflows(app: Nexo): void {
    const missing = this.specs.filter((s) => s.workflow !== undefined && !app.getWorkflow(s.workflow));
    if (missing.length === 0) return;
    const known = app.listWorkflows().map((w) => w.name);
    throw new NexoError(
      ErrorCodes.BINDING_WORKFLOW_NOT_FOUND,
      `${missing.map((s) => `binding ${s.name}: no workflow named "${s.workflow}"`).join("; ")} (registered: ${known.join(", ") || "none"}; add the module under workflows:)`,
      { field: "bindings", data: { missing: missing.map((s) => ({ binding: s.name, workflow: s.workflow })) } },
    );
  }

  start(app: Nexo): void {
    this.checkWorkflows(app);
    const agents = this.specs.some((s) => s.agent) ? agentSupport(app) : undefined;
    for (const spec of this.specs) {
      const b = new AgentBinding(spec, app, spec.agent && agents ? new AgentRunner(spec.name, spec.agent, app, agents.conversations, agents.metrics) : undefined);
      b.start();
      this.running.push(b);
    }
    if (this.specs.length) app.logger.info({ bindings: this.specs.map((s) => ({ name: s.name, inbound: s.patterns, ...(s.agent ? { agent: { provider: s.agent.provider ?? null, model: s.agent.model ?? null, tools: s.agent.tools } } : { workflow: s.workflow }) })) }, "agent bindings started");
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.splice(0).map((b) => b.stop()));
  }

  /** Counters of every running binding. */
  stats(): BindingStats[] {
    return this.running.map((b) => b.stats());
  }

  health(): ServiceHealth {
    return { status: "ok", details: { bindings: this.stats() } };
  }
}
