// The conformance probe: a tool through which `nexo plugin test` drives the
// plugin (host calls, tool errors, a slow handler, stray prints). The
// language-neutral definition is conformance/README.md, "The probe".
import {
  RpcServerError,
  RpcTimeoutError,
  ToolDeniedError,
  ToolExecutionFailedError,
  ToolInvalidArgsError,
  ToolNotFoundError,
  ToolUnavailableError,
  type ToolError,
} from "./errors.js";
import { llmParams, type LlmCompleteParams } from "./host-calls.js";
import { textResult, type ToolContext, type ToolDef, type ToolInvocation } from "./tools.js";

/** Name of the probe tool. */
export const CONFORMANCE_PROBE_TOOL = "conformance_probe";
/** The runner sets this to `1` for the vectors that use the probe; the daemon never does. */
export const CONFORMANCE_PROBE_ENV = "NEXO_CONFORMANCE_PROBE";

/** The tool pair a `PluginAdapter` takes. */
export interface ToolOptions {
  tools?: ToolDef[];
  onTool?: (invocation: ToolInvocation, ctx: ToolContext) => unknown | Promise<unknown>;
}

const PROBE_DEF: ToolDef = {
  name: CONFORMANCE_PROBE_TOOL,
  description: "Lets `nexo plugin test` drive the plugin; present only under the conformance runner",
  inputSchema: { type: "object", properties: { action: { type: "string" } }, required: ["action"] },
};

/**
 * Options for `PluginAdapter`: your own `tools` and `onTool`, plus the probe
 * tool when the conformance runner started the plugin (`NEXO_CONFORMANCE_PROBE=1`).
 * Anywhere else it returns your own unchanged, so agents never see the probe.
 * @example new PluginAdapter({ manifestToml, onEvent, ...conformanceProbe() })
 * @example new PluginAdapter({ manifestToml, ...conformanceProbe({ tools: [myTool], onTool: myHandler }) })
 */
export function conformanceProbe(own: ToolOptions = {}, env: NodeJS.ProcessEnv = process.env): ToolOptions {
  if (env[CONFORMANCE_PROBE_ENV] !== "1") return own;
  return {
    tools: [...(own.tools ?? []), PROBE_DEF],
    onTool: (inv, ctx) => {
      if (inv.toolName === CONFORMANCE_PROBE_TOOL) return runProbe(typeof inv.args === "object" && inv.args !== null ? inv.args : {}, ctx);
      if (own.onTool) return own.onTool(inv, ctx);
      throw new ToolNotFoundError(inv.toolName);
    },
  };
}

const invalid = (path: string, message: string): ToolInvalidArgsError => new ToolInvalidArgsError(message, [{ path, message }]);

async function outcome(call: Promise<unknown>, chunks?: unknown[]): Promise<Record<string, unknown>> {
  try {
    const result = await call;
    return chunks ? { ok: true, chunks, result } : { ok: true, result };
  } catch (err) {
    if (err instanceof RpcTimeoutError) return { ok: false, timeout: true };
    if (err instanceof RpcServerError) return { ok: false, error: { code: err.code, message: err.hostMessage } };
    return { ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
  }
}

function typed(code: unknown): ToolError {
  switch (code) {
    case -33401:
      return new ToolNotFoundError("asked to fail with -33401");
    case -33402:
      return new ToolInvalidArgsError("asked to fail with -33402", [{ path: "/", message: "rejected on request" }]);
    case -33403:
      return new ToolExecutionFailedError("asked to fail with -33403");
    case -33404:
      return new ToolUnavailableError("asked to fail with -33404", 250);
    case -33405:
      return new ToolDeniedError("asked to fail with -33405");
    default:
      return invalid("/code", "code must be one of -33401..-33405");
  }
}

/** Carry out one probe action (conformance/README.md, "The probe"). */
export async function runProbe(args: Record<string, any>, ctx: ToolContext): Promise<unknown> {
  const timeoutMs = typeof args.timeout_ms === "number" ? args.timeout_ms : undefined;
  switch (args.action) {
    case "echo":
      if (typeof args.text !== "string") throw invalid("/text", "text must be a string");
      return textResult(args.text);
    case "fail":
      throw typed(args.code);
    case "throw":
      throw new Error(String(args.message ?? "boom"));
    case "sleep":
      await new Promise((r) => setTimeout(r, Number(args.ms ?? 0)));
      return textResult("slept");
    case "print":
      console.log(String(args.text ?? "")); // the stdout guard must route this to stderr
      return textResult("printed");
    case "memory_recall":
      return outcome(ctx.broker.memoryRecall({ agent_id: String(args.agent_id ?? ""), query: String(args.query ?? ""), limit: args.limit ?? 10 }, timeoutMs));
    case "llm_complete": {
      const params = { messages: args.messages ?? [] } as Record<string, any>;
      for (const k of ["provider", "model", "max_tokens", "temperature", "system_prompt"]) if (k in args) params[k] = args[k];
      // The host's reply as sent, so the runner can compare it exactly.
      const wire = llmParams(params as LlmCompleteParams, args.stream === true);
      if (args.stream === true) {
        const chunks: unknown[] = [];
        return outcome(
          ctx.broker.request("llm.complete", wire, timeoutMs, (c) => chunks.push(c)),
          chunks,
        );
      }
      return outcome(ctx.broker.request("llm.complete", wire, timeoutMs));
    }
    default:
      throw invalid("/action", "action is required: echo, fail, throw, sleep, print, memory_recall or llm_complete");
  }
}
