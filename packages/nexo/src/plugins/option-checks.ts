import { ErrorCodes, NexoError } from "../errors.js";

/** Where an option value came from, for error messages: the plugin and the option's name. */
export interface OptionPath {
  plugin: string;
  option: string;
  /** Never print the value (tokens, keys, secrets). */
  secret?: boolean;
}

/** Checks one option value and returns it normalized; throws NEXO_ERR_PLUGIN_CONFIG_INVALID. */
export type OptionCheck<T> = (value: unknown, path: OptionPath) => T;

/** `maxBuckets` -> `max_buckets`, the spelling nexo.yaml uses. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `max_buckets` -> `maxBuckets`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** A value as an error message may show it: secrets by length only. */
export function describeValue(value: unknown, secret = false): string {
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  if (secret) return typeof value === "string" ? `a string of ${value.length} characters` : `a value of type ${type}`;
  let shown: string;
  try {
    shown = typeof value === "function" ? "a function" : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return `${shown} (${type})`;
}

/**
 * The error for a bad option: names the plugin, the option (and its nexo.yaml
 * spelling when different), what was expected and what was received.
 */
export function optionError(path: OptionPath, expected: string, value: unknown): NexoError {
  const yaml = snakeCase(path.option);
  const name = yaml === path.option ? path.option : `${path.option} (${yaml} in nexo.yaml)`;
  return new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${path.plugin} option ${name} must be ${expected}, got ${describeValue(value, path.secret)}`, {
    pluginId: path.plugin,
    field: path.option,
  });
}

/** Option checks shared by the built-in plugins. */
export const check = {
  /** An integer in [min, max]. */
  int(min: number, max: number): OptionCheck<number> {
    return (v, p) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw optionError(p, `an integer from ${min} to ${max}`, v);
      return v;
    };
  },
  /** A finite number in [min, max]. */
  number(min: number, max: number): OptionCheck<number> {
    return (v, p) => {
      if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw optionError(p, `a number from ${min} to ${max}`, v);
      return v;
    };
  },
  bool(): OptionCheck<boolean> {
    return (v, p) => {
      if (typeof v !== "boolean") throw optionError(p, "true or false", v);
      return v;
    };
  },
  /** A string of at least `minLength` characters, optionally matching `pattern`. */
  string(minLength = 1, pattern?: RegExp, what?: string): OptionCheck<string> {
    return (v, p) => {
      if (typeof v !== "string" || v.length < minLength || (pattern && !pattern.test(v))) {
        throw optionError(p, what ?? (pattern ? `a string matching ${pattern}` : `a string of at least ${minLength} character${minLength === 1 ? "" : "s"}`), v);
      }
      return v;
    };
  },
  /** One of `values`. */
  oneOf<T extends string>(values: readonly T[]): OptionCheck<T> {
    return (v, p) => {
      if (typeof v !== "string" || !(values as readonly string[]).includes(v)) throw optionError(p, `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v);
      return v as T;
    };
  },
  /** An http(s) URL. */
  url(): OptionCheck<string> {
    return (v, p) => {
      if (typeof v === "string") {
        try {
          const u = new URL(v);
          if (u.protocol === "http:" || u.protocol === "https:") return v;
        } catch {
          // reported below
        }
      }
      throw optionError(p, "an http:// or https:// URL", v);
    };
  },
  /** A URL path pattern: `/exact`, `*` for one segment, trailing `/**` for any rest. */
  pathPattern(): OptionCheck<string> {
    return (v, p) => {
      if (typeof v !== "string" || !v.startsWith("/") || /\s|\?/.test(v))
        throw optionError(p, "a path starting with / (no query string; * matches one segment, a trailing /** any rest)", v);
      return v;
    };
  },
  /** An array whose items each pass `item`. */
  array<T>(item: OptionCheck<T>, maxItems = 10_000): OptionCheck<T[]> {
    return (v, p) => {
      if (!Array.isArray(v) || v.length > maxItems) throw optionError(p, `an array of at most ${maxItems} items`, v);
      return v.map((x, i) => item(x, { ...p, option: `${p.option}[${i}]` }));
    };
  },
  /** `undefined` passes through; anything else must pass `inner`. */
  optional<T>(inner: OptionCheck<T>): OptionCheck<T | undefined> {
    return (v, p) => (v === undefined ? undefined : inner(v, p));
  },
  /** A function (constructor options only; nexo.yaml cannot express one). */
  fn<T>(): OptionCheck<T> {
    return (v, p) => {
      if (typeof v !== "function") throw optionError(p, "a function", v);
      return v as T;
    };
  },
  /** A plain object (a mapping). */
  object(): OptionCheck<Record<string, unknown>> {
    return (v, p) => {
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw optionError(p, "a mapping (object)", v);
      return v as Record<string, unknown>;
    };
  },
} as const;

/**
 * Turn a nexo.yaml `in_process_plugins.<name>` section into constructor
 * options: snake_case keys become camelCase (recursively, in nested mappings
 * and lists), and `<key>_env: VAR` becomes `<key>` = `$VAR` so secrets stay out
 * of the file. `opaque` keys keep their value untouched (e.g. HTTP headers).
 */
export function optionsFromYaml(plugin: string, raw: Record<string, unknown>, opaque: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const convert = (value: unknown, where: string): unknown => {
    if (Array.isArray(value)) return value.map((x, i) => convert(x, `${where}[${i}]`));
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (opaque.includes(k)) {
        out[camelCase(k)] = v;
        continue;
      }
      if (k.endsWith("_env") && k.length > 4) {
        const key = camelCase(k.slice(0, -4));
        if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
          throw new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${plugin} option ${where}${k} must name an environment variable, got ${describeValue(v)}`, {
            pluginId: plugin,
            field: k,
          });
        }
        const resolved = env[v];
        if (resolved === undefined || resolved === "") {
          throw new NexoError(ErrorCodes.PLUGIN_CONFIG_INVALID, `${plugin} option ${where}${k}: environment variable ${v} is not set`, { pluginId: plugin, field: k });
        }
        out[key] = resolved;
        continue;
      }
      out[camelCase(k)] = convert(v, `${where}${k}.`);
    }
    return out;
  };
  return convert(raw, "") as Record<string, unknown>;
}
