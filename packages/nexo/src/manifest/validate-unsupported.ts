import { isObj, type Checker, type Obj } from "./checker.js";
import type { ManifestSandbox } from "./types.js";

/** A sandbox path: absolute, or under the plugin's state dir through the `${state_dir}` token. */
const STATE_DIR_TOKEN = "${state_dir}";

/** Sections whose presence asks for a host feature Nexo does not have; key lists follow upstream's schema. */
const REFUSED_WHEN_PRESENT: Array<[key: string, keys: string[], what: string]> = [
  ["poller", ["kinds", "broker_topic_prefix", "lifecycle", "max_concurrent_ticks", "tick_timeout_secs"], "[plugin.poller] (scheduled ticks sent over the broker)"],
  ["admin", ["method_prefix", "broker_topic_prefix", "timeout_seconds"], "[plugin.admin] (admin RPC forwarded over the broker)"],
  ["dashboard", ["layout", "auth_check"], "[plugin.dashboard] (setup-wizard dashboard)"],
  ["pairing", ["kind", "label", "instructions", "fields", "rpc_namespace", "instance_field", "adapter", "trigger"], "[plugin.pairing] (channel pairing UI)"],
];

/**
 * Every other upstream `[plugin.*]` section: validated, then accepted when it
 * asks nothing of the host (disabled, empty, or metadata), refused with rule
 * `unsupported` when it asks for a feature this host lacks. Never ignored.
 */
export function checkOtherSections(c: Checker, plugin: Obj): { sandbox?: ManifestSandbox } {
  c.boolean(plugin, "enabled_by_default", "plugin.enabled_by_default", false);
  for (const [key, keys, what] of REFUSED_WHEN_PRESENT) {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) continue;
    c.onlyKeys(t, `plugin.${key}`, keys);
    c.unsupported(`plugin.${key}`, what);
  }
  const listSection = (key: string, lists: string[], what: string): void => {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) return;
    c.onlyKeys(t, `plugin.${key}`, lists);
    const any = lists.some((l) => (Array.isArray(t[l]) ? (t[l] as unknown[]).length > 0 : isObj(t[l]) ? Object.keys(t[l] as Obj).length > 0 : false));
    if (any) c.unsupported(`plugin.${key}`, what);
  };
  listSection("advisors", ["register"], "[plugin.advisors] (tool advisors)");
  listSection("capability_gates", ["gate"], "[plugin.capability_gates] (setup capability gates)");
  listSection("ui", ["fields"], "[plugin.ui] (admin UI field hints)");
  listSection("contracts", ["provides", "consumes"], "[plugin.contracts] (inter-plugin contracts)");
  for (const key of ["agents", "skills"]) {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) continue;
    c.onlyKeys(t, `plugin.${key}`, key === "agents" ? ["contributes_dir", "allow_override"] : ["contributes_dir"]);
    if (key === "agents") c.boolean(t, "allow_override", "plugin.agents.allow_override", false);
    if (c.string(t, "contributes_dir", `plugin.${key}.contributes_dir`, false) !== undefined)
      c.unsupported(`plugin.${key}.contributes_dir`, `[plugin.${key}] contributes_dir (${key} contributed by a plugin)`);
  }
  const enabledFlag = (key: string, keys: string[], flag: string, what: string, extra?: (t: Obj) => void): void => {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) return;
    c.onlyKeys(t, `plugin.${key}`, keys);
    extra?.(t);
    if (c.boolean(t, flag, `plugin.${key}.${flag}`, false)) c.unsupported(`plugin.${key}.${flag}`, what);
  };
  const sandbox = checkSandbox(c, plugin);
  enabledFlag("credentials_schema", ["enabled", "accounts_shape"], "enabled", "[plugin.credentials_schema] enabled = true (a credential store served by the plugin)", (t) => {
    c.oneOf(t, "accounts_shape", "plugin.credentials_schema.accounts_shape", ["object", "array"], "object");
  });
  enabledFlag("public_tunnel", ["enabled", "close_on_event"], "enabled", "[plugin.public_tunnel] enabled = true (a public internet tunnel)", (t) => {
    c.string(t, "close_on_event", "plugin.public_tunnel.close_on_event", false);
  });
  enabledFlag("metrics", ["prometheus", "broker_topic_prefix", "timeout_seconds"], "prometheus", "[plugin.metrics] prometheus = true (a /metrics scrape over the broker)", (t) => {
    c.string(t, "broker_topic_prefix", "plugin.metrics.broker_topic_prefix", false);
    c.integer(t, "timeout_seconds", "plugin.metrics.timeout_seconds", 1, 3600, 5);
  });
  const meta = c.table(plugin, "meta", "plugin.meta");
  if (meta) {
    c.onlyKeys(meta, "plugin.meta", ["author", "license", "homepage", "repository"]);
    for (const k of ["author", "license", "homepage", "repository"]) c.string(meta, k, `plugin.meta.${k}`, false);
  }
  if (c.table(plugin, "http_server", "plugin.http_server")) {
    c.warnings.push("[plugin.http_server] describes a port the plugin binds by itself; like upstream, the host neither binds, checks nor proxies it");
  }
  if (plugin.conformance !== undefined) {
    c.warnings.push("[plugin.conformance] in the manifest is deprecated: move it to nexo-conformance.toml beside the manifest (upstream hosts refuse unknown sections)");
  }
  return sandbox ? { sandbox } : {};
}

/** `[plugin.sandbox]`: enforced by the host (docs/sandbox.md); paths must be absolute or start with `${state_dir}`. */
function checkSandbox(c: Checker, plugin: Obj): ManifestSandbox | undefined {
  const t = c.table(plugin, "sandbox", "plugin.sandbox");
  if (!t) return undefined;
  c.onlyKeys(t, "plugin.sandbox", ["enabled", "network", "fs_read_paths", "fs_write_paths", "drop_user"]);
  const paths = (key: string): string[] =>
    c.stringArray(t, key, `plugin.sandbox.${key}`).filter((p, i) => {
      const ok =
        (p.startsWith("/") || p === STATE_DIR_TOKEN || p.startsWith(`${STATE_DIR_TOKEN}/`)) &&
        !p.includes("\0") &&
        !p.split("/").includes("..") &&
        !(p.startsWith(STATE_DIR_TOKEN) ? p.slice(STATE_DIR_TOKEN.length) : p).includes("${");
      if (!ok) c.add(`plugin.sandbox.${key}[${i}]`, "path", `${JSON.stringify(p)} must be an absolute path or start with ${STATE_DIR_TOKEN}, without .. segments`);
      return ok;
    });
  return {
    enabled: c.boolean(t, "enabled", "plugin.sandbox.enabled", false),
    network: c.oneOf(t, "network", "plugin.sandbox.network", ["deny", "host"], "deny"),
    fsReadPaths: paths("fs_read_paths"),
    fsWritePaths: paths("fs_write_paths"),
    dropUser: c.boolean(t, "drop_user", "plugin.sandbox.drop_user", true),
  };
}
