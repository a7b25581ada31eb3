import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { Nexo } from "../../app/index.js";
import type { Logger } from "../../log/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check, optionError } from "../option-checks.js";
import { contributedRegistries, contributeMetrics } from "./contributions.js";
import { HotCounter, HotGauge, HotHistogram, type CounterCell, type HistogramCell } from "./hot-metrics.js";

/** Options of MonitoringPlugin (nexo.yaml: `in_process_plugins.monitoring`). */
export interface MonitoringOptions {
  /** Metrics backend. Only "prometheus" (the text format on `path`). Default "prometheus". */
  backend: "prometheus";
  /** Seconds between collections of process metrics (CPU, memory, event loop, GC). Default 15. */
  interval: number;
  /** Route serving the metrics. Default "/metrics". */
  path: string;
  /** Collect Node.js process metrics (prom-client's default metrics). Default true. */
  processMetrics: boolean;
  /** Histogram buckets for workflow and HTTP durations, in seconds. Default 1 ms to 10 s. */
  buckets: number[];
}

const SPECS: OptionSpecs<MonitoringOptions> = {
  backend: check.oneOf(["prometheus"] as const),
  interval: check.number(1, 86_400),
  path: check.string(2, /^\/[A-Za-z0-9._~/-]*$/, "a route path such as /metrics"),
  processMetrics: check.bool(),
  buckets: (v, p) => {
    const b = check.array(check.number(0.000001, 86_400), 64)(v, p);
    if (b.length === 0 || b.some((x, i) => i > 0 && x <= b[i - 1])) throw optionError(p, "a non-empty, strictly increasing list of seconds", v);
    return b;
  },
};

/** Subprocess and in-process plugin states, one gauge series each (1 = current state). */
const PLUGIN_STATES = ["starting", "ready", "restarting", "failed", "stopped", "setting-up"] as const;

/**
 * Prometheus metrics for the app on `/metrics` (prom-client, text format):
 * workflow executions by name and outcome, their durations and how many are
 * in flight; HTTP requests by route, method and status with latency; each
 * plugin's state, subprocess restarts, dropped events and denied publishes;
 * broker throughput; and Node.js process metrics, collected every `interval`
 * seconds. Each plugin instance has its own `registry` (never prom-client's
 * global one), so apps in one process never clash. Other components add
 * their metrics by registering into `monitoring.registry`, or with
 * `contributeMetrics(app, theirRegistry)` (merged at scrape time).
 * @example
 * const monitoring = new MonitoringPlugin();
 * monitoring.backend = "prometheus";
 * monitoring.interval = 30;
 * app.addPlugin(monitoring);
 */
export class MonitoringPlugin extends BuiltinPlugin<MonitoringOptions> {
  /** This app's registry: register your own metrics here (names outside `nexo_`). */
  readonly registry = new Registry();
  private processRegistry: Registry | undefined;
  private processSnapshot = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly clashes = new WeakSet<Registry>();
  private log: Logger | undefined;

