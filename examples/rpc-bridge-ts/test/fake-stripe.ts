// A loopback stand-in for the Stripe invoices API, speaking its real shapes:
// Bearer secret key, form-encoded POST bodies, Idempotency-Key, JSON invoices,
// and {error: {type, code, message, param}} bodies with Stripe's status codes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake received, as the test inspects it. */
export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  idempotencyKey: string | undefined;
  form: Record<string, string>;
}

export interface FakeStripe {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Customers the fake knows; `cus_busy` is always rate limited. */
const CUSTOMERS = new Set(["cus_ada", "cus_busy"]);

/** Stripe masks all but the last four characters of a key it echoes. */
function mask(key: string): string {
  return `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": `req_${Math.random().toString(36).slice(2, 14)}`, ...headers });
  res.end(JSON.stringify(body));
}

function stripeError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): void {
  send(res, status, { error: { type, message, ...extra, doc_url: `https://stripe.com/docs/error-codes/${extra.code ?? type}` } }, headers);
}

/** Start the fake on 127.0.0.1 (free port); only requests bearing `apiKey` are served. */
export async function startFakeStripe(apiKey: string): Promise<FakeStripe> {
  const requests: SeenRequest[] = [];
  const invoices = new Map<string, Record<string, unknown>>();
  const byIdempotencyKey = new Map<string, Record<string, unknown>>();
  let seq = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const form = Object.fromEntries(new URLSearchParams(body));
      requests.push({
        method: req.method ?? "",
        path: url.pathname,
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        idempotencyKey: req.headers["idempotency-key"] as string | undefined,
        form,
      });
      const auth = req.headers.authorization ?? "";
      if (!auth.startsWith("Bearer ")) return stripeError(res, 401, "invalid_request_error", "You did not provide an API key.");
      const given = auth.slice("Bearer ".length);
      if (given !== apiKey) return stripeError(res, 401, "invalid_request_error", `Invalid API Key provided: ${mask(given)}`);

      if (req.method === "POST" && url.pathname === "/v1/invoices") {
        if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) {
          return stripeError(res, 400, "invalid_request_error", "Invalid request (check that your POST content type is application/x-www-form-urlencoded).");
        }
        const idem = req.headers["idempotency-key"] as string | undefined;
        if (idem && byIdempotencyKey.has(idem)) return send(res, 200, byIdempotencyKey.get(idem), { "idempotent-replayed": "true" });
        if (!form.customer) return stripeError(res, 400, "invalid_request_error", "Missing required param: customer.", { code: "parameter_missing", param: "customer" });
        if (!CUSTOMERS.has(form.customer)) {
          return stripeError(res, 400, "invalid_request_error", `No such customer: '${form.customer}'`, { code: "resource_missing", param: "customer" });
        }
        if (form.customer === "cus_busy") return stripeError(res, 429, "invalid_request_error", "Too many requests hit the API too quickly.", { code: "rate_limit" });
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(form)) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m) metadata[m[1]] = v;
        }
        const invoice = {
          id: `in_fake${++seq}`,
          object: "invoice",
          customer: form.customer,
          currency: form.currency ?? "usd",
          description: form.description ?? null,
          collection_method: form.collection_method ?? "charge_automatically",
          days_until_due: form.days_until_due ? Number(form.days_until_due) : null,
          status: "draft",
          amount_due: 0,
          livemode: false,
          created: Math.floor(Date.now() / 1000),
          metadata,
        };
        invoices.set(invoice.id, invoice);
        if (idem) byIdempotencyKey.set(idem, invoice);
        return send(res, 200, invoice);
      }
      const m = /^\/v1\/invoices\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && m) {
        const inv = invoices.get(decodeURIComponent(m[1]));
        if (!inv) return stripeError(res, 404, "invalid_request_error", `No such invoice: '${m[1]}'`, { code: "resource_missing", param: "id" });
        return send(res, 200, inv);
      }
      return stripeError(res, 404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname}).`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
