/** The body of a vendor's HTTP response went past its bound (see `boundedFetch`). */
export class ResponseTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the provider's HTTP response went past ${maxBytes} bytes`);
    this.name = "ResponseTooLarge";
  }
}

/**
 * `fetch` for the vendor SDKs with each response body held to `maxBytes()`
 * bytes, counted after decompression: a model server answering hundreds of
 * megabytes (or a compression bomb) is cut off while reading, and the
 * connection dropped, instead of being buffered whole and parsed. The error
 * comes from reading the body, which the SDKs do not retry.
 */
export function boundedFetch(maxBytes: () => number): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    // Its own signal too, so a cut drops the connection rather than letting the client drain the rest.
    const cut = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
    const res = await fetch(input, { ...init, signal });
    const limit = maxBytes();
    if (!res.body) return res;
    let seen = 0;
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen <= limit) return controller.enqueue(chunk);
          const err = new ResponseTooLarge(limit);
          controller.error(err);
          cut.abort(err);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** True when `err` (or one of its causes) is a `ResponseTooLarge`. */
export function isResponseTooLarge(err: unknown): boolean {
  for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) if (e instanceof ResponseTooLarge) return true;
  return false;
}

/** Bytes a response may take for an answer of `maxAnswerChars`: room for JSON escapes, multi-byte text and a stream's per-chunk framing. */
export function responseBytesFor(maxAnswerChars: number): number {
  return maxAnswerChars * 16 + 1_048_576;
}
