import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { classifyFrame, makeResult, readFrames, type JsonRpcId } from "../contract/index.js";
import { launchPlugin, waitForExit, type PluginSpec } from "../host/index.js";
import { ownProperty } from "../util/index.js";

/** A frame the plugin wrote, as the runner received it. */
export interface InboxEntry {
  seq: number;
  frame: Record<string, unknown>;
  kind: "request" | "notification" | "response";
  /** When it arrived (performance.now()). */
  at: number;
  /** Taken by an `expect` step already. */
  consumed: boolean;
}

/** How the plugin process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

export interface StartPluginOptions {
  stateRoot: string;
  nexoVersion: string;
  /** Host-provided variables beyond the standard ones (the probe switch). */
  extraHostEnv?: Record<string, string>;
}

/** Requests from the plugin that the runner answers by itself, as the daemon would, unless a step answers them. */
const AUTO_ANSWERS: Record<string, (n: number) => unknown> = {
  "broker.publish": () => ({ ok: true }),
  "broker.subscribe": (n) => ({ subscriber_id: `sub-${n}` }),
  "broker.unsubscribe": () => ({ ok: true }),
};

const idKey = (id: JsonRpcId): string => JSON.stringify(id);
/** How long `kill()` waits for the pipes to close after SIGKILL. */
const KILL_WAIT_MS = 2000;
/** Largest stderr the runner keeps; older text is dropped (a plugin may log a lot). */
const STDERR_KEEP = 256 * 1024;

/**
 * One plugin process under the conformance runner: started from its manifest
 * exactly as the daemon starts it, its stdout decoded with the contract's
 * framing, every frame kept in an inbox for the steps to match, stderr kept,
 * and the contract's invariants watched on every byte: stdout carries only
 * JSON-RPC frames, and every response answers a request the runner sent,
 * once. A breach is recorded in `violations` and fails the vector.
 */
