/** A Telegram user or bot, as the Bot API sends it. */
export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}

/** The parts of a Bot API `Message` this plugin uses. */
export interface TgMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: string; title?: string; username?: string };
  from?: TgUser;
  text?: string;
}

/** A Bot API `Update`. */
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  edited_message?: TgMessage;
}

/** A Bot API error reply (`ok: false`), with the `retry_after` of a 429. */
export class BotApiError extends Error {
  constructor(
    readonly method: string,
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfterSecs?: number,
  ) {
    super(`${method} failed: ${errorCode} ${description}`);
  }
}

/**
 * The Telegram Bot API over HTTPS (`{base}/bot<token>/<method>`, JSON in, `{ok, result}` out).
 * The token is part of every URL, so nothing here ever puts a URL in an error
 * message, and `redact` scrubs it from anything else before it is logged.
 */
export class BotApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Replace the token wherever it occurs in `text`. */
  redact(text: string): string {
    return this.token ? text.split(this.token).join("<token>") : text;
  }

  getUpdates(params: { offset?: number; timeout: number; limit?: number; allowed_updates?: string[] }, signal: AbortSignal): Promise<TgUpdate[]> {
    return this.call<TgUpdate[]>("getUpdates", params, signal);
  }

  sendMessage(params: { chat_id: number | string; text: string; reply_to_message_id?: number; parse_mode?: string }, signal: AbortSignal): Promise<TgMessage> {
    return this.call<TgMessage>("sendMessage", params, signal);
  }

  private async call<T>(method: string, params: unknown, signal: AbortSignal): Promise<T> {
    let res: Response;
    let body: { ok?: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      res = await fetch(`${this.baseUrl}/bot${this.token}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal,
        redirect: "error",
      });
      body = (await res.json()) as typeof body;
    } catch (err) {
      if (signal.aborted) throw err;
      // undici's "fetch failed" keeps the reason in `cause` (e.g. ECONNREFUSED host:port); never the URL.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      // eslint-disable-next-line preserve-caught-error -- the caught error names the URL, which holds the bot token
      throw new Error(`${method}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (!body || body.ok !== true) {
      throw new BotApiError(method, body?.error_code ?? res.status, body?.description ?? `HTTP ${res.status}`, body?.parameters?.retry_after);
    }
    return body.result as T;
  }
}
