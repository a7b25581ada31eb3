// Runs several test files in one process (a "shard"), as mocha does, instead of
// one node process per file: each process start with tsx costs about 0.45 CPU-s,
// and each file would load the source graph through tsx again. scripts/test-node.sh
// writes one small entry file per shard that calls runShard() with its files.
//
// Each file's tests run inside a suite named by the file's path, so the reporter
// and every failure name the file and the test. Files run one after the other
// (their tests never overlap), and the process-wide state a file could leave
// behind for the next one is checked around each file: a file that changes
// process.env, the working directory, the umask, the process's event listeners
// or globalThis, at load or in its tests, fails here, naming what it changed.
// Such a file belongs in the list of files run alone (scripts/test-node.sh), or
// must restore what it changes (docs/testing.md).
import { executionAsyncResource } from "node:async_hooks";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { after, describe } from "node:test";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The same limit a file has when it runs in its own process (scripts/test-node.sh). */
const FILE_TIMEOUT_MS = 600_000;
const LOAD = "when it loaded";
/** How long the process may stay up once every file has finished before the shard names what holds it and ends. */
const LINGER_MS = 30_000;

/** After each file: the kinds of handle that held the event loop, to tell which file left one behind. */
const handlesAfter = [];
const countHandles = () => {
  const n = {};
  for (const r of process.getActiveResourcesInfo()) n[r] = (n[r] ?? 0) + 1;
  return n;
};

/** The files that ended holding more handles of a kind still holding the process than they started with: a line each. */
function fileEnds() {
  const now = countHandles();
  let out = "";
  for (const { file, atStart, atEnd } of handlesAfter) {
    const more = Object.keys(now)
      .filter((kind) => (atEnd[kind] ?? 0) > (atStart[kind] ?? 0))
      .map((kind) => `${atEnd[kind] - (atStart[kind] ?? 0)} ${kind}`);
    if (more.length > 0) out += `  ${file} ended with ${more.join(", ")} more than it started with\n`;
  }
  return out;
}

/** The fds of process `pid` (or "self") with what each points at (`pipe:[N]`, `socket:[N]`, a path); empty when unreadable. */
function fdLinks(pid) {
  const links = new Map();
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return links;
  }
  for (const fd of fds) {
    try {
      links.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return links;
}

/**
 * The processes at the other end of this process's pipes and Unix sockets (Linux:
 * /proc, and `ss` for a socket's peer): a child's stdio held open by a grandchild
 * that outlived it names that grandchild here. Empty where neither is available.
 */
function otherEnds() {
  const pipes = new Map();
  const sockets = new Map();
  for (const [fd, target] of fdLinks("self")) {
    if (Number(fd) <= 2) continue;
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    if (socket) sockets.set(socket[1], fd);
    else if (target.startsWith("pipe:")) pipes.set(target, fd);
  }
  let out = "";
  // A child's stdio is a socket pair (libuv): the grandchild holds the peer, which `ss` names.
  try {
    for (const line of execFileSync("ss", ["-xpn"], { encoding: "utf8", timeout: 5000 }).split("\n")) {
      const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s*(.*)$/.exec(line);
      if (m && sockets.has(m[2]) && m[3]) out += `  our fd ${sockets.get(m[2])} (socket ${m[2]}) has its peer ${m[1]} open in ${m[3]}\n`;
    }
  } catch {
    // no ss here
  }
  // Both ends of a pipe share one inode: any other process holding it is listed,
  // unless our parent holds it too (inherited from above, not made here).
  for (const target of fdLinks(process.ppid).values()) pipes.delete(target);
  if (pipes.size === 0) return out;
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    // no /proc here
  }
  for (const pid of pids) {
    for (const [fd, target] of fdLinks(pid)) {
      if (!pipes.has(target)) continue;
      let cmd = "?";
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 300);
      } catch {
        // gone meanwhile
      }
      out += `  our fd ${pipes.get(target)} (${target}) is also open in pid ${pid} as fd ${fd}: ${cmd}\n`;
    }
  }
  return out;
}

/** Where each process listener was added from: the stack of its addition. */
const addedFrom = new WeakMap();
process.on("newListener", (_event, listener) => {
  addedFrom.set(listener, new Error().stack ?? "");
});

/**
 * A listener a library installs for itself, once for the whole process (pino's
 * flush-on-exit hook is one): its first frame outside node's internals is in
 * node_modules. Not a leak of the file that happened to load the library first.
 */
