export { ScheduleService } from "./schedule-service.js";
export { ScheduleStore, SCHEDULE_MIGRATIONS } from "./schedule-store.js";
export { nextTick, parseSchedules } from "./schedule-config.js";
export type { ScheduleServiceOptions } from "./schedule-service.js";
export type { ScheduleConfig } from "./schedule-config.js";
export type { TickRecord } from "./schedule-store.js";
