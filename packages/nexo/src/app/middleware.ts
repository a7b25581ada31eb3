import { ErrorCodes, NexoError } from "../errors.js";
import type { WorkflowCall, WorkflowMiddleware } from "./types.js";

/** The innermost step of the chain: validate, emit lifecycle events, run the handler. */
export type Terminal = (call: WorkflowCall) => Promise<unknown>;

/**
 * Run `call` through `middleware` in order, then `terminal`. Each middleware
 * may call `next()` at most once; a second call rejects with
 * NEXO_ERR_WORKFLOW_NEXT_CALLED_TWICE. A middleware that never calls `next()`
 * short-circuits: its return value is the result (a cache hit).
 * Borrowed from koa-compose / hono's compose.ts.
 */
export function runMiddleware(middleware: ReadonlyArray<WorkflowMiddleware>, call: WorkflowCall, terminal: Terminal): Promise<unknown> {
  if (middleware.length === 0) return terminal(call);
  let index = -1;
  const dispatch = (i: number): Promise<unknown> => {
    if (i <= index) {
      return Promise.reject(new NexoError(ErrorCodes.WORKFLOW_NEXT_CALLED_TWICE, `middleware #${i} of workflow "${call.workflowName}" called next() more than once`));
    }
    index = i;
    if (i === middleware.length) return terminal(call);
    try {
      return Promise.resolve(middleware[i](call, () => dispatch(i + 1)));
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return dispatch(0);
}
