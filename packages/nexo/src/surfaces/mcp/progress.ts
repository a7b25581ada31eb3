import type { ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import type { ProgressEvent } from "../../app/index.js";

/** Progress notifications of one call waiting to be written before more are dropped. */
export const MAX_PENDING_PROGRESS = 64;

/** A number just above `n` (a few ulps), still a different double after a JSON round trip. */
function above(n: number): number {
  const next = n + Math.max(Math.abs(n) * Number.EPSILON, Number.MIN_VALUE);
  return next > n ? next : n + 1;
}

/**
 * A workflow's `ctx.progress` / `ctx.emit` as MCP `notifications/progress` for
 * the call's `progressToken`. A number is the progress; `{progress, total,
 * message}` is read as such; anything else (and every chunk) becomes the
 * message. MCP requires progress to increase with each notification, so a
 * value that would not is sent a hair above the last one: a chunk between
 * "2 of 3" and "3 of 3" must not push the count past the workflow's own
 * (a client showing 5 of 3 would be wrong). Past MAX_PENDING_PROGRESS
 * unwritten notifications, events are dropped and counted (`dropped`).
 */
export function progressSender(token: string | number, send: (n: ServerNotification) => Promise<void>): ((e: ProgressEvent) => void) & { dropped: number } {
  let last = 0;
  let lastTotal: number | undefined;
  let pending = 0;
  const fn = ((e: ProgressEvent) => {
    if (pending >= MAX_PENDING_PROGRESS) {
      fn.dropped += 1;
      return;
    }
    let progress: number | undefined;
    let total: number | undefined;
    let message: string | undefined;
    const v = e.value;
    if (e.kind === "progress" && typeof v === "number" && Number.isFinite(v)) progress = v;
    else if (e.kind === "progress" && v !== null && typeof v === "object" && typeof (v as { progress?: unknown }).progress === "number") {
      const o = v as { progress: number; total?: unknown; message?: unknown };
      progress = o.progress;
      if (typeof o.total === "number") total = o.total;
      if (typeof o.message === "string") message = o.message;
    } else message = typeof v === "string" ? v : JSON.stringify(v ?? null);
    last = progress !== undefined && progress > last ? progress : above(last);
    // A chunk (or a bare number) keeps the total the workflow last gave, so a client's bar keeps its scale.
    if (total !== undefined) lastTotal = total;
    else total = lastTotal;
    pending += 1;
    send({
      method: "notifications/progress",
      params: { progressToken: token, progress: last, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) },
    })
      .catch(() => undefined)
      .finally(() => (pending -= 1));
  }) as ((e: ProgressEvent) => void) & { dropped: number };
  fn.dropped = 0;
  return fn;
}
