import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { test } from "node:test";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrorCodes } from "../../../src/errors.js";
import { heldReplies, JSON_UTF8, MAX_HELD_REPLIES, replyAtTurnEnd } from "../../../src/surfaces/http/turn-end-replies.js";
import { testApp } from "../../helpers/app.js";
import { waitFor } from "../../helpers/wait.js";

/** What a reply was asked to do, in order, across every recorded reply. */
interface Recorded {
  sent: Array<{ id: number; payload: unknown; type?: string; status?: number }>;
  logged: unknown[];
}

/** The part of a fastify reply replyAtTurnEnd uses, recording into `rec`; `throwOnSend` makes its send throw. */
function recordingReply(rec: Recorded, id: number, throwOnSend = false): FastifyReply {
  let type: string | undefined;
  let status: number | undefined;
  const reply = {
    type(t: string) {
      type = t;
      return reply;
    },
    code(s: number) {
      status = s;
      return reply;
    },
    hasHeader: () => false,
    header: () => reply,
    send(payload: unknown) {
      if (throwOnSend) throw new Error(`send ${id} failed`);
      rec.sent.push({ id, payload, ...(type ? { type } : {}), ...(status ? { status } : {}) });
      return reply;
    },
    log: { error: (obj: unknown) => rec.logged.push(obj) },
  };
  return reply as unknown as FastifyReply;
}

const request = { url: "/x", method: "POST", log: { error: () => undefined } } as unknown as FastifyRequest;
const microtasks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));

test("turn-end replies - results ready in one turn are held, then sent together, in the order they became ready", async () => {
  const rec: Recorded = { sent: [], logged: [] };
  const settled: number[] = [];
  for (const id of [1, 2, 3]) replyAtTurnEnd(request, recordingReply(rec, id), Promise.resolve({ id }), () => settled.push(id));
  await microtasks();
  assert.deepEqual(settled, [1, 2, 3], "onSettled runs as soon as the work settles");
  assert.equal(heldReplies(), 3);
  assert.deepEqual(rec.sent, [], "nothing leaves before the turn ends");
  await turnEnd();
  assert.equal(heldReplies(), 0);
  assert.deepEqual(
    rec.sent,
    [1, 2, 3].map((id) => ({ id, payload: JSON.stringify({ id }), type: JSON_UTF8 })),
  );
});

test("turn-end replies - the queue is bounded: the reply that fills it sends every held one at once", async () => {
  const rec: Recorded = { sent: [], logged: [] };
  for (let id = 0; id <= MAX_HELD_REPLIES; id++) replyAtTurnEnd(request, recordingReply(rec, id), Promise.resolve(id));
  await microtasks();
  assert.equal(rec.sent.length, MAX_HELD_REPLIES, "the first MAX_HELD_REPLIES left without waiting");
  assert.equal(heldReplies(), 1);
  await turnEnd();
  assert.deepEqual(
    rec.sent.map((s) => s.id),
    Array.from({ length: MAX_HELD_REPLIES + 1 }, (_, i) => i),
  );
});

test("turn-end replies - a reply whose send throws is logged and the others still leave", async () => {
  const rec: Recorded = { sent: [], logged: [] };
  replyAtTurnEnd(request, recordingReply(rec, 1), Promise.resolve("a"));
  replyAtTurnEnd(request, recordingReply(rec, 2, true), Promise.resolve("b"));
  replyAtTurnEnd(request, recordingReply(rec, 3), Promise.resolve("c"));
  await microtasks();
  await turnEnd();
  assert.deepEqual(
    rec.sent.map((s) => s.id),
    [1, 3],
  );
  assert.equal(rec.logged.length, 1);
  assert.match(String((rec.logged[0] as { err: Error }).err.message), /send 2 failed/);
});

