import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcErrorCodes } from "../src/contract/index.js";
import { errorWire, ErrorCodes, isNexoError, NexoError, type ErrorCode } from "../src/errors.js";

test("errors - each tool code's contract code in the catalogue is the contract's own (-334xx)", () => {
  const expected: Partial<Record<ErrorCode, number>> = {
    [ErrorCodes.TOOL_NOT_FOUND]: RpcErrorCodes.TOOL_NOT_FOUND,
    [ErrorCodes.TOOL_INVALID_ARGS]: RpcErrorCodes.TOOL_INVALID_ARGS,
    [ErrorCodes.TOOL_EXECUTION_FAILED]: RpcErrorCodes.TOOL_EXECUTION_FAILED,
    [ErrorCodes.TOOL_UNAVAILABLE]: RpcErrorCodes.TOOL_UNAVAILABLE,
    [ErrorCodes.TOOL_PLUGIN_EXITED]: RpcErrorCodes.TOOL_UNAVAILABLE,
    [ErrorCodes.TOOL_DENIED]: RpcErrorCodes.TOOL_DENIED,
    [ErrorCodes.TOOL_TIMEOUT]: RpcErrorCodes.TOOL_EXECUTION_FAILED,
  };
  for (const [code, rpc] of Object.entries(expected)) {
    assert.equal(errorWire(code as ErrorCode)?.rpc, rpc, code);
    assert.equal(new NexoError(code as ErrorCode, "x").details.rpcCode, rpc, `${code} carries its contract code`);
  }
});

test("errors - an error's HTTP status is the catalogue's, a framework's 4xx overrides it, and an unlisted code is an internal 500", () => {
  const denied = new NexoError(ErrorCodes.MCP_ORIGIN_DENIED, "no");
  assert.equal(denied.httpStatus, 403);
  assert.equal(denied.isPublic, true);
  const bad = new NexoError(ErrorCodes.HTTP_BAD_REQUEST, "method not allowed", { httpStatus: 405 });
  assert.equal(bad.httpStatus, 405);
  const internal = new NexoError(ErrorCodes.STORE_QUERY, "relation does not exist");
  assert.equal(internal.httpStatus, 500);
  assert.equal(internal.isPublic, false, "an unlisted code's message stays out of the reply");
  // A 5xx in details (an upstream's status) never makes an unlisted code public.
  assert.equal(new NexoError(ErrorCodes.POLLER_HTTP_STATUS, "feed said 503", { httpStatus: 503 }).isPublic, false);
  // A code that came over the wire (another daemon, a stored run) named like an Object.prototype member is unlisted too.
  for (const code of ["constructor", "toString", "__proto__", "hasOwnProperty"] as unknown as ErrorCode[]) {
    const e = new NexoError(code, "from the wire");
    assert.deepEqual([e.httpStatus, e.isPublic, errorWire(code), e.details.rpcCode], [500, false, undefined, undefined], code);
  }
});

test("errors - a code nothing raises is not in the catalogue", () => {
  const codes = Object.values(ErrorCodes) as string[];
  assert.ok(!codes.includes("NEXO_ERR_HOST_TOPIC_DENIED"));
  assert.ok(!codes.includes("NEXO_ERR_PLUGIN_NOT_FOUND"));
  assert.equal(new Set(codes).size, codes.length, "codes are unique");
});

test("errors - isNexoError narrows details.data to the code's family type", () => {
  const err: unknown = new NexoError(ErrorCodes.WORKFLOW_INVALID_INPUT, "bad inputs", { data: { workflow: "w", violations: [{ path: "/a", message: "is required" }] } });
  assert.ok(isNexoError(err, ErrorCodes.WORKFLOW_INVALID_INPUT));
  // No cast: the violations are typed (the type-check of the tests fails if they are not).
  assert.deepEqual(
    err.details.data?.violations.map((v) => v.path),
    ["/a"],
  );
  const wrong = () =>
    // @ts-expect-error a workflow error's data names the workflow, not a tool
    new NexoError(ErrorCodes.WORKFLOW_NOT_FOUND, "no such workflow", { data: { tool: "t" } });
  assert.equal(wrong().code, ErrorCodes.WORKFLOW_NOT_FOUND);
});
