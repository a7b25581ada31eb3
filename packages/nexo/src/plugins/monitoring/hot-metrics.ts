import type { Metric, Registry } from "prom-client";

/** One sample as prom-client's metrics give it to the registry. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  /** Set for a histogram's `_bucket`, `_sum` and `_count` series. */
  metricName?: string;
}

/** A metric family as prom-client's `get()` returns it. */
export interface FamilySnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  values: Sample[];
  aggregator: "sum";
}

/**
 * Counters, gauges and histograms for the per-request hot path, read by a
 * prom-client `Registry` at scrape time. prom-client's own metrics rebuild a
 * label hash string and look it up on every `inc`/`observe`, even through a
 * `labels()` child, a cost measured on the HTTP path (BENCHMARKS.md, HTTP
 * API; ADR 0011). Here a child is a cell made once per
 * label set, and recording is a field update. The registry still does the
 * exposition (text format, escaping, merging), so scrapes look exactly like
 * prom-client's: `get()` returns the same shape its metrics return.
 */
abstract class HotFamily<C> {
  readonly aggregator = "sum" as const;
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    private readonly labelNames: readonly string[],
    registers: readonly Registry[],
  ) {
    // The registry reads name, help, type, get() and reset(); nothing else.
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  /** The cell of one label set (values in `labelNames` order), made on first use: keep it for the hot path. */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`metric ${this.name} has labels ${this.labelNames.join(", ")}; got ${values.length} values`);
    }
    const id = values.join("\u0000");
    let entry = this.cells.get(id);
    if (entry === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]));
      entry = { labels, cell: this.newCell() };
      this.cells.set(id, entry);
    }
    return entry.cell;
  }

  /** Zero every cell (prom-client's `registry.resetMetrics()`); cells handed out stay valid. */
  reset(): void {
    for (const { cell } of this.cells.values()) this.zero(cell);
  }

  /** The family in prom-client's metric shape. */
  async get(): Promise<FamilySnapshot> {
    const values: Sample[] = [];
    for (const { labels, cell } of this.cells.values()) this.emit(labels, cell, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  protected abstract newCell(): C;
  protected abstract zero(cell: C): void;
  protected abstract emit(labels: Record<string, string>, cell: C, into: Sample[]): void;
}

/** One label set of a HotCounter. */
export interface CounterCell {
  inc(by?: number): void;
}

/** One label set of a HotGauge. */
export interface GaugeCell extends CounterCell {
  dec(by?: number): void;
}

/** The cell of counters and gauges alike: a counter hands it out as a CounterCell, which has no `dec`. */
class NumberValue implements GaugeCell {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

interface NumberFamilyOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: readonly Registry[];
}

/** A family of one number per label set: counters and gauges. */
abstract class NumberFamily<C extends CounterCell> extends HotFamily<C> {
  protected newCell(): C {
    return new NumberValue() as unknown as C;
  }
  protected zero(cell: C): void {
    (cell as unknown as NumberValue).value = 0;
  }
  protected emit(labels: Record<string, string>, cell: C, into: Sample[]): void {
    into.push({ labels, value: (cell as unknown as NumberValue).value });
  }
}

/** A counter family (monotonic within a process). */
export class HotCounter extends NumberFamily<CounterCell> {
  constructor(o: NumberFamilyOptions) {
    super(o.name, o.help, "counter", o.labelNames, o.registers);
  }
}

/** A gauge family. */
export class HotGauge extends NumberFamily<GaugeCell> {
  constructor(o: NumberFamilyOptions) {
    super(o.name, o.help, "gauge", o.labelNames, o.registers);
  }
}

/** One label set of a HotHistogram. */
export interface HistogramCell {
  observe(value: number): void;
}

class HistogramValue implements HistogramCell {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    // Not finite: prom-client throws; a metric must never break a request, so it is not recorded.
    if (!Number.isFinite(value)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram family with fixed bucket upper bounds (`le`, seconds or whatever the unit is). */
export class HotHistogram extends HotFamily<HistogramCell> {
  private readonly bounds: readonly number[];

  constructor(o: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registers: readonly Registry[] }) {
    super(o.name, o.help, "histogram", o.labelNames, o.registers);
    if (o.labelNames.includes("le")) throw new TypeError(`metric ${o.name}: "le" is reserved for histogram buckets`);
    this.bounds = [...o.buckets];
  }
  protected newCell(): HistogramCell {
    return new HistogramValue(this.bounds);
  }
  protected zero(cell: HistogramCell): void {
    const h = cell as HistogramValue;
    h.counts.fill(0);
    h.sum = 0;
    h.count = 0;
  }
  protected emit(labels: Record<string, string>, cell: HistogramCell, into: Sample[]): void {
    const h = cell as HistogramValue;
    let cumulative = 0;
    const bucket = `${this.name}_bucket`;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += h.counts[i];
      into.push({ labels: { ...labels, le: this.bounds[i] }, value: cumulative, metricName: bucket });
    }
    into.push({ labels: { ...labels, le: "+Inf" }, value: h.count, metricName: bucket });
    into.push({ labels, value: h.sum, metricName: `${this.name}_sum` });
    into.push({ labels, value: h.count, metricName: `${this.name}_count` });
  }
}
