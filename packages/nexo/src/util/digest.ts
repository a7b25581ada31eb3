import * as crypto from "node:crypto";

/** Digest algorithms the hot paths use. */
export type DigestAlgorithm = "sha256" | "sha512";

// crypto.hash (Node >= 20.12) skips the Hash object, which dominates for the
// short inputs every authenticated or cached request hashes (BENCHMARKS.md, HTTP API).
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

/**
 * Digest of the UTF-8 bytes of `data`, in `encoding`. Text, not a Buffer, on
 * purpose: making a Buffer from C++ costs more than hashing a short input.
 */
export function digestText(algorithm: DigestAlgorithm, data: string, encoding: "hex" | "base64url" = "hex"): string {
  return oneShot ? oneShot(algorithm, data, encoding) : crypto.createHash(algorithm).update(data, "utf8").digest(encoding);
}
