import { matchTopic } from "../broker/index.js";

/** The topics a plugin may publish on and the topics it is sent, derived from its channels. */
export interface Allowlist {
  /** Patterns the plugin may publish on (`broker.publish`). */
  readonly inbound: readonly string[];
  /** Patterns the host forwards to the plugin as `broker.event`, and that `broker.subscribe` may ask for. */
  readonly outbound: readonly string[];
}

/**
 * Per channel kind K (docs/contract.md, Broker bridge): outbound `plugin.outbound.K[.>]`,
 * inbound `plugin.inbound.K[.>]` plus (Nexo) `plugin.delivery.K[.>]`.
 * With an instance label I (pattern 8) every pattern narrows to `<prefix>.K.I[.>]`
 * so one instance can never speak for another.
 * Each topic-form tool N the plugin serves adds exactly `plugin.tool.N.reply`
 * to inbound (no wildcard): a plugin may answer its own tools and no one else's.
 * `extra` are the manifest's own patterns (`[plugin.capabilities.broker]`
 * subscribe/publish, `[plugin.subscriptions] broker_topics`), added as declared.
 */
export function deriveAllowlist(
  channelKinds: readonly string[],
  instance?: string,
  topicTools: readonly string[] = [],
  extra: { subscribe: readonly string[]; publish: readonly string[] } = { subscribe: [], publish: [] },
): Allowlist {
  const inbound: string[] = [];
  const outbound: string[] = [];
  for (const kind of channelKinds) {
    const k = instance ? `${kind}.${instance}` : kind;
    outbound.push(`plugin.outbound.${k}`, `plugin.outbound.${k}.>`);
    inbound.push(`plugin.inbound.${k}`, `plugin.inbound.${k}.>`, `plugin.delivery.${k}`, `plugin.delivery.${k}.>`);
  }
  for (const name of topicTools) inbound.push(toolReplyTopic(name));
  inbound.push(...extra.publish);
  outbound.push(...extra.subscribe);
  return { inbound: [...new Set(inbound)], outbound: [...new Set(outbound)] };
}

/** The topic a topic-form tool is called on (docs/writing-plugins.md, Tools): `plugin.tool.<name>`. */
export function toolCallTopic(name: string): string {
  return `plugin.tool.${name}`;
}

/** The topic its owning plugin answers on: `plugin.tool.<name>.reply`. */
export function toolReplyTopic(name: string): string {
  return `plugin.tool.${name}.reply`;
}

/**
 * True when `topic` speaks for a channel (`plugin.inbound.K...`,
 * `plugin.delivery.K...`) outside `own`, the channel patterns of the plugin's
 * own kinds: an extra publish pattern the operator granted (`plugin.>`, `>`)
 * never lets a plugin speak for a channel kind it does not own.
 */
export function isForeignChannelTopic(topic: string, own: readonly string[]): boolean {
  if (!topic.startsWith("plugin.inbound.") && !topic.startsWith("plugin.delivery.")) return false;
  return !isTopicAllowed(own, topic);
}

/** True when `topic` matches one of `patterns`. */
export function isTopicAllowed(patterns: readonly string[], topic: string): boolean {
  for (const p of patterns) if (matchTopic(p, topic)) return true;
  return false;
}

/**
 * True when every topic `pattern` can match is matched by `allowed`
 * (used to vet `broker.subscribe` requests against the outbound allowlist).
 */
export function patternCovers(allowed: string, pattern: string): boolean {
  const a = allowed.split(".");
  const p = pattern.split(".");
  for (let i = 0; i < a.length; i++) {
    const seg = a[i];
    if (seg === ">") return i < p.length; // `>` needs at least one remaining segment
    if (i >= p.length) return false;
    const ps = p[i];
    if (ps === ">") return false; // only an allowed `>` covers a requested `>`
    if (seg === "*") continue;
    if (ps === "*" || ps !== seg) return false;
  }
  return a.length === p.length;
}

/** True when `pattern` is covered by one of `patterns`. */
export function isPatternAllowed(patterns: readonly string[], pattern: string): boolean {
  for (const a of patterns) if (patternCovers(a, pattern)) return true;
  return false;
}
