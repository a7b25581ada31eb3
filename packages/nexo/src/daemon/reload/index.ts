export { applyReload } from "./apply.js";
export { appliedConfig, isEmptyPlan, planReload } from "./plan.js";
export { prepareReload } from "./prepare.js";
export { Reloader } from "./reloader.js";
export type { ReloadReport, ReloadTarget } from "./apply.js";
export type { Changes, ReloadPlan, ReloadState } from "./plan.js";
export type { ReloaderOptions } from "./reloader.js";
export { createReloader, reloadOverControl } from "./daemon-reload.js";
