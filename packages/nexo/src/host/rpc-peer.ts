import type { Readable, Writable } from "node:stream";
import {
  classifyFrame,
  exceedsDepth,
  makeError,
  makeNotification,
  makeRequest,
  makeResult,
  MAX_FRAME_DEPTH,
  NdjsonWriter,
  previewLine,
  readFrames,
  RpcError,
  RpcErrorCodes,
  type FrameProblem,
  type JsonRpcId,
} from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { errorMessage } from "../util/index.js";

/** Handles a request from the plugin; throw RpcError for a specific error reply. */
/** `id` is the request's JSON-RPC id, for answers streamed ahead of the reply. */
export type IncomingRequestHandler = (method: string, params: unknown, id: JsonRpcId) => Promise<unknown> | unknown;
export type IncomingNotificationHandler = (method: string, params: unknown) => void;

export interface RpcPeerOptions {
  pluginId: string;
  /** The child's stdout. */
  input: Readable;
  /** The child's stdin. */
  output: Writable;
  /** Default 1 MiB (docs/contract.md MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** Unflushed frames after which notifications are dropped. Default 64 (docs/contract.md). */
  notificationQueueDepth?: number;
  /** Unflushed frames after which new requests fail with NEXO_ERR_HOST_QUEUE_FULL. Default 256. */
  requestQueueDepth?: number;
  /** Unflushed frames past which a reply to the plugin means it stopped reading (see `onStalled`). Default 1024. */
  replyQueueDepth?: number;
  /** Queued UTF-16 units past which the same holds. Default 16 Mi. */
  maxQueuedChars?: number;
  /** Requests from the plugin being answered at once; more are refused at once (error reply). Default 1024. */
  maxIncomingInFlight?: number;
  /** Deepest frame nesting accepted (MAX_FRAME_DEPTH). */
  maxFrameDepth?: number;
  onRequest: IncomingRequestHandler;
  onNotification: IncomingNotificationHandler;
  /** A bad line from the plugin (logged by the caller; reading continues). */
  onProblem: (problem: PeerProblem) => void;
  /**
   * Handling one line threw: a bug a plugin's input reached. The line is
   * abandoned, reading continues; the caller logs it and decides whether
   * the plugin must be restarted.
   */
  onFault: (err: unknown) => void;
  /**
   * A reply could not be queued because the plugin is not reading its stdin
   * (the queue is past `replyQueueDepth` / `maxQueuedChars`). Called once per
   * peer; the reply is dropped, and the caller should restart the plugin.
   */
  onStalled: (queue: { frames: number; chars: number }) => void;
  /** The plugin's stdout ended. */
  onEnd?: () => void;
}

/** Why a line from the plugin was dropped. */
export type PeerProblem = FrameProblem | { kind: "invalid_rpc" | "unknown_response" | "too_deep"; preview: string };

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface RequestOptions {
  /** Deadline in ms; the request is abandoned and rejects with NEXO_ERR_HOST_REQUEST_TIMEOUT. */
  timeoutMs: number;
  /** Bypass the queue-depth check (shutdown must always be attempted). */
  force?: boolean;
  /** Told the request's id before it is written, so notifications streamed ahead of the reply (`llm.chat.delta {request_id}`) can be matched. */
  onId?: (id: number) => void;
}

/**
 * One JSON-RPC 2.0 conversation with a plugin over its stdio: numbered host
 * requests with deadlines, replies correlated by id in any order, the plugin's
 * own requests dispatched and answered, and a bounded outbound queue whose
 * overflow drops notifications (counted) and fails requests (never silent).
 */
