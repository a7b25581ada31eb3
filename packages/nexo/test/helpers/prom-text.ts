/** One sample of the Prometheus text format: `name{label="v",...} value`. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parsed exposition: samples plus each family's TYPE and HELP. */
export interface PromText {
  samples: PromSample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

/**
 * A small parser of the Prometheus text exposition format (version 0.0.4),
 * strict enough for tests: every non-comment line must parse, label values
 * are unescaped, and values include +Inf/-Inf/NaN in any case.
 */
export function parsePromText(text: string): PromText {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (TYPE|HELP) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (m) (m[1] === "TYPE" ? types : help).set(m[2], m[3]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( [0-9]+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let consumed = 0;
      for (let l; (l = re.exec(m[3]));) {
        labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed += l[0].length;
      }
      if (consumed !== m[3].length) throw new Error(`bad labels in: ${line}`);
    }
    // Prometheus parses values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
    const lower = m[4].toLowerCase();
    const v = lower === "+inf" || lower === "inf" ? Infinity : lower === "-inf" ? -Infinity : lower === "nan" ? NaN : Number(m[4]);
    if (Number.isNaN(v) && lower !== "nan") throw new Error(`bad value in: ${line}`);
    samples.push({ name: m[1], labels, value: v });
  }
  return { samples, types, help };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none; throws if several. */
export function sampleValue(parsed: PromText, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = parsed.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
