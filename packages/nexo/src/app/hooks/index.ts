export { HookPoints } from "./hook-points.js";
export { HOOK_POINTS, HookNames, isHookName, readHookResponse } from "./hook-response.js";
export type { HookContext, HookEvent, HookOutcome, HookPlugin, HookPointStats, HookPointsOptions, InProcessHook } from "./hook-points.js";
export type { HookName, HookResponse, ReadResponse } from "./hook-response.js";
export { beforeMessage, messageHookEvent } from "./message-hook.js";
export type { MessageVerdict } from "./message-hook.js";
export { beforeToolCall } from "./tool-hook.js";