test("turn-end replies - undefined is sent as null; what JSON cannot carry, and a failure, go to the error path at once", async () => {
  const rec: Recorded = { sent: [], logged: [] };
  replyAtTurnEnd(request, recordingReply(rec, 1), Promise.resolve(undefined));
  replyAtTurnEnd(request, recordingReply(rec, 2), Promise.resolve({ n: 1n }));
  const failure = new Error("boom");
  replyAtTurnEnd(request, recordingReply(rec, 3), Promise.reject(failure));
  replyAtTurnEnd(request, recordingReply(rec, 4), Promise.reject("a string"));
  await microtasks();
  assert.deepEqual(
    rec.sent.map((s) => s.id),
    [2, 3, 4],
    "errors are not held",
  );
  assert.ok(rec.sent[0]!.payload instanceof TypeError, "a bigint fails JSON.stringify and is sent as the error");
  assert.equal(rec.sent[1]!.payload, failure, "an Error goes through fastify's send (onError hooks, error handler)");
  assert.equal(rec.sent[2]!.status, 500, "anything else thrown goes to the error handler itself");
  assert.equal((rec.sent[2]!.payload as { error: { code: string } }).error.code, ErrorCodes.HTTP_INTERNAL);
  await turnEnd();
  assert.deepEqual(rec.sent[3], { id: 1, payload: "null", type: JSON_UTF8 });
});

test("turn-end replies - over real HTTP, concurrent executes and tool calls on shared connections each get their own answer", async (t) => {
  const { app } = testApp(t, { http: true });
  app.register("echo", async (inputs: { i: number }) => {
    // Some finish in the same turn, some in later ones.
    if (inputs.i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, inputs.i % 7));
    return { i: inputs.i };
  });
  app.register("throws", () => {
    throw "not an Error";
  });
  app.register("bigint", () => ({ n: 1n }));
  await app.start();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; type: string | undefined; json: any }>((resolve, reject) => {
      const req = httpRequest(`${app.url}${path}`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, type: res.headers["content-type"], json: JSON.parse(text) }));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0 ? post("/workflows/echo/execute", { i }) : post("/tools/echo", { i }).then((r) => ({ ...r, json: r.json.structured_content })),
    ),
  );
  results.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(r.type, JSON_UTF8);
    assert.deepEqual(r.json, { i });
  });
  const thrown = await post("/workflows/throws/execute", {});
  assert.equal(thrown.status, 500);
  assert.equal(thrown.json.error.code, ErrorCodes.HTTP_INTERNAL);
  const big = await post("/workflows/bigint/execute", {});
  assert.equal(big.status, 500);
  assert.equal(big.json.error.code, ErrorCodes.HTTP_INTERNAL);
});

test("turn-end replies - clients that leave before their answer: nothing stays held, nothing is logged as failed, and the app keeps answering", async (t) => {
  const { app, logs } = testApp(t, { http: true });
  let aborted = 0;
  app.register("quick", (inputs: { i: number }) => ({ i: inputs.i }));
  app.register("slow", async (_inputs, ctx) => {
    ctx.signal.addEventListener("abort", () => aborted++);
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { done: true };
  });
  await app.start();
  const { port } = new URL(app.url!);
  const leave = (workflow: string, i: number) =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({ i });
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(`POST /workflows/${workflow}/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        // Gone at once, or once the server has had a turn to read the request.
        if (i % 2 === 0) socket.destroy();
        else setImmediate(() => socket.destroy());
      });
      socket.on("close", () => resolve());
      socket.on("error", () => undefined);
    });
  await Promise.all(Array.from({ length: 100 }, (_, i) => leave(i % 4 === 0 ? "slow" : "quick", i)));
  await waitFor(() => aborted >= 1, "a slow call aborted by its client's leaving", 5000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(heldReplies(), 0);
  assert.deepEqual(
    logs().filter((l) => l.level >= 50),
    [],
    "no error logged",
  );
  const r = await fetch(`${app.url}/workflows/quick/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"i":7}' });
  assert.deepEqual(await r.json(), { i: 7 });
});
