import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import {
  BRIDGE_DIR_IN_SANDBOX,
  bridgeSocketPath,
  bridgeTarget,
  buildBwrapArgs,
  describePlan,
  exitReason,
  planSandbox,
  prlimitArgs,
  runtimePrefix,
  type SandboxOperatorConfig,
} from "../../src/host/sandbox/index.js";

const STATE = "/srv/nexo/state/plugins/box";
const operator = (over: Partial<SandboxOperatorConfig> = {}): SandboxOperatorConfig => ({
  require: false,
  allowHostNetwork: [],
  limits: {},
  protectedPaths: ["/srv/nexo/state", "/run/nexo.sock"],
  ...over,
});
const manifest = (sandbox?: Record<string, unknown>, http = false) => ({
  id: "box",
  ...(sandbox ? { sandbox: { enabled: true, network: "deny" as const, fsReadPaths: [], fsWritePaths: [], dropUser: true, ...sandbox } } : {}),
  ...(http ? { httpServer: { port: 0, bind: "127.0.0.1", healthPath: "/health" } } : {}),
});

/** The pairs following each occurrence of `flag`. */
function pairs(args: string[], flag: string): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args.slice(i + 1, i + (flag === "--tmpfs" || flag === "--chdir" ? 2 : 3)));
  });
  return out;
}

test("sandbox args - network deny unshares everything, drops to 65534, binds the plugin dir read-only and its state dir writable, and runs the command last", () => {
  const plan = planSandbox(manifest({ fsWritePaths: ["${state_dir}"], fsReadPaths: ["/usr/share/zoneinfo"] }), "box", STATE, operator());
  const args = buildBwrapArgs({
    plan,
    pluginDir: "/opt/plugins/box",
    stateDir: STATE,
    command: "/usr/bin/node",
    args: ["main.mjs"],
    protectedPaths: ["/srv/nexo/state"],
    kind: () => "dir",
  });
  assert.deepEqual(args.slice(0, 8), ["--die-with-parent", "--new-session", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]);
  assert.ok(!args.includes("--share-net"));
  assert.deepEqual(
    pairs(args, "--ro-bind").find((p) => p[0] === "/opt/plugins/box"),
    ["/opt/plugins/box", "/opt/plugins/box"],
  );
  assert.deepEqual(pairs(args, "--bind-try"), [[STATE, STATE]]);
  assert.deepEqual(pairs(args, "--ro-bind-try").at(-1), ["/usr/share/zoneinfo", "/usr/share/zoneinfo"]);
  assert.deepEqual(args.slice(-5), ["--chdir", "/opt/plugins/box", "--", "/usr/bin/node", "main.mjs"]);
  // /proc/sys hidden; nothing of /root, /boot, /etc/shadow bound
  assert.ok(pairs(args, "--tmpfs").some((p) => p[0] === "/proc/sys"));
  for (const flag of ["--ro-bind", "--ro-bind-try", "--bind", "--bind-try"]) {
    for (const [src] of pairs(args, flag)) assert.ok(!["/", "/root", "/boot", "/etc/shadow", "/etc"].includes(src!), `${flag} ${src}`);
  }
});

test("sandbox args - network host (allowed) keeps the network; drop_user = false keeps the uid", () => {
  const host = planSandbox(manifest({ network: "host", dropUser: false }), "box", STATE, operator({ allowHostNetwork: ["box"] }));
  const args = buildBwrapArgs({ plan: host, pluginDir: "/opt/p", stateDir: STATE, command: "/usr/bin/node", args: [], protectedPaths: [], kind: () => "dir" });
  assert.ok(args.includes("--share-net"));
  assert.ok(!args.includes("--uid"));
});

test("sandbox args - an http_server plugin under network deny keeps its own namespace and runs behind a socat bridge from a bound socket dir to its port", () => {
  const http = planSandbox(manifest({}, true), "box", STATE, operator());
  assert.equal(http.httpBridged, true);
  assert.throws(() => buildBwrapArgs({ plan: http, pluginDir: "/opt/p", stateDir: STATE, command: "/usr/bin/node", args: [], protectedPaths: [], kind: () => "dir" }), /no bridge/);
  const bridge = { socketDir: "/srv/nexo/state/sockets/box", socat: "/usr/bin/socat", port: 4321, bind: "0.0.0.0" };
  const args = buildBwrapArgs({
    plan: http,
    pluginDir: "/opt/p",
    stateDir: STATE,
    command: "/usr/bin/node",
    args: ["main.mjs"],
    protectedPaths: [],
    kind: () => "dir",
    httpBridge: bridge,
  });
  assert.ok(!args.includes("--share-net"));
  assert.deepEqual(pairs(args, "--bind"), [["/srv/nexo/state/sockets/box", BRIDGE_DIR_IN_SANDBOX]]);
  const run = args.slice(args.indexOf("--") + 1);
  assert.equal(run[0], "/bin/sh");
  assert.deepEqual(run.slice(3), [
    "nexo-http-bridge",
    "/usr/bin/socat",
    `UNIX-LISTEN:${BRIDGE_DIR_IN_SANDBOX}/http.sock,fork,unlink-early,mode=600`,
    "TCP4:127.0.0.1:4321",
    "/usr/bin/node",
    "main.mjs",
  ]);
  assert.equal(bridgeTarget("::", 80), "TCP6:[::1]:80");
  assert.equal(bridgeTarget("127.0.0.1", 80), "TCP4:127.0.0.1:80");
  assert.equal(bridgeSocketPath(`/${"x".repeat(120)}`), null);
  assert.match(describePlan(http).sandbox, /network=deny \(http over unix socket\)/);
});

