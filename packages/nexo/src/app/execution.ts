import { uuidv7 } from "nexo-plugin-sdk/contract";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { errorMessage } from "./deadline.js";
import type { Nexo } from "./nexo.js";
import type { Principal, ProgressEvent, WorkflowContext } from "./types.js";
import { publishProgressEvent } from "./workflow-events.js";

/**
 * One workflow execution: the context its handler sees, and how to abort it.
 * `workflowId`, `signal` and `logger` are made on first use: most handlers touch neither,
 * and an AbortController plus a pino child per call were a measurable share
 * of the HTTP hot path (BENCHMARKS.md, HTTP API).
 */
export class Execution implements WorkflowContext {
  principal?: Principal;
  headers?: Record<string, string | string[] | undefined>;
  /** Settles with the execution (set by the app once the chain runs). */
  done: Promise<unknown> | undefined;
  private controller: AbortController | undefined;
  private log: Logger | undefined;
  private abortReason: unknown;
  private isAborted = false;
  private abortListener: ((err: NexoError) => void) | undefined;
  private id: string | undefined;
  /** Where `progress` / `emit` go besides the broker (a run, an SSE response, an MCP progress token). */
  progressSink: ((event: ProgressEvent) => void) | undefined;
  private progressSeq = 0;

  constructor(
    readonly workflowName: string,
    readonly sessionId: string | null,
    readonly channel: string,
    readonly app: Nexo,
  ) {}

  /** UUID v7 of this execution, made on first use (most executions are never asked). */
  get workflowId(): string {
    return (this.id ??= uuidv7());
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get logger(): Logger {
    return (this.log ??= this.app.logger.child({ workflow: this.workflowName, workflowId: this.workflowId }));
  }

  /** Use `id` as the workflowId (a run's id); before the handler first reads it. */
  setWorkflowId(id: string): void {
    this.id = id;
  }

  progress(value: unknown): void {
    this.stream("progress", value);
  }

  emit(chunk: unknown): void {
    this.stream("chunk", chunk);
  }

  private stream(kind: ProgressEvent["kind"], value: unknown): void {
    if (this.isAborted) return;
    const event: ProgressEvent = { kind, seq: ++this.progressSeq, value };
    if (this.progressSink) {
      try {
        this.progressSink(event);
      } catch (err) {
        this.app.logger.warn({ err, workflow: this.workflowName }, "a progress receiver threw; event dropped");
      }
    }
    publishProgressEvent(this.app.broker, this.app.logger, this, event);
  }

  /** True once `abort` was called. */
  get aborted(): boolean {
    return this.isAborted;
  }

  /** Abort: `ctx.signal` fires and the running handler's result is no longer awaited. Idempotent. */
  abort(reason?: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.abortListener?.(this.abortError());
  }

  /**
   * Settle with `work`, or reject NEXO_ERR_WORKFLOW_ABORTED as soon as the
   * execution is aborted (a handler may ignore its signal; the caller must not wait for it).
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.isAborted) return Promise.reject(this.abortError());
    return new Promise<T>((resolve, reject) => {
      this.abortListener = reject;
      work.then(
        (v) => {
          this.abortListener = undefined;
          resolve(v);
        },
        (e: unknown) => {
          this.abortListener = undefined;
          reject(e);
        },
      );
    });
  }

  private abortError(): NexoError {
    const r = this.abortReason;
    return r instanceof NexoError ? r : new NexoError(ErrorCodes.WORKFLOW_ABORTED, `workflow "${this.workflowName}" was aborted${r ? `: ${errorMessage(r)}` : ""}`);
  }
}
