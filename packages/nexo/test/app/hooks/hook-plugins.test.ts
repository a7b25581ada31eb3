// Hook points with a real Python SDK hook plugin and in-process hooks:
// before_message (inbound events before their binding runs), before_tool_call
// and before_outbound; block, transform, override, do_not_reply_again; a hook
// that times out or throws counts as allow.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Nexo } from "../../../src/app/index.js";
import { BindingsService, parseBindings } from "../../../src/bindings/index.js";
import { newEvent, type Event } from "../../../src/contract/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../../src/errors.js";
import { loadManifest, type PluginManifest } from "../../../src/manifest/index.js";
import { MonitoringPlugin } from "../../../src/plugins/index.js";
import { NEXO_VERSION } from "../../../src/version.js";
import { tempDir } from "../../helpers/fixture-plugins.js";
import { captureLogger } from "../../helpers/log-capture.js";
import { waitFor } from "../../helpers/wait.js";

const SCRIPT = fileURLToPath(new URL("../../fixtures/plugins/hook_plugin.py", import.meta.url));

function hookPlugin(root: string): PluginManifest {
  const dir = join(root, "hk");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      'id = "hk"',
      'version = "0.1.0"',
      'name = "hook fixture"',
      "",
      "[plugin.entrypoint]",
      'command = "python3"',
      `args = ${JSON.stringify([SCRIPT, dir])}`,
      "",
      "[[plugin.channels.register]]",
      'kind = "hk"',
      "",
      "[plugin.extends]",
      'hooks = ["before_message", "before_tool_call", "before_outbound", "after_message"]',
      "",
    ].join("\n"),
  );
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

async function rejection(p: Promise<unknown>): Promise<NexoError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isNexoError(err), `a NexoError, got ${String(err)}`);
    return err;
  }
  throw new Error("expected a rejection");
}