export class RpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly writer: NdjsonWriter;
  private readonly reader: { dispose(): void };
  private readonly notificationDepth: number;
  private readonly requestDepth: number;
  private readonly replyDepth: number;
  private readonly maxQueuedChars: number;
  private readonly maxIncoming: number;
  private readonly maxDepth: number;
  private incoming = 0;
  private closedError: Error | undefined;
  /** Notifications dropped because the plugin was not reading fast enough. */
  dropped = 0;
  /** Replies dropped because the plugin was not reading its stdin (the peer is stalled from the first). */
  repliesDropped = 0;

  constructor(private readonly options: RpcPeerOptions) {
    const maxFrameBytes = options.maxFrameBytes ?? 1_048_576;
    this.notificationDepth = options.notificationQueueDepth ?? 64;
    this.requestDepth = options.requestQueueDepth ?? 256;
    this.replyDepth = options.replyQueueDepth ?? 1024;
    this.maxQueuedChars = options.maxQueuedChars ?? 16 * 1_048_576;
    this.maxIncoming = options.maxIncomingInFlight ?? 1024;
    this.maxDepth = options.maxFrameDepth ?? MAX_FRAME_DEPTH;
    this.writer = new NdjsonWriter(options.output, { maxFrameBytes });
    // A child that dies mid-write surfaces EPIPE here; the exit path reports it.
    options.output.on("error", () => undefined);
    this.reader = readFrames(
      options.input,
      {
        onFrame: (value, raw) => this.dispatch(value, raw),
        onProblem: (problem) => options.onProblem(problem),
        onFault: (err) => options.onFault(err),
        onEnd: () => {
          try {
            options.onEnd?.();
          } catch (err) {
            options.onFault(err);
          }
        },
      },
      { maxFrameBytes },
    );
  }

  /** Frames written but not yet flushed to the pipe. */
  get queued(): number {
    return this.writer.pending;
  }

  /** Size of those frames, in UTF-16 code units. */
  get queuedChars(): number {
    return this.writer.pendingChars;
  }

  /** True once a reply had to be dropped because the plugin stopped reading. */
  get isStalled(): boolean {
    return this.repliesDropped > 0;
  }

  /** Requests awaiting a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Send a request and await its result. Errors: RpcError (the plugin's error reply) or NexoError. */
  request(method: string, params: unknown, options: RequestOptions): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!options.force && this.writer.pending >= this.requestDepth) {
      return Promise.reject(
        new NexoError(ErrorCodes.HOST_QUEUE_FULL, `plugin ${this.options.pluginId} is not reading its stdin (${this.writer.pending} frames queued); ${method} refused`, {
          pluginId: this.options.pluginId,
        }),
      );
    }
    const id = this.nextId++;
    options.onId?.(id);
    return new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { method, resolve, reject, timer: undefined };
      if (options.timeoutMs > 0 && Number.isFinite(options.timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(
            new NexoError(ErrorCodes.HOST_REQUEST_TIMEOUT, `plugin ${this.options.pluginId} did not answer ${method} within ${options.timeoutMs} ms`, {
              pluginId: this.options.pluginId,
            }),
          );
        }, options.timeoutMs);
      }
      this.pending.set(id, entry);
      this.writer.write(makeRequest(id, method, params)).catch((err: Error) => {
        if (this.pending.delete(id)) {
          if (entry.timer) clearTimeout(entry.timer);
          reject(this.closedError ?? err);
        }
      });
    });
  }

  /** True when a notification sent now would be queued rather than dropped. */
  get hasRoom(): boolean {
    return this.writer.pending < this.notificationDepth;
  }

  /** Resolves when a notification would be accepted again (or the peer closed). */
  whenRoom(): Promise<void> {
    return this.writer.whenPendingBelow(this.notificationDepth);
  }

  /**
   * Send a notification. Returns false (and counts a drop) when the outbound
   * queue is at its depth: at-most-once delivery for `broker.event` (docs/contract.md).
   * Throws NEXO_ERR_CONTRACT_FRAME_TOO_LARGE / _INVALID_FRAME for a frame that
   * can never be sent, so the caller reports that drop with its reason.
   */
  notify(method: string, params: unknown): boolean {
    if (this.closedError || this.writer.closed) return false;
    if (this.writer.pending >= this.notificationDepth) {
      this.dropped += 1;
      return false;
    }
    this.writer.post(makeNotification(method, params));
    return true;
  }

  /** Fail every pending request at once with `err` and refuse new ones. Idempotent. */
  close(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.reader.dispose();
    this.writer.close();
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }

  private dispatch(value: unknown, raw: Buffer): void {
    if (exceedsDepth(value, this.maxDepth, raw)) {
      this.refuseTooDeep(value, raw);
      return;
    }
    const c = classifyFrame(value);
    switch (c.kind) {
      case "response": {
        const id = c.frame.id;
        const p = typeof id === "number" ? this.pending.get(id) : undefined;
        if (!p) {
          // From the raw line, already bounded: never re-serialize what the plugin sent.
          this.options.onProblem({ kind: "unknown_response", preview: previewLine(raw) });
          return;
        }
        this.pending.delete(id as number);
        if (p.timer) clearTimeout(p.timer);
        if ("error" in c.frame) p.reject(RpcError.from(c.frame.error));
        else p.resolve(c.frame.result);
        return;
      }
      case "request":
        if (this.incoming >= this.maxIncoming) {
          this.reply(
            makeError(
              c.frame.id,
              RpcErrorCodes.INTERNAL_ERROR,
              `more than ${this.maxIncoming} requests from this plugin are being answered; ${c.frame.method} refused, retry later`,
            ),
          );
          return;
        }
        void this.answer(c.frame.id, c.frame.method, c.frame.params);
        return;
      case "notification":
        try {
          this.options.onNotification(c.frame.method, c.frame.params);
        } catch {
          // notification handlers report their own problems; never break the read loop
        }
        return;
      case "invalid":
        this.options.onProblem({ kind: "invalid_rpc", preview: c.reason });
        this.answerInvalid(value, c.id, c.reason);
        return;
    }
  }

  /**
   * An invalid frame that carries an id: a request gets an error reply; a
   * reply to one of our pending requests fails that request now (instead of
   * at its deadline); anything else is only reported, so two peers never
   * answer each other's errors forever.
   */
  private answerInvalid(value: unknown, id: JsonRpcId, reason: string): void {
    if (id === null) return;
    const isRequest = typeof value === "object" && value !== null && "method" in value;
    if (isRequest) {
      this.reply(makeError(id, RpcErrorCodes.INVALID_REQUEST, `invalid request: ${reason}`));
      return;
    }
    const p = typeof id === "number" ? this.pending.get(id) : undefined;
    if (!p) return;
    this.pending.delete(id as number);
    if (p.timer) clearTimeout(p.timer);
    p.reject(
      new NexoError(ErrorCodes.CONTRACT_INVALID_FRAME, `plugin ${this.options.pluginId} answered ${p.method} with an invalid frame: ${reason}`, {
        pluginId: this.options.pluginId,
      }),
    );
  }

  private refuseTooDeep(value: unknown, raw: Buffer): void {
    this.options.onProblem({ kind: "too_deep", preview: previewLine(raw) });
    // Only the envelope is read: its id and whether it had a method.
    const envelope = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    const rawId = envelope?.id;
    const id = (typeof rawId === "number" && Number.isFinite(rawId)) || typeof rawId === "string" ? rawId : null;
    this.answerInvalid(value, id, `frame nested deeper than ${this.maxDepth} levels`);
  }

  private async answer(id: JsonRpcId, method: string, params: unknown): Promise<void> {
    this.incoming += 1;
    try {
      const result = await this.options.onRequest(method, params, id);
      this.reply(makeResult(id, result === undefined ? null : result));
    } catch (err) {
      if (err instanceof RpcError) this.reply(makeError(id, err.code, err.message, err.data));
      else this.reply(makeError(id, RpcErrorCodes.INTERNAL_ERROR, errorMessage(err)));
    } finally {
      this.incoming -= 1;
    }
  }

  /**
   * Queue a reply, within the same bound as everything else written to the
   * plugin: a plugin that sends requests but never reads its stdin would
   * otherwise make the host hold every answer. Past the bound the reply is
   * dropped and the stall reported (once): the plugin is not healthy.
   */
  private reply(frame: unknown): void {
    if (this.closedError) return;
    if (this.writer.pending >= this.replyDepth || this.writer.pendingChars >= this.maxQueuedChars) {
      this.repliesDropped += 1;
      if (this.repliesDropped === 1) this.options.onStalled({ frames: this.writer.pending, chars: this.writer.pendingChars });
      return;
    }
    this.writer.write(frame).catch(() => undefined);
  }
}
