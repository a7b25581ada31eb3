// Sample feeds for the pollers example, served from ./feeds on loopback so the
// example runs offline. Usage: node serve-feeds.mjs [port]   (default 8089; 0 = any free port)
// Prints "feeds on http://127.0.0.1:<port>" once listening. JSON and feeds get an
// ETag, and a matching If-None-Match gets 304, like the real services.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const TYPES = { ".xml": "application/rss+xml", ".atom": "application/atom+xml", ".json": "application/json" };
const dir = new URL("./feeds/", import.meta.url);

const server = createServer((req, res) => {
  const name = (req.url ?? "/").split("?")[0].slice(1);
  const ext = name.slice(name.lastIndexOf("."));
  if (!/^[a-z0-9_-]+\.(xml|atom|json)$/.test(name)) return void res.writeHead(404).end();
  let body;
  try {
    body = readFileSync(new URL(name, dir));
  } catch {
    return void res.writeHead(404).end();
  }
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`;
  if (req.headers["if-none-match"] === etag) return void res.writeHead(304, { etag }).end();
  res.writeHead(200, { "content-type": TYPES[ext], etag }).end(body);
});
server.listen(Number(process.argv[2] ?? 8089), "127.0.0.1", () => {
  console.log(`feeds on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
