// Agent bindings and memory recall.
// 1. An agent turn's overhead beyond the model: inbound event -> binding -> agent ->
//    app.llm.chat (OpenAI SDK, HTTP to a loopback fake that answers at once) -> outbound
//    event, beside a direct app.llm.chat call to the same fake in the same run. A turn with
//    one tool call makes two model calls: its overhead is counted against two direct calls.
// 2. memory.recall (embedded SQLite FTS5) latency with 100,000 entries for one agent.
// Run: npm run build && node --import tsx bench/agent.bench.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "nexo-plugin-sdk";
import { Nexo } from "../packages/nexo/src/app/index.js";
import { BindingsService, parseBindings } from "../packages/nexo/src/bindings/index.js";
import { newEvent, type Event } from "../packages/nexo/src/contract/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { MemoryStore } from "../packages/nexo/src/memory/index.js";
import { createStore } from "../packages/nexo/src/store/index.js";
import { startFakeLlm } from "../examples/agent-telegram/fake-llm.js";
import { printRows, summarize, type Row } from "./stats.js";

const TURNS = Number(process.env.BENCH_TURNS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 100;
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 1000);

/** `cpuUs`: CPU time (user + system) the process spent, fake model included, per operation: unlike wall time, other processes' load does not inflate it. */
type Case = { name: string; modelCalls: number; run: (i: number) => Promise<unknown>; samples: number[]; cpuUs: number[] };

async function agentBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-agent-bench-"));
  const fake = await startFakeLlm(0);
  const app = new Nexo({ logger: silentLogger(), http: false, stateDir: dir, llm: { providers: { fake: { kind: "openai", baseUrl: fake.url, model: "demo", maxRetries: 0 } } } });
  app.register("billing_get_invoice", (inputs: { id: string }) => ({ id: inputs.id, status: "paid" }), {
    description: "an in-process stand-in for the invoice tool",
    inputSchema: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
  });
  const bindings = new BindingsService(
    parseBindings([{ name: "bench", channel: "bench", agent: { provider: "fake", system_prompt: "Be brief.", tools: ["billing_*"], history: 0 } }]),
  );
  app.addService(bindings);
  await app.start();
  // Replies are matched to their inbound events by correlation id.
  const waiting = new Map<string, () => void>();
  app.broker.subscribe(
    "plugin.outbound.bench.>",
    (e: Event) => {
      const done = e.correlation_id ? waiting.get(e.correlation_id) : undefined;
      if (done) {
        waiting.delete(e.correlation_id!);
        done();
      }
    },
    { bufferSize: 10_000 },
  );
  const turn = (text: string, i: number): Promise<void> => {
    const e = newEvent("plugin.inbound.bench.b1", "bench", { text, chat_id: i }, { sessionId: `s${i % 16}` });
    const replied = new Promise<void>((resolve) => waiting.set(e.id, resolve));
    return app.broker.publish(e.topic, e).then(() => replied);
  };
  const cases: Case[] = [
    {
      name: "direct app.llm.chat to the fake (baseline)",
      modelCalls: 1,
      samples: [],
      cpuUs: [],
      run: () => app.llm.chat({ messages: [{ role: "user", content: "hello" }], system_prompt: "Be brief." }),
    },
    { name: "agent turn, answer only (1 model call)", modelCalls: 1, samples: [], cpuUs: [], run: (i) => turn("hello", i) },
    { name: "agent turn, 1 tool call (2 model calls)", modelCalls: 2, samples: [], cpuUs: [], run: (i) => turn(`status of invoice in_${i}?`, i) },
  ];
  for (const c of cases) for (let i = 0; i < WARMUP; i++) await c.run(i);
  const per = Math.ceil(TURNS / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < per; i++) {
        const s = process.hrtime.bigint();
        await c.run(i);
        c.samples.push(Number(process.hrtime.bigint() - s));
      }
      const cpu = process.cpuUsage(cpu0);
      c.cpuUs.push((cpu.user + cpu.system) / per);
    }
  }
  const base = summarize(cases[0]!.samples);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length / 1000;
  const baseMean = mean(cases[0]!.samples);
  const rows: Row[] = cases.map((c) => {
    const s = summarize(c.samples);
    const m = mean(c.samples);
    return {
      name: c.name,
      opsPerSec: 1e6 / m,
      ...s,
      ratio:
        c === cases[0]
          ? ""
          : `${(s.p50us / (base.p50us * c.modelCalls)).toFixed(2)}x of ${c.modelCalls} direct call(s); overhead p50 ${(s.p50us - base.p50us * c.modelCalls).toFixed(0)} µs, mean ${(m - baseMean * c.modelCalls).toFixed(0)} µs`,
    };
  });
  printRows(`Agent turn vs direct model call (${ROUNDS} rounds x ${per} sequential, fake model answering at once)`, rows);
  // CPU per operation, best round (least disturbed): the overhead that load cannot blur.
  const cpu = cases.map((c) => Math.min(...c.cpuUs));
  console.log("\nCPU per operation (process total, fake model included; best round)");
  cases.forEach((c, i) => {
    const extra = cpu[i]! - cpu[0]! * c.modelCalls;
    console.log(
      `${c.name.padEnd(52)} ${cpu[i]!.toFixed(0).padStart(7)} µs${i === 0 ? "" : `  beyond ${c.modelCalls} direct call(s): ${extra.toFixed(0)} µs (${((cpu[i]! / (cpu[0]! * c.modelCalls)) * 100).toFixed(0)}%)`}`,
    );
  });
  await app.stop();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Sentences of 12 words from a 5,000-word vocabulary: a word appears in about 0.24% of entries. */