test("sandbox args - the daemon's state and socket are masked when the plugin dir contains them", () => {
  const plan = planSandbox(manifest({}), "box", "/work/proj/.state/plugins/box", operator({ protectedPaths: ["/work/proj/.state", "/work/proj/.state/nexo.sock"] }));
  const args = buildBwrapArgs({
    plan,
    pluginDir: "/work/proj",
    stateDir: "/work/proj/.state/plugins/box",
    command: "/usr/bin/node",
    args: [],
    protectedPaths: ["/work/proj/.state", "/work/proj/.state/nexo.sock"],
    kind: (p) => (p.endsWith(".sock") ? "file" : "dir"),
  });
  assert.ok(pairs(args, "--tmpfs").some((p) => p[0] === "/work/proj/.state"));
  assert.ok(pairs(args, "--ro-bind").some((p) => p[0] === "/dev/null" && p[1] === "/work/proj/.state/nexo.sock"));
  // masks come after the plugin dir's bind, or they would be covered by it
  const pluginBind = args.findIndex((a, i) => a === "--ro-bind" && args[i + 1] === "/work/proj");
  assert.ok(pluginBind > 0 && args.indexOf("/work/proj/.state") > pluginBind);
});

test("sandbox plan - declared paths overlapping the denylist or the daemon's state are refused, symlinks resolved; the plugin's own state dir is fine", () => {
  for (const path of ["/etc/shadow", "/root/.ssh", "/", "/srv/nexo/state/plugins/other", "/srv", "/boot/grub", "/var/run/docker.sock"]) {
    assert.throws(
      () => planSandbox(manifest({ fsReadPaths: [path] }), "box", STATE, operator()),
      (err: unknown) => isNexoError(err) && err.code === ErrorCodes.HOST_SANDBOX_DENIED,
      path,
    );
  }
  assert.throws(
    () => planSandbox(manifest({ fsReadPaths: ["/tmp/innocent"] }), "box", STATE, operator(), {}, (p) => (p === "/tmp/innocent" ? "/etc/shadow" : p)),
    /overlaps \/etc\/shadow/,
  );
  const ok = planSandbox(manifest({ fsWritePaths: ["${state_dir}", "${state_dir}/cache"], fsReadPaths: ["/usr/share"] }), "box", STATE, operator());
  assert.deepEqual(ok.writePaths, [STATE, `${STATE}/cache`]);
});

test("sandbox plan - require refuses a plugin without a sandbox, default supplies one, host network needs the allow, limits merge per key", () => {
  assert.throws(
    () => planSandbox(manifest(), "box", STATE, operator({ require: true })),
    (err: unknown) => isNexoError(err) && err.code === ErrorCodes.HOST_SANDBOX_REQUIRED,
  );
  const d = planSandbox(manifest(), "box", STATE, operator({ require: true, default: { network: "deny", fsReadPaths: [], fsWritePaths: ["${state_dir}"], dropUser: true } }));
  assert.equal(d.source, "default");
  assert.deepEqual(d.writePaths, [STATE]);
  assert.throws(() => planSandbox(manifest({ network: "host" }), "box", STATE, operator()), /allow_host_network/);
  const none = planSandbox(manifest(), "box", STATE, operator({ limits: { memoryMb: 512, processes: 10 } }), { processes: 4, openFiles: 64 });
  assert.equal(none.sandbox, null);
  assert.deepEqual(none.limits, { memoryMb: 512, processes: 4, openFiles: 64 });
  assert.deepEqual(prlimitArgs(none.limits), [`--as=${512 * 1024 * 1024}`, "--nproc=4", "--nofile=64"]);
  assert.equal(describePlan(none).limits, "rlimits (prlimit) memory=512MiB processes=4 open_files=64");
});

test("sandbox plan - the runtime prefix and the exit reason", () => {
  assert.equal(runtimePrefix("/usr/bin/node"), null);
  assert.equal(runtimePrefix("/opt/node-20/bin/node"), "/opt/node-20");
  assert.equal(runtimePrefix("/opt/tools/run"), "/opt/tools");
  assert.equal(exitReason({ memoryMb: 1024 }, ["FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"]), "limit");
  assert.equal(exitReason({ memoryMb: 1024 }, ["Traceback", "MemoryError"]), "limit");
  assert.equal(exitReason({}, ["MemoryError"]), null, "no memory limit: not the limit's doing");
  assert.equal(exitReason({ memoryMb: 1024 }, ["boom"]), null);
});
