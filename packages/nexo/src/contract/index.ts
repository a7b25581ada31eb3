export { Event, newEvent, completeEvent } from "./event.js";
export { exceedsDepth, MAX_FRAME_BYTES, MAX_FRAME_DEPTH, NdjsonDecoder, NdjsonWriter, previewLine, readFrames } from "./framing.js";
export { classifyFrame, makeError, makeNotification, makeRequest, makeResult } from "./jsonrpc.js";
export { Methods } from "./methods.js";
export { RpcError, RpcErrorCodes, rpcCodeName } from "./rpc-errors.js";
export { NEXO_CONTRACT_VERSION } from "./version.js";
export type { NewEventOptions } from "./event.js";
export type { FrameProblem, FramingOptions, NdjsonDecoderHandlers } from "./framing.js";
export type { ClassifiedFrame, JsonRpcFailure, JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, JsonRpcSuccess } from "./jsonrpc.js";
export type {
  BrokerEventParams,
  BrokerPublishParams,
  BrokerSubscribeParams,
  ConfigureParams,
  InitializeParams,
  InitializeResult,
  ShutdownParams,
  ToolCatalogueEntry,
  ToolInvokeParams,
  ToolResult,
} from "./methods.js";
export type { JsonRpcErrorObject, RpcErrorName } from "./rpc-errors.js";
