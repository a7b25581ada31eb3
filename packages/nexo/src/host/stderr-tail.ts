/** A bounded ring of the last N stderr lines of a plugin (docs/contract.md: default 32, max 512). */
export class StderrTail {
  private readonly lines: string[] = [];
  private partial = "";
  /** Longest line kept; longer lines are cut so the tail stays bounded in bytes too. */
  static readonly MAX_LINE_CHARS = 4096;

  constructor(
    private readonly capacity: number,
    private readonly onLine?: (line: string) => void,
  ) {}

  /** Feed a chunk of stderr; complete lines go to the tail and to `onLine`. */
  push(chunk: string): void {
    let text = this.partial + chunk;
    let nl = text.indexOf("\n");
    while (nl !== -1) {
      this.add(text.slice(0, nl));
      text = text.slice(nl + 1);
      nl = text.indexOf("\n");
    }
    // An unterminated run longer than a line's cap is flushed as a line of its own.
    if (text.length > StderrTail.MAX_LINE_CHARS) {
      this.add(text);
      text = "";
    }
    this.partial = text;
  }

  /** Flush a final unterminated line. */
  end(): void {
    if (this.partial.length > 0) this.add(this.partial);
    this.partial = "";
  }

  /** The kept lines, oldest first. */
  snapshot(): string[] {
    return this.lines.slice();
  }

  private add(raw: string): void {
    let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.length > StderrTail.MAX_LINE_CHARS) line = `${line.slice(0, StderrTail.MAX_LINE_CHARS)}…`;
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
    this.onLine?.(line);
  }
}