  constructor(options?: Partial<MonitoringOptions>) {
    super(
      "monitoring",
      SPECS,
      { backend: "prometheus", interval: 15, path: "/metrics", processMetrics: true, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
      options,
    );
  }

  override get description(): string {
    return "Prometheus metrics on /metrics";
  }

  get backend(): "prometheus" {
    return this.options.backend;
  }
  set backend(v: "prometheus") {
    this.setOption("backend", v);
  }
  /** Seconds between process metric collections. */
  get interval(): number {
    return this.options.interval;
  }
  set interval(v: number) {
    this.setOption("interval", v);
  }
  get path(): string {
    return this.options.path;
  }
  set path(v: string) {
    this.setOption("path", v);
  }

  override setup(app: Nexo): void {
    super.setup(app);
    this.log = app.logger.child({ plugin: this.name });
    const registers = [this.registry];
    const buckets = this.options.buckets;

    // Recorded on every request or execution: hot-metrics cells, not prom-client's per-call label hashing.
    const executions = new HotCounter({
      name: "nexo_workflow_executions_total",
      help: "Workflow executions that ended, by workflow and outcome",
      labelNames: ["workflow", "outcome"],
      registers,
    });
    const duration = new HotHistogram({
      name: "nexo_workflow_duration_seconds",
      help: "Workflow handler duration, by workflow and outcome",
      labelNames: ["workflow", "outcome"],
      buckets,
      registers,
    });
    const inFlight = new HotGauge({ name: "nexo_workflows_in_flight", help: "Workflow executions running now, by workflow", labelNames: ["workflow"], registers });
    // Bounded: workflow names are registered ones.
    const perWorkflow = boundedMemo((workflow: string) => ({
      inFlight: inFlight.labels(workflow),
      completed: executions.labels(workflow, "completed"),
      failed: executions.labels(workflow, "failed"),
      completedDuration: duration.labels(workflow, "completed"),
      failedDuration: duration.labels(workflow, "failed"),
    }));
    app.onWorkflowStarted((e) => {
      perWorkflow(e.workflowName).inFlight.inc();
    });
    app.onWorkflowCompleted((e) => {
      const m = perWorkflow(e.workflowName);
      m.inFlight.dec();
      m.completed.inc();
      m.completedDuration.observe(e.duration);
    });
    app.onWorkflowFailed((e) => {
      const m = perWorkflow(e.workflowName);
      m.inFlight.dec();
      m.failed.inc();
      m.failedDuration.observe(e.duration);
    });

    const httpRequests = new HotCounter({
      name: "nexo_http_requests_total",
      help: "HTTP API requests answered, by route, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    });
    const httpDuration = new HotHistogram({
      name: "nexo_http_request_duration_seconds",
      help: "HTTP API response time, by route and method",
      labelNames: ["route", "method"],
      buckets,
      registers,
    });
    // route -> method -> status -> cells: no key string is built per request.
    // Bounded: routes are registered patterns, methods and statuses are few.
    const perResponse = new Map<string, Map<string, Map<number, { requests: CounterCell; duration: HistogramCell }>>>();
    app.http.addHook("onResponse", (request, reply, done) => {
      // The route pattern, not the URL: label values stay bounded whatever clients send.
      const route = request.routeOptions.url ?? "unmatched";
      const method = request.method;
      const status = reply.statusCode;
      let byMethod = perResponse.get(route);
      if (byMethod === undefined) perResponse.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(method);
      if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
      let m = byStatus.get(status);
      if (m === undefined) byStatus.set(status, (m = { requests: httpRequests.labels(route, method, String(status)), duration: httpDuration.labels(route, method) }));
      m.requests.inc();
      m.duration.observe(reply.elapsedTime / 1000);
      done();
    });

    this.pluginMetrics(app, registers);
    this.brokerMetrics(app, registers);
    this.extensionMetrics(app, registers);

    if (this.options.processMetrics) {
      this.processRegistry = new Registry();
      collectDefaultMetrics({ register: this.processRegistry });
    }

    app.http.get(this.options.path, async (_request, reply) => {
      const text = await this.metricsText();
      return reply.type(Registry.PROMETHEUS_CONTENT_TYPE).send(text);
    });
    app.onStartup(async () => {
      await this.collectProcessMetrics();
      if (!this.processRegistry) return;
      this.timer = setInterval(() => void this.collectProcessMetrics(), this.options.interval * 1000);
      this.timer.unref();
    });
  }

  override teardown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Add another registry to this app's scrape (same as `contributeMetrics(app, registry)`).
   * Only after the plugin was added to an app.
   */
  addRegistry(registry: Registry): () => void {
    if (!this.app) throw new Error("add the MonitoringPlugin to an app first");
    return contributeMetrics(this.app, registry);
  }

  /** The scrape body: this app's metrics, contributed registries, then the last process metrics snapshot. */
  async metricsText(): Promise<string> {
    const accepted: Registry[] = [this.registry];
    const names = new Set(this.registry.getMetricsAsArray().map((m) => m.name));
    const processNames = this.processRegistry?.getMetricsAsArray().map((m) => m.name) ?? [];
    for (const n of processNames) names.add(n);
    for (const r of this.app ? contributedRegistries(this.app) : []) {
      const theirs = r.getMetricsAsArray().map((m) => m.name);
      const clash = theirs.find((n) => names.has(n));
      if (clash !== undefined || r.contentType !== this.registry.contentType) {
        if (!this.clashes.has(r)) {
          this.clashes.add(r);
          this.log?.error(
            { metric: clash, contentType: r.contentType },
            `a contributed metrics registry is left out of /metrics: ${clash ? `metric ${clash} is already defined` : "it is not in the Prometheus text format"}`,
          );
        }
        continue;
      }
      for (const n of theirs) names.add(n);
      accepted.push(r);
    }
    const own = accepted.length === 1 ? await this.registry.metrics() : await Registry.merge(accepted).metrics();
    return this.processSnapshot ? `${own}\n${this.processSnapshot}` : own;
  }

  private async collectProcessMetrics(): Promise<void> {
    if (!this.processRegistry) return;
    try {
      this.processSnapshot = await this.processRegistry.metrics();
    } catch (err) {
      this.log?.warn({ err }, "collecting process metrics failed");
    }
  }

  private pluginMetrics(app: Nexo, registers: Registry[]): void {
    new Gauge({
      name: "nexo_plugin_state",
      help: "Plugin state: 1 for the state each plugin is in, 0 for the others",
      labelNames: ["plugin", "kind", "state"],
      registers,
      collect() {
        this.reset();
        for (const p of app.plugins.statuses()) {
          for (const state of PLUGIN_STATES) if (state !== "starting" && state !== "restarting") this.set({ plugin: p.name, kind: "in-process", state }, p.state === state ? 1 : 0);
        }
        for (const s of app.host.status()) {
          for (const state of PLUGIN_STATES) if (state !== "setting-up") this.set({ plugin: s.key, kind: "subprocess", state }, s.state === state ? 1 : 0);
        }
      },
    });
    // Counters fed from the host's own counts at scrape time: reset, then set to the current totals.
    const fromHost = (name: string, help: string, read: (s: ReturnType<Nexo["host"]["status"]>[number]) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ["plugin"],
        registers,
        collect() {
          this.reset();
          for (const s of app.host.status()) this.inc({ plugin: s.key }, read(s));
        },
      });
    };
    fromHost("nexo_plugin_restarts_total", "Subprocess plugin restarts", (s) => s.restarts);
    fromHost("nexo_plugin_dropped_events_total", "Events dropped because a subprocess plugin's queue was full", (s) => s.droppedEvents);
    fromHost("nexo_plugin_denied_publishes_total", "Broker publishes and subscribes of a subprocess plugin refused (allowlist, invalid topic or event)", (s) => s.deniedPublishes);
    fromHost("nexo_plugin_bad_frames_total", "Lines from a subprocess plugin dropped as bad frames (not JSON, too large, nested too deep, not JSON-RPC)", (s) => s.badFrames);
    fromHost("nexo_plugin_limit_exits_total", "Runs of a subprocess plugin that ended over a resource limit (its memory limit)", (s) => s.limitExits);
    fromHost(
      "nexo_plugin_permission_denials_total",
      "Uses by a subprocess plugin refused because the operator did not grant them (llm, memory, broker patterns)",
      (s) => s.permissionDenials,
    );
    fromHost("nexo_plugin_stdin_stalls_total", "Restarts of a subprocess plugin that stopped reading its stdin", (s) => s.stdinStalls);
  }

  /** Hook points and plugin-served channels, from their own counters at scrape time. */
  private extensionMetrics(app: Nexo, registers: Registry[]): void {
    new Counter({
      name: "nexo_hook_calls_total",
      help: "Hook calls per hook point and outcome (failed and timed_out calls counted as allow)",
      labelNames: ["hook", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const [hook, s] of Object.entries(app.hookPoints.stats())) {
          const passed = s.calls - s.blocked - s.changed - s.failed - s.timedOut;
          for (const [outcome, n] of [
            ["allowed", passed],
            ["blocked", s.blocked],
            ["changed", s.changed],
            ["failed", s.failed],
            ["timed_out", s.timedOut],
          ] as const)
            this.inc({ hook, outcome }, n);
        }
      },
    });
    new Counter({
      name: "nexo_channel_messages_total",
      help: "Messages sent on plugin channels by outcome (sent, failed, blocked by a hook)",
      labelNames: ["outcome"],
      registers,
      collect() {
        this.reset();
        const s = app.channels.stats();
        for (const [outcome, n] of [
          ["sent", s.sent],
          ["failed", s.failed],
          ["blocked", s.blocked],
        ] as const)
          this.inc({ outcome }, n);
      },
    });
  }

