import assert from "node:assert/strict";
import { test } from "node:test";
import { checkOutboundMessage, messageFromPayload, toChannelError } from "../../src/channels/index.js";
import { RpcError } from "../../src/contract/index.js";
import { ErrorCodes, NexoError } from "../../src/errors.js";

test("channels - an outbound event's payload becomes a message: as is, text from text/body, else custom", () => {
  const media = { kind: "media", to: "1", url: "https://x/y.png" };
  assert.equal(messageFromPayload(media), media);
  assert.deepEqual(messageFromPayload({ text: "hi", to: "42" }), { kind: "text", to: "42", body: "hi" });
  assert.deepEqual(messageFromPayload({ body: "hi", chat_id: 7 }), { kind: "text", to: 7, body: "hi" });
  assert.deepEqual(messageFromPayload("plain"), { kind: "text", to: null, body: "plain" });
  assert.deepEqual(messageFromPayload({ n: 1 }), { kind: "custom", payload: { n: 1 } });
});

test("channels - a message is checked: an object, kind text | media | custom, a text has a string body", () => {
  for (const bad of [null, [], "x", { kind: "fax" }, { kind: "text", to: "1" }]) {
    assert.throws(
      () => checkOutboundMessage(bad, "t"),
      (e: NexoError) => e.code === ErrorCodes.CHANNEL_INVALID_MESSAGE,
      JSON.stringify(bad),
    );
  }
  assert.doesNotThrow(() => checkOutboundMessage({ kind: "custom", anything: true }, "t"));
});

test("channels - -330xx replies map to stable codes; -32601 is unsupported; host failures are timeout or unavailable", () => {
  const target = { kind: "chat", instance: "a", pluginKey: "chat.a", method: "channel.send_outbound", retryAfterMs: 250 };
  const cases: Array<[unknown, string]> = [
    [new RpcError(-33001, "down"), ErrorCodes.CHANNEL_CONNECTION],
    [new RpcError(-33002, "bad token"), ErrorCodes.CHANNEL_AUTHENTICATION],
    [new RpcError(-33003, "who", { recipient: "9" }), ErrorCodes.CHANNEL_RECIPIENT_INVALID],
    [new RpcError(-33004, "slow", { retry_after_secs: 3 }), ErrorCodes.CHANNEL_RATE_LIMITED],
    [new RpcError(-33005, "no media"), ErrorCodes.CHANNEL_UNSUPPORTED],
    [new RpcError(-32601, "method not found"), ErrorCodes.CHANNEL_UNSUPPORTED],
    [new RpcError(-32603, "oops"), ErrorCodes.CHANNEL_SEND_FAILED],
    [new NexoError(ErrorCodes.HOST_REQUEST_TIMEOUT, "late"), ErrorCodes.CHANNEL_TIMEOUT],
    [new NexoError(ErrorCodes.HOST_PLUGIN_RESTARTED, "restarting"), ErrorCodes.CHANNEL_UNAVAILABLE],
    [new Error("anything"), ErrorCodes.CHANNEL_SEND_FAILED],
  ];
  for (const [err, code] of cases) assert.equal(toChannelError(err, target).code, code, String(err));
  const limited = toChannelError(new RpcError(-33004, "slow", { retry_after_secs: 3 }), target);
  assert.deepEqual([limited.details.rpcCode, (limited.details.data as { retry_after_secs: number }).retry_after_secs, limited.httpStatus], [-33004, 3, 429]);
  assert.equal((toChannelError(new RpcError(-33004, "slow"), target).details.data as { retry_after_secs: unknown }).retry_after_secs, null);
  assert.equal((toChannelError(new NexoError(ErrorCodes.HOST_PLUGIN_RESTARTED, "r"), target).details.data as { retry_after_ms: number }).retry_after_ms, 250);
});
