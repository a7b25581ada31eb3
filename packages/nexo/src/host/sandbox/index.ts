export { buildBwrapArgs, runtimePrefix } from "./bwrap-args.js";
export type { BwrapInput } from "./bwrap-args.js";
export { exitReason, hasLimits, prlimitArgs } from "./limits.js";
export { DENIED_PATHS, describePlan, isWithin, planSandbox } from "./plan.js";
export { ensureBwrapWorks, findOnPath } from "./probe.js";
export { containCommand } from "./wrap.js";
export type { ContainedCommand, ContainInput } from "./wrap.js";
export { SANDBOX_GID, SANDBOX_UID } from "./types.js";
export type { ResourceLimits, SandboxOperatorConfig, SandboxPlan, SandboxSettings } from "./types.js";
