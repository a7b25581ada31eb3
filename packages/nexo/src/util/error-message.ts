/** A one-line description of anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    // JSON.stringify answers undefined (not a string) for undefined, functions and symbols.
    return typeof err === "string" ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    return String(err);
  }
}
