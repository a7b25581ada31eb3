// The example in one command, with no network and no key:
//   npm run build && npx tsx examples/agent-telegram/demo.ts
// Starts loopback fakes of the Telegram Bot API, Stripe and an OpenAI-compatible model,
// runs `nexo run` on a copy of nexo.yaml pointed at them, follows `nexo tail 'agent.>'`,
// and plays a short chat as user Ada. Exits 0 when every message got its answer.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { startFakeStripe } from "../rpc-bridge-ts/test/fake-stripe.js";
import { FakeTelegram } from "../telegram-bot-ts/test/fake-telegram.js";
import { startFakeLlm } from "./fake-llm.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const NEXO = fileURLToPath(new URL("../../packages/nexo/bin/nexo.js", import.meta.url));
const BOT_TOKEN = "100200:demo-bot-token";
const STRIPE_KEY = "sk_test_demo_agent_telegram";
const CHAT = 4242;
const WAIT_MS = 30_000;

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function waitFor(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function track(child: ChildProcess): { out: () => string; err: () => string; exited: Promise<number | null> } {
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  return { out: () => out, err: () => err, exited: new Promise((r) => child.once("close", (code) => r(code))) };
}

/** One line per agent step, from the JSON events `nexo tail` prints. */
function describeStep(line: string): string | null {
  try {
    const e = JSON.parse(line) as { topic: string; payload: Record<string, any> };
    const p = e.payload;
    if (p.kind === "model") return `  [${e.topic}] step ${p.step}: model -> ${p.answer}${p.tool_calls?.length ? ` ${p.tool_calls.join(", ")}` : ""}`;
    if (p.kind === "tool") return `  [${e.topic}] step ${p.step}: tool ${p.tool}${p.is_error ? " (error)" : ""} in ${p.duration_ms} ms`;
    return `  [${e.topic}] ${p.steps} model call(s), ${p.tool_calls} tool call(s), ${p.duration_ms} ms`;
  } catch {
    return null;
  }
}

const work = mkdtempSync(join(tmpdir(), "nexo-agent-telegram-"));
const llm = await startFakeLlm(0);
const telegram = await FakeTelegram.start({ helpdesk: BOT_TOKEN });
const stripe = await startFakeStripe(STRIPE_KEY);
const children: ChildProcess[] = [];
let ok = false;
try {
  // The shop's backend issued an invoice earlier; the agent will look it up.
  const created = await fetch(`${stripe.url}/v1/invoices`, {
    method: "POST",
    headers: { authorization: `Bearer ${STRIPE_KEY}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ customer: "cus_ada", description: "Order 42" }),
  }).then((r) => r.json() as Promise<{ id: string }>);

  const config = parse(readFileSync(join(HERE, "nexo.yaml"), "utf8")) as Record<string, any>;
  config.state_dir = join(work, "state");
  config.plugin_paths = [join(HERE, "..")];
  config.plugins.telegram[0].config.api_base_url = telegram.baseUrl;
  config.plugins.telegram[0].config.poll_timeout_secs = 2;
  config.plugins.billing.api_base = stripe.url;
  config.llm.providers.main.base_url = llm.url;
  const file = join(work, "nexo.yaml");
  writeFileSync(file, stringify(config));
  const env = { ...process.env, TG_HELPDESK_TOKEN: BOT_TOKEN, STRIPE_SECRET_KEY: STRIPE_KEY, OPENAI_API_KEY: "not-needed-by-the-fake" };

  say(`fakes: telegram ${telegram.baseUrl}, stripe ${stripe.url}, model ${llm.url}`);
  const daemon = spawn(process.execPath, [NEXO, "run", "--config", file], { env });
  children.push(daemon);
  const d = track(daemon);
  await waitFor(() => d.out().includes("nexo daemon started") || daemon.exitCode !== null, "nexo run to start");
  if (daemon.exitCode !== null) throw new Error(`nexo run exited with ${daemon.exitCode}:\n${d.out()}${d.err()}`);
  await waitFor(() => telegram.isPolling(BOT_TOKEN), "the telegram plugin to poll");
  say("nexo run is up: plugins telegram.helpdesk and billing, binding helpdesk -> agent");

  const tail = spawn(process.execPath, [NEXO, "--config", file, "tail", "agent.>"], { env });
  children.push(tail);
  const tl = track(tail);
  await waitFor(() => tl.err().includes("tailing agent.>"), "nexo tail to subscribe");

  const completedTurns = (): number =>
    tl
      .out()
      .split("\n")
      .filter((l) => l.includes('"topic":"agent.helpdesk.completed"')).length;
  const chat = [`remember that I prefer email over phone calls`, `What is the status of invoice ${created.id}?`, `Which way of contact do I prefer?`];
  let printed = 0;
  for (const [i, text] of chat.entries()) {
    const before = telegram.sent(BOT_TOKEN).length;
    say(`\nAda: ${text}`);
    telegram.userSays(BOT_TOKEN, CHAT, text);
    await waitFor(() => telegram.sent(BOT_TOKEN).length > before, "the bot's answer");
    await waitFor(() => completedTurns() > i, "the turn's events in nexo tail", 5_000);
    const lines = tl.out().split("\n").filter(Boolean);
    for (const l of lines.slice(printed)) {
      const s = describeStep(l);
      if (s) say(s);
    }
    printed = lines.length;
    const reply = telegram.sent(BOT_TOKEN)[before]!;
    say(`bot (to chat ${reply.chat_id}): ${reply.text}`);
  }
  say(`\nthe model was asked ${llm.requests} time(s); the conversation of chat ${CHAT} and the memory live in ${join(work, "state")} (removed now)`);
  ok = true;
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
} finally {
  for (const c of children.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("close", r)))));
  await Promise.all([llm.close(), telegram.close(), stripe.close()]);
  rmSync(work, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
