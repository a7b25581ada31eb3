// Plugin pattern 8 (provider abstraction, multi-instance): one Telegram bot per
// instance. The operator's nexo.yaml lists instances, each with its own
// `bot_token_env`; the host starts one process per instance with
// NEXO_PLUGIN_INSTANCE=<label> and BOT_TOKEN=<that bot's token>, and lets it use
// only plugin.*.telegram.<label>[.>]. Updates (Bot API getUpdates long polling)
// become events on plugin.inbound.telegram.<label>; events on
// plugin.outbound.telegram.<label> are sent with sendMessage and confirmed on
// plugin.delivery.telegram.<label>.
import { readFileSync } from "node:fs";
import { Event, PluginAdapter } from "nexo-plugin-sdk";
import { BotApi, BotApiError, type TgMessage } from "./bot-api.js";
import { resolveInstance, topicFor } from "./instance.js";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");
const SOURCE = "telegram";

const instance = resolveInstance(process.argv.slice(2), process.env);
const token = process.env.BOT_TOKEN ?? "";
const label = instance ?? "default";
const INBOUND = topicFor("plugin.inbound", instance);
const OUTBOUND = topicFor("plugin.outbound", instance);

interface BotConfig {
  apiBaseUrl: string;
  /** getUpdates long-poll wait, seconds (Telegram allows up to 50). */
  pollTimeoutSecs: number;
  /** Longest pause between failed polls, ms. */
  maxBackoffMs: number;
}

let api: BotApi | undefined;
let cfg: BotConfig | undefined;
/** Next update to ask for; everything below is confirmed to Telegram by the next getUpdates. */
let offset: number | undefined;
let confirmed: number | undefined;
const stopping = new AbortController();
let polling: Promise<void> | undefined;

const log = (message: string): void => void process.stderr.write(`[${SOURCE}.${label}] ${api ? api.redact(message) : message}\n`);
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function parseConfig(value: unknown): BotConfig {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v !== "object" || Array.isArray(v)) throw new Error(`config must be a mapping, got ${JSON.stringify(value)}`);
  const known = ["api_base_url", "poll_timeout_secs", "max_backoff_ms"];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`unknown config key(s) ${unknown.join(", ")} (known: ${known.join(", ")})`);
  const base = v.api_base_url ?? "https://api.telegram.org";
  if (typeof base !== "string" || !/^https?:\/\/[^/]/.test(base)) throw new Error(`api_base_url must be an http(s) URL, got ${JSON.stringify(base)}`);
  const poll = v.poll_timeout_secs ?? 25;
  if (typeof poll !== "number" || !Number.isInteger(poll) || poll < 0 || poll > 50) throw new Error(`poll_timeout_secs must be an integer 0..50, got ${JSON.stringify(poll)}`);
  const backoff = v.max_backoff_ms ?? 30_000;
  if (typeof backoff !== "number" || !Number.isInteger(backoff) || backoff < 1) throw new Error(`max_backoff_ms must be a positive integer, got ${JSON.stringify(backoff)}`);
  return { apiBaseUrl: base.replace(/\/+$/, ""), pollTimeoutSecs: poll, maxBackoffMs: backoff };
}

