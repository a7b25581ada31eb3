// Pattern 3 end to end: the daemon started from examples/rpc-bridge-ts/nexo.yaml runs
// the real billing plugin (node dist/main.js), which calls a loopback fake of the
// Stripe invoices API; its tools are called through app.callTool, the HTTP API and MCP.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { parse as parseYaml } from "yaml";
import { normalizeConfig } from "../../../packages/nexo/src/config/index.js";
import { Daemon } from "../../../packages/nexo/src/daemon/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../../packages/nexo/src/errors.js";
import { captureLogger } from "../../../packages/nexo/test/helpers/log-capture.js";
import { tempDir } from "../../../packages/nexo/test/helpers/fixture-plugins.js";
import { startFakeStripe, type FakeStripe } from "./fake-stripe.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const KEY = "sk_test_51NexoExampleSecretKey0000000000000000000000000000";
const CREATE = "billing_stripe_create_invoice";
const GET = "billing_get_invoice";

/** The daemon exactly as `nexo run --config examples/rpc-bridge-ts/nexo.yaml` builds it, pointed at the fake, on a free port. */
async function startBridge(t: TestContext, fake: FakeStripe, key: string) {
  const previous = process.env.STRIPE_SECRET_KEY;
  process.env.STRIPE_SECRET_KEY = key;
  t.after(() => {
    if (previous === undefined) delete process.env.STRIPE_SECRET_KEY;
    else process.env.STRIPE_SECRET_KEY = previous;
  });
  const raw = parseYaml(readFileSync(join(EXAMPLE, "nexo.yaml"), "utf8")) as Record<string, any>;
  raw.state_dir = tempDir(t);
  raw.api = { ...raw.api, port: 0 };
  raw.plugins.billing.api_base = fake.url;
  const config = normalizeConfig(raw, join(EXAMPLE, "nexo.yaml"), EXAMPLE);
  const cap = captureLogger();
  const daemon = await Daemon.start(config, { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  assert.deepEqual(
    daemon.host.status().map((s) => [s.key, s.state]),
    [["billing", "ready"]],
  );
  const everything = (): string => JSON.stringify(cap.lines()) + daemon.host.require("billing").status().stderrTail.join("\n");
  return { daemon, app: daemon.app, logs: everything };
}

test("rpc-bridge-ts - create and fetch invoices through app.callTool, the HTTP API and MCP; the API sees form-encoded bodies with the Bearer key", async (t) => {
  const fake = await startFakeStripe(KEY);
  t.after(() => fake.close());
  const { app, logs } = await startBridge(t, fake, KEY);

  const tools = app.listTools();
  assert.deepEqual(
    tools.map((x) => [x.name, x.wire]),
    [
      [GET, "tool.invoke"],
      [CREATE, "topic"],
    ],
    "catalogue tools first, then the manifest's expose list",
  );
  assert.equal(app.getTool(CREATE)?.description, "Create a draft invoice for a Stripe customer; returns the invoice");

  // 1. app.callTool (the topic form: plugin.tool.stripe.create_invoice and its .reply)
  const created = await app.callTool(CREATE, { customer: "cus_ada", description: "March", metadata: { order: "42" }, collection_method: "send_invoice", days_until_due: 30 });
  assert.equal(created.is_error, false);
  const invoice = created.structured_content as Record<string, any>;
  assert.match(invoice.id, /^in_fake\d+$/);
  assert.equal(invoice.customer, "cus_ada");
  assert.match(String(created.content[0].text), new RegExp(`Created invoice ${invoice.id} for cus_ada: draft`));
  const sent = fake.requests.at(-1)!;
  assert.equal(sent.method, "POST");
  assert.equal(sent.path, "/v1/invoices");
  assert.equal(sent.authorization, `Bearer ${KEY}`);
  assert.equal(sent.contentType, "application/x-www-form-urlencoded");
  assert.deepEqual(sent.form, { customer: "cus_ada", description: "March", "metadata[order]": "42", collection_method: "send_invoice", days_until_due: "30" });
  assert.match(sent.idempotencyKey ?? "", /^[0-9a-f-]{36}$/, "the call event's id is the Idempotency-Key");
  const fetched = await app.callTool(GET, { id: invoice.id });
  assert.deepEqual(fetched.structured_content, invoice);

  // 2. HTTP API, on the daemon's real port
  const post = await fetch(`${app.url}/tools/${CREATE}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customer: "cus_ada" }) });
  assert.equal(post.status, 200);
  const viaHttp = (await post.json()) as { structured_content: { id: string } };
  assert.match(viaHttp.structured_content.id, /^in_fake\d+$/);
  const bad = await fetch(`${app.url}/tools/${CREATE}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customer: "bob", amount: 5 }) });
  assert.equal(bad.status, 400);
  assert.deepEqual(((await bad.json()) as any).error.violations.map((v: { path: string }) => v.path).sort(), ["/amount", "/customer"]);

  // 3. MCP over Streamable HTTP, with the official client
  const client = new Client({ name: "rpc-bridge-test", version: "1.0.0" });
  t.after(() => client.close().catch(() => undefined));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`)));
  const listed = await client.listTools();
  assert.deepEqual(listed.tools.map((x) => x.name).sort(), [GET, CREATE].sort());
  assert.equal(listed.tools.find((x) => x.name === CREATE)?.inputSchema.required?.[0], "customer");
  const viaMcp = (await client.callTool({ name: CREATE, arguments: { customer: "cus_ada", currency: "eur" } })) as CallToolResult;
  assert.equal(viaMcp.isError, false);
  const mcpInvoice = viaMcp.structuredContent as { id: string; currency: string };
  assert.equal(mcpInvoice.currency, "eur");
  const got = (await client.callTool({ name: GET, arguments: { id: mcpInvoice.id } })) as CallToolResult;
  assert.equal((got.structuredContent as { id: string }).id, mcpInvoice.id);

  // The secret key is never logged, by the daemon or the plugin.
  assert.ok(!logs().includes(KEY), "the API key appears in no log line");
});

test("rpc-bridge-ts - API errors become the contract's tool errors: bad arguments never reach the API, refused params point at the field, rate limits carry a retry hint", async (t) => {
  const fake = await startFakeStripe(KEY);
  t.after(() => fake.close());
  const { app } = await startBridge(t, fake, KEY);
  const data = (err: unknown) => (err as NexoError).details.data as { violations?: Array<{ path: string }>; retryAfterMs?: number };

  const before = fake.requests.length;
  await assert.rejects(app.callTool(CREATE, { customer: "bob", currency: "EURO" }), (err) => isNexoError(err, ErrorCodes.TOOL_INVALID_ARGS) && data(err).violations!.length === 2);
  assert.equal(fake.requests.length, before, "schema violations are caught by the daemon, before the plugin or the API");

  await assert.rejects(app.callTool(CREATE, { customer: "cus_nobody" }), (err) => {
    assert.ok(isNexoError(err, ErrorCodes.TOOL_INVALID_ARGS));
    assert.deepEqual(data(err).violations, [{ path: "/customer", message: "No such customer: 'cus_nobody'" }]);
    return true;
  });
  await assert.rejects(app.callTool(CREATE, { customer: "cus_busy" }), (err) => isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE) && data(err).retryAfterMs === 1000);
  await assert.rejects(app.callTool(GET, { id: "in_missing" }), (err) => isNexoError(err, ErrorCodes.TOOL_INVALID_ARGS) && data(err).violations![0].path === "/id");
});

test("rpc-bridge-ts - a wrong API key fails the call with Stripe's masked message; the key itself appears nowhere", async (t) => {
  const fake = await startFakeStripe(KEY);
  t.after(() => fake.close());
  const wrong = "sk_test_51WrongKeyWrongKeyWrongKey0000000000000000000009999";
  const { app, logs } = await startBridge(t, fake, wrong);
  await assert.rejects(app.callTool(CREATE, { customer: "cus_ada" }), (err) => {
    assert.ok(isNexoError(err, ErrorCodes.TOOL_EXECUTION_FAILED));
    assert.match(err.message, /Invalid API Key provided: sk_test_\*+9999/);
    assert.ok(!err.message.includes(wrong));
    return true;
  });
  assert.ok(!logs().includes(wrong));
});
