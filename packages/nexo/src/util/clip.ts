/**
 * Bounds for text and data an untrusted peer (a plugin's error reply, a
 * provider's message) hands the host, before logs, errors and events carry it on.
 */

/** `text`, cut to `max` characters with a note of how much was cut. */
export function clipText(text: string, max = 1024): string {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} more characters]` : text;
}

/** `data` when its JSON is at most `max` characters, else a note in its place (never throws). */
export function boundedData(data: unknown, max = 4096): unknown {
  if (data === undefined || data === null || typeof data === "number" || typeof data === "boolean") return data;
  let size: number;
  try {
    size = JSON.stringify(data)?.length ?? 0;
  } catch {
    return { dropped: "data that is not JSON" };
  }
  return size > max ? { dropped: `data of ${size} characters (at most ${max} are kept)` } : data;
}
