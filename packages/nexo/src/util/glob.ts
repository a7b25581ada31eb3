/** A name pattern: `*` matches any run of characters (also none), `?` exactly one, everything else is literal. */
export type NameMatcher = (name: string) => boolean;

/** Compile one pattern. A pattern without wildcards is an equality test (no RegExp on the hot path). */
export function compileGlob(pattern: string): NameMatcher {
  if (pattern === "*") return () => true;
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  const re = new RegExp(`^${source}$`, "s");
  return (name) => re.test(name);
}

/** Compile a list: true when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): NameMatcher {
  const ms = patterns.map(compileGlob);
  if (ms.length === 1) return ms[0]!;
  return (name) => ms.some((m) => m(name));
}