function words(n: number, rand: () => number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`w${Math.floor(rand() * 5000)}`);
  return out.join(" ");
}

async function recallBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-recall-bench-"));
  const store = await createStore(`sqlite:${join(dir, "memory.db")}`);
  const memory = new MemoryStore(store);
  await memory.init();
  let seed = 42;
  const rand = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const t0 = Date.now();
  const BATCH = 5000;
  for (let n = 0; n < ENTRIES; n += BATCH) {
    await store.transaction(async (tx) => {
      for (let i = n; i < Math.min(ENTRIES, n + BATCH); i++) {
        // The agent's own entries plus another agent's, interleaved like real writes.
        const agent = i % 10 === 0 ? "other" : "ada";
        await tx.exec("INSERT INTO nexo_memories (id, agent_id, content, tags, concept_tags, memory_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
          uuidv7(),
          agent,
          words(12, rand),
          "[]",
          "[]",
          "note",
          Date.now() + i,
        ]);
      }
    });
  }
  const loadS = (Date.now() - t0) / 1000;
  const cases: Array<{ name: string; query: () => string; limit: number; samples: number[] }> = [
    { name: "recall 3-word query, limit 10", query: () => words(3, rand), limit: 10, samples: [] },
    { name: "recall 1-word query, limit 10", query: () => words(1, rand), limit: 10, samples: [] },
    { name: "recall empty query (newest), limit 10", query: () => "", limit: 10, samples: [] },
    { name: "recall 3-word query, limit 100", query: () => words(3, rand), limit: 100, samples: [] },
  ];
  for (const c of cases) for (let i = 0; i < 50; i++) await memory.recall({ agent_id: "ada", query: c.query(), limit: c.limit });
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      for (let i = 0; i < Math.ceil(QUERIES / ROUNDS); i++) {
        const q = c.query();
        const s = process.hrtime.bigint();
        await memory.recall({ agent_id: "ada", query: q, limit: c.limit });
        c.samples.push(Number(process.hrtime.bigint() - s));
      }
    }
  }
  printRows(
    `memory.recall on SQLite FTS5, ${ENTRIES.toLocaleString("en-US")} entries (90% agent "ada"), loaded in ${loadS.toFixed(1)} s`,
    cases.map((c) => ({ name: c.name, opsPerSec: 1e9 / (c.samples.reduce((a, b) => a + b, 0) / c.samples.length), ...summarize(c.samples) })),
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await agentBench();
await recallBench();
