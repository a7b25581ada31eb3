// Twilio's Messages API on loopback, as far as sending goes:
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To/From/Body,
// HTTP Basic auth (account sid : auth token), 201 with a Message resource, or
// Twilio's JSON error body {code, message, more_info, status}. Twilio's magic
// test number +15005550001 is refused as invalid (21211, as Twilio's test
// credentials do); +15005550500 gets a 500; +15005550408 is never answered.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const INVALID_NUMBER = "+15005550001";
export const SERVER_ERROR_NUMBER = "+15005550500";
export const HANGING_NUMBER = "+15005550408";

/** One request the fake received. */
export interface ReceivedRequest {
  accountSid: string;
  authorized: boolean;
  contentType: string | undefined;
  form: Record<string, string>;
}

export class FakeTwilio {
  readonly requests: ReceivedRequest[] = [];
  /** Messages accepted: sid -> form. */
  readonly messages = new Map<string, Record<string, string>>();
  /** Requests being held (HANGING_NUMBER). */
  hanging = 0;
  private readonly server = createServer((req, res) => void this.handle(req, res));

  private constructor(
    readonly accountSid: string,
    /** The token the fake accepts; change it to simulate a rotated credential. */
    public authToken: string,
  ) {}

  static async start(accountSid: string, authToken: string): Promise<FakeTwilio> {
    const f = new FakeTwilio(accountSid, authToken);
    await new Promise<void>((resolve) => f.server.listen(0, "127.0.0.1", resolve));
    return f;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) return this.error(res, 404, 20404, "The requested resource was not found");
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const accountSid = decodeURIComponent(m[1]);
    const [user, pass] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    const authorized = user === this.accountSid && pass === this.authToken && accountSid === this.accountSid;
    const form = Object.fromEntries(new URLSearchParams(raw));
    this.requests.push({ accountSid, authorized, contentType: req.headers["content-type"], form });
    if (!authorized) return this.error(res, 401, 20003, "Authenticate");
    if (!req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) return this.error(res, 400, 20001, "Invalid content type");
    if (!form.To) return this.error(res, 400, 21604, "A 'To' phone number is required.");
    if (!form.From) return this.error(res, 400, 21603, "A 'From' phone number is required.");
    if (!form.Body) return this.error(res, 400, 21602, "Message body is required.");
    if (form.To === INVALID_NUMBER) return this.error(res, 400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    if (form.To === SERVER_ERROR_NUMBER) return this.error(res, 500, 20500, "An internal server error has occurred");
    if (form.To === HANGING_NUMBER) {
      this.hanging += 1;
      res.once("close", () => (this.hanging -= 1));
      return;
    }
    const sid = `SM${randomBytes(16).toString("hex")}`;
    this.messages.set(sid, form);
    const now = new Date().toUTCString().replace("GMT", "+0000");
    res.writeHead(201, { "content-type": "application/json" }).end(
      JSON.stringify({
        sid,
        account_sid: this.accountSid,
        to: form.To,
        from: form.From,
        body: form.Body,
        status: "queued",
        num_segments: "1",
        direction: "outbound-api",
        api_version: "2010-04-01",
        date_created: now,
        date_updated: now,
        date_sent: null,
        error_code: null,
        error_message: null,
        price: null,
        uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
      }),
    );
  }

  private error(res: ServerResponse, status: number, code: number, message: string): void {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  }
}
