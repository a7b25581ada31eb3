// Pattern 3 ("RPC bridge to an external API"), run as its reference snippet prints
// it: the snippet below is the reference TypeScript, character for character. Its
// handler publishes the reply without a correlation_id; the SDK gives it the id
// of the call event being handled, so the daemon matches it and the tool call
// succeeds. The plugin runs under `nexo run` (a real daemon process); the
// snippet's `stripeClient` talks to a loopback fake of the Stripe invoices API.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { startFakeStripe } from "../../../../examples/rpc-bridge-ts/test/fake-stripe.js";
import { tempDir } from "../../../nexo/test/helpers/fixture-plugins.js";
import { startNexoDaemon } from "../../../nexo/test/helpers/nexo-cli.js";
import { freePort } from "../../../nexo/test/helpers/nats-server.js";
import { waitFor } from "../../../nexo/test/helpers/wait.js";

const SDK_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** Pattern 3, verbatim (TypeScript that is also plain JavaScript). */
export const SEED_PATTERN_3 = `import { PluginAdapter } from "nexo-plugin-sdk";
const adapter = new PluginAdapter({
manifestToml: MANIFEST,
onEvent: async (topic, event, broker) => {
if (topic === "plugin.tool.stripe.create_invoice") {
const inv = await stripeClient.invoices.create(event.payload);
await broker.publish("plugin.tool.stripe.create_invoice.reply",
Event.new("plugin.tool.reply", "stripe-bridge", { result: inv }));
}
},
});`;

/** The reference manifest lines for the tool, verbatim, under a [plugin] table and an entrypoint. */
const MANIFEST = `[plugin]
id = "invoicing"
version = "0.1.0"

[plugin.entrypoint]
command = "node"
args = ["main.mjs"]

[[plugin.tools.expose]]
name = "stripe.create_invoice"
schema_path = "./tools/create_invoice.json"
`;

/**
 * What the snippet leaves to the reader: \`Event\` and \`MANIFEST\` in scope, a
 * \`stripeClient\` (here a form-encoded client of the fake), and starting the adapter.
 */
const PROGRAM = `import { readFileSync } from "node:fs";
import { Event } from "nexo-plugin-sdk";
const MANIFEST = readFileSync(new URL("./nexo-plugin.toml", import.meta.url), "utf8");
const api = JSON.parse(readFileSync(new URL("./stripe.json", import.meta.url), "utf8"));
const stripeClient = {
  invoices: {
    async create(params) {
      const res = await fetch(api.base + "/v1/invoices", {
        method: "POST",
        headers: { authorization: "Bearer " + api.key, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(params).toString(),
      });
      return res.json();
    },
  },
};
${SEED_PATTERN_3}
await adapter.run();
`;

test("plugin pattern 3 - the reference snippet answers a tool call under nexo run: the reply needs no correlation_id", async (t) => {
  const key = "sk_test_seedpattern3000000000000000000000000000000000000";
  const fake = await startFakeStripe(key);
  t.after(() => fake.close());
  const dir = tempDir(t);
  const plugin = join(dir, "plugins", "invoicing");
  mkdirSync(join(plugin, "tools"), { recursive: true });
  mkdirSync(join(plugin, "node_modules"));
  symlinkSync(SDK_DIR, join(plugin, "node_modules", "nexo-plugin-sdk"), "dir");
  writeFileSync(join(plugin, "nexo-plugin.toml"), MANIFEST);
  writeFileSync(join(plugin, "main.mjs"), PROGRAM);
  writeFileSync(join(plugin, "stripe.json"), JSON.stringify({ base: fake.url, key }));
  writeFileSync(join(plugin, "tools", "create_invoice.json"), JSON.stringify({ type: "object", required: ["customer"], properties: { customer: { type: "string" } } }));
  const port = await freePort();
  const config = join(dir, "nexo.yaml");
  writeFileSync(
    config,
    [
      `state_dir: ${JSON.stringify(join(dir, "state"))}`,
      `plugin_paths: [${JSON.stringify(join(dir, "plugins"))}]`,
      "api:",
      `  port: ${port}`,
      "plugins:",
      "  invoicing: {}",
      "",
    ].join("\n"),
  );
  const daemon = startNexoDaemon(t, config);
  const base = `http://127.0.0.1:${port}`;
  const tool = await waitFor(
    async () => {
      const r = await fetch(`${base}/tools`).catch(() => undefined);
      if (!r?.ok) return undefined;
      const body = (await r.json()) as { tools?: Array<{ name: string }> } | Array<{ name: string }>;
      const list = Array.isArray(body) ? body : (body.tools ?? []);
      return list.find((x) => x.name.endsWith("create_invoice"))?.name;
    },
    "the reference tool listed",
    30_000,
    100,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });

  const res = await fetch(`${base}/tools/${tool}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customer: "cus_ada" }) });
  const body = (await res.json()) as { structured_content?: { id: string; customer: string }; is_error?: boolean };
  assert.equal(res.status, 200, `${JSON.stringify(body)}\n--- daemon output ---\n${daemon.output()}`);
  assert.equal(body.is_error, false);
  assert.match(body.structured_content!.id, /^in_fake\d+$/);
  assert.equal(body.structured_content!.customer, "cus_ada");
  assert.deepEqual(fake.requests.at(-1)!.form, { customer: "cus_ada" });
});
