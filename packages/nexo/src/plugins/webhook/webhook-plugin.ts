import { randomUUID } from "node:crypto";
import type { Nexo } from "../../app/index.js";
import type { WorkflowCompletedEvent, WorkflowFailedEvent } from "../../app/index.js";
import type { Logger } from "../../log/index.js";
import { NEXO_VERSION } from "../../version.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check, optionError } from "../option-checks.js";
import { signWebhookBody, SIGNATURE_HEADER } from "./signature.js";
import { errorMessage } from "../../util/index.js";

/** Options of WebhookPlugin (nexo.yaml: `in_process_plugins.webhook`; the secret as `secret_env: VAR`). */
export interface WebhookOptions {
  /** Where to POST. Required. */
  url: string;
  /** HMAC-SHA256 key for the `x-nexo-signature-256` header. Default: none (unsigned). */
  secret: string | undefined;
  /** Which outcomes to send. Default ["completed"], as in the reference plugin API. */
  events: Array<"completed" | "failed">;
  /** Retries after the first attempt (network errors, timeouts, 408, 429, 5xx). Default 5. */
  maxRetries: number;
  /** First retry delay in ms; doubled each retry, with jitter. Default 500. */
  backoffMs: number;
  /** Longest retry delay in ms. Default 30000. */
  maxBackoffMs: number;
  /** Deadline of one POST in ms. Default 5000. */
  timeoutMs: number;
  /** Deliveries waiting at most; beyond it new ones are dropped (logged, counted). Default 1000. */
  queueSize: number;
  /** POSTs in flight at once. Default 2. */
  concurrency: number;
  /** How long teardown waits for queued deliveries, in ms. Default 3000. */
  drainTimeoutMs: number;
  /** Extra request headers (e.g. an Authorization the receiver wants). Treated as secret. Default none. */
  headers: Record<string, string>;
}

/** Counters of a WebhookPlugin. */
export interface WebhookStats {
  delivered: number;
  retries: number;
  queued: number;
  inFlight: number;
  /** Deliveries given up, by reason. */
  dropped: { queueFull: number; retriesExhausted: number; rejected: number; shutdown: number };
}

/** The JSON body: the reference plugin API's fields plus the execution id (for receivers to deduplicate). */
export interface WebhookPayload {
  workflow: string;
  status: "completed" | "failed";
  /** Seconds. */
  duration: number;
  /** When the execution started, RFC 3339 UTC. */
  timestamp: string;
  workflow_id: string;
  error?: { code: string; message: string };
}

interface Job {
  id: string;
  body: string;
  event: string;
  workflow: string;
}

const SPECS: OptionSpecs<WebhookOptions> = {
  url: check.url(),
  secret: check.optional(check.string(1)),
  events: check.array(check.oneOf(["completed", "failed"] as const), 2),
  maxRetries: check.int(0, 100),
  backoffMs: check.int(0, 3_600_000),
  maxBackoffMs: check.int(0, 3_600_000),
  timeoutMs: check.int(1, 600_000),
  queueSize: check.int(1, 1_000_000),
  concurrency: check.int(1, 64),
  drainTimeoutMs: check.int(0, 600_000),
  headers: (v, p) => {
    const o = check.object()(v, p);
    for (const [k, x] of Object.entries(o)) {
      if (typeof x !== "string" || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) throw optionError({ ...p, secret: true }, "a mapping of header names to string values", x);
    }
    return o as Record<string, string>;
  },
};

class Aborted extends Error {}

/**
 * The reference plugin API's webhook plugin: POSTs `{workflow, status, duration, timestamp,
 * workflow_id}` as JSON when a workflow completes (and, if asked, fails).
 * Deliveries are queued (bounded) and sent in the background, so a slow or
 * failing receiver never fails or slows a workflow. Each body is signed with
 * HMAC-SHA256 (`x-nexo-signature-256: sha256=<hex>`) when a secret is set;
 * `x-nexo-delivery` is the same on every retry. Retries back off exponentially.
 * @example
 * app.addPlugin(new WebhookPlugin("https://example.com/webhook", { secret: process.env.WEBHOOK_SECRET }));
 */
