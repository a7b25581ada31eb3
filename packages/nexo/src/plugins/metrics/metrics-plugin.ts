import type { Nexo } from "../../app/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";

/** What `MetricsPlugin.getMetrics()` returns: the reference plugin API's keys, durations in seconds. */
export interface WorkflowMetricsSnapshot {
  requests_total: number;
  requests_success: number;
  requests_failed: number;
  /** Sum of completed executions' durations, seconds. */
  total_duration: number;
  /** total_duration / requests_success, 0 before the first success. */
  avg_duration: number;
  /** requests_success / requests_total, 0 before the first request. */
  success_rate: number;
}

/** MetricsPlugin has no options; the type exists for symmetry with the other built-ins. */
export type MetricsPluginOptions = Record<string, never>;

/**
 * The reference plugin API's metrics collection plugin: counts workflow executions from the
 * lifecycle hooks and reports them with `getMetrics()`. For Prometheus, use
 * MonitoringPlugin.
 * @example
 * const metrics = new MetricsPlugin();
 * app.addPlugin(metrics);
 * console.log(metrics.getMetrics()); // { requests_total: 0, ..., success_rate: 0 }
 */
export class MetricsPlugin extends BuiltinPlugin<MetricsPluginOptions> {
  private counts = { requests_total: 0, requests_success: 0, requests_failed: 0, total_duration: 0 };

  constructor(options?: MetricsPluginOptions) {
    super("metrics", {} as OptionSpecs<MetricsPluginOptions>, {} as MetricsPluginOptions, options);
  }

  override get description(): string {
    return "Counts workflow executions, successes, failures and durations";
  }

  override setup(app: Nexo): void {
    super.setup(app);
    this.counts = { requests_total: 0, requests_success: 0, requests_failed: 0, total_duration: 0 };
    app.onWorkflowStarted(() => {
      this.counts.requests_total += 1;
    });
    app.onWorkflowCompleted((event) => {
      this.counts.requests_success += 1;
      this.counts.total_duration += event.duration;
    });
    app.onWorkflowFailed(() => {
      this.counts.requests_failed += 1;
    });
  }

  /** The counters with the derived average duration and success rate. */
  getMetrics(): WorkflowMetricsSnapshot {
    const c = this.counts;
    return {
      ...c,
      avg_duration: c.requests_success > 0 ? c.total_duration / c.requests_success : 0,
      success_rate: c.requests_total > 0 ? c.requests_success / c.requests_total : 0,
    };
  }
}
