/** One parsed Server-Sent Event. */
export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/**
 * Read a `text/event-stream` response to its end (or until `until` says stop),
 * returning the events in order; `onEvent` sees each as it arrives.
 */
export async function readSse(res: Response, onEvent?: (e: SseEvent) => void, until?: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const e: SseEvent = { event: "message", data: undefined };
      let data: string | undefined;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const [k, ...rest] = line.split(": ");
        const v = rest.join(": ");
        if (k === "event") e.event = v;
        else if (k === "id") e.id = v;
        else if (k === "data") data = v;
      }
      if (data === undefined) continue;
      e.data = JSON.parse(data);
      events.push(e);
      onEvent?.(e);
      if (until?.(e)) {
        await reader.cancel();
        return events;
      }
    }
  }
  return events;
}
