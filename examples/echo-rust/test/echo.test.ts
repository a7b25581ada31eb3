// Pattern 1 in Rust end to end: the daemon started from examples/echo-rust/nexo.yaml
// runs the real echo_rust plugin and events make the round trip.
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { checkEchoExample } from "../../test-support/index.js";

test("echo-rust - nexo.yaml runs only the echo_rust plugin; outbound events come back inbound in order with session and correlation ids; exits 0 on stop", async (t) => {
  await checkEchoExample(t, fileURLToPath(new URL("..", import.meta.url)), "echo_rust");
});
