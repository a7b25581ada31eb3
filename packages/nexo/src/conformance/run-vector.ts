import { NexoError } from "../errors.js";
import { checkInitializeResult, type PluginSpec } from "../host/index.js";
import type { PluginManifest } from "../manifest/index.js";
import { matchValue, resolveTemplate, TemplateError, type Scope } from "./matcher.js";
import { PluginUnderTest, type InboxEntry } from "./plugin-under-test.js";
import { PROBE_ENV, type Vector, type VectorStep } from "./vector.js";

/** What one vector needs besides itself. */
export interface VectorRunContext {
  spec: PluginSpec;
  /** The manifest `initialize` is checked against (the probe tool added to `extends.tools` for probe vectors). */
  probeManifest: PluginManifest;
  /** Host variables for each start beyond the probe switch (an `http_server` plugin's port), as the daemon gives them. */
  hostEnv?: () => Promise<Record<string, string>>;
  /** `plugin_id`, `kind`, `version`, `server_version`, `nexo_version`, `manifest`. */
  scope: Scope;
  stateRoot: string;
  nexoVersion: string;
  /** Multiplies every deadline and window (slow machines). */
  timeScale: number;
}

/** Result of one vector against one plugin. */
export interface VectorOutcome {
  id: string;
  title: string;
  status: "pass" | "fail";
  /** Why it failed: the step, what was expected and what arrived. */
  reason?: string;
  ms: number;
}

/** Default deadline of an `expect` step. */
export const DEFAULT_EXPECT_MS = 3000;
/** Deadline of the `initialize` reply (docs/contract.md, NEXO_PLUGIN_INIT_TIMEOUT_MS default). */
export const INITIALIZE_MS = 5000;
/** How long a write to the plugin's stdin may take before the plugin counts as not reading. */
const WRITE_MS = 10_000;

class VectorFailure extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const brief = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
};

/**
 * Run one vector: start the plugin, play the host through the vector's steps,
 * watch the invariants and `forbid` on every frame, then kill the plugin.
 * Never throws for a plugin's misbehaviour: that is a failed outcome.
 */
export async function runVector(vector: Vector, ctx: VectorRunContext): Promise<VectorOutcome> {
  const t0 = performance.now();
  const done = (status: "pass" | "fail", reason?: string): VectorOutcome => ({
    id: vector.id,
    title: vector.title,
    status,
    ...(reason ? { reason } : {}),
    ms: Math.round(performance.now() - t0),
  });
  let plugin: PluginUnderTest;
  try {
    plugin = await PluginUnderTest.start(ctx.spec, {
      stateRoot: ctx.stateRoot,
      nexoVersion: ctx.nexoVersion,
      extraHostEnv: { ...(ctx.hostEnv ? await ctx.hostEnv() : {}), ...(vector.probe ? { [PROBE_ENV]: "1" } : {}) },
    });
  } catch (err) {
    return done("fail", `could not start the plugin: ${(err as Error).message}`);
  }
  const run = new VectorRun(vector, ctx, plugin);
  try {
    await run.execute();
    return done("pass");
  } catch (err) {
    if (err instanceof VectorFailure) return done("fail", err.message);
    if (err instanceof TemplateError) return done("fail", `vector error: ${err.message}`);
    throw err;
  } finally {
    await plugin.kill();
  }
}

class VectorRun {
  private scope: Record<string, unknown>;
  /** Seq of the frame the last `expect` matched (for `ordered`). */
  private lastMatched = -1;
  /** stderr position at the last send (what `expect_stderr` looks at). */
  private stderrMark = 0;
  /** The runner asked the plugin to stop (shutdown, a signal, EOF): an exit is no longer a failure. */
  private stopRequested = false;
  private stepLabel = "initialize";

  constructor(
    private readonly vector: Vector,
    private readonly ctx: VectorRunContext,
    private readonly plugin: PluginUnderTest,
  ) {
    this.scope = { ...ctx.scope };
    plugin.allowNullIdErrors = vector.allow.null_id_errors === true;
    plugin.onFrameReceived((e) => this.checkForbidden(e));
  }

  private ms(n: number): number {
    return Math.round(n * this.ctx.timeScale);
  }

  async execute(): Promise<void> {
    if (this.vector.initialize) await this.initialize();
    for (const [i, step] of this.vector.steps.entries()) {
      this.stepLabel = `step ${i + 1}${step.note ? ` (${step.note})` : ""}`;
      await this.step(step);
    }
    this.stepLabel = "after the last step";
    this.assertHealthy();
  }

  private fail(message: string): never {
    throw new VectorFailure(`${this.stepLabel}: ${message}`);
  }

  private checkForbidden(e: InboxEntry): void {
    for (const m of this.vector.forbid) {
      if (matchValue(m, e.frame, this.scope).ok) this.plugin.violate(`a forbidden frame arrived: ${brief(e.frame)} (forbid ${brief(m)})`);
    }
  }

