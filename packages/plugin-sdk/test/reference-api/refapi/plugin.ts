// A plugin written against the reference TypeScript SDK's documented API
// only (nexo-plugin-sdk 0.3.0: README, CHANGELOG, index exports), every public
// name used as those docs describe. reference-api.test.ts runs it under the
// daemon. Nothing here is Nexo-specific.
import { readFileSync } from "node:fs";
import {
  BrokerSender,
  buildErrorResponse,
  buildResponse,
  DEFAULT_RPC_TIMEOUT_MS,
  Event,
  installStdoutGuard,
  isStdoutGuardInstalled,
  JSONRPC_VERSION,
  LlmStream,
  MAX_FRAME_BYTES,
  ManifestError,
  parseLlmCompleteResult,
  parseManifest,
  parseMemoryEntry,
  PluginAdapter,
  PluginError,
  RpcDecodeError,
  RpcError,
  RpcServerError,
  RpcTimeoutError,
  RpcTransportError,
  serializeFrame,
  STDOUT_GUARD_MARKER,
  textResult,
  ToolArgumentInvalidError,
  ToolDeniedError,
  toolDefToJson,
  ToolError,
  ToolExecutionFailedError,
  ToolNotFoundError,
  ToolUnavailableError,
  uninstallStdoutGuard,
  VERSION,
  WireError,
  type EventHandler,
  type JsonRpcErrorResponse,
  type JsonRpcFrame,
  type JsonRpcId,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type LineWriter,
  type LlmCompleteOptions,
  type LlmCompleteResult,
  type ManifestPluginSection,
  type MemoryEntry,
  type MemoryRecallOptions,
  type Message,
  type ParsedManifest,
  type PluginAdapterOptions,
  type ShutdownHandler,
  type TokenCount,
  type ToolContext,
  type ToolDef,
  type ToolHandler,
  type ToolHandlerWithContext,
  type ToolInvocation,
} from "nexo-plugin-sdk";

const MANIFEST = readFileSync(new URL("./nexo-plugin.toml", import.meta.url), "utf-8");
const parsed: ParsedManifest = parseManifest(MANIFEST);
const section: ManifestPluginSection = parsed.plugin;
const ID = section.id;

const schema = { type: "object" };
const tools: ToolDef[] = ["echo", "recall", "complete", "stream", "fail", "helpers"].map((n) => ({ name: `${ID}_${n}`, description: `reference API: ${n}`, inputSchema: schema }));

const messages: Message[] = [{ role: "user", content: "say hi" }];

async function recall(broker: BrokerSender, agentId: string, query: string): Promise<MemoryEntry[]> {
  const opts: MemoryRecallOptions = { agentId, query, limit: 3 };
  return broker.memoryRecall(opts);
}

async function hostError(broker: BrokerSender, how: string): Promise<Record<string, unknown>> {
  try {
    if (how === "server") await broker.memoryRecall({ agentId: "a", query: "fail please" });
    else await broker.memoryRecall({ agentId: "a", query: "hang please", timeoutMs: 300 });
    return { failed: false };
  } catch (e) {
    if (e instanceof RpcServerError) return { kind: e.name, code: e.code, rpc: e instanceof RpcError, plugin: e instanceof PluginError };
    if (e instanceof RpcTimeoutError) return { kind: e.name, seconds: e.seconds, rpc: e instanceof RpcError };
    if (e instanceof RpcTransportError) return { kind: e.name };
    throw e;
  }
}

function helpers(): Record<string, unknown> {
  const frames: string[] = [];
  const write: LineWriter = (line) => void frames.push(line);
  const standalone = new BrokerSender(write);
  void standalone.publish("plugin.inbound.refapi", Event.new("plugin.inbound.refapi", ID, { standalone: true }));
  const request: JsonRpcRequest = { jsonrpc: "2.0", id: 7, method: "x" };
  const note: JsonRpcNotification = { jsonrpc: "2.0", method: "y" };
  const ok: JsonRpcResponse = buildResponse(7, { ok: true });
  const id: JsonRpcId = null;
  const bad: JsonRpcErrorResponse = buildErrorResponse(id, -32601, "method not found");
  const all: JsonRpcFrame[] = [request, note, ok, bad];
  let manifestError: Record<string, unknown> = {};
  try {
    parseManifest("[plugin]\nversion = '1'\n");
  } catch (e) {
    if (e instanceof ManifestError) manifestError = { name: e.name, field: e.field ?? null, plugin: e instanceof PluginError };
  }
  const roundTrip = Event.fromJson(JSON.parse(JSON.stringify(Event.toJson(Event.new("t.x", ID, { n: 1 })))));
  const usage: TokenCount = parseLlmCompleteResult({ finish_reason: "stop" }).usage;
  return {
    frames: all.map((f) => serializeFrame(f)),
    standalone: frames.map((l) => JSON.parse(l).params.event.payload),
    jsonrpc: JSONRPC_VERSION,
    maxFrameBytes: MAX_FRAME_BYTES,
    defaultTimeoutMs: DEFAULT_RPC_TIMEOUT_MS,
    version: VERSION,
    toolDef: toolDefToJson({ name: `${ID}_x`, description: "d" }),
    entry: parseMemoryEntry({ id: "m9", content: "c" }),
    usage,
    manifestError,
    wireError: new WireError("w") instanceof PluginError,
    decodeError: new RpcDecodeError("d") instanceof RpcError,
    toolErrorCode: new ToolError("plain").code,
    roundTrip: { topic: roundTrip.topic, source: roundTrip.source, payload: roundTrip.payload },
    guard: { installed: isStdoutGuardInstalled(), marker: STDOUT_GUARD_MARKER },
  };
}