export class PluginUnderTest {
  readonly inbox: InboxEntry[] = [];
  readonly violations: string[] = [];
  exit: ExitInfo | undefined;
  /** stderr text (the last 256 KiB); `stderrOffset` counts what was dropped before it. */
  stderr = "";
  stderrOffset = 0;
  /** Null-id error replies are accepted (only the vectors about unparseable lines allow them). */
  allowNullIdErrors = false;
  readonly exited: Promise<ExitInfo>;
  private readonly listeners = new Set<() => void>();
  private readonly frameListeners = new Set<(e: InboxEntry) => void>();
  private readonly sent = new Map<string, { answered: boolean }>();
  private seq = 0;
  private autoCount = 0;
  private stdinClosed = false;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    // A plugin that exits while we write gives EPIPE here; the exit itself is what the vector reports.
    child.stdin.on("error", () => undefined);
    readFrames(child.stdout, {
      onFrame: (value) => this.onFrame(value),
      onProblem: (p) => this.violate(`stdout carried a line that is not a frame (${p.kind}, ${p.bytes} bytes): ${JSON.stringify(p.preview)}`),
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      this.stderr += d;
      if (this.stderr.length > STDERR_KEEP * 2) {
        const cut = this.stderr.length - STDERR_KEEP;
        this.stderr = this.stderr.slice(cut);
        this.stderrOffset += cut;
      }
      this.changed();
    });
    this.exited = waitForExit(child).then(({ exitCode, signal }) => {
      this.exit = { code: exitCode, signal, at: performance.now() };
      this.changed();
      return this.exit;
    });
  }

  /** Start the plugin of `spec` through the host's own launcher. */
  static async start(spec: PluginSpec, options: StartPluginOptions): Promise<PluginUnderTest> {
    const { child } = await launchPlugin(spec, {
      stateRoot: options.stateRoot,
      nexoVersion: options.nexoVersion,
      ...(options.extraHostEnv ? { extraHostEnv: options.extraHostEnv } : {}),
    });
    return new PluginUnderTest(child);
  }

  /** Total stderr characters received so far (a position for "stderr since"). */
  get stderrLength(): number {
    return this.stderrOffset + this.stderr.length;
  }

  /** stderr text received after position `from`. */
  stderrSince(from: number): string {
    return this.stderr.slice(Math.max(0, from - this.stderrOffset));
  }

  /** Called whenever anything arrives (frame, stderr, exit, violation). Returns an unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called for each frame as it arrives. */
  onFrameReceived(fn: (e: InboxEntry) => void): void {
    this.frameListeners.add(fn);
  }

  /** Send a frame; a request's id is remembered so its reply can be checked. */
  send(frame: unknown): Promise<void> {
    return this.write(`${JSON.stringify(frame)}\n`, [frame]);
  }

  /** Send several frames in one write (a burst). */
  sendMany(frames: unknown[]): Promise<void> {
    return this.write(frames.map((f) => `${JSON.stringify(f)}\n`).join(""), frames);
  }

  /** Write raw text as lines (a newline is added to each). No size limit: the runner may send what a host must not. */
  sendRaw(lines: string[]): Promise<void> {
    return this.write(lines.map((l) => `${l}\n`).join(""), []);
  }

  /** Close the plugin's stdin (EOF). */
  closeStdin(): void {
    this.stdinClosed = true;
    this.child.stdin.end();
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(sig);
  }

  /**
   * SIGKILL if still running, then wait for the exit. A process the plugin
   * started can keep the pipes open after the plugin itself died, so the wait
   * is capped and the pipes are then released.
   */
  async kill(): Promise<void> {
    if (!this.exit) this.child.kill("SIGKILL");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, KILL_WAIT_MS)))]);
    clearTimeout(timer);
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) s.destroy();
  }

  private write(data: string, frames: unknown[]): Promise<void> {
    for (const f of frames) {
      if (f && typeof f === "object" && "method" in f && "id" in f) this.sent.set(idKey((f as { id: JsonRpcId }).id), { answered: false });
    }
    if (this.exit || this.stdinClosed || this.child.stdin.destroyed) return Promise.resolve();
    // Resolves once the data reached the pipe (or the write failed because the plugin went away).
    return new Promise((resolve) => void this.child.stdin.write(data, () => resolve()));
  }

  private onFrame(value: unknown): void {
    const c = classifyFrame(value);
    if (c.kind === "invalid") {
      this.violate(`stdout carried an invalid JSON-RPC frame (${c.reason}): ${JSON.stringify(value).slice(0, 160)}`);
      return;
    }
    const frame = value as Record<string, unknown>;
    const entry: InboxEntry = { seq: this.seq++, frame, kind: c.kind, at: performance.now(), consumed: false };
    if (c.kind === "response") this.checkResponse(frame);
    this.inbox.push(entry);
    for (const fn of this.frameListeners) fn(entry);
    if (c.kind === "request") {
      const auto = ownProperty(AUTO_ANSWERS, c.frame.method);
      if (auto) void this.send(makeResult(c.frame.id, auto(++this.autoCount)));
    }
    this.changed();
  }

  private checkResponse(frame: Record<string, unknown>): void {
    const id = frame.id as JsonRpcId;
    if (id === null) {
      if (!(this.allowNullIdErrors && "error" in frame)) this.violate(`unsolicited response with id null: ${JSON.stringify(frame).slice(0, 160)}`);
      return;
    }
    const req = this.sent.get(idKey(id));
    if (!req) return this.violate(`response to id ${idKey(id)}, which the runner never sent as a request: ${JSON.stringify(frame).slice(0, 160)}`);
    if (req.answered) return this.violate(`second response to id ${idKey(id)}: ${JSON.stringify(frame).slice(0, 160)}`);
    req.answered = true;
  }

  /** Record a breach of the contract found outside the steps (a `forbid` match, a bad line). */
  violate(reason: string): void {
    this.violations.push(reason);
    this.changed();
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
