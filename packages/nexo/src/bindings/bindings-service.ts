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
  private current: readonly BindingSpec[];
  private startedOn: Nexo | undefined;

  constructor(specs: readonly BindingSpec[]) {
    this.current = specs;
  }

  /** The bindings this service runs (as of the last `update`). */
  get specs(): readonly BindingSpec[] {
    return this.current;
  }

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
    this.startedOn = app;
    for (const spec of this.specs) {
      const b = new AgentBinding(spec, app, spec.agent && agents ? new AgentRunner(spec.name, spec.agent, app, agents.conversations, agents.metrics) : undefined);
      b.start();
      this.running.push(b);
    }
    if (this.specs.length)
      app.logger.info(
        {
          bindings: this.specs.map((s) => ({
            name: s.name,
            inbound: s.patterns,
            ...(s.agent ? { agent: { provider: s.agent.provider ?? null, model: s.agent.model ?? null, tools: s.agent.tools } } : { workflow: s.workflow }),
          })),
        },
        "agent bindings started",
      );
  }

  async stop(): Promise<void> {
    this.startedOn = undefined;
    await Promise.all(this.running.splice(0).map((b) => b.stop()));
  }

  /**
   * Run `specs` from now on (a config reload). Bindings that are gone or
   * changed stop (events queued for them are dropped), then new and changed
   * ones start; an unchanged binding keeps running with its counters and
   * queue. Every workflow is checked first: a missing one throws
   * NEXO_ERR_BINDING_WORKFLOW_NOT_FOUND and nothing changes.
   */
  async update(app: Nexo, specs: readonly BindingSpec[]): Promise<void> {
    const checked = new BindingsService(specs);
    checked.checkWorkflows(app);
    this.current = specs;
    if (!this.startedOn) return;
    const wanted = new Map(specs.map((s) => [s.name, JSON.stringify(s)]));
    const leaving = this.running.filter((b) => wanted.get(b.spec.name) !== JSON.stringify(b.spec));
    await Promise.all(leaving.map((b) => b.stop()));
    const kept = this.running.filter((b) => !leaving.includes(b));
    const keptNames = new Set(kept.map((b) => b.spec.name));
    this.running.length = 0;
    // Keep config order, so stats() lists bindings as nexo.yaml does.
    for (const spec of specs) {
      const old = kept.find((b) => b.spec.name === spec.name);
      if (old) {
        this.running.push(old);
        continue;
      }
      const b = new AgentBinding(spec, this.startedOn);
      b.start();
      this.running.push(b);
    }
    const started = specs.filter((s) => !keptNames.has(s.name));
    if (started.length) app.logger.info({ bindings: started.map((s) => ({ name: s.name, inbound: s.patterns, workflow: s.workflow })) }, "agent bindings started");
  }

  /** Counters of every running binding. */
  stats(): BindingStats[] {
    return this.running.map((b) => b.stats());
  }

  health(): ServiceHealth {
    return { status: "ok", details: { bindings: this.stats() } };
  }
}