function inboundPayload(updateId: number, m: TgMessage, edited: boolean): Record<string, unknown> {
  return {
    instance: label,
    update_id: updateId,
    message_id: m.message_id,
    chat_id: m.chat.id,
    chat_type: m.chat.type,
    from: m.from ? { id: m.from.id, username: m.from.username ?? null, first_name: m.from.first_name, is_bot: m.from.is_bot } : null,
    text: m.text ?? null,
    date: m.date,
    edited,
  };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

async function pollLoop(bot: BotApi, c: BotConfig): Promise<void> {
  let failures = 0;
  while (!stopping.signal.aborted) {
    try {
      // The HTTP deadline leaves the server its long-poll window plus slack.
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout((c.pollTimeoutSecs + 10) * 1000)]);
      const updates = await bot.getUpdates({ ...(offset !== undefined ? { offset } : {}), timeout: c.pollTimeoutSecs, allowed_updates: ["message", "edited_message"] }, signal);
      confirmed = offset;
      failures = 0;
      for (const u of updates) {
        offset = Math.max(offset ?? 0, u.update_id + 1);
        const m = u.message ?? u.edited_message;
        if (!m) continue;
        await adapter.broker.publish(INBOUND, Event.new(INBOUND, SOURCE, inboundPayload(u.update_id, m, !u.message), { sessionId: `telegram:${label}:${m.chat.id}` }));
      }
    } catch (err) {
      if (stopping.signal.aborted) break;
      failures += 1;
      const retryAfter = err instanceof BotApiError && err.retryAfterSecs ? err.retryAfterSecs * 1000 : undefined;
      const delay = retryAfter ?? Math.min(c.maxBackoffMs, 500 * 2 ** Math.min(failures - 1, 16)) * (0.8 + 0.4 * Math.random());
      log(`${errText(err)}; retrying in ${Math.round(delay)} ms (failure ${failures} in a row)`);
      await sleep(delay, stopping.signal);
    }
  }
}

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  onConfigure: (value) => {
    if (polling) throw new Error("reconfiguring a running bot is not supported; restart the plugin (nexo plugin restart)");
    if (!token) throw new Error(`no bot token: give the instance bot_token_env: <VAR> in nexo.yaml (the daemon passes $VAR as BOT_TOKEN)`);
    cfg = parseConfig(value);
    api = new BotApi(cfg.apiBaseUrl, token);
    log(`polling ${cfg.apiBaseUrl} for updates (instance ${label}, topics ${INBOUND} / ${OUTBOUND})`);
    polling = pollLoop(api, cfg);
  },
  onEvent: async (topic, event, broker) => {
    if (topic !== OUTBOUND && !topic.startsWith(`${OUTBOUND}.`)) return;
    const deliveryTopic = topic.replace("plugin.outbound.", "plugin.delivery.");
    const p = (event.payload ?? {}) as { chat_id?: unknown; text?: unknown; reply_to_message_id?: unknown; parse_mode?: unknown };
    const meta = { correlationId: event.correlation_id ?? event.id, sessionId: event.session_id };
    const fail = (error_code: number | null, description: string): Promise<void> =>
      broker.publish(
        deliveryTopic,
        Event.new(deliveryTopic, SOURCE, { ok: false, instance: label, chat_id: p.chat_id ?? null, error_code, description, outbound_event_id: event.id }, meta),
      );
    if ((typeof p.chat_id !== "number" && typeof p.chat_id !== "string") || typeof p.text !== "string" || p.text.length === 0) {
      return fail(null, "payload must be {chat_id, text, reply_to_message_id?, parse_mode?}");
    }
    if (!api) return fail(null, "the bot is not configured");
    try {
      const sent = await api.sendMessage(
        {
          chat_id: p.chat_id,
          text: p.text,
          ...(typeof p.reply_to_message_id === "number" ? { reply_to_message_id: p.reply_to_message_id } : {}),
          ...(typeof p.parse_mode === "string" ? { parse_mode: p.parse_mode } : {}),
        },
        AbortSignal.any([stopping.signal, AbortSignal.timeout(30_000)]),
      );
      await broker.publish(
        deliveryTopic,
        Event.new(deliveryTopic, SOURCE, { ok: true, instance: label, chat_id: sent.chat.id, message_id: sent.message_id, outbound_event_id: event.id }, meta),
      );
    } catch (err) {
      log(`sendMessage to chat ${String(p.chat_id)} failed: ${errText(err)}`);
      await fail(err instanceof BotApiError ? err.errorCode : null, api.redact(err instanceof BotApiError ? err.description : errText(err)));
    }
  },
  onShutdown: async () => {
    stopping.abort();
    await polling;
    // Confirm what was handed over, so the next start does not get it again from Telegram.
    if (api && offset !== undefined && offset !== confirmed) {
      try {
        await api.getUpdates({ offset, timeout: 0, limit: 1 }, AbortSignal.timeout(1000));
      } catch (err) {
        log(`could not confirm updates before ${offset}: ${errText(err)}`);
      }
    }
  },
});

await adapter.run();
