import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../src/config/index.js";
import { RpcError, type Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { hashApiKey } from "../../src/plugins/auth/index.js";
import { ControlClient, ControlMethods } from "../../src/surfaces/control/index.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { runNexo } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";

const KEYS = { analyst: "analyst-key-0123456789abcdef", ops: "ops-key-0123456789abcdef-ops", stranger: "stranger-key-0123456789abcdef" };

/**
 * One daemon for every surface: API-key auth, a plugin tool, workflows, two
 * bindings, and rules that grant some of it to each principal.
 */
test("authorization e2e - one gate refuses an ungranted principal alike on HTTP, MCP, the control socket and bindings, and the audit trail records who did what", async (t) => {
  const dir = tempDir(t);
  fixturePlugin(join(dir, "plugins"), {
    id: "calc",
    mode: "echo",
    tools: ["echo", "crash"],
    catalogue: [
      { name: "echo", description: "echoes", input_schema: { type: "object" } },
      { name: "crash", description: "exits", input_schema: { type: "object" } },
    ],
  });
  writeFileSync(
    join(dir, "workflows.mjs"),
    [
      "export default function (app) {",
      `  app.register("greet", ({ name }) => ({ text: "hi " + name }));`,
      `  app.register("secret", () => ({ launch: "codes" }));`,
      `  app.register("whoami", (_i, ctx) => ({ id: ctx.principal ? ctx.principal.id : null }));`,
      "}",
    ].join("\n"),
  );
  const file = join(dir, "nexo.yaml");
  writeFileSync(
    file,
    JSON.stringify({
      state_dir: join(dir, "state"),
      plugin_paths: [join(dir, "plugins")],
      workflows: [join(dir, "workflows.mjs")],
      api: { port: 0 },
      in_process_plugins: {
        auth: {
          strategy: "api_key",
          api_keys: [
            { id: "analyst", hash: hashApiKey(KEYS.analyst), claims: { roles: ["analyst"], org: "acme" } },
            { id: "ops", hash: hashApiKey(KEYS.ops), claims: { roles: ["ops"], org: "acme" } },
            { id: "stranger", hash: hashApiKey(KEYS.stranger) },
          ],
        },
      },
      bindings: [
        { name: "greeter", inbound: "plugin.inbound.greet", workflow: "greet" },
        { name: "sneaky", inbound: "plugin.inbound.sneak", workflow: "secret" },
      ],
      authorization: {
        tenant_claim: "org",
        rules: [
          { name: "analysts", principals: ["role:analyst"], workflows: ["greet", "whoami"], tools: ["calc_echo"] },
          { name: "ops", principals: ["role:ops"], workflows: ["*"], tools: ["*"], admin: ["audit"] },
          { name: "operator", principals: ["control_socket"], workflows: ["greet"] },
          { name: "greeter", principals: ["binding:greeter"], workflows: ["greet"] },
        ],
      },
    }),
  );
  const cap = captureLogger();
  const daemon = await Daemon.start(loadConfig(file), { logger: cap.logger });
  t.after(() => daemon.stop());
  const base = daemon.app.url!;
  await waitFor(() => daemon.app.listTools().some((x) => x.name === "calc_echo"), "the plugin's tools");
  const call = async (key: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };

  // HTTP: workflows and plugin tools, granted and not.
  assert.deepEqual(await call(KEYS.analyst, "/workflows/greet/execute", { name: "Ada" }), { status: 200, json: { text: "hi Ada" } });
  const refused = await call(KEYS.analyst, "/workflows/secret/execute", {});
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error.code, ErrorCodes.AUTHZ_FORBIDDEN);
  assert.match(refused.json.error.message, /api_key:analyst may not run workflow "secret"/);
  assert.equal((await call(KEYS.stranger, "/workflows/greet/execute", { name: "x" })).status, 403, "authenticated is not authorized");
  // Asking for an event stream does not turn the refusal into a 200 stream with an error event.
  const streamed = await fetch(`${base}/workflows/secret/execute`, {
    method: "POST",
    headers: { "x-api-key": KEYS.analyst, "content-type": "application/json", accept: "text/event-stream" },
    body: "{}",
  });
  assert.equal(streamed.status, 403);
  assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, ErrorCodes.AUTHZ_FORBIDDEN);
  // An asynchronous run is refused at submission, not left to fail later.
  const run = await call(KEYS.analyst, "/workflows/secret/runs", {});
  assert.equal(run.status, 403);
  assert.equal(run.json.error.code, ErrorCodes.AUTHZ_FORBIDDEN);
  assert.equal((await call(KEYS.analyst, "/workflows/greet/runs", { name: "Run" })).status, 202);
  assert.equal((await call(KEYS.analyst, "/tools/calc_echo", { a: 1 })).status, 200);
  const tool = await call(KEYS.analyst, "/tools/calc_crash", {});
  assert.equal(tool.status, 403);
  assert.equal(tool.json.error.code, ErrorCodes.AUTHZ_FORBIDDEN);
  assert.equal(daemon.app.listTools().length > 3, true);
  assert.deepEqual(
    ((await call(KEYS.analyst, "/tools")).json.tools as Array<{ name: string }>).map((x) => x.name).sort(),
    ["calc_echo", "greet", "whoami"],
    "each caller sees what it may call",
  );

  // MCP over HTTP, official client: the list is filtered and a refused call is a readable tool error.
  const client = new Client({ name: "authz-test", version: "1.0.0" });
  t.after(() => client.close().catch(() => undefined));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { "x-api-key": KEYS.analyst } } }));
  assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), ["calc_echo", "greet", "whoami"]);
  assert.deepEqual(((await client.callTool({ name: "whoami", arguments: {} })) as CallToolResult).structuredContent, { id: "analyst" });
  const mcpRefused = (await client.callTool({ name: "secret", arguments: {} })) as CallToolResult;
  assert.equal(mcpRefused.isError, true);
  assert.equal((mcpRefused.structuredContent as { error: { code: string } }).error.code, ErrorCodes.AUTHZ_FORBIDDEN);

  // Control socket: the operator's rule grants greet only; the CLI prints the stable code and exits 1.
  const control = await ControlClient.connect(daemon.config.control.socket);
  t.after(() => control.close());
  assert.deepEqual(await control.request(ControlMethods.WORKFLOW_RUN, { name: "greet", inputs: { name: "Op" } }), { result: { text: "hi Op" } });
  await assert.rejects(
    control.request(ControlMethods.WORKFLOW_RUN, { name: "secret", inputs: {} }),
    (err: unknown) => err instanceof RpcError && (err.data as { code: string }).code === ErrorCodes.AUTHZ_FORBIDDEN,
  );
  const cli = await runNexo(["workflow", "run", "secret", "--socket", daemon.config.control.socket]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /local:control_socket may not run workflow "secret".*NEXO_ERR_AUTHZ_FORBIDDEN/);

  // Bindings run as `binding:<name>`: the granted one replies, the other is refused and counted as failed.
  const replies: Event[] = [];
  const sub = daemon.app.broker.subscribe("plugin.outbound.>", (e) => void replies.push(e));
  t.after(() => sub.unsubscribe());
  await daemon.app.broker.publish("plugin.inbound.greet", {
    id: "00000000-0000-7000-8000-000000000001",
    topic: "plugin.inbound.greet",
    source: "test",
    timestamp: new Date().toISOString(),
    payload: { name: "Bo" },
    session_id: null,
    correlation_id: null,
    metadata: {},
  } as unknown as Event);
  await daemon.app.broker.publish("plugin.inbound.sneak", {
    id: "00000000-0000-7000-8000-000000000002",
    topic: "plugin.inbound.sneak",
    source: "test",
    timestamp: new Date().toISOString(),
    payload: {},
    session_id: null,
    correlation_id: null,
    metadata: {},
  } as unknown as Event);
  await waitFor(() => daemon.bindings.stats().every((s) => s.received === 1 && s.running === 0) && replies.length >= 1, "both bindings handled their event");
  assert.deepEqual(
    replies.map((r) => [r.topic, r.payload]),
    [["plugin.outbound.greet", { text: "hi Bo" }]],
  );
  assert.equal(daemon.bindings.stats().find((s) => s.name === "sneaky")?.failed, 1);

  // The audit trail: readable by ops (admin: audit), not by the analyst nor the control socket.
  assert.equal((await call(KEYS.analyst, "/audit")).status, 403);
  await assert.rejects(
    control.request(ControlMethods.AUDIT_QUERY, {}),
    (err: unknown) => err instanceof RpcError && (err.data as { code: string }).code === ErrorCodes.AUTHZ_FORBIDDEN,
  );
  const denied = await call(KEYS.ops, "/audit?allowed=false&limit=50");
  assert.equal(denied.status, 200);
  const seen = (
    denied.json.entries as Array<{ principal: string; strategy: string; tenant: string | null; surface: string; kind: string; name: string; allowed: boolean; rule: string }>
  ).map((e) => `${e.strategy}:${e.principal} ${e.surface} ${e.kind} ${e.name} tenant=${e.tenant}`);
  for (const want of [
    "api_key:analyst http workflow secret tenant=acme",
    "api_key:stranger http workflow greet tenant=null",
    "api_key:analyst http tool calc_crash tenant=acme",
    "api_key:analyst mcp workflow secret tenant=acme",
    "local:control_socket cli workflow secret tenant=null",
    "binding:sneaky sneak workflow secret tenant=null",
    "api_key:analyst http admin audit tenant=acme",
  ]) {
    assert.ok(seen.includes(want), `audit has "${want}" in:\n${seen.join("\n")}`);
  }
  assert.ok(denied.json.entries.every((e: { allowed: boolean }) => !e.allowed));
  const mine = await call(KEYS.ops, "/audit?principal=analyst&allowed=true");
  assert.ok(mine.json.entries.some((e: { name: string; surface: string }) => e.name === "greet" && e.surface === "http"));
  assert.equal((await call(KEYS.ops, "/audit?limit=0")).status, 400, "bad filters are refused");
  assert.equal((await call(KEYS.ops, "/audit?colour=red")).status, 400);
});
