/** Tests a request path (no query string) against configured patterns. */
export type PathMatcher = (path: string) => boolean;

/**
 * Compile route patterns: an exact path (`/health`), `*` for exactly one
 * segment (`/workflows/*\/execute`), and a trailing `**` for any rest
 * (`/admin/**` matches `/admin` and everything below it).
 */
export function compilePathPatterns(patterns: readonly string[]): PathMatcher {
  if (patterns.length === 0) return () => false;
  const exact = new Set<string>();
  const regexes: RegExp[] = [];
  for (const p of patterns) {
    if (!p.includes("*")) exact.add(p);
    else regexes.push(patternRegex(p));
  }
  if (regexes.length === 0) return (path) => exact.has(path);
  return (path) => exact.has(path) || regexes.some((r) => r.test(path));
}

/** The RegExp for one pattern (see `compilePathPatterns`). */
export function patternRegex(pattern: string): RegExp {
  const escape = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  let rest = pattern;
  let tail = "";
  if (rest.endsWith("/**")) {
    rest = rest.slice(0, -3);
    tail = "(?:/.*)?";
  }
  const body = rest.split("*").map(escape).join("[^/]+");
  return new RegExp(`^${body}${tail}$`);
}

/** The path of a request URL, without the query string. */
export function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
