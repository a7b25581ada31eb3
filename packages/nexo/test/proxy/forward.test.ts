import assert from "node:assert/strict";
import { Pool } from "undici";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import { findFreePort, forwardRequest, pickRequestId, stripHopByHop, upstreamPath } from "../../src/proxy/index.js";
import { testApp } from "../helpers/app.js";

test("proxy forward - upstreamPath strips the prefix by segments from the raw URL", () => {
  assert.equal(upstreamPath("/webhook/gh", "/webhook/gh"), "/");
  assert.equal(upstreamPath("/webhook/gh/", "/webhook/gh"), "/");
  assert.equal(upstreamPath("/webhook/gh/push/a%2Fb?x=%20&y", "/webhook/gh"), "/push/a%2Fb?x=%20&y");
  assert.equal(upstreamPath("/webhook/gh?q=1", "/webhook/gh"), "/?q=1");
});

test("proxy forward - stripHopByHop drops hop-by-hop headers and those Connection names", () => {
  const out = stripHopByHop(
    { connection: "close, X-Extra", "x-extra": "1", "transfer-encoding": "chunked", upgrade: "websocket", te: "trailers", "content-type": "a/b", "x-ok": "2" },
    ["host"],
  );
  assert.deepEqual(out, { "content-type": "a/b", "x-ok": "2" });
});

test("proxy forward - pickRequestId keeps a sane client id and replaces anything else", () => {
  assert.equal(pickRequestId("abc-123_x.y:z@w"), "abc-123_x.y:z@w");
  for (const bad of [undefined, "", "has space", "x".repeat(129), ["a", "b"], "new\nline"]) assert.match(pickRequestId(bad as never), /^[0-9a-f-]{36}$/);
});

test("proxy forward - nothing listening on the plugin's port: 502 NEXO_ERR_PROXY_UPSTREAM_FAILED naming the plugin and address", async (t) => {
  const { app } = testApp(t);
  const port = await findFreePort("127.0.0.1");
  const dispatcher = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => dispatcher.destroy());
  app.http.get("/gone/*", (request, reply) =>
    forwardRequest(request, reply, { pluginKey: "gone", prefix: "/gone", host: "127.0.0.1", port, dispatcher, timeoutMs: 5000, maxBodyBytes: 1024, logger: app.logger }),
  );
  await app.start();
  const r = await app.http.inject({ method: "GET", url: "/gone/x" });
  assert.equal(r.statusCode, 502);
  const body = r.json();
  assert.equal(body.error.code, ErrorCodes.PROXY_UPSTREAM_FAILED);
  assert.match(body.error.message, new RegExp(`gone at 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
});
