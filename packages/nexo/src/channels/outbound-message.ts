import { ErrorCodes, NexoError } from "../errors.js";

/** Kinds of outbound message the contract names (`msg.kind`). */
export const MESSAGE_KINDS = ["text", "media", "custom"] as const;

/**
 * A message for `channel.send_outbound {kind, msg}`: `msg.kind` is `text`
 * (`to`, `body`), `media` (`to`, `url`, optional `mime`, `caption`) or
 * `custom` (anything the channel plugin understands). Other fields travel as given.
 */
export interface OutboundMessage {
  kind: (typeof MESSAGE_KINDS)[number];
  to?: string | number | null;
  body?: string;
  [field: string]: unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `msg` checked: NEXO_ERR_CHANNEL_INVALID_MESSAGE names what is wrong. */
export function checkOutboundMessage(msg: unknown, where: string): OutboundMessage {
  if (!isObj(msg))
    throw invalid(`${where}: the message must be an object such as {kind: "text", to, body}, got ${Array.isArray(msg) ? "an array" : msg === null ? "null" : typeof msg}`);
  if (!(MESSAGE_KINDS as readonly unknown[]).includes(msg.kind)) {
    throw invalid(`${where}: msg.kind must be one of ${MESSAGE_KINDS.join(", ")}, got ${JSON.stringify(msg.kind)}`);
  }
  if (msg.kind === "text" && typeof msg.body !== "string") throw invalid(`${where}: a text message needs a string body, got ${typeof msg.body}`);
  return msg as OutboundMessage;
}

/**
 * The message an outbound event stands for. A payload that is already a
 * message (`kind` text | media | custom) is sent as it is; one with a string
 * `text` or `body` (what a workflow usually returns) becomes a text message to
 * its `to` (or `chat_id`); anything else travels as `{kind: "custom", payload}`.
 */
export function messageFromPayload(payload: unknown): OutboundMessage {
  if (isObj(payload) && (MESSAGE_KINDS as readonly unknown[]).includes(payload.kind)) return payload as OutboundMessage;
  if (isObj(payload)) {
    const body = typeof payload.text === "string" ? payload.text : typeof payload.body === "string" ? payload.body : undefined;
    if (body !== undefined) {
      const to = payload.to ?? payload.chat_id ?? null;
      return { kind: "text", to: typeof to === "string" || typeof to === "number" ? to : null, body };
    }
  }
  if (typeof payload === "string") return { kind: "text", to: null, body: payload };
  return { kind: "custom", payload };
}

function invalid(message: string): NexoError {
  return new NexoError(ErrorCodes.CHANNEL_INVALID_MESSAGE, message);
}
