import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";

/** A whole HTTP response, body as text (and parsed when JSON). */
export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One request on a fresh connection (no keep-alive), body sent in one write. */
export function httpCall(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...options.headers };
    // Node sends a DELETE/OPTIONS body without framing unless told its length.
    if (options.body !== undefined && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined)
      headers["content-length"] = Buffer.byteLength(options.body);
    const req = httpRequest(url, { method: options.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
