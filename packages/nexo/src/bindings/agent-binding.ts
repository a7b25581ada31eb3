import type { Nexo } from "../app/index.js";
import { internalPrincipal } from "../authz/index.js";
import type { Subscription } from "../broker/index.js";
import { newEvent, type Event } from "../contract/index.js";
import { ErrorCodes, isNexoError } from "../errors.js";
import { beforeMessage } from "../app/index.js";
import type { Logger } from "../log/index.js";
import type { AgentRunner, AgentTurnResult } from "../agents/index.js";
import { ReplyGuard } from "./reply-guard.js";
import { autoOutboundTopic, channelOfTopic } from "./topics.js";
import type { BindingSpec, BindingStats } from "./types.js";

/**
 * An agent's answer as the outbound payload: `{text}`, plus the inbound's
 * `chat_id` and its `message_id` as `reply_to_message_id` when it had them,
 * so a chat channel answers in the same chat. Null (no reply) when the
 * inbound held no text.
 */
function agentReply(event: Event, turn: AgentTurnResult | null): Record<string, unknown> | null {
  if (!turn) return null;
  const p = event.payload as Record<string, unknown> | null;
  const out: Record<string, unknown> = { text: turn.text };
  if (p && typeof p === "object") {
    if (p.chat_id !== undefined) out.chat_id = p.chat_id;
    if (p.message_id !== undefined) out.reply_to_message_id = p.message_id;
  }
  return out;
}

/** Log the first few of a kind of problem, then one line per this many. */
const LOG_EVERY = 1000;
const LOG_FIRST = 10;

/**
 * One agent binding at work: subscribes to its inbound patterns, runs its
 * workflow for each event (at most `concurrency` at once; the rest wait in the
 * bounded broker subscription, which drops and counts past `queueSize`), and
 * publishes a non-null result on the outbound topic with the event's
 * session id and correlation id (the event's id when it had none). A failed
 * run publishes nothing: it is logged, counted, and the app emits
 * `workflow.<name>.failed`. An event correlated to one of this binding's own
 * replies is skipped (ReplyGuard), so echo chains end.
 */
export class AgentBinding {
  private readonly guard = new ReplyGuard();
  private readonly subs: Subscription[] = [];
  /** At most one per subscription: the event its handler holds while every run slot is busy. */
  private readonly waiters: Array<{ event: Event; release: () => void }> = [];
  private readonly idle: Array<() => void> = [];
  private readonly log: Logger;
  private readonly counts = { received: 0, completed: 0, failed: 0, replies: 0, noReply: 0, loopsStopped: 0 };
  private running = 0;

  /** `agent`: the runner of an agent binding (`spec.agent`); absent for a workflow binding. */
  constructor(
    readonly spec: BindingSpec,
    private readonly app: Nexo,
    private readonly agent?: AgentRunner,
  ) {
    if (spec.agent && !agent) throw new TypeError(`binding ${spec.name} runs an agent: pass its AgentRunner`);
    this.log = app.logger.child({ binding: spec.name, ...(spec.agent ? { agent: true } : { workflow: spec.workflow }) });
  }

  /** Subscribe to the inbound patterns. */
  start(): void {
    for (const pattern of this.spec.patterns) {
      this.subs.push(
        this.app.broker.subscribe(pattern, (event) => this.accept(event), {
          name: `binding:${this.spec.name}`,
          queue: `binding:${this.spec.name}`,
          bufferSize: this.spec.queueSize,
        }),
      );
    }
  }

  /** Unsubscribe (queued events are discarded) and wait for the runs in progress. */
  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    // Events held by waiting handlers are discarded like the queued ones; release the handlers.
    for (const w of this.waiters.splice(0)) w.release();
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  stats(): BindingStats {
    const { outbound } = this.spec;
    return {
      name: this.spec.name,
      patterns: this.spec.patterns,
      workflow: this.spec.workflow ?? "agent",
      outbound: outbound.mode === "topic" ? outbound.topic : outbound.mode,
      ...this.counts,
      dropped: this.subs.reduce((n, s) => n + s.dropped, 0),
      running: this.running,
    };
  }

  /** Subscription handler: its promise is the backpressure that keeps waiting events in the bounded subscription. */
  private accept(event: Event): void | Promise<void> {
    this.counts.received += 1;
    if (this.guard.isOwnReply(event.correlation_id)) {
      this.counts.loopsStopped += 1;
      if (this.counts.loopsStopped <= LOG_FIRST || this.counts.loopsStopped % LOG_EVERY === 0) {
        this.log.info(
          { eventId: event.id, topic: event.topic, correlationId: event.correlation_id, count: this.counts.loopsStopped },
          "event is a reply this binding published coming back: not run again",
        );
      }
      return;
    }
    if (this.running < this.spec.concurrency) {
      void this.run(event);
      return;
    }
    return new Promise<void>((release) => this.waiters.push({ event, release }));
  }

  private async run(event: Event): Promise<void> {
    this.running += 1;
    const { spec, app } = this;
    try {
      // before_message hooks: a block drops the event; do_not_reply_again keeps the run but not its reply.
      const verdict = await beforeMessage(app.hookPoints, event);
      if (verdict.action === "blocked") {
        this.counts.noReply += 1;
        return void this.log.info({ eventId: event.id, by: verdict.by, reason: verdict.reason }, "inbound event blocked by a before_message hook; workflow not run");
      }
      const inbound = verdict.event;
      const inputs = spec.inputs === "payload" ? inbound.payload : { ...inbound };
      const result = this.agent
        ? agentReply(inbound, await this.agent.run(inbound))
        : await app.executeWorkflow(spec.workflow!, inputs, {
            channel: channelOfTopic(event.topic),
            sessionId: event.session_id,
            principal: internalPrincipal("binding", spec.name),
          });
      this.counts.completed += 1;
      if (result === undefined || result === null || spec.outbound.mode === "none" || !verdict.replyAllowed || app.hookPoints.isSilenced(event.session_id)) {
        this.counts.noReply += 1;
        return;
      }
      const topic = spec.outbound.mode === "auto" ? autoOutboundTopic(event.topic) : spec.outbound.topic;
      const correlationId = event.correlation_id ?? event.id;
      this.guard.remember(correlationId);
      await app.broker.publish(
        topic,
        newEvent(topic, `binding.${spec.name}`, result, {
          sessionId: event.session_id,
          correlationId,
          metadata: { binding: spec.name, ...(spec.agent ? { agent: true } : { workflow: spec.workflow }), in_reply_to: event.id },
        }),
      );
      this.counts.replies += 1;
    } catch (err) {
      // The app is stopping: the event is not processed, and that is not the workflow's failure.
      if (isNexoError(err, ErrorCodes.APP_STOPPED)) return void this.log.debug({ eventId: event.id }, "app stopping: event not run");
      this.counts.failed += 1;
      if (this.counts.failed <= LOG_FIRST || this.counts.failed % LOG_EVERY === 0) {
        this.log.warn(
          { eventId: event.id, topic: event.topic, code: isNexoError(err) ? err.code : ErrorCodes.WORKFLOW_FAILED, err: (err as Error).message, failed: this.counts.failed },
          this.agent ? "binding: agent turn failed; nothing published on the outbound topic" : "binding: workflow failed; nothing published on the outbound topic",
        );
      }
    } finally {
      this.running -= 1;
      const next = this.waiters.shift();
      if (next) {
        void this.run(next.event);
        next.release();
      } else if (this.running === 0) for (const done of this.idle.splice(0)) done();
    }
  }
}
