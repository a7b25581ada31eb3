import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";

/** One request the fake received. */
export interface FakeLlmRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, any>;
  at: number;
}

/** A failure served instead of an answer (one per request, in order). */
export interface FakeLlmFailure {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FakeLlm {
  /** `http://127.0.0.1:<port>`; OpenAI clients take `<url>/v1` as base URL, Anthropic clients `<url>`. */
  url: string;
  requests: FakeLlmRequest[];
  /** Queue failures answered before the next successes. */
  fail(...failures: FakeLlmFailure[]): void;
}

/** What the fake answers: "echo: " + the last user message, streamed in 3-character pieces (tool calling: see scriptedTurn). */
export function fakeAnswer(body: Record<string, any>): string {
  const users = (body.messages as Array<{ role: string; content: unknown }>).filter((m) => m.role === "user");
  const last = users[users.length - 1]?.content;
  return `echo: ${typeof last === "string" ? last : JSON.stringify(last)}`;
}

export function pieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 3) out.push(text.slice(i, i + 3));
  return out;
}

/**
 * Tool calling, scripted by the conversation: the last user message
 * "CALL <tool> <json args>" (with that tool offered) asks for the tool; a
 * tool result as the last message is answered "done: <result>". Null when
 * neither applies (the fake echoes).
 */
export function scriptedTurn(body: Record<string, any>, kind: "openai" | "anthropic"): { text: string } | { call: { id: string; name: string; args: unknown } } | null {
  const messages = body.messages as Array<{ role: string; content: any }>;
  const last = messages[messages.length - 1];
  if (!last) return null;
  if (kind === "openai" && last.role === "tool") return { text: `done: ${last.content}` };
  if (kind === "anthropic" && last.role === "user" && Array.isArray(last.content) && last.content[0]?.type === "tool_result") {
    const c = last.content[0].content;
    return { text: `done: ${typeof c === "string" ? c : JSON.stringify(c)}` };
  }
  const m = last.role === "user" && typeof last.content === "string" ? /^CALL (\S+) (.*)$/s.exec(last.content) : null;
  const offered = ((body.tools ?? []) as Array<any>).map((t) => (kind === "openai" ? t.function?.name : t.name));
  if (m && offered.includes(m[1])) return { call: { id: `call_${messages.length}`, name: m[1]!, args: JSON.parse(m[2]!) } };
  return null;
}

function sse(res: ServerResponse, frames: Array<{ event?: string; data: unknown }>): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const f of frames) res.write(`${f.event ? `event: ${f.event}\n` : ""}data: ${typeof f.data === "string" ? f.data : JSON.stringify(f.data)}\n\n`);
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function openaiChat(res: ServerResponse, body: Record<string, any>): void {
  const scripted = body.stream ? null : scriptedTurn(body, "openai");
  if (scripted && "call" in scripted) {
    const { id, name, args } = scripted.call;
    json(res, 200, {
      id: "chatcmpl-fake",
      created: 1_700_000_000,
      model: body.model,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: null, tool_calls: [{ id, type: "function", function: { name, arguments: JSON.stringify(args) } }] },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 },
    });
    return;
  }
  const text = scripted ? scripted.text : fakeAnswer(body);
  const usage = { prompt_tokens: 7, completion_tokens: pieces(text).length, total_tokens: 7 + pieces(text).length };
  const base = { id: "chatcmpl-fake", created: 1_700_000_000, model: body.model };
  if (!body.stream) {
    json(res, 200, { ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage });
    return;
  }
  const chunk = (delta: unknown, finish: string | null) => ({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
  sse(res, [
    { data: chunk({ role: "assistant", content: "" }, null) },
    ...pieces(text).map((p) => ({ data: chunk({ content: p }, null) })),
    { data: chunk({}, "stop") },
    ...(body.stream_options?.include_usage ? [{ data: { ...base, object: "chat.completion.chunk", choices: [], usage } }] : []),
    { data: "[DONE]" },
  ]);
}

function anthropicMessages(res: ServerResponse, body: Record<string, any>): void {
  const scripted = body.stream ? null : scriptedTurn(body, "anthropic");
  if (scripted && "call" in scripted) {
    const { id, name, args } = scripted.call;
    json(res, 200, {
      id: "msg_fake",
      type: "message",
      role: "assistant",
      model: body.model,
      stop_sequence: null,
      content: [{ type: "tool_use", id, name, input: args }],
      stop_reason: "tool_use",
      usage: { input_tokens: 13, output_tokens: 6 },
    });
    return;
  }
  const text = scripted ? scripted.text : fakeAnswer(body);
  const usage = { input_tokens: 9, output_tokens: pieces(text).length };
  const message = { id: "msg_fake", type: "message", role: "assistant", model: body.model, stop_sequence: null };
  if (!body.stream) {
    json(res, 200, { ...message, content: [{ type: "text", text }], stop_reason: "end_turn", usage });
    return;
  }
  sse(res, [
    { event: "message_start", data: { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 9, output_tokens: 1 } } } },
    { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
    { event: "ping", data: { type: "ping" } },
    ...pieces(text).map((p) => ({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } } })),
    { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
    { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: usage.output_tokens } } },
    { event: "message_stop", data: { type: "message_stop" } },
  ]);
}

/**
 * A loopback server speaking both OpenAI Chat Completions (`POST
 * /v1/chat/completions`) and Anthropic Messages (`POST /v1/messages`), plain
 * JSON or SSE when the body asks `stream: true`. Closed after the test.
 */
export async function startFakeLlm(t: TestContext): Promise<FakeLlm> {
  const requests: FakeLlmRequest[] = [];
  const failures: FakeLlmFailure[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      let body: Record<string, any>;
      try {
        body = JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
      } catch {
        json(res, 400, { error: { type: "invalid_request_error", message: "body is not JSON" } });
        return;
      }
      requests.push({ path: req.url ?? "", headers: req.headers, body, at: Date.now() });
      const failure = failures.shift();
      if (failure) {
        json(res, failure.status, failure.body ?? { error: { type: "error", message: `fake failure ${failure.status}` } }, failure.headers);
        return;
      }
      if (req.method === "POST" && req.url === "/v1/chat/completions") openaiChat(res, body);
      else if (req.method === "POST" && req.url === "/v1/messages") anthropicMessages(res, body);
      else json(res, 404, { error: { type: "not_found_error", message: `no route ${req.method} ${req.url}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, fail: (...f) => failures.push(...f) };
}
