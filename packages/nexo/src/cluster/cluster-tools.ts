import type { Msg, NatsConnection, Subscription } from "nats";
import type { Nexo } from "../app/index.js";
import { toolError, type CallToolOptions, type RemoteTools, type ToolInfo, type ToolResult } from "../app/tools/index.js";
import { ErrorCodes, NexoError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log/index.js";

/** Subjects of tool routing; `_`-prefixed so no event pattern of a plugin or binding can match them by accident. */
export const TOOL_SUBJECTS = {
  announce: "_nexo.cluster.tools.announce",
  hello: "_nexo.cluster.tools.hello",
  bye: "_nexo.cluster.tools.bye",
  call: (node: string) => `_nexo.cluster.tools.call.${node}`,
} as const;

/** Options of `ClusterTools`. */
export interface ClusterToolsOptions {
  nc: NatsConnection;
  app: Nexo;
  /** This daemon's name in the cluster (a NATS subject token). */
  nodeId: string;
  logger: Logger;
  /** How often this daemon announces its tools. Default 2000 ms. */
  announceMs?: number;
  /** A daemon's tools are forgotten this long after its last announcement. Default 3 × announceMs. */
  ttlMs?: number;
}

interface Announcement {
  node: string;
  tools: ToolInfo[];
  ttl_ms: number;
}

interface CallRequest {
  name: string;
  args: Record<string, unknown>;
  timeout_ms: number;
  agent_id: string | null;
  session_id: string | null;
  channel: string;
  /** The calling daemon: it publishes the call's tool event. */
  from: string;
}

type CallReply = { result: ToolResult } | { error: { code: ErrorCode; message: string; rpc_code?: number; http_status?: number; data?: unknown } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Above the largest tool catalogue we expect; an announcement over it is refused with a log line. */
const MAX_TOOLS_PER_NODE = 10_000;

/**
 * Tools across daemons: this daemon announces its own tools (those of its
 * ready plugins and its workflows) on NATS every `announceMs`, learns the
 * others' announcements (forgotten after `ttlMs`, or at once when a daemon
 * says goodbye or stops answering), and routes calls of their tools by NATS
 * request/reply with the caller's remaining deadline. The serving daemon
 * calls its own tool exactly as a local call would (validation, limits,
 * typed errors), and the error travels back with its code and data.
 */
export class ClusterTools implements RemoteTools {
  private readonly nodes = new Map<string, { tools: ToolInfo[]; expiresAt: number }>();
  private readonly listeners = new Set<() => void>();
  private readonly subs: Subscription[] = [];
  private readonly announceMs: number;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;
  private offChanged: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly o: ClusterToolsOptions) {
    this.announceMs = o.announceMs ?? 2000;
    this.ttlMs = o.ttlMs ?? this.announceMs * 3;
  }

  /** Serve this daemon's tools, listen to the others, announce, and offer their tools through the app. */
  async start(): Promise<void> {
    const { nc, nodeId } = this.o;
    this.subs.push(nc.subscribe(TOOL_SUBJECTS.call(nodeId), { callback: (_err, msg) => void this.serve(msg) }));
    this.subs.push(nc.subscribe(TOOL_SUBJECTS.announce, { callback: (_err, msg) => this.onAnnounce(msg) }));
    this.subs.push(nc.subscribe(TOOL_SUBJECTS.bye, { callback: (_err, msg) => this.onBye(msg) }));
    // A newcomer asks; everyone answers with an announcement, so it need not wait a whole interval.
    this.subs.push(nc.subscribe(TOOL_SUBJECTS.hello, { callback: (_err, msg) => this.onHello(msg) }));
    this.detach = this.o.app.attachRemoteTools(this);
    // Our own list changed (a plugin became ready or went away): tell the cluster now.
    this.offChanged = this.o.app.onToolsChanged(() => this.announce());
    nc.publish(TOOL_SUBJECTS.hello, encoder.encode(JSON.stringify({ node: nodeId })));
    this.announce();
    this.timer = setInterval(() => {
      this.announce();
      this.expire();
    }, this.announceMs);
    this.timer.unref();
    await nc.flush();
  }

  /** Say goodbye (the others forget this daemon's tools at once) and stop routing. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.offChanged?.();
    this.detach?.();
    for (const s of this.subs) s.unsubscribe();
    if (!this.o.nc.isClosed()) {
      this.o.nc.publish(TOOL_SUBJECTS.bye, encoder.encode(JSON.stringify({ node: this.o.nodeId })));
      await this.o.nc.flush().catch(() => undefined);
    }
  }

  // ---- RemoteTools ---------------------------------------------------------

  list(): ToolInfo[] {
    const now = Date.now();
    const out: ToolInfo[] = [];
    const seen = new Set<string>();
    for (const [, n] of this.nodes) {
      if (n.expiresAt <= now) continue;
      for (const t of n.tools) {
        if (seen.has(t.name)) continue;
        seen.add(t.name);
        out.push(t);
      }
    }
    return out;
  }

  onChanged(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async call(info: ToolInfo, args: Record<string, unknown>, options: CallToolOptions, timeoutMs: number): Promise<ToolResult> {
    const node = info.node!;
    const req: CallRequest = {
      name: info.name,
      args,
      timeout_ms: timeoutMs,
      agent_id: options.agentId ?? null,
      session_id: options.sessionId ?? null,
      channel: options.channel ?? "local",
      from: this.o.nodeId,
    };
    let msg: Msg;
    try {
      // The serving daemon holds the same deadline; ours only adds the round trip.
      msg = await this.o.nc.request(TOOL_SUBJECTS.call(node), encoder.encode(JSON.stringify(req)), { timeout: timeoutMs + 50 });
    } catch (err) {
      throw this.transportError(info, node, err, timeoutMs);
    }
    let reply: CallReply;
    try {
      reply = JSON.parse(decoder.decode(msg.data)) as CallReply;
    } catch (err) {
      throw toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `daemon ${node} sent an unreadable reply for tool "${info.name}"`, { tool: info.name }, err);
    }
    if ("result" in reply) return reply.result;
    const e = reply.error;
    throw new NexoError(e.code, `${e.message} (on daemon ${node})`, {
      ...(e.rpc_code !== undefined ? { rpcCode: e.rpc_code } : {}),
      ...(e.http_status !== undefined ? { httpStatus: e.http_status } : {}),
      ...(e.data !== undefined ? { data: e.data } : {}),
    });
  }

  // ---- internals ---------------------------------------------------------------

  private transportError(info: ToolInfo, node: string, err: unknown, timeoutMs: number): NexoError {
    const code = (err as { code?: string }).code;
    if (code === "503") {
      // Nobody listens on the daemon's subject: it is gone. Forget its tools now rather than at expiry.
      this.forget(node);
      return toolError(
        ErrorCodes.TOOL_UNAVAILABLE,
        `tool "${info.name}" is unavailable: its daemon ${node} is gone; retry in ${this.announceMs} ms (another daemon may serve it by then)`,
        {
          tool: info.name,
          retryAfterMs: this.announceMs,
        },
        err,
      );
    }
    if (code === "TIMEOUT") return toolError(ErrorCodes.TOOL_TIMEOUT, `tool "${info.name}" on daemon ${node} did not answer within ${timeoutMs} ms`, { tool: info.name }, err);
    return toolError(
      ErrorCodes.TOOL_UNAVAILABLE,
      `tool "${info.name}" on daemon ${node} could not be reached: ${(err as Error).message}; retry in ${this.announceMs} ms`,
      { tool: info.name, retryAfterMs: this.announceMs },
      err,
    );
  }

  private async serve(msg: Msg): Promise<void> {
    let reply: CallReply;
    try {
      const req = JSON.parse(decoder.decode(msg.data)) as CallRequest;
      const result = await this.o.app.callTool(req.name, req.args, {
        localOnly: true,
        // A peer of an older version sends no `from`; its event is then still published once, here.
        ...(typeof req.from === "string" ? { forwardedBy: req.from } : {}),
        timeoutMs: req.timeout_ms,
        agentId: req.agent_id,
        sessionId: req.session_id,
        channel: req.channel,
      });
      reply = { result };
    } catch (err) {
      const e = err instanceof NexoError ? err : toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `tool call failed: ${String(err)}`, { tool: "?" });
      reply = {
        error: {
          code: e.code,
          message: e.message,
          ...(e.details.rpcCode !== undefined ? { rpc_code: e.details.rpcCode } : {}),
          ...(e.details.httpStatus !== undefined ? { http_status: e.details.httpStatus } : {}),
          ...(e.details.data !== undefined ? { data: e.details.data } : {}),
        },
      };
    }
    try {
      msg.respond(encoder.encode(JSON.stringify(reply)));
    } catch (err) {
      this.o.logger.warn({ err }, "cluster tool call: the reply could not be sent");
    }
  }

  private announce(): void {
    if (this.stopped || this.o.nc.isClosed()) return;
    const tools = this.o.app.listLocalTools().filter((t) => t.source === "plugin");
    const a: Announcement = { node: this.o.nodeId, tools, ttl_ms: this.ttlMs };
    try {
      this.o.nc.publish(TOOL_SUBJECTS.announce, encoder.encode(JSON.stringify(a)));
    } catch (err) {
      this.o.logger.warn({ err }, "cluster tool announcement not sent");
    }
  }

  private onAnnounce(msg: Msg): void {
    let a: Announcement;
    try {
      a = JSON.parse(decoder.decode(msg.data)) as Announcement;
    } catch {
      return;
    }
    if (typeof a.node !== "string" || a.node === this.o.nodeId || !Array.isArray(a.tools)) return;
    if (a.tools.length > MAX_TOOLS_PER_NODE) {
      this.o.logger.warn({ node: a.node, tools: a.tools.length }, "cluster tool announcement too large: ignored");
      return;
    }
    const tools = a.tools.filter(isToolInfo).map((t) => ({ ...t, node: a.node }));
    const ttl = typeof a.ttl_ms === "number" && a.ttl_ms > 0 ? a.ttl_ms : this.ttlMs;
    const before = this.nodes.get(a.node);
    this.nodes.set(a.node, { tools, expiresAt: Date.now() + ttl });
    if (!before || JSON.stringify(before.tools) !== JSON.stringify(tools)) this.changed();
  }

  private onHello(msg: Msg): void {
    try {
      const h = JSON.parse(decoder.decode(msg.data)) as { node?: unknown };
      if (h.node !== this.o.nodeId) this.announce();
    } catch {
      // not ours
    }
  }

  private onBye(msg: Msg): void {
    try {
      const b = JSON.parse(decoder.decode(msg.data)) as { node?: unknown };
      if (typeof b.node === "string") this.forget(b.node);
    } catch {
      // not ours
    }
  }

  private forget(node: string): void {
    if (this.nodes.delete(node)) this.changed();
  }

  private expire(): void {
    const now = Date.now();
    let any = false;
    for (const [node, n] of this.nodes) {
      if (n.expiresAt <= now) {
        this.nodes.delete(node);
        any = true;
      }
    }
    if (any) this.changed();
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

function isToolInfo(t: unknown): t is ToolInfo {
  if (t === null || typeof t !== "object") return false;
  const r = t as Record<string, unknown>;
  return typeof r.name === "string" && typeof r.description === "string" && r.inputSchema !== null && typeof r.inputSchema === "object" && r.source === "plugin";
}
