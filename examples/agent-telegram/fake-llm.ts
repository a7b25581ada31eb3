// A stand-in for an OpenAI-compatible Chat Completions server (POST
// /v1/chat/completions, plain JSON or SSE with `stream: true`, tool calls), so
// the example runs with no network and no key. Its "model" is a few rules, so
// the demo is the same every time:
//   - "remember (that) X"               -> calls memory_remember {content: X}
//   - "... invoice in_XXX ..."           -> calls the *get_invoice tool {id: in_XXX}
//   - a tool result                      -> answers with it
//   - a question while memories are in the system prompt -> answers from them
//   - anything else                      -> says what it can do
// Usage: npx tsx examples/agent-telegram/fake-llm.ts [port]   (default 8091; 0 = any free port)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

type Msg = { role: string; content: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>; tool_call_id?: string };
type Answer = { text: string } | { call: { name: string; args: Record<string, unknown> } };

/** The rules above, on one Chat Completions request body. */
export function decide(body: { messages: Msg[]; tools?: Array<{ function: { name: string } }> }): Answer {
  const messages = body.messages;
  const last = messages[messages.length - 1];
  const system = messages
    .filter((m) => m.role === "system")
    .map((m) => m.content ?? "")
    .join("\n");
  const tools = (body.tools ?? []).map((t) => t.function.name);
  if (last?.role === "tool") {
    const called = messages.flatMap((m) => m.tool_calls ?? []).find((c) => c.id === last.tool_call_id)?.function.name ?? "";
    if (called === "memory_remember") return { text: "Noted, I will remember that." };
    return { text: `Here is what I found: ${last.content ?? ""}` };
  }
  const text = String(last?.content ?? "");
  const remember = /^\s*remember(?: that)?\s+(.+)$/is.exec(text);
  if (remember && tools.includes("memory_remember")) return { call: { name: "memory_remember", args: { content: remember[1]!.trim() } } };
  const invoice = /\b(in_[A-Za-z0-9]+)\b/.exec(text);
  const getInvoice = tools.find((n) => n.endsWith("get_invoice"));
  if (invoice && getInvoice) return { call: { name: getInvoice, args: { id: invoice[1]! } } };
  const memories = /What you remember \(most relevant first\):\n((?:- .*\n?)+)/.exec(system);
  if (text.includes("?") && memories) return { text: `From what you told me: ${memories[1]!.split("\n")[0]!.slice(2)}` };
  return { text: "I can look up an invoice (ask about in_...) and remember what you tell me (say: remember that ...)." };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function complete(res: ServerResponse, body: Record<string, any>, n: number): void {
  const answer = decide(body as never);
  const base = { id: `chatcmpl-demo${n}`, created: Math.floor(Date.now() / 1000), model: String(body.model ?? "demo") };
  const usage = { prompt_tokens: JSON.stringify(body.messages).length >> 2, completion_tokens: 12, total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if ("call" in answer) {
    const call = { id: `call_demo${n}`, type: "function", function: { name: answer.call.name, arguments: JSON.stringify(answer.call.args) } };
    return send(res, 200, {
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "tool_calls" }],
      usage,
    });
  }
  if (!body.stream)
    return send(res, 200, { ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: answer.text }, finish_reason: "stop" }], usage });
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunk = (delta: unknown, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  for (const word of answer.text.split(/(?<= )/)) res.write(chunk({ content: word }, null));
  res.write(chunk({}, "stop"));
  res.end("data: [DONE]\n\n");
}

/** Start the fake on 127.0.0.1:`port` (0 = a free port). */
export async function startFakeLlm(port = 0): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions")
        return send(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } });
      let body: Record<string, any>;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { error: { message: "body is not JSON", type: "invalid_request_error" } });
      }
      state.requests = ++requests;
      complete(res, body, requests);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const state = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fake = await startFakeLlm(Number(process.argv[2] ?? 8091));
  console.log(`fake LLM (OpenAI protocol) on ${fake.url}`);
  process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
}
