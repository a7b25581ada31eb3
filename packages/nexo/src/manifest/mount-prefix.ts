/**
 * Paths the daemon serves itself (and the contract reserves): a plugin can
 * mount neither one of them nor anything below one. Compared case-insensitively.
 */
export const RESERVED_MOUNT_PREFIXES = [
  "/health",
  "/ready",
  "/metrics",
  "/admin",
  "/.well-known",
  "/pair",
  "/workflows",
  "/tools",
  "/mcp",
  "/control",
  "/openapi",
  "/openapi.json",
];

/** One path segment of a mount prefix: unreserved URI characters only (RFC 3986 2.3). */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Why a mount prefix is refused: the rule's name and what was wrong. */
export interface MountPrefixProblem {
  rule: "path" | "reserved_prefix";
  message: string;
}

/**
 * Check a `[plugin.http] mount_prefix`. It is literal path segments, each
 * 1+ of `A-Z a-z 0-9 . _ ~ -`, joined by single slashes after a leading one:
 * no route syntax (`:` `*` `(` `;`), no percent-encoding, NUL, whitespace,
 * query or fragment, no empty segment (so no `//` and no trailing slash), no
 * `.` or `..`, not the root. Being literal, it is already normal, so the
 * reserved check compares it as is, ignoring case. Returns undefined when it is fine.
 */
export function checkMountPrefix(prefix: string): MountPrefixProblem | undefined {
  if (!prefix.startsWith("/") || prefix === "/") return { rule: "path", message: "must start with / and name a path below the root" };
  if (prefix.endsWith("/")) return { rule: "path", message: "must not end with /" };
  const segments = prefix.slice(1).split("/");
  for (const seg of segments) {
    if (seg === "") return { rule: "path", message: "must not contain an empty segment (//)" };
    if (seg === "." || seg === "..") return { rule: "path", message: "must not contain . or .. segments" };
    if (!SEGMENT.test(seg)) {
      return { rule: "path", message: `segment ${JSON.stringify(seg)} must be literal: letters, digits, . _ ~ - only (no route syntax such as : * ( ;, no %, whitespace, ? or #)` };
    }
  }
  const lower = prefix.toLowerCase();
  const reserved = RESERVED_MOUNT_PREFIXES.find((r) => lower === r || lower.startsWith(`${r}/`));
  if (reserved) return { rule: "reserved_prefix", message: `${prefix} is under ${reserved}, which the daemon serves itself` };
  return undefined;
}
