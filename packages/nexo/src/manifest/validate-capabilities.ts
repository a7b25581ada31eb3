import { isIP } from "node:net";
import { validatePattern } from "../broker/index.js";
import { ENV_NAME_PATTERN, type Checker, type Obj } from "./checker.js";
import type { PluginManifest } from "./types.js";

/** Upstream's `[plugin.capabilities] provides` vocabulary. */
const PROVIDES = ["tools", "advisors", "agents", "skills", "channels", "hooks", "mcp_servers", "webhooks", "poller_drivers", "llm_providers"];

/** `[plugin.requires]`: nexo_capabilities, bins and env (checked when the plugin starts), features (informational, as upstream). */
export function checkRequires(c: Checker, plugin: Obj): PluginManifest["requires"] {
  const requires = c.table(plugin, "requires", "plugin.requires") ?? {};
  c.onlyKeys(requires, "plugin.requires", ["nexo_capabilities", "bins", "env", "features"]);
  const nexoCapabilities = c.stringArray(requires, "nexo_capabilities", "plugin.requires.nexo_capabilities");
  const bins = c.stringArray(requires, "bins", "plugin.requires.bins").filter((b, i) => {
    if (b.trim() === "") c.add(`plugin.requires.bins[${i}]`, "non_empty", "must not be empty");
    else if (c.noNul(b, `plugin.requires.bins[${i}]`)) return true;
    return false;
  });
  const env = c.envNames(requires, "env", "plugin.requires.env");
  c.stringArray(requires, "features", "plugin.requires.features");
  return { nexoCapabilities, bins, env };
}
/**
 * `[plugin.capabilities]`: `http_server` (Nexo's reverse proxy target;
 * `token_env` and `extra_env_passthrough` name daemon variables the plugin
 * is given), `broker` (extra subscribe/publish patterns for the allowlist),
 * `provides` (declarative). `admin` grants and contributed `skills` need host
 * features Nexo does not have: refused.
 */
export function checkCapabilities(c: Checker, plugin: Obj): { httpServer?: PluginManifest["httpServer"]; broker: PluginManifest["broker"]; passEnv: string[] } {
  const broker = { subscribe: [] as string[], publish: [] as string[] };
  const passEnv: string[] = [];
  const caps = c.table(plugin, "capabilities", "plugin.capabilities");
  if (!caps) return { broker, passEnv };
  c.onlyKeys(caps, "plugin.capabilities", ["provides", "admin", "http_server", "skills", "broker"]);
  c.stringArray(caps, "provides", "plugin.capabilities.provides").forEach((p, i) => {
    if (!PROVIDES.includes(p)) c.add(`plugin.capabilities.provides[${i}]`, "value", `must be one of ${PROVIDES.join(", ")}, got ${JSON.stringify(p)}`);
  });
  const admin = c.table(caps, "admin", "plugin.capabilities.admin");
  if (admin) {
    c.onlyKeys(admin, "plugin.capabilities.admin", ["required", "optional"]);
    const wanted = [...c.stringArray(admin, "required", "plugin.capabilities.admin.required"), ...c.stringArray(admin, "optional", "plugin.capabilities.admin.optional")];
    if (wanted.length) c.unsupported("plugin.capabilities.admin", "[plugin.capabilities.admin] (admin RPC grants)");
  }
  if (c.stringArray(caps, "skills", "plugin.capabilities.skills").length) c.unsupported("plugin.capabilities.skills", "[plugin.capabilities] skills (contributed agent skills)");
  const b = c.table(caps, "broker", "plugin.capabilities.broker");
  if (b) {
    c.onlyKeys(b, "plugin.capabilities.broker", ["subscribe", "publish"]);
    for (const key of ["subscribe", "publish"] as const) {
      c.stringArray(b, key, `plugin.capabilities.broker.${key}`).forEach((p, i) => {
        try {
          validatePattern(p);
          broker[key].push(p);
        } catch (err) {
          c.add(`plugin.capabilities.broker.${key}[${i}]`, "topic_pattern", (err as Error).message);
        }
      });
    }
  }
  const hs = c.table(caps, "http_server", "plugin.capabilities.http_server");
  if (!hs) return { broker, passEnv };
  c.onlyKeys(hs, "plugin.capabilities.http_server", ["port", "bind", "health_path", "token_env", "extra_env_passthrough"]);
  const port = c.integer(hs, "port", "plugin.capabilities.http_server.port", 0, 65535, 0);
  const bind = c.string(hs, "bind", "plugin.capabilities.http_server.bind", false) ?? "127.0.0.1";
  if (isIP(bind) === 0) c.add("plugin.capabilities.http_server.bind", "ip_address", `${JSON.stringify(bind)} must be an IP address`);
  else if (bind !== "127.0.0.1" && bind !== "::1") c.warnings.push(`http_server binds ${bind}, not loopback: reachable from outside the daemon`);
  const healthPath = c.string(hs, "health_path", "plugin.capabilities.http_server.health_path", false) ?? "/health";
  if (!healthPath.startsWith("/")) c.add("plugin.capabilities.http_server.health_path", "path", "must start with /");
  const tokenEnv = c.string(hs, "token_env", "plugin.capabilities.http_server.token_env", false);
  if (tokenEnv !== undefined) {
    if (!ENV_NAME_PATTERN.test(tokenEnv)) c.add("plugin.capabilities.http_server.token_env", "env_name", `${JSON.stringify(tokenEnv)} is not a valid environment variable name`);
    else passEnv.push(tokenEnv);
  }
  passEnv.push(...c.envNames(hs, "extra_env_passthrough", "plugin.capabilities.http_server.extra_env_passthrough"));
  return { httpServer: { port, bind, healthPath, ...(tokenEnv !== undefined ? { tokenEnv } : {}) }, broker, passEnv };
}
/** `[plugin.subscriptions] broker_topics`: patterns forwarded to the plugin (added to its subscribe allowlist). */
export function checkSubscriptions(c: Checker, plugin: Obj): string[] {
  const s = c.table(plugin, "subscriptions", "plugin.subscriptions");
  if (!s) return [];
  c.onlyKeys(s, "plugin.subscriptions", ["broker_topics"]);
  const out: string[] = [];
  c.stringArray(s, "broker_topics", "plugin.subscriptions.broker_topics").forEach((p, i) => {
    try {
      validatePattern(p);
      out.push(p);
    } catch (err) {
      c.add(`plugin.subscriptions.broker_topics[${i}]`, "topic_pattern", (err as Error).message);
    }
  });
  return out;
}
