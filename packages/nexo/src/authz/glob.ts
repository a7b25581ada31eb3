/** A name pattern: `*` matches any run of characters (also none), everything else is literal. */
export type NameMatcher = (name: string) => boolean;

/** Compile one pattern. A pattern without `*` is an equality test (no RegExp on the hot path). */
export function compileGlob(pattern: string): NameMatcher {
  if (pattern === "*") return () => true;
  if (!pattern.includes("*")) return (name) => name === pattern;
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const re = new RegExp(`^${source}$`, "s");
  return (name) => re.test(name);
}

/** Compile a list: true when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): NameMatcher {
  const ms = patterns.map(compileGlob);
  if (ms.length === 1) return ms[0]!;
  return (name) => ms.some((m) => m(name));
}
