import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { classifyFrame, exceedsDepth, makeError, makeNotification, makeResult, MAX_FRAME_DEPTH, NdjsonWriter, readFrames, RpcError, RpcErrorCodes } from "../../contract/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import type { Logger } from "../../log/index.js";
import { errorMessage } from "../../util/index.js";
import { ownProperty } from "../../util/index.js";

/** One connected control client. */
export interface ControlSession {
  /** Send a notification to this client; false if it is gone or too slow (dropped). */
  notify(method: string, params: unknown): boolean;
  /** Run `fn` when the client disconnects. */
  onClose(fn: () => void): void;
}

export type ControlHandler = (params: unknown, session: ControlSession) => Promise<unknown> | unknown;

export interface ControlServerOptions {
  socketPath: string;
  handlers: Record<string, ControlHandler>;
  logger: Logger;
  /** Unflushed frames per client before notifications are dropped. Default 1024. */
  queueDepth?: number;
}

/**
 * Serves the control protocol on a Unix socket only the daemon's user can open:
 * created with mode 0600 from the start (umask 0177 around the bind), in a
 * directory created 0700 when it did not exist.
 * `close()` stops listening, disconnects every client and removes the socket file.
 */
export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: ControlServerOptions) {}

  async listen(): Promise<void> {
    const path = this.options.socketPath;
    // A directory created here is private; an existing one keeps its mode (the socket's own mode guards it).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      if (await isSocketLive(path)) {
        throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `another nexo daemon is already listening on ${path}; stop it or set control.socket`, {});
      }
      unlinkSync(path); // stale socket from a daemon that did not exit cleanly
    }
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // The socket file is created by bind(), synchronously inside listen(): with umask 0177 it is
      // born 0600, so no other user can connect in the moment before a chmod (which stays as a guard).
      const umask = setUmask(0o177);
      try {
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
    });
    chmodSync(path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.options.socketPath);
    } catch {
      // already gone
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const writer = new NdjsonWriter(socket);
    const closers: Array<() => void> = [];
    const depth = this.options.queueDepth ?? 1024;
    let dropped = 0;
    const session: ControlSession = {
      notify: (method, params) => {
        if (writer.closed) return false;
        if (writer.pending >= depth) {
          dropped += 1;
          if (dropped === 1 || dropped % 1000 === 0) this.options.logger.warn({ dropped }, "control client too slow: notifications dropped");
          return false;
        }
        writer.write(makeNotification(method, params)).catch(() => undefined);
        return true;
      },
      onClose: (fn) => closers.push(fn),
    };
    const cleanup = (): void => {
      this.sockets.delete(socket);
      writer.close();
      reader.dispose();
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch {
          // a closer must not break the others
        }
      }
    };
    socket.on("error", () => socket.destroy());
    socket.on("close", cleanup);
    const reader = readFrames(socket, {
      onFrame: (value, raw) => {
        // Deeper frames could overflow the stack of whatever logs or stringifies them later.
        if (exceedsDepth(value, MAX_FRAME_DEPTH, raw)) {
          writer.write(makeError(null, RpcErrorCodes.INVALID_REQUEST, `frame nested deeper than ${MAX_FRAME_DEPTH} levels`)).catch(() => undefined);
          return;
        }
        const c = classifyFrame(value);
        if (c.kind === "request") void this.handle(c.frame.id, c.frame.method, c.frame.params, session, writer);
        else if (c.kind === "invalid") writer.write(makeError(c.id, RpcErrorCodes.INVALID_REQUEST, c.reason)).catch(() => undefined);
      },
      onProblem: (p) => {
        writer.write(makeError(null, RpcErrorCodes.PARSE_ERROR, `unreadable line (${p.kind})`)).catch(() => undefined);
      },
      // Whatever a client sends may fail its own connection, never the daemon.
      onFault: (err) => {
        this.options.logger.warn({ err: errorMessage(err) }, "control client frame failed: connection closed");
        socket.destroy();
      },
    });
  }

  private async handle(id: string | number, method: string, params: unknown, session: ControlSession, writer: NdjsonWriter): Promise<void> {
    const handler = ownProperty(this.options.handlers, method);
    let frame;
    if (!handler) {
      frame = makeError(id, RpcErrorCodes.METHOD_NOT_FOUND, `unknown control method ${method}`);
    } else {
      try {
        frame = makeResult(id, (await handler(params, session)) ?? null);
      } catch (err) {
        if (err instanceof RpcError) frame = makeError(id, err.code, err.message, err.data);
        else if (err instanceof NexoError) frame = makeError(id, RpcErrorCodes.INTERNAL_ERROR, err.message, err.toJSON());
        else {
          this.options.logger.error({ err, method }, "control handler failed");
          frame = makeError(id, RpcErrorCodes.INTERNAL_ERROR, errorMessage(err));
        }
      }
    }
    writer.write(frame).catch(() => undefined);
  }
}

function isSocketLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Set the process umask, returning the previous one; undefined where it cannot be set (worker threads: the chmod then guards). */
function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}