const onToolWithContext: ToolHandlerWithContext = async (inv: ToolInvocation, ctx: ToolContext) => {
  const args = (inv.args ?? {}) as Record<string, any>;
  switch (inv.toolName) {
    case `${ID}_echo`:
      console.log("a stray print; the stdout guard sends it to stderr");
      return { echoed: inv.args, agent: inv.agentId ?? null, plugin: inv.pluginId, ctxPlugin: ctx.pluginId };
    case `${ID}_recall`: {
      const entries = await recall(ctx.broker, inv.agentId ?? "nobody", String(args.q));
      return { contents: entries.map((e) => e.content), types: entries.map((e) => e.memory_type) };
    }
    case `${ID}_complete`: {
      const opts: LlmCompleteOptions = { provider: "fake", model: "m1", messages, systemPrompt: "be brief", maxTokens: 64 };
      const r: LlmCompleteResult = await ctx.broker.llmComplete(opts);
      return { content: r.content, finish_reason: r.finish_reason, usage: r.usage };
    }
    case `${ID}_stream`: {
      const stream: LlmStream = ctx.broker.llmCompleteStream({ provider: "fake", model: "m1", messages });
      const chunks: string[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      const final = await stream.result;
      return textResult(JSON.stringify({ chunks, content: final.content, finish_reason: final.finish_reason, usage: final.usage }));
    }
    case `${ID}_fail`:
      switch (args.how) {
        case "not_found":
          throw new ToolNotFoundError(inv.toolName);
        case "argument":
          throw new ToolArgumentInvalidError("q must be short", { field: "q" });
        case "execution":
          throw new ToolExecutionFailedError("downstream 500");
        case "unavailable":
          throw new ToolUnavailableError("rate limited", 1500);
        case "denied":
          throw new ToolDeniedError("tenant blocked");
        case "generic":
          throw new Error("plain failure");
        case "unserializable":
          return { n: 1n };
        default:
          return hostError(ctx.broker, String(args.how));
      }
    case `${ID}_helpers`:
      return helpers();
    default:
      throw new ToolNotFoundError(inv.toolName);
  }
};

// Never called: with-context wins when both are set.
const onTool: ToolHandler = () => {
  throw new ToolError("onTool must not run when onToolWithContext is set");
};

const onEvent: EventHandler = async (topic, event, broker) => {
  const payload = (event.payload ?? {}) as Record<string, any>;
  if (payload.op === "recall") {
    const entries = await recall(broker, "agent-ev", String(payload.q));
    await broker.publish("plugin.inbound.refapi", Event.new("plugin.inbound.refapi", ID, { recalled: entries.map((e) => e.content) }));
    return;
  }
  // No correlation_id given: the reply is correlated to `event` for us.
  await broker.publish("plugin.inbound.refapi", Event.new("plugin.inbound.refapi", ID, { seen: payload, from: topic }));
};

const onShutdown: ShutdownHandler = async () => {
  uninstallStdoutGuard();
};

installStdoutGuard();
const options: PluginAdapterOptions = {
  manifestToml: MANIFEST,
  serverVersion: "refapi-1",
  onEvent,
  onShutdown,
  tools,
  onTool,
  onToolWithContext,
  enableStdoutGuard: true,
  maxFrameBytes: MAX_FRAME_BYTES,
  handleProcessSignals: true,
};
const adapter = new PluginAdapter(options);
if ((adapter.manifest.plugin as { id: string }).id !== ID) throw new PluginError("manifest mismatch");
await adapter.run();