  /** Invariants every wait re-checks: no violation, no exit unless the runner asked for one. */
  private assertHealthy(): void {
    if (this.plugin.violations.length) this.fail(this.plugin.violations[0]);
    const exit = this.plugin.exit;
    if (exit && !this.stopRequested) this.fail(`the plugin exited unexpectedly (code ${exit.code}, signal ${exit.signal})${this.stderrTail()}`);
  }

  private stderrTail(): string {
    const lines = this.plugin.stderr.trimEnd().split("\n").slice(-5).filter(Boolean);
    return lines.length ? `; stderr tail:\n    ${lines.join("\n    ")}` : "";
  }

  /** Resolve when `check` returns a value; fail on timeout (with `why()`), a violation, or an unexpected exit. */
  private waitFor<T>(check: () => T | undefined, ms: number, why: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let unsubscribe = (): void => undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (f: () => void): void => {
        if (settled) return;
        settled = true;
        unsubscribe();
        if (timer) clearTimeout(timer);
        f();
      };
      const attempt = (): void => {
        if (settled) return;
        try {
          const v = check();
          if (v !== undefined) return finish(() => resolve(v));
          this.assertHealthy();
          if (this.plugin.exit) this.fail(`the plugin exited (code ${this.plugin.exit.code}, signal ${this.plugin.exit.signal}) before: ${why()}${this.stderrTail()}`);
        } catch (err) {
          finish(() => reject(err));
        }
      };
      attempt();
      if (settled) return;
      unsubscribe = this.plugin.onChange(attempt);
      timer = setTimeout(() => finish(() => reject(new VectorFailure(`${this.stepLabel}: ${why()}`))), ms);
    });
  }

  private async write(p: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.ms(WRITE_MS))));
    const r = await Promise.race([p, timeout]);
    clearTimeout(timer);
    if (r === "timeout") this.fail(`the plugin did not read its stdin for ${this.ms(WRITE_MS)} ms`);
  }

  private async initialize(): Promise<void> {
    await this.write(this.plugin.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { nexo_version: this.ctx.nexoVersion } }));
    const ms = this.ms(INITIALIZE_MS);
    const reply = await this.waitFor(
      () => this.takeFirst((e) => e.kind === "response" && e.frame.id === 1),
      ms,
      () => `no initialize reply (id 1) within ${ms} ms`,
    );
    if ("error" in reply.frame) this.fail(`initialize failed: ${brief(reply.frame.error)}`);
    try {
      checkInitializeResult(reply.frame.result, this.vector.probe ? this.ctx.probeManifest : this.ctx.spec.manifest);
    } catch (err) {
      if (err instanceof NexoError) this.fail(`initialize result refused as the daemon would refuse it: ${err.message} [${err.code}]`);
      throw err;
    }
  }

  /** The first unconsumed entry (from index `from`) satisfying `pred`, marked consumed. */
  private takeFirst(pred: (e: InboxEntry) => boolean, from = 0): InboxEntry | undefined {
    const inbox = this.plugin.inbox;
    for (let i = from; i < inbox.length; i++) {
      const e = inbox[i];
      if (!e.consumed && pred(e)) {
        e.consumed = true;
        return e;
      }
    }
    return undefined;
  }

  private async step(step: VectorStep): Promise<void> {
    if ("send" in step) return this.send(step.send, step.repeat ?? 1);
    if ("send_raw" in step) return this.sendRaw(step.send_raw, step.repeat ?? 1);
    if ("expect" in step) return this.expect(step.expect, step);
    if ("expect_none" in step) return this.expectNone(step.expect_none, step.for_ms);
    if ("expect_stderr" in step) return this.expectStderr(step.expect_stderr, step.within_ms ?? DEFAULT_EXPECT_MS);
    if ("expect_exit" in step) return this.expectExit(step.expect_exit, step.within_ms ?? DEFAULT_EXPECT_MS);
    if ("signal" in step) {
      this.stopRequested = true;
      this.plugin.signal(step.signal);
      return;
    }
    if ("close_stdin" in step) {
      this.stopRequested = true;
      this.plugin.closeStdin();
      return;
    }
    if ("sleep_ms" in step) {
      const ms = this.ms(step.sleep_ms);
      await new Promise((r) => setTimeout(r, ms));
      this.assertHealthy();
    }
  }

  private async send(template: unknown, repeat: number): Promise<void> {
    this.assertHealthy();
    const frames: unknown[] = [];
    for (let i = 0; i < repeat; i++) frames.push(resolveTemplate(template, { ...this.scope, i }));
    if (frames.some((f) => isObj(f) && f.method === "shutdown" && "id" in f)) this.stopRequested = true;
    this.stderrMark = this.plugin.stderrLength;
    await this.write(this.plugin.sendMany(frames));
  }

  private async sendRaw(template: unknown, repeat: number): Promise<void> {
    this.assertHealthy();
    const lines: string[] = [];
    for (let i = 0; i < repeat; i++) {
      const line = resolveTemplate(template, { ...this.scope, i });
      if (typeof line !== "string") this.fail("send_raw must produce a string");
      lines.push(line);
    }
    this.stderrMark = this.plugin.stderrLength;
    await this.write(this.plugin.sendRaw(lines));
  }

  private async expect(pattern: unknown, step: { within_ms?: number; as?: string; ordered?: boolean; repeat?: number }): Promise<void> {
    const repeat = step.repeat ?? 1;
    const ms = this.ms(step.within_ms ?? DEFAULT_EXPECT_MS);
    const deadline = performance.now() + ms;
    for (let i = 0; i < repeat; i++) {
      const scope = repeat > 1 ? { ...this.scope, i } : this.scope;
      const from = step.ordered ? this.lastMatched + 1 : 0;
      const what = (): string =>
        `expected${repeat > 1 ? ` (${i + 1} of ${repeat})` : ""} a frame matching ${brief(pattern)}${step.ordered ? " after the previous match" : ""} within ${ms} ms; ${this.closest(pattern, scope, from)}`;
      const entry = await this.waitFor(
        () => {
          const hit = this.takeFirst((e) => matchValue(pattern, e.frame, scope).ok, from);
          if (hit) return hit;
          this.checkDecisive(pattern, scope);
          if (step.ordered) this.checkOutOfOrder(pattern, scope, from);
          return undefined;
        },
        Math.max(1, deadline - performance.now()),
        what,
      );
      this.lastMatched = entry.seq;
      if (step.as) this.scope[step.as] = entry.frame;
    }
  }

  /** A reply to the id the pattern names has arrived and does not match: no later frame can, so fail now. */
  private checkDecisive(pattern: unknown, scope: Scope): void {
    if (!isObj(pattern) || !("result" in pattern || "error" in pattern)) return;
    const id = typeof pattern.id === "string" ? resolveTemplate(pattern.id, scope) : pattern.id;
    if (typeof id !== "number" && typeof id !== "string") return;
    const reply = this.plugin.inbox.find((e) => !e.consumed && e.kind === "response" && e.frame.id === id);
    if (!reply) return;
    const r = matchValue(pattern, reply.frame, scope);
    if (!r.ok) this.fail(`the reply to id ${JSON.stringify(id)} does not match: at ${r.path}: ${r.reason}; reply: ${brief(reply.frame)}`);
  }

  /** An `ordered` expectation whose frame arrived before the previous match: it can never match now. */
  private checkOutOfOrder(pattern: unknown, scope: Scope, from: number): void {
    const inbox = this.plugin.inbox;
    for (let i = 0; i < Math.min(from, inbox.length); i++) {
      const e = inbox[i];
      if (!e.consumed && matchValue(pattern, e.frame, scope).ok) {
        this.fail(`out of order: ${brief(e.frame)} arrived before the frame matched by the previous expectation`);
      }
    }
  }

  /** Explain a miss: the nearest unconsumed frame (same id or method as the pattern) and where it differs. */
  private closest(pattern: unknown, scope: Scope, from: number): string {
    const rest = this.plugin.inbox.slice(from).filter((e) => !e.consumed);
    if (rest.length === 0) return "nothing else arrived";
    const p = isObj(pattern) ? pattern : {};
    const key = (["id", "method"] as const).find((k) => typeof p[k] === "string" || typeof p[k] === "number");
    const want = key === undefined ? undefined : typeof p[key] === "string" ? resolveTemplate(p[key], scope) : p[key];
    const near = key ? rest.filter((e) => e.frame[key] === want) : [];
    const candidate = near.length ? near[near.length - 1] : rest[rest.length - 1];
    const r = matchValue(pattern, candidate.frame, scope);
    return `${rest.length} unmatched frame(s) arrived; nearest ${brief(candidate.frame)}${r.ok ? "" : ` differs at ${r.path}: ${r.reason}`}`;
  }

  private async expectNone(pattern: unknown, forMs: number): Promise<void> {
    const ms = this.ms(forMs);
    await new Promise((r) => setTimeout(r, ms));
    this.assertHealthy();
    const hit = this.plugin.inbox.find((e) => !e.consumed && matchValue(pattern, e.frame, this.scope).ok);
    if (hit) this.fail(`expected no frame matching ${brief(pattern)}, got ${brief(hit.frame)}`);
  }

  private async expectStderr(pattern: unknown, withinMs: number): Promise<void> {
    const ms = this.ms(withinMs);
    const mark = this.stderrMark;
    await this.waitFor(
      () => (matchValue(pattern, this.plugin.stderrSince(mark), this.scope).ok ? true : undefined),
      ms,
      () => `expected stderr (since the last send) matching ${brief(pattern)} within ${ms} ms; got ${brief(this.plugin.stderrSince(mark).slice(-300))}`,
    );
  }

  private async expectExit(pattern: unknown, withinMs: number): Promise<void> {
    const ms = this.ms(withinMs);
    this.stopRequested = true;
    const exit = await this.waitFor(
      () => this.plugin.exit,
      ms,
      () => `expected the plugin to exit within ${ms} ms; it is still running`,
    );
    const r = matchValue(pattern, { code: exit.code, signal: exit.signal }, this.scope);
    if (!r.ok) this.fail(`exit ${brief({ code: exit.code, signal: exit.signal })} does not match ${brief(pattern)}: ${r.reason}${this.stderrTail()}`);
  }
}
