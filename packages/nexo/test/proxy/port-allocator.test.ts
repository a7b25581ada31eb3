import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import { PortAllocator, findFreePort, isPortFree } from "../../src/proxy/index.js";

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(s));
  });
}

test("proxy ports - a fixed port is passed as declared", async () => {
  const ports = new PortAllocator();
  assert.equal(await ports.allocate("a", "127.0.0.1", 18_081), 18_081);
  assert.equal(ports.portOf("a"), 18_081);
});

test("proxy ports - port 0 gets a free loopback port, the same one again while it is free, a new one once taken", async (t) => {
  const ports = new PortAllocator();
  const first = await ports.allocate("a", "127.0.0.1", 0);
  assert.ok(first > 0);
  assert.equal(await isPortFree("127.0.0.1", first), true);
  assert.equal(await ports.allocate("a", "127.0.0.1", 0), first, "same port on restart when free");
  const squatter = await occupy(first);
  t.after(() => void squatter.close());
  assert.equal(await isPortFree("127.0.0.1", first), false);
  const second = await ports.allocate("a", "127.0.0.1", 0);
  assert.notEqual(second, first, "a taken port is not handed out again");
  assert.equal(ports.portOf("a"), second);
});

test("proxy ports - two plugins never get the same port", async () => {
  const ports = new PortAllocator();
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) seen.add(await ports.allocate(`p${i}`, "127.0.0.1", 0));
  assert.equal(seen.size, 20);
});

test("proxy ports - an address that cannot be bound fails with NEXO_ERR_PROXY_PORT_UNAVAILABLE", async () => {
  const ports = new PortAllocator();
  // TEST-NET-1 (RFC 5737) is never a local address, so binding it fails locally (EADDRNOTAVAIL); nothing is sent.
  await assert.rejects(ports.allocate("a", "192.0.2.1", 0), (err: any) => err.code === ErrorCodes.PROXY_PORT_UNAVAILABLE && err.pluginId === "a");
  await assert.rejects(findFreePort("192.0.2.1"));
});
