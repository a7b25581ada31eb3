/** Per-plugin resource limits: in a cgroup v2 group where the daemon can make one, else as rlimits through prlimit(1). */
export interface ResourceLimits {
  /** Memory in MiB: cgroup memory.max (swap off; past it the kernel kills the plugin), else address space (RLIMIT_AS: allocations past it fail). */
  memoryMb?: number;
  /** Processes: cgroup pids.max (this plugin's alone), else RLIMIT_NPROC (counted per uid). A fork bomb stops there. */
  processes?: number;
  /** Open files (RLIMIT_NOFILE, in both mechanisms). */
  openFiles?: number;
  /** CPU share, 1-10000 (100 = an equal share): cgroup cpu.weight, else a nice level for weights below 100. */
  cpuWeight?: number;
}

/** One sandbox as enforced: the manifest's `[plugin.sandbox]`, or the operator's `sandbox.default`. */
export interface SandboxSettings {
  network: "deny" | "host";
  fsReadPaths: string[];
  fsWritePaths: string[];
  dropUser: boolean;
}

/** The operator's `sandbox:` section of nexo.yaml, plus the daemon's own paths no plugin may see. */
export interface SandboxOperatorConfig {
  /** Refuse to run any plugin without a sandbox. */
  require: boolean;
  /** Applied to plugins that declare no (enabled) sandbox. */
  default?: SandboxSettings;
  /** Plugin ids allowed `network = "host"`. */
  allowHostNetwork: string[];
  /** Limits for every plugin; `plugins.<id>.limits` overrides them key by key. */
  limits: ResourceLimits;
  /** The daemon's state dir, control socket and the like: never visible inside a sandbox. */
  protectedPaths: string[];
  /** nexo.yaml `permissions.enforce`: every plugin may use only what it is granted (src/host/permissions). Default false. */
  enforcePermissions?: boolean;
}

/** What the host will do to contain one plugin. */
export interface SandboxPlan {
  /** null: the plugin runs unsandboxed. */
  sandbox: SandboxSettings | null;
  /** Where the sandbox came from. */
  source: "manifest" | "default" | "none";
  /** Paths with `${state_dir}` expanded. */
  readPaths: string[];
  writePaths: string[];
  limits: ResourceLimits;
  /** A plugin with `http_server` under `network = "deny"`: its port is bridged to a Unix socket the proxy connects to (http-bridge.ts). */
  httpBridged: boolean;
  /** Set at launch for a bridged plugin: the host path of the socket its route is served on. */
  httpSocket?: string;
  /** Set at launch: the plugin's cgroup v2 directory when its limits live there (else they are rlimits). */
  cgroup?: string;
}

/** The unprivileged uid/gid a sandbox drops to (Debian's `nobody`/`nogroup`). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
