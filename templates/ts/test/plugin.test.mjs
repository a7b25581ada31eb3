// Runs the built plugin (dist/main.js) as the daemon would: JSON-RPC over its
// stdin/stdout. `npm test` after `npm run build`; `nexo plugin test .` runs the
// full conformance kit.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("..", import.meta.url));
const ID = /^id\s*=\s*"([^"]+)"/m.exec(readFileSync(new URL("../nexo-plugin.toml", import.meta.url), "utf8"))[1];

function start(t) {
  const child = spawn(process.execPath, ["dist/main.js"], { cwd: DIR, stdio: ["pipe", "pipe", "pipe"] });
  t.after(() => child.exitCode === null && child.kill("SIGKILL"));
  const frames = [];
  const waiters = [];
  let buf = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl !== -1; nl = buf.indexOf("\n")) {
      frames.push(JSON.parse(buf.slice(0, nl))); // every stdout line must be a JSON frame
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const next = async (pred) => {
    for (;;) {
      const i = frames.findIndex(pred);
      if (i !== -1) return frames.splice(i, 1)[0];
      await new Promise((r) => waiters.push(r));
    }
  };
  const send = (frame) => child.stdin.write(`${JSON.stringify(frame)}\n`);
  const exited = new Promise((r) => child.once("close", (code) => r(code)));
  return { send, next, exited };
}

test(`${ID} - initialize, echo an event, shut down cleanly`, async (t) => {
  const p = start(t);
  p.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { nexo_version: "0.1.0" } });
  const init = await p.next((f) => f.id === 1);
  assert.equal(init.result.manifest.plugin.id, ID);

  const event = { id: "e-1", timestamp: new Date().toISOString(), topic: `plugin.outbound.${ID}`, source: "test", session_id: null, payload: { text: "hi" } };
  p.send({ jsonrpc: "2.0", method: "broker.event", params: { topic: event.topic, event } });
  const pub = await p.next((f) => f.method === "broker.publish");
  assert.equal(pub.params.topic, `plugin.inbound.${ID}`);
  assert.deepEqual(pub.params.event.payload, { text: "hi" });

  p.send({ jsonrpc: "2.0", id: 2, method: "shutdown", params: { reason: "test" } });
  assert.deepEqual((await p.next((f) => f.id === 2)).result, { ok: true });
  assert.equal(await p.exited, 0);
});
