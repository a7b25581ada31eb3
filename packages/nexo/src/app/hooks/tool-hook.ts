import { toolError } from "../tools/index.js";
import { ErrorCodes } from "../../errors.js";
import { HookNames } from "./hook-response.js";
import type { HookPoints } from "./hook-points.js";

/**
 * Run the `before_tool_call` hooks for one tool call: the arguments to call it
 * with (an `args` override replaces them), or NEXO_ERR_TOOL_DENIED (with
 * `data.pluginData {hook, by, reason}`) when a hook blocks.
 */
export async function beforeToolCall(hooks: HookPoints, name: string, args: unknown, ids: { agentId?: string | null; sessionId?: string | null }): Promise<unknown> {
  const outcome = await hooks.fire(HookNames.BEFORE_TOOL_CALL, { tool_name: name, args, agent_id: ids.agentId ?? null, session_id: ids.sessionId ?? null });
  if (outcome.blocked) {
    throw toolError(ErrorCodes.TOOL_DENIED, `tool "${name}" call blocked by the before_tool_call hook of ${outcome.by}: ${outcome.reason}`, {
      tool: name,
      pluginData: { hook: HookNames.BEFORE_TOOL_CALL, by: outcome.by, reason: outcome.reason },
    });
  }
  return outcome.changed ? outcome.event.args : args;
}
