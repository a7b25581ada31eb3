import type { Broker } from "../../broker/index.js";
import type { Event } from "../../contract/index.js";
import type { Logger } from "../../log/index.js";
import type { ToolCalledEvent } from "./types.js";

/** Source of every tool-call event on the broker. */
export const TOOL_EVENT_SOURCE = "nexo";

/**
 * Publish `tool.<name>.completed` (a result came back, `is_error` or not) or
 * `tool.<name>.failed` (an error was raised) for out-of-process observers.
 * snake_case payload like the workflow events; no arguments or results.
 * Never throws: a closed broker is logged at debug.
 */
export function publishToolEvent(broker: Broker, logger: Logger, event: ToolCalledEvent): void {
  const topic = `tool.${event.toolName}.${event.ok ? "completed" : "failed"}`;
  if (!broker.hasSubscribers(topic)) return;
  const payload: Record<string, unknown> = {
    call_id: event.callId,
    tool_name: event.toolName,
    source: event.source,
    plugin: event.plugin,
    channel: event.channel,
    session_id: event.sessionId,
    agent_id: event.agentId,
    is_error: event.isError,
    duration: event.duration,
    timestamp: event.timestamp,
  };
  if (event.node !== undefined) payload.node = event.node;
  if (event.error) payload.error = event.error;
  // The call id is already a fresh UUID v7 and there is one event per call: it doubles as the event id.
  const wire: Event = { id: event.callId, timestamp: new Date().toISOString(), topic, source: TOOL_EVENT_SOURCE, session_id: event.sessionId, payload };
  try {
    broker.publish(topic, wire).catch((err: unknown) => {
      logger.debug({ topic, callId: event.callId, err }, "tool event not published");
    });
  } catch (err) {
    logger.debug({ topic, callId: event.callId, err }, "tool event not published");
  }
}
