import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { uuidv7 } from "nexo-plugin-sdk";

/**
 * This daemon's identity in a shared store, kept in `<stateDir>/node-id` so it
 * survives restarts: a daemon that comes back finds the runs of its previous
 * life and marks them `interrupted`. Daemons sharing a store have their own state dirs.
 */
export function loadNodeId(stateDir: string): string {
  const file = join(stateDir, "node-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[A-Za-z0-9-]{8,64}$/.test(id)) return id;
  } catch {
    // first start
  }
  const id = uuidv7();
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** A node id claimed for this process's life; `release` gives the state dir's id back at stop. */
export interface NodeIdClaim {
  id: string;
  /** Set when another live process holds the state dir's id: this one runs under a fresh id of its own. */
  sharedWith?: number;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The state dir's node id, held by this process through `<stateDir>/node-id.lock`
 * (its pid). Another live process on the same state dir (`nexo mcp` started by
 * an MCP client beside `nexo run` on one nexo.yaml) gets a fresh id for its
 * life instead: with the same id, its start would mark the daemon's running
 * runs `interrupted`, taking them for those of its own previous life. A lock
 * left by a dead process, or by this one (an app restarted in-process), is
 * taken over.
 */
export function claimNodeId(stateDir: string): NodeIdClaim {
  const id = loadNodeId(stateDir);
  const lock = join(stateDir, "node-id.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      const release = (): void => {
        try {
          if (Number(readFileSync(lock, "utf8").trim()) === process.pid) rmSync(lock, { force: true });
        } catch {
          // already gone
        }
      };
      return { id, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(lock, "utf8").trim());
    } catch {
      // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) return { id: uuidv7(), sharedWith: holder, release: () => undefined };
    rmSync(lock, { force: true });
  }
  return { id: uuidv7(), release: () => undefined };
}
