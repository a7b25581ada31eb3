/**
 * A strict reading of upstream's manifest schema (lordmacu/nexo-rs,
 * crates/plugin-manifest: `PluginManifest` and its sections, all
 * `deny_unknown_fields`), for tests: does an upstream host accept this file's
 * shape? It checks what serde checks there (known fields only, required
 * fields present, value types, enum values, strict semver), not upstream's
 * later semantic validation.
 */
import { parse } from "smol-toml";

/** One thing an upstream host's parser would refuse. */
export interface SchemaProblem {
  path: string;
  kind: "unknown_field" | "missing_field" | "type";
  message: string;
}

type Spec =
  | "string"
  | "bool"
  | "int"
  | "semver"
  | "version_req"
  | "any_table"
  | { array: Spec }
  | { map: Spec }
  | { enum: readonly string[] }
  | { table: Fields }
  | { tagged: Record<string, Fields> };
type Fields = Record<string, [Spec, "required" | "optional"]>;

const r = (s: Spec): [Spec, "required"] => [s, "required"];
const o = (s: Spec): [Spec, "optional"] => [s, "optional"];
const strings: Spec = { array: "string" };

const ENTRYPOINT: Fields = { command: o("string"), args: o(strings), env: o({ map: "string" }) };
const CAPABILITIES: Fields = {
  provides: o({ array: { enum: ["tools", "advisors", "agents", "skills", "channels", "hooks", "mcp_servers", "webhooks", "poller_drivers", "llm_providers"] } }),
  admin: o({ table: { required: o(strings), optional: o(strings) } }),
  http_server: o({ table: { port: r("int"), bind: o("string"), token_env: r("string"), health_path: o("string"), extra_env_passthrough: o(strings) } }),
  skills: o(strings),
  broker: o({ table: { subscribe: o(strings), publish: o(strings) } }),
};
const TOOLS: Fields = {
  expose: o(strings),
  deferred: o(strings),
  outbound: o({ array: { table: { name: r("string"), description: r("string"), input_schema: r("string"), rpc_method: o("string"), timeout_ms: o("int") } } }),
};
const PAIRING: Fields = {
  kind: o({ enum: ["qr", "form", "info", "custom"] }),
  label: o("string"),
  instructions: o({ map: "string" }),
  fields: o({ array: { table: { name: r("string"), label: r("string"), help: o("string"), sensitive: o("bool"), placeholder: o("string"), required: o("bool") } } }),
  rpc_namespace: o("string"),
  instance_field: o("string"),
  adapter: o({ table: { channel_id: r("string"), broker_topic_prefix: r("string"), format_challenge_text_kind: o("string"), normalize_cache_ttl_seconds: o("int") } }),
  trigger: o({ table: { start_method: r("string"), cancel_method: r("string"), timeout_seconds: o("int") } }),
};
const PLUGIN: Fields = {
  id: r("string"),
  version: r("semver"),
  name: r("string"),
  description: r("string"),
  min_nexo_version: r("version_req"),
  enabled_by_default: o("bool"),
  capabilities: o({ table: CAPABILITIES }),
  tools: o({ table: TOOLS }),
  advisors: o({ table: { register: o(strings) } }),
  agents: o({ table: { contributes_dir: o("string"), allow_override: o("bool") } }),
  channels: o({ table: { register: o({ array: { table: { kind: r("string"), adapter: r("string") } } }) } }),
  skills: o({ table: { contributes_dir: o("string") } }),
  config: o({ table: { schema_path: o("string"), hot_reload: o("bool") } }),
  config_schema: o({ table: { schema: r("string"), shape: r({ enum: ["object", "array"] }), hot_reload: o("bool") } }),
  credentials_schema: o({ table: { enabled: o("bool"), accounts_shape: o({ enum: ["object", "array"] }) } }),
  extends: o({ table: { channels: o(strings), llm_providers: o(strings), memory_backends: o(strings), hooks: o(strings), tools: o(strings) } }),
  requires: o({ table: { bins: o(strings), env: o(strings), features: o(strings), nexo_capabilities: o(strings) } }),
  capability_gates: o({
    table: {
      gate: o({
        array: {
          table: {
            extension: r("string"),
            env_var: r("string"),
            kind: r({ enum: ["Boolean", "CargoFeature", "Allowlist"] }),
            risk: r({ enum: ["Low", "Medium", "High", "Critical"] }),
            effect: r("string"),
            hint: o("string"),
          },
        },
      }),
    },
  }),
  ui: o({
    table: { fields: o({ map: { table: { label: o("string"), help: o("string"), tags: o(strings), advanced: o("bool"), sensitive: o("bool"), placeholder: o("string") } } }) },
  }),
  pairing: o({ table: PAIRING }),
  contracts: o({ table: { provides: o(strings), consumes: o(strings) } }),
  meta: o({ table: { author: o("string"), license: o("string"), homepage: o("string"), repository: o("string") } }),
  dashboard: o({
    table: {
      layout: r({ tagged: { single: {}, workspace_walk: { subdir: r("string") } } }),
      auth_check: r({ tagged: { file_presence: { path: r("string") }, session_dir_files: { candidates: r(strings) } } }),
    },
  }),
  metrics: o({ table: { prometheus: o("bool"), broker_topic_prefix: o("string"), timeout_seconds: o("int") } }),
  admin: o({ table: { method_prefix: r("string"), broker_topic_prefix: r("string"), timeout_seconds: o("int") } }),
  http: o({ table: { mount_prefix: r("string"), timeout_seconds: o("int") } }),
  public_tunnel: o({ table: { enabled: o("bool"), close_on_event: o("string") } }),
  entrypoint: o({ table: ENTRYPOINT }),
  supervisor: o({ table: { respawn: o("bool"), max_attempts: o("int"), backoff_ms: o("int"), stderr_tail_lines: o("int") } }),
  sandbox: o({ table: { enabled: o("bool"), network: o({ enum: ["deny", "host"] }), fs_read_paths: o(strings), fs_write_paths: o(strings), drop_user: o("bool") } }),
  subscriptions: o({ table: { broker_topics: o(strings) } }),
  http_server: o("any_table"),
  poller: o({
    table: {
      kinds: r(strings),
      broker_topic_prefix: r("string"),
      lifecycle: o({ enum: ["long_lived", "ephemeral"] }),
      max_concurrent_ticks: o("int"),
      tick_timeout_secs: o("int"),
    },
  }),
};
const ROOT: Fields = { manifest_version: o("int"), plugin: r({ table: PLUGIN }) };

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const COMPARATOR = /^\s*(?:\*|(?:[=><~^]|>=|<=)?\s*\d+(?:\.(?:\d+|\*))?(?:\.(?:\d+|\*))?(?:-[0-9A-Za-z.-]+)?)\s*$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function check(spec: Spec, v: unknown, path: string, out: SchemaProblem[]): void {
  const bad = (message: string): void => void out.push({ path, kind: "type", message });
  if (spec === "string") return void (typeof v !== "string" && bad("expected a string"));
  if (spec === "bool") return void (typeof v !== "boolean" && bad("expected a boolean"));
  if (spec === "int") return void ((typeof v !== "number" || !Number.isInteger(v)) && bad("expected an integer"));
  if (spec === "semver") return void ((typeof v !== "string" || !SEMVER.test(v)) && bad("expected a semantic version"));
  if (spec === "version_req") return void ((typeof v !== "string" || !v.split(",").every((c) => COMPARATOR.test(c))) && bad("expected a version requirement"));
  if (spec === "any_table") return void (!isObj(v) && bad("expected a table"));
  if ("enum" in spec) return void ((typeof v !== "string" || !spec.enum.includes(v)) && bad(`expected one of ${spec.enum.join(", ")}`));
  if ("array" in spec) {
    if (!Array.isArray(v)) return bad("expected an array");
    v.forEach((x, i) => check(spec.array, x, `${path}[${i}]`, out));
    return;
  }
  if ("map" in spec) {
    if (!isObj(v)) return bad("expected a table");
    for (const [k, x] of Object.entries(v)) check(spec.map, x, `${path}.${k}`, out);
    return;
  }
  if ("tagged" in spec) {
    if (!isObj(v)) return bad("expected a table");
    const variant = typeof v.kind === "string" ? spec.tagged[v.kind] : undefined;
    if (!variant) return bad(`kind must be one of ${Object.keys(spec.tagged).join(", ")}`);
    const { kind: _kind, ...rest } = v;
    return checkFields(variant, rest, path, out);
  }
  if (!isObj(v)) return bad("expected a table");
  checkFields(spec.table, v, path, out);
}

function checkFields(fields: Fields, v: Record<string, unknown>, path: string, out: SchemaProblem[]): void {
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(v)) if (!(k in fields)) out.push({ path: at(k), kind: "unknown_field", message: "unknown field" });
  for (const [k, [spec, need]] of Object.entries(fields)) {
    if (v[k] === undefined) {
      if (need === "required") out.push({ path: at(k), kind: "missing_field", message: "missing field" });
      continue;
    }
    check(spec, v[k], at(k), out);
  }
}

/** Everything an upstream host's parser would refuse in `toml` (empty: it parses). */
export function strictUpstreamParse(toml: string): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  checkFields(ROOT, parse(toml) as Record<string, unknown>, "", out);
  return out;
}
