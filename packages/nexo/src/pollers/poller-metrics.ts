import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The pollers' Prometheus series, registered on the registry the daemon passes
 * (the Monitoring plugin merges it into /metrics). Registering twice on one
 * registry (two services in one process) reuses the existing series.
 */
export class PollerMetrics {
  readonly runs: Counter<"job_id" | "kind" | "outcome">;
  readonly items: Counter<"job_id" | "kind">;
  readonly errors: Counter<"job_id" | "kind" | "class">;
  readonly breaker: Gauge<"job_id">;
  readonly paused: Gauge<"job_id">;
  readonly lastSuccess: Gauge<"job_id">;
  readonly duration: Histogram<"job_id" | "kind">;

  constructor(readonly registry: Registry) {
    this.runs = metric(
      registry,
      "nexo_poller_runs_total",
      () =>
        new Counter({
          name: "nexo_poller_runs_total",
          help: "Poller runs by outcome (ok, not_modified, transient, permanent, skipped_*)",
          labelNames: ["job_id", "kind", "outcome"],
          registers: [registry],
        }),
    );
    this.items = metric(
      registry,
      "nexo_poller_items_emitted_total",
      () => new Counter({ name: "nexo_poller_items_emitted_total", help: "New items delivered by pollers", labelNames: ["job_id", "kind"], registers: [registry] }),
    );
    this.errors = metric(
      registry,
      "nexo_poller_errors_total",
      () => new Counter({ name: "nexo_poller_errors_total", help: "Poller run errors by class", labelNames: ["job_id", "kind", "class"], registers: [registry] }),
    );
    this.breaker = metric(
      registry,
      "nexo_poller_breaker_state",
      () => new Gauge({ name: "nexo_poller_breaker_state", help: "Circuit breaker per job: 0 closed, 1 half-open, 2 open", labelNames: ["job_id"], registers: [registry] }),
    );
    this.paused = metric(
      registry,
      "nexo_poller_paused",
      () => new Gauge({ name: "nexo_poller_paused", help: "1 when the job is paused", labelNames: ["job_id"], registers: [registry] }),
    );
    this.lastSuccess = metric(
      registry,
      "nexo_poller_last_success_timestamp_seconds",
      () => new Gauge({ name: "nexo_poller_last_success_timestamp_seconds", help: "Unix time of the job's last successful run", labelNames: ["job_id"], registers: [registry] }),
    );
    this.duration = metric(
      registry,
      "nexo_poller_run_duration_seconds",
      () =>
        new Histogram({
          name: "nexo_poller_run_duration_seconds",
          help: "Duration of poller runs that fetched",
          labelNames: ["job_id", "kind"],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    );
  }
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
