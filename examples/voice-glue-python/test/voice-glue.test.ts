// Pattern 6 end to end: the real Python voice_glue plugin under the daemon
// started from examples/voice-glue-python/nexo.yaml, reading an SSE stream of
// transcript fragments from a fake transcription service on loopback, and
// fragments published on plugin.outbound.voice.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { newEvent, type Event } from "../../../packages/nexo/src/contract/index.js";
import { collect, startExampleDaemon, tempDir, testBroker, waitFor, type RawConfig } from "../../test-support/index.js";
import { FakeTranscripts, type Fragment } from "./fake-transcripts.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));

interface Utterance {
  conversation_id: string;
  text: string;
  fragments: number;
  reason: string;
}

const utterances = (events: Event[]): Utterance[] => events.map((e) => e.payload as Utterance);

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Interleave several conversations' fragment lists at random, keeping each one's own order. */
function interleave(lists: Fragment[][], random: () => number): Fragment[] {
  const queues = lists.map((l) => [...l]);
  const out: Fragment[] = [];
  while (queues.some((q) => q.length)) {
    const live = queues.filter((q) => q.length);
    out.push(live[Math.floor(random() * live.length)].shift()!);
  }
  return out;
}

test("voice-glue-python - interleaved fragments of eight conversations over SSE come out as eight utterances, each its own fragments in order; a broken stream resumes with Last-Event-ID", async (t) => {
  const stream = await FakeTranscripts.start();
  t.after(() => stream.close());
  const edit = (raw: RawConfig): void => {
    // Long silence timeout: here only done markers may complete a conversation.
    Object.assign(raw.plugins.voice_glue.config, { stream_url: stream.url, silence_timeout_ms: 60_000, joiner: " " });
  };
  const { broker } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit });
  const out = collect(t, broker, "plugin.inbound.voice").events;
  await waitFor(() => stream.streams === 1, "the plugin reading the stream");

  const words = (c: number, n: number): string[] => Array.from({ length: n }, (_, i) => `c${c}w${i}`);
  const convs = Array.from({ length: 8 }, (_, c) => words(c, 5 + c * 3));
  const lists = convs.map((ws, c) => ws.map((w, i): Fragment => ({ conversation_id: `conv-${c}`, text: w, ...(i === ws.length - 1 ? { done: true } : {}) })));
  const all = interleave(lists, rng(6));
  const half = Math.floor(all.length / 2);

  all.slice(0, half).forEach((f) => stream.push(f));
  stream.push("not json"); // ignored, counted in the log
  await waitFor(() => stream.log.length === half + 1, "first half pushed");
  // The service drops the stream; fragments go on being produced; the plugin reconnects and catches up.
  stream.endStreams();
  all.slice(half).forEach((f) => stream.push(f));
  await waitFor(() => out.length === 8, "eight utterances", 20_000);

  const got = utterances(out);
  for (let c = 0; c < 8; c++) {
    const u = got.find((x) => x.conversation_id === `conv-${c}`);
    assert.ok(u, `an utterance for conv-${c}`);
    assert.equal(u.text, convs[c].join(" "), `conv-${c} has exactly its own fragments, in order`);
    assert.equal(u.fragments, convs[c].length);
    assert.equal(u.reason, "done");
  }
  // Utterances come out in the order their done markers arrived.
  const doneOrder = all.filter((f) => f.done).map((f) => f.conversation_id);
  assert.deepEqual(
    got.map((u) => u.conversation_id),
    doneOrder,
  );
  assert.ok(
    out.every((e) => e.session_id === (e.payload as Utterance).conversation_id),
    "session id = conversation id",
  );
  assert.equal(stream.connects[0], null);
  assert.equal(stream.connects[1], String(half + 1), "resumed after the last event it saw");
});

test("voice-glue-python - fragments on plugin.outbound.voice: a silent conversation is flushed after the timeout, a done one at once, and shutdown flushes what is left", async (t) => {
  // Our own broker outlives the daemon: the shutdown flush stays readable.
  const broker = testBroker(t);
  const edit = (raw: RawConfig): void => void Object.assign(raw.plugins.voice_glue.config, { silence_timeout_ms: 1000 });
  const { daemon, stop } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit, broker });
  const out = collect(t, broker, "plugin.inbound.voice").events;
  const send = (f: Fragment, suffix = ""): Promise<void> => broker.publish(`plugin.outbound.voice${suffix}`, newEvent(`plugin.outbound.voice${suffix}`, "test", f));

  await send({ conversation_id: "quiet", text: "are you " });
  await send({ conversation_id: "quick", text: "yes", done: true }, ".twilio");
  await send({ conversation_id: "quiet", text: "there?" });
  await send({ conversation_id: "bad" } as Fragment); // neither text nor done: refused, never buffered
  await waitFor(() => out.length === 2, "the done and the silent conversation");
  assert.deepEqual(utterances(out), [
    { conversation_id: "quick", text: "yes", fragments: 1, reason: "done" },
    { conversation_id: "quiet", text: "are you there?", fragments: 2, reason: "silence" },
  ]);

  await send({ conversation_id: "cut", text: "half a sent" });
  const sup = daemon.host.require("voice_glue");
  // Make sure the fragment is buffered before stopping (events are handled in order).
  await send({ conversation_id: "probe", text: "x", done: true });
  await waitFor(() => out.length === 3, "the probe");
  await stop();
  await waitFor(() => out.length === 4, "the shutdown flush");
  assert.deepEqual(utterances(out)[3], { conversation_id: "cut", text: "half a sent", fragments: 1, reason: "shutdown" });
  assert.equal(sup.status().lastExitCode, 0);
  assert.match(sup.status().stderrTail.join("\n"), /ignored a fragment from plugin\.outbound\.voice: a fragment needs text/);
});

test("voice-glue-python - memory stays bounded: past max_conversations the least recently active one is flushed early, past max_chars an utterance is cut", async (t) => {
  const edit = (raw: RawConfig): void => void Object.assign(raw.plugins.voice_glue.config, { silence_timeout_ms: 60_000, max_conversations: 2, max_chars: 12 });
  const { broker } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit });
  const out = collect(t, broker, "plugin.inbound.voice").events;
  const send = (f: Fragment): Promise<void> => broker.publish("plugin.outbound.voice", newEvent("plugin.outbound.voice", "test", f));
  await send({ conversation_id: "a", text: "one " });
  await send({ conversation_id: "b", text: "two " });
  await send({ conversation_id: "a", text: "three " }); // a is now the more recently active
  await send({ conversation_id: "c", text: "four " }); // a third conversation: b goes out early
  await send({ conversation_id: "c", text: "0123456789" }); // c reaches 12 characters
  await waitFor(() => out.length === 2, "two early flushes");
  assert.deepEqual(utterances(out), [
    { conversation_id: "b", text: "two ", fragments: 1, reason: "overflow" },
    { conversation_id: "c", text: "four 0123456789", fragments: 2, reason: "max_length" },
  ]);
  await send({ conversation_id: "a", text: "", done: true });
  await waitFor(() => out.length === 3, "a completed");
  assert.deepEqual(utterances(out)[2], { conversation_id: "a", text: "one three ", fragments: 2, reason: "done" });
});
