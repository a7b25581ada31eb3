import { connect, type Socket } from "node:net";
import { classifyFrame, makeRequest, NdjsonWriter, readFrames, RpcError } from "../../contract/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";

/** A connection to a running daemon's control socket (used by the CLI). */
export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly notificationHandlers = new Set<(method: string, params: unknown) => void>();
  private readonly closeHandlers = new Set<() => void>();

  private constructor(
    private readonly socket: Socket,
    private readonly writer: NdjsonWriter,
  ) {
    readFrames(socket, {
      onFrame: (value) => {
        const c = classifyFrame(value);
        if (c.kind === "response" && typeof c.frame.id === "number") {
          const p = this.pending.get(c.frame.id);
          if (!p) return;
          this.pending.delete(c.frame.id);
          if ("error" in c.frame) p.reject(RpcError.from(c.frame.error));
          else p.resolve(c.frame.result);
        } else if (c.kind === "notification") {
          for (const h of this.notificationHandlers) h(c.frame.method, c.frame.params);
        }
      },
      onProblem: () => undefined,
      onEnd: () => {
        const err = new NexoError(ErrorCodes.CONTROL_UNREACHABLE, "the daemon closed the control connection");
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        for (const h of this.closeHandlers) h();
      },
    });
  }

  /** Connect, or NEXO_ERR_CONTROL_UNREACHABLE with a hint when no daemon listens. */
  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      socket.once("connect", () => resolve(new ControlClient(socket, new NdjsonWriter(socket))));
      socket.once("error", (err) =>
        reject(
          new NexoError(
            ErrorCodes.CONTROL_UNREACHABLE,
            `no nexo daemon at ${socketPath} (${(err as NodeJS.ErrnoException).code ?? err.message}); start one with \`nexo run\` or pass --socket`,
            {
              cause: err,
            },
          ),
        ),
      );
    });
  }

  request(method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.writer.write(makeRequest(id, method, params)).catch(reject);
    });
  }

  onNotification(fn: (method: string, params: unknown) => void): void {
    this.notificationHandlers.add(fn);
  }

  onClose(fn: () => void): void {
    this.closeHandlers.add(fn);
  }

  close(): void {
    this.writer.close();
    this.socket.end();
    this.socket.destroy();
  }
}
