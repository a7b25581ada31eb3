import { nowIso, uuidv7 } from "nexo-plugin-sdk/contract";
import type { Broker } from "../broker/index.js";
import type { Event } from "../contract/index.js";
import type { Logger } from "../log/index.js";
import type { ProgressEvent, WorkflowCompletedEvent, WorkflowEventBase, WorkflowFailedEvent } from "./types.js";

/** Lifecycle phases; each is published as `workflow.<name>.<phase>`. */
export type WorkflowPhase = "started" | "completed" | "failed";

/** Source of every workflow lifecycle event on the broker. */
export const WORKFLOW_EVENT_SOURCE = "nexo";

/**
 * Publish a lifecycle event on the broker. The payload uses the wire's
 * snake_case (like `session_id` in the envelope) so subprocess plugins in any
 * language read the reference field names; hooks get the camelCase object.
 * Never throws: a closed broker or an unserializable result is logged.
 */
export function publishWorkflowEvent(
  broker: Broker,
  logger: Logger,
  phase: WorkflowPhase,
  event: WorkflowEventBase | WorkflowCompletedEvent | WorkflowFailedEvent,
  topic = `workflow.${event.workflowName}.${phase}`,
): void {
  // Two events per execution on the hot path: not even built when no local subscriber would get them.
  if (!broker.hasSubscribers(topic)) return;
  const payload: Record<string, unknown> = {
    workflow_id: event.workflowId,
    workflow_name: event.workflowName,
    session_id: event.sessionId,
    channel: event.channel,
    inputs: event.inputs,
    timestamp: event.timestamp,
  };
  if ("duration" in event) payload.duration = event.duration;
  if ("result" in event) payload.result = event.result === undefined ? null : event.result;
  if ("error" in event) payload.error = event.error;
  // Built here rather than with newEvent: two events per execution, on the hot path, with pooled ids.
  const wire: Event = {
    id: uuidv7(),
    timestamp: phase === "started" ? event.timestamp : nowIso(),
    topic,
    source: WORKFLOW_EVENT_SOURCE,
    session_id: event.sessionId,
    payload,
  };
  try {
    broker.publish(topic, wire).catch((err: unknown) => {
      logger.debug({ topic, workflowId: event.workflowId, err }, "workflow event not published");
    });
  } catch (err) {
    logger.debug({ topic, workflowId: event.workflowId, err }, "workflow event not published");
  }
}

/**
 * Publish a `ctx.progress` / `ctx.emit` item as `workflow.<name>.progress`
 * (payload: workflow_id, session_id, channel, kind, seq, value). Skipped when
 * no local subscriber would get it; the broker's bounded queues drop (and count) for slow ones.
 */
export function publishProgressEvent(
  broker: Broker,
  logger: Logger,
  ctx: { workflowName: string; workflowId: string; sessionId: string | null; channel: string },
  event: ProgressEvent,
): void {
  const topic = `workflow.${ctx.workflowName}.progress`;
  if (broker.hasSubscribers?.(topic) === false) return;
  const wire: Event = {
    id: uuidv7(),
    timestamp: nowIso(),
    topic,
    source: WORKFLOW_EVENT_SOURCE,
    session_id: ctx.sessionId,
    payload: {
      workflow_id: ctx.workflowId,
      workflow_name: ctx.workflowName,
      session_id: ctx.sessionId,
      channel: ctx.channel,
      kind: event.kind,
      seq: event.seq,
      value: event.value === undefined ? null : event.value,
    },
  };
  try {
    broker.publish(topic, wire).catch((err: unknown) => logger.debug({ topic, err }, "progress event not published"));
  } catch (err) {
    logger.debug({ topic, err }, "progress event not published");
  }
}
