// The Telegram Bot API on loopback, as far as a bot needs it:
// /bot<token>/getUpdates (long polling with `timeout`; `offset` confirms every
// update below it; a second concurrent poller ends the first with 409 Conflict)
// and /bot<token>/sendMessage. Parameters as JSON body, form body or query
// string; replies {ok, result} or {ok: false, error_code, description}.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Bot {
  id: number;
  username: string;
  updates: Array<{ update_id: number; message: Record<string, unknown> }>;
  nextUpdateId: number;
  nextMessageId: number;
  /** The long poll being held, if any. */
  waiter?: { res: ServerResponse; offset: number; timer: NodeJS.Timeout };
  /** Every getUpdates call: its offset and timeout. */
  polls: Array<{ offset: number | null; timeout: number }>;
  sent: Array<{ chat_id: number | string; text: string; message_id: number }>;
}

export class FakeTelegram {
  /** Requests with a token the fake does not know. */
  unauthorized = 0;
  private readonly bots = new Map<string, Bot>();
  private readonly server = createServer((req, res) => void this.handle(req, res));

  static async start(tokens: Record<string, string>): Promise<FakeTelegram> {
    const f = new FakeTelegram();
    let id = 1000;
    for (const [name, token] of Object.entries(tokens)) {
      f.bots.set(token, { id: id++, username: `${name}_bot`, updates: [], nextUpdateId: 500_000 + id * 1000, nextMessageId: 1, polls: [], sent: [] });
    }
    await new Promise<void>((resolve) => f.server.listen(0, "127.0.0.1", resolve));
    return f;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A user writes to the bot with this token; returns the update id. */
  userSays(token: string, chatId: number, text: string): number {
    const bot = this.bot(token);
    const update_id = bot.nextUpdateId++;
    bot.updates.push({
      update_id,
      message: {
        message_id: bot.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: "private", first_name: "Ada" },
        from: { id: chatId, is_bot: false, first_name: "Ada", username: "ada" },
        text,
      },
    });
    this.wake(bot);
    return update_id;
  }

  polls(token: string): Bot["polls"] {
    return this.bot(token).polls;
  }

  sent(token: string): Bot["sent"] {
    return this.bot(token).sent;
  }

  /** Updates not confirmed yet (Telegram would send them again). */
  pending(token: string): number[] {
    return this.bot(token).updates.map((u) => u.update_id);
  }

  /** True while a long poll of this bot is being held. */
  isPolling(token: string): boolean {
    return this.bot(token).waiter !== undefined;
  }

  async close(): Promise<void> {
    for (const bot of this.bots.values()) if (bot.waiter) clearTimeout(bot.waiter.timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private bot(token: string): Bot {
    const b = this.bots.get(token);
    if (!b) throw new Error("unknown bot");
    return b;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    let raw = "";
    for await (const c of req) raw += c;
    if (!m) return reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const bot = this.bots.get(decodeURIComponent(m[1]));
    if (!bot) {
      this.unauthorized += 1;
      return reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    const params: Record<string, any> = Object.fromEntries(url.searchParams);
    const type = req.headers["content-type"] ?? "";
    try {
      if (type.startsWith("application/json") && raw) Object.assign(params, JSON.parse(raw));
      else if (type.startsWith("application/x-www-form-urlencoded")) Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
    } catch {
      return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: can't parse JSON" });
    }
    switch (m[2]) {
      case "getUpdates":
        return this.getUpdates(bot, params, res);
      case "sendMessage": {
        const text = typeof params.text === "string" ? params.text : "";
        if (params.chat_id === undefined) return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: chat_id is empty" });
        if (!text) return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: message text is empty" });
        const message_id = bot.nextMessageId++;
        bot.sent.push({ chat_id: params.chat_id, text, message_id });
        return reply(res, 200, {
          ok: true,
          result: {
            message_id,
            date: Math.floor(Date.now() / 1000),
            chat: { id: Number(params.chat_id), type: "private" },
            from: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username },
            text,
          },
        });
      }
      default:
        return reply(res, 404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  }

  private getUpdates(bot: Bot, params: Record<string, any>, res: ServerResponse): void {
    const offset = params.offset === undefined ? null : Number(params.offset);
    const timeout = Number(params.timeout ?? 0);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    bot.polls.push({ offset, timeout });
    if (bot.waiter) {
      // Telegram allows one poller per bot: the older request loses.
      clearTimeout(bot.waiter.timer);
      reply(bot.waiter.res, 409, { ok: false, error_code: 409, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" });
      bot.waiter = undefined;
    }
    if (offset !== null) bot.updates = bot.updates.filter((u) => u.update_id >= offset);
    const ready = bot.updates.slice(0, limit);
    if (ready.length > 0 || timeout <= 0) return reply(res, 200, { ok: true, result: ready });
    const timer = setTimeout(() => {
      bot.waiter = undefined;
      reply(res, 200, { ok: true, result: [] });
    }, timeout * 1000);
    bot.waiter = { res, offset: offset ?? 0, timer };
    res.once("close", () => {
      if (bot.waiter?.res === res) {
        clearTimeout(timer);
        bot.waiter = undefined;
      }
    });
  }

  private wake(bot: Bot): void {
    const w = bot.waiter;
    if (!w) return;
    clearTimeout(w.timer);
    bot.waiter = undefined;
    reply(w.res, 200, { ok: true, result: bot.updates.filter((u) => u.update_id >= w.offset).slice(0, 100) });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
