import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
