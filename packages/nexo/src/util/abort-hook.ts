/**
 * Key of an execution option for surfaces inside this package: called at once
 * with a function that aborts the execution. It spares the HTTP surface an
 * AbortController per request (it aborts only when a client disconnects);
 * callers outside the package use the public `signal` option.
 */
export const ON_ABORTABLE: unique symbol = Symbol("nexo.onAbortable");
