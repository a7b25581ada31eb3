import assert from "node:assert/strict";
import { test } from "node:test";
import { isPrivateAddress } from "../../src/pollers/index.js";

test("pollers - private-network guard: loopback, private, link-local, CGNAT, multicast and mapped forms are private; public ones are not", () => {
  const priv = [
    "127.0.0.1",
    "127.9.9.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd12:3456::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
  ];
  const pub = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"];
  for (const a of priv) assert.equal(isPrivateAddress(a), true, a);
  for (const a of pub) assert.equal(isPrivateAddress(a), false, a);
  assert.equal(isPrivateAddress("example.com"), false);
});
