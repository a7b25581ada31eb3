import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { ErrorCodes } from "../../../src/errors.js";
import { MAX_JSON_DEPTH, jsonDepthExceeds, valueDepthExceeds } from "../../../src/surfaces/http/index.js";
import { serveMcpStdio } from "../../../src/surfaces/mcp/index.js";
import { testApp } from "../../helpers/app.js";
import { waitFor } from "../../helpers/wait.js";

const nestedArrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);
const nestedObjects = (depth: number): string => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
/** Workflow inputs (an object) holding `inner` nested below one key. */
const inputsWith = (inner: string): string => `{"x":${inner}}`;

test("http - request JSON nested 1e4 and 1e5 deep is 400 NEXO_ERR_HTTP_JSON_TOO_DEEP on every JSON route, never a 500", async (t) => {
  const { app } = testApp(t, { http: true, maxBodyBytes: 4 * 1024 * 1024 });
  app.register("echo", (i) => i);
  await app.start();
  const routes = ["/workflows/echo/execute", "/tools/echo", "/mcp"];
  for (const depth of [10_000, 100_000]) {
    for (const body of [inputsWith(nestedArrays(depth)), inputsWith(nestedObjects(depth))]) {
      for (const route of routes) {
        const res = await fetch(`${app.url}${route}`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body });
        const json = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(res.status, 400, `${route} at depth ${depth}`);
        assert.equal(json.error.code, ErrorCodes.HTTP_JSON_TOO_DEEP, route);
        assert.match(json.error.message, new RegExp(`${MAX_JSON_DEPTH}`));
      }
    }
  }
  assert.equal((await fetch(`${app.url}/health`)).status, 200, "the daemon still serves");
});

test("http - JSON at the depth limit is accepted; one level more is refused", async (t) => {
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  await app.start();
  // The inputs object is level 1.
  const atLimit = inputsWith(nestedArrays(MAX_JSON_DEPTH - 1));
  const ok = await app.http.inject({ method: "POST", url: "/workflows/echo/execute", headers: { "content-type": "application/json" }, payload: atLimit });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json(), JSON.parse(atLimit));
  const over = await app.http.inject({
    method: "POST",
    url: "/workflows/echo/execute",
    headers: { "content-type": "application/json" },
    payload: inputsWith(nestedArrays(MAX_JSON_DEPTH)),
  });
  assert.equal(over.statusCode, 400);
  assert.equal(over.json().error.code, ErrorCodes.HTTP_JSON_TOO_DEEP);
});

test("http - the depth scan ignores brackets inside strings and escapes", () => {
  assert.equal(jsonDepthExceeds(`{"s":"${"[".repeat(500)}\\"${"{".repeat(500)}"}`, 2), false);
  assert.equal(jsonDepthExceeds('[[["\\\\"]]]', 3), false);
  assert.equal(jsonDepthExceeds('[[["\\\\"]]]', 2), true);
  assert.equal(jsonDepthExceeds("1", 0), false);
  assert.equal(valueDepthExceeds(JSON.parse(nestedArrays(100_000)), 64), true);
  assert.equal(valueDepthExceeds(JSON.parse(nestedObjects(64)), 64), false, "64 levels, the innermost a number");
  assert.equal(valueDepthExceeds(JSON.parse(nestedObjects(65)), 64), true);
  assert.equal(valueDepthExceeds("x", 0), false);
});

test("mcp stdio - tool arguments nested 1e4 and 1e5 deep are an invalid-arguments tool result; the session keeps serving", async (t) => {
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  await app.start();
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const server = await serveMcpStdio(app, { stdin, stdout });
  t.after(() => server.close());
  const replies = new Map<number, { result?: { isError?: boolean; structuredContent?: { error?: { code: string } }; content: Array<{ text?: string }> } }>();
  let buffered = "";
  stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const frame = JSON.parse(buffered.slice(0, nl)) as { id?: number };
      buffered = buffered.slice(nl + 1);
      if (typeof frame.id === "number") replies.set(frame.id, frame as never);
    }
  });
  const send = (line: string): boolean => stdin.write(`${line}\n`);
  send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }));
  send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":${inputsWith(nestedArrays(10_000))}}}`);
  send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":${inputsWith(nestedObjects(100_000))}}}`);
  send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "echo", arguments: { ok: true } } }));
  await waitFor(() => replies.size === 4, "four replies");
  for (const id of [2, 3]) {
    const r = replies.get(id)!.result!;
    assert.equal(r.isError, true, `call ${id}`);
    assert.equal(r.structuredContent?.error?.code, ErrorCodes.TOOL_INVALID_ARGS, `call ${id}`);
  }
  assert.equal(replies.get(4)!.result!.isError, false);
  assert.deepEqual(JSON.parse(replies.get(4)!.result!.content[0].text!), { ok: true });
});
