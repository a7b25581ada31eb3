import { AsyncLocalStorage } from "node:async_hooks";

/** The event whose handler is running, carried through every await of that handler. */
export interface HandlerScope {
  eventId: string | undefined;
}

/**
 * Which event's handler a publish comes from. A reply published without a
 * `correlation_id` gets the id of the event it answers, even when other
 * events, tools or timers publish concurrently.
 */
export const handlerScope = new AsyncLocalStorage<HandlerScope>();