  private brokerMetrics(app: Nexo, registers: Registry[]): void {
    const fromBroker = (name: string, help: string, read: (s: ReturnType<Nexo["broker"]["stats"]>) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(app.broker.stats()));
        },
      });
    };
    fromBroker("nexo_broker_events_published_total", "Events published on the broker", (s) => s.published);
    fromBroker("nexo_broker_events_delivered_total", "Events delivered to subscribers", (s) => s.delivered);
    fromBroker("nexo_broker_events_dropped_total", "Events dropped because a subscriber's buffer was full", (s) => s.dropped);
    // NATS only (0 on the local broker): unsent is exact, possibly_lost an upper bound that includes it.
    fromBroker("nexo_broker_events_unsent_total", "At-most-once events not sent because NATS was unreachable", (s) => s.unsent ?? 0);
    fromBroker(
      "nexo_broker_events_possibly_lost_total",
      "Upper bound of at-most-once events lost around NATS outages (unsent included; not confirmed by every peer broker)",
      (s) => s.possiblyLost ?? 0,
    );
    new Gauge({
      name: "nexo_broker_subscriptions",
      help: "Live broker subscriptions",
      registers,
      collect() {
        this.set(app.broker.stats().subscriptions);
      },
    });
  }
}

/** Most label sets a memo keeps; past it the oldest is forgotten (and made again when needed). */
const MEMO_LIMIT = 4096;

/** `make(key)` once per key, remembered for the next calls; bounded, insertion-order eviction. */
function boundedMemo<V>(make: (key: string) => V): (key: string) => V {
  const memo = new Map<string, V>();
  return (key) => {
    let v = memo.get(key);
    if (v === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
      v = make(key);
      memo.set(key, v);
    }
    return v;
  };
}
