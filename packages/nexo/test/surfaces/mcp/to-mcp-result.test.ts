import assert from "node:assert/strict";
import { test } from "node:test";
import { toolError } from "../../../src/app/tools/index.js";
import { ErrorCodes } from "../../../src/errors.js";
import { checkMcpOrigin, toMcpError, toMcpResult } from "../../../src/surfaces/mcp/index.js";

test("mcp - results: is_error becomes isError, structured_content structuredContent, unknown content items become JSON text", () => {
  const r = toMcpResult({
    content: [{ type: "text", text: "a" }, { type: "image", data: "AA==", mimeType: "image/png" }, { type: "weird", x: 1 }, { type: "text" }],
    is_error: true,
    structured_content: { ok: 1 },
  });
  assert.deepEqual(r, {
    content: [
      { type: "text", text: "a" },
      { type: "image", data: "AA==", mimeType: "image/png" },
      { type: "text", text: '{"type":"weird","x":1}' },
      { type: "text", text: '{"type":"text"}' },
    ],
    isError: true,
    structuredContent: { ok: 1 },
  });
});

test("mcp - errors become readable tool results carrying the code, violations and retry hint", () => {
  const r = toMcpError(toolError(ErrorCodes.TOOL_UNAVAILABLE, "later", { tool: "t", retryAfterMs: 500 }));
  assert.equal(r.isError, true);
  assert.deepEqual(r.structuredContent, { error: { code: ErrorCodes.TOOL_UNAVAILABLE, message: "later", rpc_code: -33404, retry_after_ms: 500 } });
  const v = toMcpError(toolError(ErrorCodes.TOOL_INVALID_ARGS, "bad", { tool: "t", violations: [{ path: "/a", message: "is required" }] }));
  assert.deepEqual((v.structuredContent as any).error.violations, [{ path: "/a", message: "is required" }]);
});

test("mcp - origin check: on a loopback API only loopback Host and Origin names pass", () => {
  const ok = (h: { host?: string; origin?: string }, api = "127.0.0.1") => {
    try {
      checkMcpOrigin(h, api);
      return true;
    } catch (err) {
      assert.equal((err as { code: string }).code, ErrorCodes.MCP_ORIGIN_DENIED);
      return false;
    }
  };
  assert.equal(ok({ host: "127.0.0.1:8000" }), true);
  assert.equal(ok({ host: "localhost:8000", origin: "http://localhost:3000" }), true);
  assert.equal(ok({ host: "[::1]:8000", origin: "http://[::1]:8000" }), true);
  assert.equal(ok({ host: "evil.example:8000" }), false, "DNS rebinding: a foreign Host");
  assert.equal(ok({ host: "127.0.0.1:8000", origin: "http://evil.example" }), false);
  assert.equal(ok({ host: "127.0.0.1:8000", origin: "not a url" }), false);
  assert.equal(ok({ host: "nexo.internal:8000", origin: "http://nexo.internal:8000" }, "nexo.internal"), true, "a non-loopback API accepts its own host");
});

test("mcp - origin check: configured origins pass exactly (scheme, host and port), others still fail", () => {
  const allowed = ["https://console.example", "http://tools.example:8080"];
  const ok = (origin: string) => {
    try {
      checkMcpOrigin({ host: "127.0.0.1:8000", origin }, "127.0.0.1", allowed);
      return true;
    } catch (err) {
      assert.equal((err as { code: string }).code, ErrorCodes.MCP_ORIGIN_DENIED);
      assert.match((err as Error).message, /mcp_allowed_origins/);
      return false;
    }
  };
  assert.equal(ok("https://console.example"), true);
  assert.equal(ok("https://console.example:443"), true, "a default port is the same origin");
  assert.equal(ok("http://tools.example:8080"), true);
  assert.equal(ok("http://console.example"), false, "another scheme");
  assert.equal(ok("https://console.example:8443"), false, "another port");
  assert.equal(ok("https://evil.console.example"), false, "a subdomain is another origin");
  assert.throws(() => checkMcpOrigin({ host: "127.0.0.1:8000", origin: "https://x.example" }, "127.0.0.1"), /add it to api.mcp_allowed_origins/);
});
