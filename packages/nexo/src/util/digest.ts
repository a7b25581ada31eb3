import * as crypto from "node:crypto";

/** Digest algorithms the hot paths use. */
export type DigestAlgorithm = "sha256" | "sha512";

// crypto.hash (Node >= 20.12) skips the Hash object: about 2.5x faster for
// short inputs, which is what every authenticated or cached request hashes.
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

/** Digest of the UTF-8 bytes of `data` as a Buffer. */
export function digestBytes(algorithm: DigestAlgorithm, data: string): Buffer {
  return oneShot ? oneShot(algorithm, data, "buffer") : crypto.createHash(algorithm).update(data, "utf8").digest();
}

/** Digest of the UTF-8 bytes of `data`, in `encoding`. */
export function digestText(algorithm: DigestAlgorithm, data: string, encoding: "hex" | "base64url" = "hex"): string {
  return oneShot ? oneShot(algorithm, data, encoding) : crypto.createHash(algorithm).update(data, "utf8").digest(encoding);
}
