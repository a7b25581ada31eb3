import assert from "node:assert/strict";
import { statSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { mock, test } from "node:test";
import { ControlServer } from "../../../src/surfaces/control/index.js";
import { tempDir } from "../../helpers/fixture-plugins.js";
import { captureLogger } from "../../helpers/log-capture.js";

/** Group and other permission bits of `path`. */
function openBits(path: string): number {
  return statSync(path).mode & 0o077;
}

test("control - under umask 000 the socket never exists with group/other bits: not at bind, not after listen, directory 0700", async (t) => {
  const previousUmask = process.umask(0);
  t.after(() => process.umask(previousUmask));
  // The socket file is born inside listen(): look at it the instant the bind returns,
  // before any later chmod could run. That is the window another user could connect in.
  const atBind: number[] = [];
  const original = net.Server.prototype.listen;
  mock.method(net.Server.prototype, "listen", function (this: net.Server, ...args: unknown[]) {
    const result = (original as (...a: unknown[]) => net.Server).apply(this, args);
    if (typeof args[0] === "string") atBind.push(openBits(args[0]));
    return result;
  });
  t.after(() => mock.restoreAll());
  const dir = join(tempDir(t), "fresh", "state");
  const socketPath = join(dir, "nexo.sock");
  const server = new ControlServer({ socketPath, handlers: { ping: () => "pong" }, logger: captureLogger().logger });
  await server.listen();
  t.after(() => server.close());
  assert.deepEqual(atBind, [0], "the socket had no group/other bits when bind returned");
  assert.equal(openBits(socketPath), 0, "nor after listen resolved");
  assert.equal(statSync(socketPath).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700, "a directory listen creates is private too");
  assert.equal(process.umask(), 0, "the process umask is restored after listen");
});

/** One control request over a fresh connection; resolves with the first reply line. */
function ask(socketPath: string, line: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath);
    let buf = "";
    c.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        resolve(JSON.parse(buf.slice(0, nl)));
        c.end();
      }
    });
    c.on("error", reject);
    c.write(line);
  });
}

test("control - a frame nested 10^5 deep is refused and the server goes on answering", async (t) => {
  const socketPath = join(tempDir(t), "nexo.sock");
  const seen: unknown[] = [];
  const server = new ControlServer({ socketPath, handlers: { echo: (p) => (seen.push(p), p) }, logger: captureLogger().logger });
  await server.listen();
  t.after(() => server.close());
  const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
  const refused = await ask(socketPath, `{"jsonrpc":"2.0","id":1,"method":"echo","params":${deep}}\n`);
  assert.equal(refused.error.code, -32600);
  assert.match(refused.error.message, /deeper than 128/);
  assert.deepEqual(seen, [], "the handler never saw it");
  assert.deepEqual((await ask(socketPath, '{"jsonrpc":"2.0","id":2,"method":"echo","params":{"a":1}}\n')).result, { a: 1 });
});

test("control - a method named like an Object.prototype member is an unknown method, not Object's", async (t) => {
  const socketPath = join(tempDir(t), "nexo.sock");
  const server = new ControlServer({ socketPath, handlers: { ping: () => "pong" }, logger: captureLogger().logger });
  await server.listen();
  t.after(() => server.close());
  for (const method of ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"]) {
    const reply = await ask(socketPath, `${JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: {} })}\n`);
    assert.equal(reply.error?.code, -32601, `${method}: ${JSON.stringify(reply)}`);
  }
  assert.equal((await ask(socketPath, '{"jsonrpc":"2.0","id":2,"method":"ping"}\n')).result, "pong");
});
