import {
  exceedsDepth,
  MAX_FRAME_BYTES,
  MAX_FRAME_DEPTH,
  NdjsonDecoder,
  NdjsonWriter as SharedNdjsonWriter,
  previewLine,
  readFrames,
  type FrameSink,
  type FrameWriterErrors,
} from "nexo-plugin-sdk/contract";
import { ErrorCodes, NexoError } from "../errors.js";

/**
 * NDJSON framing is the SDK's (`nexo-plugin-sdk/contract`): one reader and one
 * writer for both ends of the wire (docs/contract.md, Transport). The host's
 * stricter handling of untrusted plugins is applied where it reads them:
 * over-long lines reported at once (the reader's default), faults isolated per
 * line (`onFault`), the depth bound (`exceedsDepth`, `host/rpc-peer.ts`).
 */
export { exceedsDepth, MAX_FRAME_BYTES, MAX_FRAME_DEPTH, NdjsonDecoder, previewLine, readFrames };
export type { FrameProblem, NdjsonDecoderHandlers, NdjsonDecoderOptions } from "nexo-plugin-sdk/contract";

export interface FramingOptions {
  /** Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

/** The shared writer's refusals as the host's catalogue codes. */
const hostWriterErrors: Partial<FrameWriterErrors> = {
  tooLarge: (bytes, limit) => new NexoError(ErrorCodes.CONTRACT_FRAME_TOO_LARGE, `frame of ${bytes} bytes exceeds the ${limit}-byte limit`),
  unserializable: (cause) => new NexoError(ErrorCodes.CONTRACT_INVALID_FRAME, `frame is not serializable: ${cause.message}`, { cause }),
  closed: (streamGone) => new NexoError(ErrorCodes.CONTRACT_WRITER_CLOSED, streamGone ? "the stream closed; frame not written" : "writer closed; frame not written"),
};

/**
 * The shared NDJSON writer, refusing frames with NEXO_ERR_CONTRACT_FRAME_TOO_LARGE,
 * NEXO_ERR_CONTRACT_INVALID_FRAME and NEXO_ERR_CONTRACT_WRITER_CLOSED. It adds
 * no behaviour of its own.
 */
export class NdjsonWriter extends SharedNdjsonWriter {
  constructor(stream: FrameSink, options: FramingOptions = {}) {
    super(stream, { maxFrameBytes: options.maxFrameBytes, errors: hostWriterErrors });
  }
}
