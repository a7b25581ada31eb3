/**
 * The wire contract as both ends of it use it: the Nexo host imports this
 * module (`nexo-plugin-sdk/contract`) instead of keeping its own copy, so the
 * error codes, the frame limits, the plugin id rule, the id generator, the
 * NDJSON reader and writer, the reply builders and the event shape a plugin
 * sees are the host's by construction. What only a host needs against untrusted peers (the depth
 * bound, reporting an over-long line at once, faults isolated per line) is
 * here as options and helpers the SDK leaves unused. The package root
 * exports the codes, the limit, the ids and `Event` to plugin authors too.
 */
export { Event, newEvent } from "./event.js";
export type { EventExtras } from "./event.js";
export { NdjsonDecoder, readFrames } from "./frame-reader.js";
export type { FrameProblem, NdjsonDecoderHandlers, NdjsonDecoderOptions } from "./frame-reader.js";
export { MAX_QUEUED_FRAMES, NdjsonWriter } from "./frame-writer.js";
export type { FrameSink, FrameWriterErrors, NdjsonWriterOptions } from "./frame-writer.js";
export { exceedsDepth, FrameTooLargeError, MAX_FRAME_BYTES, MAX_FRAME_DEPTH, previewLine } from "./framing.js";
export { nowIso, uuidv7 } from "./ids.js";
export { buildErrorResponse, buildResponse } from "./wire.js";

export { PLUGIN_ID_PATTERN, RpcErrorCodes } from "./codes.js";