export class WebhookPlugin extends BuiltinPlugin<WebhookOptions> {
  private readonly queue: Job[] = [];
  private readonly counters = { delivered: 0, retries: 0, queueFull: 0, retriesExhausted: 0, rejected: 0, shutdown: 0 };
  private active = 0;
  private readonly inFlight = new Set<AbortController>();
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private log: Logger | undefined;

  /** `new WebhookPlugin(url)` as in the reference plugin API, `new WebhookPlugin(url, options)` or `new WebhookPlugin({ url, ... })`. */
  constructor(urlOrOptions?: string | Partial<WebhookOptions>, options?: Partial<WebhookOptions>) {
    const given = typeof urlOrOptions === "string" ? { ...options, url: urlOrOptions } : urlOrOptions;
    super(
      "webhook",
      SPECS,
      {
        url: "",
        secret: undefined,
        events: ["completed"],
        maxRetries: 5,
        backoffMs: 500,
        maxBackoffMs: 30_000,
        timeoutMs: 5000,
        queueSize: 1000,
        concurrency: 2,
        drainTimeoutMs: 3000,
        headers: {},
      },
      given,
      ["secret", "headers"],
    );
  }

  override get description(): string {
    return "POSTs workflow outcomes to a URL, signed, with retries";
  }

  get webhookUrl(): string {
    return this.options.url;
  }
  set webhookUrl(v: string) {
    this.setOption("url", v);
  }
  get secret(): string | undefined {
    return this.options.secret;
  }
  set secret(v: string | undefined) {
    this.setOption("secret", v);
  }

  override setup(app: Nexo): void {
    super.setup(app);
    if (!this.options.url) this.fail("url", "an http:// or https:// URL (the receiver)");
    const u = new URL(this.options.url);
    // The URL may carry a token in its query: log the origin and path only.
    this.log = app.logger.child({ plugin: this.name, webhook: `${u.origin}${u.pathname}` });
    if (this.options.events.includes("completed")) app.onWorkflowCompleted((e) => this.enqueue(e, "completed"));
    if (this.options.events.includes("failed")) app.onWorkflowFailed((e) => this.enqueue(e, "failed"));
  }

