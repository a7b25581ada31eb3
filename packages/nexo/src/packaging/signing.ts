import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";
import { sha256File } from "./hash-file.js";

/** Text form of an ed25519 public key: `ed25519:` + base64 of the 32 raw bytes. */
export type PublicKeyText = string;

const KEY_PREFIX = "ed25519:";
const SIGNATURE_HEADER = "nexo-signature 1";

/**
 * The statement an author signs: a fixed context string and the archive's
 * SHA-256, so a signature can never be replayed as a signature over anything else.
 */
function signedStatement(sha256: string): Buffer {
  return Buffer.from(`nexo-plugin-archive\nsha256 ${sha256}\n`, "utf8");
}

/** Parse `ed25519:<base64>` into a key object. Throws NEXO_ERR_PACKAGE_TRUST_CONFIG naming `where`. */
export function parsePublicKey(text: string, where: string): KeyObject {
  const bad = (why: string): NexoError => new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `${where}: ${why}`, { field: where });
  if (typeof text !== "string" || !text.startsWith(KEY_PREFIX)) throw bad(`a public key must look like "${KEY_PREFIX}<base64 of 32 bytes>"`);
  const raw = Buffer.from(text.slice(KEY_PREFIX.length), "base64");
  if (raw.length !== 32 || raw.toString("base64") !== text.slice(KEY_PREFIX.length)) throw bad("the key is not base64 of 32 bytes");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

/** The `ed25519:<base64>` text of a public key object. */
export function formatPublicKey(key: KeyObject): PublicKeyText {
  const jwk = key.export({ format: "jwk" });
  return `${KEY_PREFIX}${Buffer.from(jwk.x ?? "", "base64url").toString("base64")}`;
}

/** Files written by `generateSigningKey`. */
export interface GeneratedKey {
  privateKeyFile: string;
  publicKeyFile: string;
  publicKey: PublicKeyText;
}

/**
 * Write a new ed25519 key pair for signing plugin archives: `<name>.key`
 * (PKCS#8 PEM, mode 0600, never overwritten) and `<name>.pub` (one line,
 * `ed25519:<base64>`, what goes in a trusted-keys file).
 */
export function generateSigningKey(outDir: string, name: string): GeneratedKey {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `key name must be 1-64 of [A-Za-z0-9._-], got ${JSON.stringify(name)}`, { field: "name" });
  const privateKeyFile = join(resolve(outDir), `${name}.key`);
  const publicKeyFile = join(resolve(outDir), `${name}.pub`);
  for (const f of [privateKeyFile, publicKeyFile]) {
    if (existsSync(f)) throw new NexoError(ErrorCodes.PACKAGE_EXISTS, `${f} already exists; keys are never overwritten`, { file: f });
  }
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  writeFileSync(privateKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  const text = formatPublicKey(publicKey);
  writeFileSync(publicKeyFile, `${text}\n`, { mode: 0o644, flag: "wx" });
  return { privateKeyFile, publicKeyFile, publicKey: text };
}

/** A detached signature as read from `<archive>.sig`. */
export interface ArchiveSignature {
  publicKey: PublicKeyText;
  sha256: string;
  signature: Buffer;
}

/** Sign `archive` with the PEM private key in `keyFile`; writes and returns `<archive>.sig`. */
export async function signArchive(archive: string, keyFile: string): Promise<{ file: string; sha256: string; publicKey: PublicKeyText }> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(keyFile));
  } catch (err) {
    throw new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `${keyFile} is not a readable private key: ${(err as Error).message}`, { file: keyFile, cause: err });
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `${keyFile} is a ${privateKey.asymmetricKeyType} key; nexo signs with ed25519 (nexo plugin keygen)`, { file: keyFile });
  if (!existsSync(archive)) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no archive at ${archive}`, { file: archive });
  const sha256 = await sha256File(archive);
  const signature = sign(null, signedStatement(sha256), privateKey);
  const publicKey = formatPublicKey(createPublicKey(privateKey));
  const file = `${resolve(archive)}.sig`;
  writeFileSync(file, [SIGNATURE_HEADER, `public-key ${publicKey}`, `sha256 ${sha256}`, `signature ${signature.toString("base64")}`, ""].join("\n"));
  return { file, sha256, publicKey };
}

/** Parse a `.sig` file. Throws NEXO_ERR_PACKAGE_SIGNATURE when it is malformed. */
export function parseSignature(text: string, file: string): ArchiveSignature {
  const bad = (why: string): NexoError => new NexoError(ErrorCodes.PACKAGE_SIGNATURE, `${file}: ${why}`, { file });
  if (text.length > 4096) throw bad("is too large to be a signature");
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== SIGNATURE_HEADER) throw bad(`does not start with "${SIGNATURE_HEADER}"`);
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const at = line.indexOf(" ");
    if (at <= 0) throw bad(`malformed line ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, at);
    if (fields.has(key)) throw bad(`repeats "${key}"`);
    fields.set(key, line.slice(at + 1));
  }
  const publicKey = fields.get("public-key");
  const sha256 = fields.get("sha256");
  const sig = fields.get("signature");
  if (!publicKey || !sha256 || !sig) throw bad('needs "public-key", "sha256" and "signature" lines');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad("sha256 is not 64 lowercase hex digits");
  const signature = Buffer.from(sig, "base64");
  if (signature.length !== 64) throw bad("signature is not base64 of 64 bytes");
  return { publicKey, sha256, signature };
}

/**
 * Check a signature against the archive's SHA-256. Returns true when the
 * signature is valid for `publicKey`; false when it is not (tampered archive
 * or forged signature). Key parsing errors surface as NEXO_ERR_PACKAGE_SIGNATURE.
 */
export function isValidSignature(sig: ArchiveSignature, archiveSha256: string, file: string): boolean {
  let key: KeyObject;
  try {
    key = parsePublicKey(sig.publicKey, `${file} public-key`);
  } catch (err) {
    throw new NexoError(ErrorCodes.PACKAGE_SIGNATURE, (err as Error).message, { file, cause: err });
  }
  if (sig.sha256 !== archiveSha256) return false;
  return verify(null, signedStatement(archiveSha256), key, sig.signature);
}
