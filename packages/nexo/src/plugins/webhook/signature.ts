import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = "x-nexo-signature-256";

/** `sha256=<hex>`: HMAC-SHA256 of `body` (the exact bytes sent) with `secret`. */
export function signWebhookBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Receiver side: true when `signature` is the HMAC of the raw `body` under
 * `secret`. Constant-time; verify before parsing the JSON.
 */
export function verifyWebhookSignature(body: string | Uint8Array, signature: string | undefined, secret: string): boolean {
  if (typeof signature !== "string") return false;
  const expected = Buffer.from(signWebhookBody(body, secret));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