test("hooks - a Python SDK hook plugin and in-process hooks at before_message, before_tool_call and before_outbound", async (t) => {
  const saved = process.env.NEXO_PLUGIN_HOOK_TIMEOUT_MS;
  process.env.NEXO_PLUGIN_HOOK_TIMEOUT_MS = "300";
  t.after(() => (saved === undefined ? delete process.env.NEXO_PLUGIN_HOOK_TIMEOUT_MS : (process.env.NEXO_PLUGIN_HOOK_TIMEOUT_MS = saved)));
  const dir = tempDir(t);
  const cap = captureLogger("info");
  const app = new Nexo({ http: false, stateDir: join(dir, "state"), logger: cap.logger });
  t.after(() => app.stop());

  const monitoring = new MonitoringPlugin({ processMetrics: false });
  await app.addPlugin(monitoring);
  const ran: string[] = [];
  app.register("echo", (inputs: { text: string }) => {
    ran.push(inputs.text);
    return { text: `echo: ${inputs.text}` };
  });
  app.addService(new BindingsService(parseBindings([{ channel: "hk", workflow: "echo", concurrency: 1 }])));
  const localSeen: string[] = [];
  app.onHook("before_message", (e) => {
    localSeen.push(String(e.body));
    if (e.body === "local-throw") throw new Error("in-process hook failed");
    if (typeof e.body === "string" && e.body.startsWith("shout ")) return { decision: "transform", transformed_body: e.body.toUpperCase() };
    return undefined;
  });
  app.host.add({ manifest: hookPlugin(join(dir, "plugins")) });
  const replies: Event[] = [];
  const sub = app.broker.subscribe("plugin.outbound.hk", (e) => void replies.push(e));
  t.after(() => sub.unsubscribe());
  await app.start();

  const inbound = async (text: string, sessionId = "s-main"): Promise<Event> => {
    const e = newEvent("plugin.inbound.hk", "test", { text, from: "ada" }, { sessionId });
    await app.broker.publish(e.topic, e);
    return e;
  };
  const replyTo = (e: Event): Event | undefined => replies.find((r) => r.correlation_id === e.id);
  const answer = async (e: Event): Promise<string> => ((await waitFor(() => replyTo(e), `the reply to ${JSON.stringify(e.payload)}`, 15_000))!.payload as { text: string }).text;

  await t.test("hooks - a plugin hook that blocks stops the inbound message before its binding runs", async () => {
    const blocked = await inbound("please blockme");
    const next = await inbound("hello");
    assert.equal(await answer(next), "echo: hello");
    assert.equal(replyTo(blocked), undefined);
    assert.deepEqual(ran, ["hello"], "the workflow never saw the blocked message");
  });

  await t.test("hooks - a plugin hook that transforms rewrites the body the workflow gets", async () => {
    assert.equal(await answer(await inbound("redact card 4111 1111")), "echo: redact card #### ####");
  });

  await t.test("hooks - in-process hooks run first, then plugin hooks, each seeing the previous result", async () => {
    assert.equal(await answer(await inbound("shout hi")), "echo: SHOUT HI [seen-upper]");
    assert.equal(localSeen.at(-1), "shout hi", "the in-process hook saw the original");
  });

  await t.test("hooks - a hook that times out or throws counts as allow, logged and counted", async () => {
    assert.equal(await answer(await inbound("slow please")), "echo: slow please", "the late block is ignored");
    assert.equal(await answer(await inbound("boom")), "echo: boom");
    assert.equal(await answer(await inbound("local-throw")), "echo: local-throw");
    const stats = app.hookPoints.stats().before_message;
    assert.equal(stats.timedOut, 1);
    assert.equal(stats.failed, 2, "the plugin's error reply and the in-process throw");
    const warns = cap.lines().filter((l) => l.hook === "before_message" && l.level >= 40);
    assert.ok(
      warns.some((l) => l.by === "plugin:hk" && l.code === ErrorCodes.PLUGIN_HOOK_TIMEOUT),
      JSON.stringify(warns),
    );
    assert.ok(
      warns.some((l) => l.by === "app" && /in-process hook failed/.test(l.msg)),
      JSON.stringify(warns),
    );
    assert.ok(cap.lines().some((l) => /lists hooks this host never fires: after_message/.test(l.msg)));
    const metrics = await monitoring.metricsText();
    assert.match(metrics, /nexo_hook_calls_total\{hook="before_message",outcome="timed_out"\} 1/);
    assert.match(metrics, /nexo_hook_calls_total\{hook="before_message",outcome="failed"\} 2/);
  });

  await t.test("hooks - before_tool_call: a block is NEXO_ERR_TOOL_DENIED, an args override reaches the tool", async () => {
    const denied = await rejection(app.callTool("echo", { text: "blockme" }));
    assert.equal(denied.code, ErrorCodes.TOOL_DENIED);
    assert.deepEqual((denied.details.data as { pluginData: unknown }).pluginData, { hook: "before_tool_call", by: "plugin:hk", reason: "before_tool_call: blocked word" });
    const r = await app.callTool("echo", { text: "double" });
    assert.match(JSON.stringify(r), /echo: double double/);
  });

  await t.test("hooks - before_outbound: app.channels.send is blocked (NEXO_ERR_HOOK_BLOCKED) or rewritten before it is published", async () => {
    const blocked = await rejection(app.channels.send("hk", null, { kind: "text", to: "u1", body: "blockme now" }));
    assert.equal(blocked.code, ErrorCodes.HOOK_BLOCKED);
    const before = replies.length;
    const sent = await app.channels.send("hk", null, { kind: "text", to: "u1", body: "redact 99" });
    assert.equal(sent.via, "event", "a register-only channel gets the message as an event");
    const ev = (await waitFor(() => replies.slice(before).find((r) => r.id === sent.message_id), "the published message"))!;
    assert.deepEqual(ev.payload, { kind: "text", to: "u1", body: "redact ##" });
    const bad = await rejection(app.channels.send("hk", "a.>", { kind: "text", to: "u1", body: "x" }));
    assert.equal(bad.code, ErrorCodes.CHANNEL_NOT_FOUND, "an instance is one topic segment, never a pattern");
  });

  await t.test("hooks - do_not_reply_again: the workflow runs but its session gets no reply, now or later", async () => {
    const quiet = await inbound("quiet please", "s-quiet");
    const later = await inbound("are you there", "s-quiet");
    const other = await inbound("hi", "s-other");
    assert.equal(await answer(other), "echo: hi");
    assert.equal(replyTo(quiet), undefined);
    assert.equal(replyTo(later), undefined);
    assert.ok(ran.includes("quiet please") && ran.includes("are you there"), "the workflow still ran");
    const refused = await rejection(app.channels.send("hk", null, { kind: "text", to: "u", body: "x" }, { sessionId: "s-quiet" }));
    assert.equal(refused.code, ErrorCodes.HOOK_BLOCKED);
  });

  await t.test("hooks - a plugin's hooks detached (live reload) are no longer called", async () => {
    assert.equal(app.detachPluginExtensions("hk"), true);
    assert.match(JSON.stringify(await app.callTool("echo", { text: "blockme" })), /echo: blockme/);
    assert.equal(app.detachPluginExtensions("hk"), false);
  });
});
