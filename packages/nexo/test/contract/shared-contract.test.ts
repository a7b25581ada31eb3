import assert from "node:assert/strict";
import { test } from "node:test";
import * as sdk from "nexo-plugin-sdk";
import * as shared from "nexo-plugin-sdk/contract";
import {
  Event,
  exceedsDepth,
  makeError,
  makeResult,
  MAX_FRAME_BYTES,
  MAX_FRAME_DEPTH,
  NdjsonDecoder,
  NdjsonWriter,
  newEvent,
  previewLine,
  readFrames,
  RpcErrorCodes,
} from "../../src/contract/index.js";
import { ID_PATTERN } from "../../src/manifest/validate.js";

test("contract - the host's error codes, frame limit and plugin id rule are the SDK's own objects, not copies", () => {
  assert.equal(RpcErrorCodes, shared.RpcErrorCodes);
  assert.equal(sdk.RpcErrorCodes, shared.RpcErrorCodes, "plugin authors see the same table");
  assert.equal(MAX_FRAME_BYTES, shared.MAX_FRAME_BYTES);
  assert.equal(ID_PATTERN, shared.PLUGIN_ID_PATTERN);
  assert.equal(sdk.uuidv7, shared.uuidv7);
});

test("contract - the host's NDJSON reader, depth guard, Event and reply builders are the SDK's own objects; its writer adds only the host's error codes", () => {
  assert.equal(NdjsonDecoder, shared.NdjsonDecoder);
  assert.equal(readFrames, shared.readFrames);
  assert.equal(exceedsDepth, shared.exceedsDepth);
  assert.equal(previewLine, shared.previewLine);
  assert.equal(MAX_FRAME_DEPTH, shared.MAX_FRAME_DEPTH);
  assert.equal(Object.getPrototypeOf(NdjsonWriter), shared.NdjsonWriter, "the host's writer is the shared one");
  assert.deepEqual(Object.getOwnPropertyNames(NdjsonWriter.prototype), ["constructor"], "with no method of its own");
  assert.equal(Event, shared.Event);
  assert.equal(sdk.Event, shared.Event, "plugin authors see the same Event");
  assert.equal(newEvent, shared.Event.new);
  assert.equal(newEvent, shared.newEvent);
  assert.equal(makeResult, shared.buildResponse, "replies are built by one function on both ends");
  assert.equal(makeError, shared.buildErrorResponse);
  assert.equal(sdk.buildErrorResponse, shared.buildErrorResponse);
});

test("contract - the shared table carries every band: JSON-RPC, channels, LLM and tools", () => {
  assert.equal(shared.RpcErrorCodes.METHOD_NOT_FOUND, -32601);
  assert.equal(shared.RpcErrorCodes.CHANNEL_RATE_LIMITED, -33004);
  assert.equal(shared.RpcErrorCodes.LLM_RATE_LIMITED, -33104);
  assert.equal(shared.RpcErrorCodes.TOOL_DENIED, -33405);
  assert.ok(shared.PLUGIN_ID_PATTERN.test("sms_gateway"));
  assert.ok(!shared.PLUGIN_ID_PATTERN.test("Sms"));
});
