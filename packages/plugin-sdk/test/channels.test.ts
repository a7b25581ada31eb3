import assert from "node:assert/strict";
import { test } from "node:test";
import { PluginProcess } from "./harness.js";

const send = (p: PluginProcess, msg: Record<string, unknown>) => p.request("channel.send_outbound", { kind: "chat", msg, instance: "a" });

test("sdk channels - channel methods answer, and ChannelError subclasses are the contract's -330xx replies", async (t) => {
  const p = PluginProcess.start(t, "channel-hook.ts");
  await p.request("initialize", {});
  assert.deepEqual((await p.request("channel.start", { kind: "chat", instance: "a" })).result, { ok: true });
  assert.deepEqual((await p.request("channel.stop", { kind: "chat" })).result, { ok: true }, "stop defaults to ok without a handler");
  assert.deepEqual((await send(p, { kind: "text", to: "1", body: "hi" })).result, { message_id: "chat:a:1", sent_at_unix: 1_700_000_000 });
  assert.deepEqual((await send(p, { kind: "text", to: "limited", body: "x" })).error, { code: -33004, message: "rate limited", data: { retry_after_secs: 12 } });
  assert.deepEqual((await send(p, { kind: "text", to: "nobody", body: "x" })).error.data, { recipient: "nobody", reason: "unknown chat" });
  assert.equal((await send(p, { kind: "media", to: "1", url: "u" })).error.code, -33005);
  assert.equal((await send(p, { kind: "text", to: "host", body: "x" })).error.code, -32603, "a host call's error does not pass as the plugin's code");
  assert.equal((await p.request("channel.send_outbound", { kind: "chat" })).error.code, -32602);
  assert.equal((await p.request("channel.start", {})).error.code, -32602);
});

test("sdk channels - hook.on_hook answers the handler's response, {} for allow; without handlers every method is -32601", async (t) => {
  const p = PluginProcess.start(t, "channel-hook.ts");
  await p.request("initialize", {});
  const blocked = await p.request("hook.on_hook", { plugin_id: "chan", hook_name: "before_message", event: { body: "spam!" } });
  assert.deepEqual(blocked.result, { decision: "block", reason: "before_message by chan" });
  assert.deepEqual((await p.request("hook.on_hook", { plugin_id: "chan", hook_name: "before_message", event: { body: "hi" } })).result, {});
  const q = PluginProcess.start(t, "channel-hook.ts", ["bare"]);
  await q.request("initialize", {});
  for (const method of ["channel.start", "channel.send_outbound", "hook.on_hook"]) {
    assert.equal((await q.request(method, { kind: "chat", hook_name: "x", msg: { kind: "text" } })).error.code, -32601, method);
  }
});