function ownedByLibrary(listener) {
  const frames = (addedFrom.get(listener) ?? "").split("\n").slice(1);
  const first = frames.find((f) => !f.includes("node:") && !f.includes(import.meta.filename));
  return first !== undefined && first.includes("/node_modules/");
}

function snapshot() {
  const listeners = new Map();
  for (const name of process.eventNames()) {
    if (name !== "newListener" && name !== "removeListener") listeners.set(name, process.listeners(name));
  }
  const umask = process.umask(0);
  process.umask(umask);
  const globals = new Map(Object.getOwnPropertyNames(globalThis).map((g) => [g, Object.getOwnPropertyDescriptor(globalThis, g)]));
  return { env: { ...process.env }, cwd: process.cwd(), umask, listeners, globals };
}

/**
 * What differs between two snapshots, one line each; empty when nothing does.
 * A module may add a global of its own when it loads (zod does): only a file's
 * tests adding one counts, while replacing an existing global counts always.
 */
function changes(before, now, atLoad) {
  const out = [];
  for (const k of new Set([...Object.keys(before.env), ...Object.keys(now.env)])) {
    if (before.env[k] !== now.env[k]) out.push(`process.env.${k}: ${JSON.stringify(before.env[k])} -> ${JSON.stringify(now.env[k])}`);
  }
  if (before.cwd !== now.cwd) out.push(`cwd: ${before.cwd} -> ${now.cwd}`);
  if (before.umask !== now.umask) out.push(`umask: ${before.umask.toString(8)} -> ${now.umask.toString(8)}`);
  for (const [name, listeners] of now.listeners) {
    const was = before.listeners.get(name) ?? [];
    const added = listeners.filter((l) => !was.includes(l) && !ownedByLibrary(l));
    if (added.length > 0) out.push(`process.on(${String(name)}): ${added.length} listener(s) added, never removed`);
  }
  for (const [g, is] of now.globals) {
    const was = before.globals.get(g);
    if (!was) {
      if (!atLoad) out.push(`globalThis.${g} added`);
      // Node defines some globals as getters that become plain values on first use: only a value replaced by another counts.
    } else if ("value" in was && "value" in is && !Object.is(was.value, is.value)) out.push(`globalThis.${g} replaced`);
  }
  return out;
}

function assertUnchanged(file, when, before) {
  const diff = changes(before, snapshot(), when === LOAD);
  if (diff.length === 0) return;
  throw new Error(
    `${file} changed process-wide state ${when}, which the files after it in this shard would inherit:\n  ${diff.join("\n  ")}\nrestore it in the test (t.after), or run the file alone (the list in scripts/test-node.sh)`,
  );
}

/**
 * Registers one suite per file, in order. A file is loaded only once the file
 * before it has finished its tests, as if it had the process to itself: its
 * top-level code never runs beside another file's tests, and what it changes
 * at load time is told apart from what its tests change.
 * @param {string[]} files paths relative to the working directory (the repo root)
 */
export function runShard(files) {
  let previousDone = Promise.resolve();
  for (const file of files) {
    const waitFor = previousDone;
    let done;
    previousDone = new Promise((r) => (done = r));
    describe(file, { timeout: FILE_TIMEOUT_MS }, async (ctx) => {
      // node:test finds the suite a test() or hook belongs to by the async context it
      // is called in; past an await that context is lost, so the file is imported and
      // the closing hook registered back inside the suite's own.
      const suite = executionAsyncResource();
      ctx.signal.addEventListener("abort", () => done(), { once: true });
      await waitFor;
      let atStart;
      try {
        const atLoad = snapshot();
        await suite.runInAsyncScope(() => import(pathToFileURL(resolve(file)).href));
        assertUnchanged(file, LOAD, atLoad);
        atStart = snapshot();
      } catch (err) {
        done();
        throw err;
      }
      const handlesAtStart = countHandles();
      suite.runInAsyncScope(() =>
        after(() => {
          handlesAfter.push({ file, atStart: handlesAtStart, atEnd: countHandles() });
          done();
          assertUnchanged(file, "in its tests", atStart);
        }),
      );
    });
  }
  // Every file has finished. A process still up long after is held by a handle some file leaked (a
  // server, a child's pipes, an open store): name what holds it and end, rather than wait out the
  // runner's timeout with nothing to show for it.
  void previousDone.then(() => {
    setTimeout(() => {
      process.stderr.write(
        `test shard: every file has finished, but the process is still up ${LINGER_MS / 1000} s later, held by: ${process.getActiveResourcesInfo().join(", ")}\n${otherEnds()}${fileEnds()}`,
      );
      process.exit(1);
    }, LINGER_MS).unref();
  });
}
