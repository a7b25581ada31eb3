import { isObj, type Obj } from "./checker.js";

/** Top-level tables only the legacy (v1) manifest shape has. */
const V1_TOP_LEVEL = ["transport", "capabilities", "meta", "mcp_servers", "outbound_bindings", "context", "requires"];

/** A legacy manifest converted to the current shape, and what had no place in it. */
export interface V1Conversion {
  raw: Obj;
  /** Legacy fields dropped, as upstream drops them (dotted names). */
  dropped: string[];
}

/**
 * Is `raw` a legacy (`manifest_version = 1`) manifest? Explicitly so, or
 * without `manifest_version` but with one of the flat top-level tables only
 * v1 had (`[transport]`, `[capabilities]`, ...). Upstream parses as v2 first
 * and falls back to v1 the same way.
 */
export function isV1Manifest(raw: Obj): boolean {
  if (raw.manifest_version === 1) return true;
  if (raw.manifest_version !== undefined) return false;
  return V1_TOP_LEVEL.some((k) => k in raw);
}

const nonEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : isObj(v) ? Object.keys(v).length > 0 : v !== undefined && v !== false && v !== 0);

/**
 * Convert a legacy manifest the way upstream's compat layer does:
 * `[plugin] min_agent_version` becomes `min_nexo_version`; a stdio
 * `[transport]` becomes `[plugin.entrypoint]`; `[capabilities.admin]`,
 * `[capabilities.http_server]` and `[meta]` move under `[plugin]`. Fields
 * without a home (nats/http transports, `capabilities.tools/hooks/channels/
 * providers/pollers/broker`, `mcp_servers`, `outbound_bindings`,
 * `context.passthrough`, `requires.bins/env`, `plugin.priority`) are dropped
 * and listed, so the caller can warn. Unknown v1 keys are kept where they are:
 * the validator then names them.
 */
export function convertV1Manifest(raw: Obj): V1Conversion {
  const dropped: string[] = [];
  const legacyPlugin = isObj(raw.plugin) ? raw.plugin : {};
  const plugin: Obj = {};
  for (const [k, v] of Object.entries(legacyPlugin)) {
    if (k === "min_agent_version") plugin.min_nexo_version = v;
    else if (k === "priority") {
      if (nonEmpty(v)) dropped.push("plugin.priority");
    } else plugin[k] = v;
  }
  const out: Obj = { manifest_version: 2, plugin };

  const transport = raw.transport;
  if (isObj(transport)) {
    if (transport.kind === "stdio") {
      const ep: Obj = {};
      if (transport.command !== undefined) ep.command = transport.command;
      if (transport.args !== undefined) ep.args = transport.args;
      plugin.entrypoint = ep;
    } else dropped.push(`transport.kind=${String(transport.kind)}`);
  } else if (transport !== undefined) plugin.entrypoint = transport; // let the validator name the bad type

  const caps = raw.capabilities;
  if (isObj(caps)) {
    const moved: Obj = {};
    for (const [k, v] of Object.entries(caps)) {
      if (k === "admin" || k === "http_server") moved[k] = v;
      else if (["tools", "hooks", "channels", "providers", "pollers", "broker"].includes(k)) {
        if (nonEmpty(v)) dropped.push(`capabilities.${k}`);
      } else moved[k] = v;
    }
    if (Object.keys(moved).length) plugin.capabilities = moved;
  }
  if (raw.meta !== undefined) plugin.meta = raw.meta;
  for (const k of ["mcp_servers", "outbound_bindings"]) if (nonEmpty(raw[k])) dropped.push(k);
  if (isObj(raw.context) && raw.context.passthrough === true) dropped.push("context.passthrough");
  if (isObj(raw.requires)) {
    for (const k of ["bins", "env"]) if (nonEmpty(raw.requires[k])) dropped.push(`requires.${k}`);
  }
  // Anything else at the top level stays, so a typo in a legacy file is still reported.
  for (const [k, v] of Object.entries(raw)) {
    if (k !== "manifest_version" && k !== "plugin" && !V1_TOP_LEVEL.includes(k)) out[k] = v;
  }
  return { raw: out, dropped };
}
