import type { ChatMessage } from "../llm/index.js";
import type { Queryable, Store } from "../store/index.js";
import { AGENT_MIGRATIONS } from "./migrations.js";

/**
 * The messages of each agent conversation, per (binding, session id), on the
 * app's store (SQLite or PostgreSQL). Bounded: after each turn only the
 * newest `limit` messages are kept. A history never starts with a tool
 * result or an assistant turn, which the vendors refuse without what came
 * before: `load` drops those leading messages.
 */
export class ConversationStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly store: Store) {}

  init(): Promise<void> {
    this.ready ??= this.store.migrate("agents", AGENT_MIGRATIONS).then(() => undefined);
    // A failed migration (database down) is retried by the next turn.
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  /** The newest `limit` messages, oldest first, starting at a user message. */
  async load(binding: string, sessionId: string, limit: number): Promise<ChatMessage[]> {
    if (limit <= 0) return [];
    await this.init();
    const rows = await this.store.query<{ message: string }>("SELECT message FROM nexo_agent_messages WHERE binding = ? AND session_id = ? ORDER BY seq DESC LIMIT ?", [
      binding,
      sessionId,
      limit,
    ]);
    const messages = rows.reverse().map((r) => JSON.parse(String(r.message)) as ChatMessage);
    const start = messages.findIndex((m) => m.role === "user");
    return start < 0 ? [] : messages.slice(start);
  }

  /** Append a turn's messages and drop all but the newest `limit` of the session, in one transaction. */
  async append(binding: string, sessionId: string, messages: readonly ChatMessage[], limit: number): Promise<void> {
    if (messages.length === 0) return;
    await this.init();
    await this.store.transaction(async (tx: Queryable) => {
      const [last] = await tx.query<{ seq: number | string | null }>("SELECT MAX(seq) AS seq FROM nexo_agent_messages WHERE binding = ? AND session_id = ?", [binding, sessionId]);
      let seq = Number(last?.seq ?? 0);
      const now = Date.now();
      for (const m of messages)
        await tx.exec("INSERT INTO nexo_agent_messages (binding, session_id, seq, message, created_at) VALUES (?, ?, ?, ?, ?)", [
          binding,
          sessionId,
          ++seq,
          JSON.stringify(m),
          now,
        ]);
      await tx.exec("DELETE FROM nexo_agent_messages WHERE binding = ? AND session_id = ? AND seq <= ?", [binding, sessionId, seq - limit]);
    });
  }

  /**
   * Delete the messages of `binding` written before `before` (ms since the
   * epoch), in every session: what bounds the store when callers keep opening
   * new sessions. Returns how many were deleted.
   */
  async prune(binding: string, before: number): Promise<number> {
    await this.init();
    return (await this.store.exec("DELETE FROM nexo_agent_messages WHERE binding = ? AND created_at < ?", [binding, before])).changes;
  }

  /** Messages stored for a session (tests, diagnostics). */
  async count(binding: string, sessionId: string): Promise<number> {
    await this.init();
    const [r] = await this.store.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM nexo_agent_messages WHERE binding = ? AND session_id = ?", [binding, sessionId]);
    return Number(r?.n ?? 0);
  }
}