  /** Waits for queued deliveries up to `drainTimeoutMs`, then aborts the rest (logged as dropped, reason shutdown). */
  override async teardown(): Promise<void> {
    this.closing = true;
    if (this.queue.length > 0 || this.active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.drainTimeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const left = this.queue.splice(0);
    for (const c of this.inFlight) c.abort(new Aborted("shutdown"));
    if (left.length > 0) {
      this.counters.shutdown += left.length;
      this.log?.warn({ dropped: left.length, reason: "shutdown" }, `webhook: ${left.length} queued deliveries dropped at shutdown`);
    }
    while (this.active > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Delivered, retried, queued, in flight, and dropped by reason. */
  stats(): WebhookStats {
    const c = this.counters;
    return {
      delivered: c.delivered,
      retries: c.retries,
      queued: this.queue.length,
      inFlight: this.active,
      dropped: { queueFull: c.queueFull, retriesExhausted: c.retriesExhausted, rejected: c.rejected, shutdown: c.shutdown },
    };
  }

  /** The reference plugin API's `send_notification`: queue one delivery for `event`. Never throws, never waits. */
  sendNotification(event: WorkflowCompletedEvent | WorkflowFailedEvent): void {
    this.enqueue(event, "error" in event ? "failed" : "completed");
  }

  private enqueue(e: WorkflowCompletedEvent | WorkflowFailedEvent, status: "completed" | "failed"): void {
    if (this.closing) {
      this.counters.shutdown++;
      return;
    }
    if (this.queue.length >= this.options.queueSize) {
      this.counters.queueFull++;
      // One line per 100 drops: a dead receiver under load must not flood the log.
      if (this.counters.queueFull % 100 === 1) {
        this.log?.warn(
          { reason: "queue full", workflow: e.workflowName, queueSize: this.options.queueSize, droppedSoFar: this.counters.queueFull },
          "webhook delivery dropped: queue full",
        );
      }
      return;
    }
    const payload: WebhookPayload = { workflow: e.workflowName, status, duration: e.duration, timestamp: e.timestamp, workflow_id: e.workflowId };
    if ("error" in e) payload.error = e.error;
    this.queue.push({ id: randomUUID(), body: JSON.stringify(payload), event: `workflow.${status}`, workflow: e.workflowName });
    this.pump();
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      void this.deliver(job).finally(() => {
        this.active--;
        if (this.queue.length > 0) this.pump();
        else if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async deliver(job: Job): Promise<void> {
    const o = this.options;
    const headers: Record<string, string> = {
      ...o.headers,
      "content-type": "application/json",
      "user-agent": `nexo-webhook/${NEXO_VERSION}`,
      "x-nexo-delivery": job.id,
      "x-nexo-event": job.event,
    };
    if (o.secret) headers[SIGNATURE_HEADER] = signWebhookBody(job.body, o.secret);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.post(job, headers);
      if (outcome.ok) {
        this.counters.delivered++;
        if (attempt > 0) this.log?.info({ delivery: job.id, attempts: attempt + 1 }, "webhook delivered after retries");
        return;
      }
      if (outcome.aborted) {
        this.counters.shutdown++;
        this.log?.warn({ delivery: job.id, workflow: job.workflow, reason: "shutdown" }, "webhook delivery dropped: the app is stopping");
        return;
      }
      if (!outcome.retryable) {
        this.counters.rejected++;
        this.log?.warn({ delivery: job.id, workflow: job.workflow, reason: outcome.reason }, `webhook delivery dropped: receiver refused it (${outcome.reason})`);
        return;
      }
      if (attempt >= o.maxRetries) {
        this.counters.retriesExhausted++;
        this.log?.warn(
          { delivery: job.id, workflow: job.workflow, reason: outcome.reason, attempts: attempt + 1 },
          `webhook delivery dropped after ${attempt + 1} attempts (${outcome.reason})`,
        );
        return;
      }
      this.counters.retries++;
      // Full jitter on an exponential ceiling (AWS architecture blog's "exponential backoff and jitter").
      const ceiling = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
      const delay = Math.max(outcome.retryAfterMs ?? 0, ceiling / 2 + Math.random() * (ceiling / 2));
      if (!(await this.sleep(Math.min(delay, o.maxBackoffMs)))) {
        this.counters.shutdown++;
        this.log?.warn({ delivery: job.id, workflow: job.workflow, reason: "shutdown" }, "webhook delivery dropped: the app is stopping");
        return;
      }
    }
  }

  private async post(
    job: Job,
    headers: Record<string, string>,
  ): Promise<{ ok: true } | { ok: false; aborted: boolean; retryable: boolean; reason: string; retryAfterMs?: number }> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error("timeout")), this.options.timeoutMs);
    try {
      const res = await fetch(this.options.url, { method: "POST", headers, body: job.body, signal: controller.signal, redirect: "manual" });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      const ra = Number(res.headers.get("retry-after"));
      return { ok: false, aborted: false, retryable, reason: `HTTP ${res.status}`, ...(Number.isFinite(ra) && ra > 0 ? { retryAfterMs: ra * 1000 } : {}) };
    } catch (err) {
      const reason = controller.signal.reason;
      if (reason instanceof Aborted) return { ok: false, aborted: true, retryable: false, reason: "shutdown" };
      const timedOut = reason instanceof Error && reason.message === "timeout";
      return { ok: false, aborted: false, retryable: true, reason: timedOut ? `no answer within ${this.options.timeoutMs} ms` : networkReason(err) };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  /** Resolves true after `ms`, false at once if teardown gives up first. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const controller = new AbortController();
      this.inFlight.add(controller);
      const timer = setTimeout(() => {
        this.inFlight.delete(controller);
        resolve(true);
      }, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        this.inFlight.delete(controller);
        resolve(false);
      });
    });
  }
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? errorMessage(err);
}
