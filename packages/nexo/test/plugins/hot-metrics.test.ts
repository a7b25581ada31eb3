import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { HotCounter, HotGauge, HotHistogram } from "../../src/plugins/monitoring/hot-metrics.js";
import { parsePromText, type PromSample } from "../helpers/prom-text.js";

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** Samples keyed by name and sorted labels, so two scrapes compare whatever the label order on each line. */
function keyed(samples: PromSample[]): Map<string, number> {
  return new Map(
    samples.map((s) => [
      `${s.name}{${Object.entries(s.labels)
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(",")}}`,
      s.value,
    ]),
  );
}

test("hot metrics - scrape exactly as prom-client's own counter, gauge and histogram would, after the same recordings", async () => {
  const hot = new Registry();
  const ref = new Registry();
  const hc = new HotCounter({ name: "t_requests_total", help: "Requests", labelNames: ["route", "status"], registers: [hot] });
  const rc = new Counter({ name: "t_requests_total", help: "Requests", labelNames: ["route", "status"], registers: [ref] });
  const hg = new HotGauge({ name: "t_in_flight", help: "In flight", labelNames: ["route"], registers: [hot] });
  const rg = new Gauge({ name: "t_in_flight", help: "In flight", labelNames: ["route"], registers: [ref] });
  const hh = new HotHistogram({ name: "t_seconds", help: "Durations", labelNames: ["route"], buckets: BUCKETS, registers: [hot] });
  const rh = new Histogram({ name: "t_seconds", help: "Durations", labelNames: ["route"], buckets: BUCKETS, registers: [ref] });

  // Values on, between and beyond the bounds, and a label value needing escapes.
  const values = [0, 0.001, 0.0011, 0.01, 0.5, 1, 1.5, 100];
  for (const route of ["/a", 'odd "route"\\\n']) {
    const counter = hc.labels(route, "200");
    const gauge = hg.labels(route);
    const histogram = hh.labels(route);
    for (const v of values) {
      counter.inc();
      rc.labels(route, "200").inc();
      histogram.observe(v);
      rh.labels(route).observe(v);
    }
    hc.labels(route, "500").inc(3);
    rc.labels(route, "500").inc(3);
    gauge.inc(5);
    gauge.dec(2);
    rg.labels(route).inc(5);
    rg.labels(route).dec(2);
  }
  const ours = parsePromText(await hot.metrics());
  const theirs = parsePromText(await ref.metrics());
  assert.deepEqual(ours.types, theirs.types);
  assert.deepEqual(ours.help, theirs.help);
  assert.deepEqual(keyed(ours.samples), keyed(theirs.samples));
  assert.equal(keyed(ours.samples).get("t_seconds_bucket{le=0.001,route=/a}"), 2, "cumulative, bounds inclusive (0 and 0.001)");
});

test("hot metrics - a cell is made once per label set and survives reset; bad label counts, le and non-finite values", async () => {
  const r = new Registry();
  const c = new HotCounter({ name: "t_total", help: "h", labelNames: ["a"], registers: [r] });
  const h = new HotHistogram({ name: "t_h", help: "h", labelNames: [], buckets: BUCKETS, registers: [r] });
  const cell = c.labels("x");
  assert.equal(c.labels("x"), cell);
  cell.inc();
  h.labels().observe(Number.NaN); // dropped: a metric must never throw on a request's path
  h.labels().observe(Number.POSITIVE_INFINITY);
  h.labels().observe(0.5);
  let m = parsePromText(await r.metrics());
  assert.equal(m.samples.find((s) => s.name === "t_h_count")?.value, 1);
  r.resetMetrics();
  cell.inc(2);
  m = parsePromText(await r.metrics());
  assert.equal(m.samples.find((s) => s.name === "t_total")?.value, 2, "the kept cell still counts after a reset");
  assert.equal(m.samples.find((s) => s.name === "t_h_count")?.value, 0);
  assert.throws(() => c.labels("x", "y"), /has labels a; got 2 values/);
  assert.throws(() => new HotHistogram({ name: "t_le", help: "h", labelNames: ["le"], buckets: BUCKETS, registers: [] }), /"le" is reserved/);
});
