// Plugin pattern 2 (webhook receiver): an HTTP server on the port the daemon
// allocated (NEXO_PLUGIN_HTTP_PORT). The daemon reverse-proxies
// /webhook/demo[/...] on its own port to it, with the prefix stripped.
//
//   POST /  (JSON body)  -> event on plugin.inbound.webhook[.<instance>], answer 202 {event_id, request_id, topic}
//   GET /health          -> 200 once listening (the daemon routes to us only after that)
//
// Request id: the X-Request-Id header when it is 1-128 characters of [A-Za-z0-9._:@-]
// (the daemon's proxy always sets one: the caller's, or a new UUID), otherwise a new
// UUID v7. It becomes the event's correlation_id and is echoed in the response header.
// X-Session-Id (optional, at most 256 characters) becomes the event's session_id.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { Event, PluginAdapter, uuidv7 } from "nexo-plugin-sdk";

const MANIFEST = readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8");
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Default largest body accepted; the operator's `max_body_bytes` (plugin config) overrides it. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const PUBLISH_TIMEOUT_MS = 5000;

const port = Number(process.env.NEXO_PLUGIN_HTTP_PORT);
const host = process.env.NEXO_PLUGIN_HTTP_HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(
    `NEXO_PLUGIN_HTTP_PORT must be a port number, got ${JSON.stringify(process.env.NEXO_PLUGIN_HTTP_PORT)}: run me under nexo with [plugin.capabilities.http_server]\n`,
  );
  process.exit(2);
}
const instance = process.env.NEXO_PLUGIN_INSTANCE;
const topic = instance ? `plugin.inbound.webhook.${instance}` : "plugin.inbound.webhook";
let maxBodyBytes = DEFAULT_MAX_BODY_BYTES;

const adapter = new PluginAdapter({
  manifestToml: MANIFEST,
  onConfigure: (value) => {
    const v = (value ?? {}) as { max_body_bytes?: unknown };
    if (v.max_body_bytes === undefined) return;
    if (typeof v.max_body_bytes !== "number" || !Number.isInteger(v.max_body_bytes) || v.max_body_bytes < 1) {
      throw new Error(`max_body_bytes must be a positive integer, got ${JSON.stringify(v.max_body_bytes)}`);
    }
    maxBodyBytes = v.max_body_bytes;
  },
  onShutdown: () =>
    new Promise<void>((resolve) => {
      // Stop accepting; requests in flight finish (the adapter drained its handlers already).
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
});

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function isJsonType(value: string | undefined): boolean {
  if (value === undefined) return true;
  const type = value.split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/** Read the body up to maxBodyBytes; null once it is larger (the rest is never read). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeAllListeners("data");
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const header = req.headers["x-request-id"];
  const requestId = typeof header === "string" && REQUEST_ID.test(header) ? header : uuidv7();
  const ids = { "x-request-id": requestId };
  if (path === "/health") {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "use GET" }, { allow: "GET, HEAD", ...ids });
    return send(res, 200, { status: "ok" }, ids);
  }
  if (path !== "/") return send(res, 404, { error: `no route ${path}; POST JSON to the mount prefix itself` }, ids);
  if (req.method !== "POST") return send(res, 405, { error: "use POST with a JSON body" }, { allow: "POST", ...ids });
  if (!isJsonType(req.headers["content-type"])) return send(res, 415, { error: "send the body as application/json" }, ids);
  const declared = Number(req.headers["content-length"] ?? 0);
  const tooLarge = { error: `body larger than ${maxBodyBytes} bytes` };
  if (declared > maxBodyBytes) return send(res, 413, tooLarge, { connection: "close", ...ids });
  const raw = await readBody(req);
  if (raw === null) return send(res, 413, tooLarge, { connection: "close", ...ids });
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    return send(res, 400, { error: `body is not valid JSON: ${(err as Error).message}` }, ids);
  }
  const session = req.headers["x-session-id"];
  const event = Event.new(topic, "webhook", payload, {
    correlationId: requestId,
    sessionId: typeof session === "string" && session.length > 0 && session.length <= 256 ? session : null,
  });
  try {
    // Acked: 202 means the daemon took the event, not just that we wrote it.
    await adapter.broker.publishAcked(topic, event, PUBLISH_TIMEOUT_MS);
  } catch (err) {
    process.stderr.write(`publish failed for request ${requestId}: ${(err as Error).message}\n`);
    return send(res, 503, { error: "the daemon did not accept the event; retry" }, { "retry-after": "1", ...ids });
  }
  send(res, 202, { event_id: event.id, request_id: requestId, topic }, ids);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    process.stderr.write(`request failed: ${(err as Error).message}\n`);
    if (!res.headersSent) send(res, 500, { error: "internal error" });
    else res.destroy();
  });
});
server.on("error", (err) => {
  process.stderr.write(`cannot listen on ${host}:${port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => process.stderr.write(`webhook receiver listening on ${host}:${port}, publishing on ${topic}\n`));

await adapter.run();
