// Plugin pattern 7 (outbound-only with delivery status): every event on
// plugin.outbound.sms[.x] ({to, body, from?}) is sent through a Twilio-shaped
// Messages API, and the outcome is published on plugin.delivery.sms[.x] with the
// outbound event's correlation id: the provider's message id and status, or a
// failed delivery with a reason (invalid request, 4xx, 5xx, timeout, network).
import { readFileSync } from "node:fs";
import { Event, PluginAdapter, type BrokerSender } from "nexo-plugin-sdk";
import { isE164, parseConfig, type SmsConfig } from "./config.js";
import { sendSms, type SendResult, type SmsRequest } from "./twilio-client.js";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");
const SOURCE = "sms_outbound";
/** Twilio's limit for one message body, in characters. */
const MAX_BODY_CHARS = 1600;

const log = (message: string): void => void process.stderr.write(`[${SOURCE}] ${message}\n`);
/** Phone numbers are personal data: the log keeps the last four digits only. */
const mask = (n: string): string => (n.length > 4 ? `${"*".repeat(n.length - 4)}${n.slice(-4)}` : "****");

let cfg: SmsConfig | undefined;
const inflight = new Set<Promise<void>>();
/** Aborts sends still running when shutdown gives up waiting for them. */
const abandon = new AbortController();

function parseOutbound(payload: unknown, defaultFrom: string): SmsRequest | string {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return "payload must be an object {to, body, from?}";
  const p = payload as Record<string, unknown>;
  if (!isE164(p.to)) return "to must be an E.164 number like +15551234567";
  if (typeof p.body !== "string" || p.body.length === 0) return "body must be a non-empty string";
  if ([...p.body].length > MAX_BODY_CHARS) return `body is longer than ${MAX_BODY_CHARS} characters`;
  if (p.from !== undefined && !isE164(p.from)) return "from, when given, must be an E.164 number";
  return { to: p.to, body: p.body, from: (p.from as string | undefined) ?? defaultFrom };
}

async function report(broker: BrokerSender, outTopic: string, outbound: Event, to: unknown, result: SendResult): Promise<void> {
  const topic = outTopic.replace("plugin.outbound.", "plugin.delivery.");
  const payload = result.ok
    ? { ok: true, status: result.status, provider: "twilio", provider_id: result.providerId, to, http_status: result.httpStatus, outbound_event_id: outbound.id }
    : {
        ok: false,
        status: "failed",
        provider: "twilio",
        provider_id: null,
        to: typeof to === "string" ? to : null,
        reason: result.reason,
        http_status: result.httpStatus,
        error_code: result.errorCode,
        error_message: result.errorMessage,
        retryable: result.retryable,
        outbound_event_id: outbound.id,
      };
  const ev = Event.new(topic, SOURCE, payload, { correlationId: outbound.correlation_id ?? outbound.id, sessionId: outbound.session_id });
  await broker.publish(topic, ev);
}

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  onConfigure: (value) => {
    cfg = parseConfig(value);
    log(`sending through ${cfg.apiBaseUrl} as ${cfg.accountSid} (${cfg.maxConcurrency} at a time, ${cfg.timeoutMs} ms timeout)`);
  },
  // Events are handed over in order; sends then run concurrently up to max_concurrency,
  // and this handler waits for a free slot, so the SDK's queue is the only backlog.
  onEvent: async (topic, event, broker) => {
    if (!topic.startsWith("plugin.outbound.sms")) return;
    const to = (event.payload as { to?: unknown } | null)?.to;
    if (!cfg) {
      await report(broker, topic, event, to, {
        ok: false,
        reason: "not_configured",
        httpStatus: null,
        errorCode: null,
        errorMessage: "the plugin has no configuration",
        retryable: false,
      });
      return;
    }
    const msg = parseOutbound(event.payload, cfg.from);
    if (typeof msg === "string") {
      log(`refused outbound event ${event.id}: ${msg}`);
      await report(broker, topic, event, to, { ok: false, reason: "invalid_request", httpStatus: null, errorCode: null, errorMessage: msg, retryable: false });
      return;
    }
    while (inflight.size >= cfg.maxConcurrency) await Promise.race(inflight);
    const config = cfg;
    const job = (async () => {
      const result = await sendSms(config, msg, abandon.signal);
      log(
        result.ok
          ? `sent ${result.providerId} to ${mask(msg.to)}: ${result.status}`
          : `send to ${mask(msg.to)} failed: ${result.reason}${result.httpStatus ? ` (HTTP ${result.httpStatus}${result.errorCode ? `, code ${result.errorCode}` : ""})` : ""}`,
      );
      await report(broker, topic, event, msg.to, result);
    })()
      .catch((err: unknown) => log(`delivery report not published: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => inflight.delete(job));
    inflight.add(job);
  },
  onShutdown: async () => {
    if (inflight.size === 0) return;
    const waitMs = cfg?.shutdownWaitMs ?? 0;
    log(`waiting up to ${waitMs} ms for ${inflight.size} send(s) in flight`);
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([Promise.all(inflight).then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), waitMs)))]);
    clearTimeout(timer);
    if (!done) {
      // Still unanswered: report them as failed ("shutdown") rather than leave the agent waiting.
      abandon.abort();
      await Promise.all(inflight);
    }
  },
});

await adapter.run();
