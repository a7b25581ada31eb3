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
