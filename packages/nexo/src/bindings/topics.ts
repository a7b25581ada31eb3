/** Prefix of every topic a binding may listen on. */
export const INBOUND_PREFIX = "plugin.inbound.";
const OUTBOUND_PREFIX = "plugin.outbound.";

/**
 * `outbound: auto`: `plugin.inbound.<kind>[.<instance>][.rest]` becomes
 * `plugin.outbound.<kind>[.<instance>][.rest]`; only the second segment changes.
 * @example autoOutboundTopic("plugin.inbound.telegram.sales-bot") // "plugin.outbound.telegram.sales-bot"
 */
export function autoOutboundTopic(inboundTopic: string): string {
  if (!inboundTopic.startsWith(INBOUND_PREFIX)) throw new TypeError(`not an inbound topic: ${inboundTopic}`);
  return OUTBOUND_PREFIX + inboundTopic.slice(INBOUND_PREFIX.length);
}

/** The channel kind of `plugin.inbound.<kind>...`: the workflow's `ctx.channel`. */
export function channelOfTopic(topic: string): string {
  return topic.split(".")[2] ?? "binding";
}
