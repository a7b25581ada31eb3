export { ScheduleService } from "./schedule-service.js";
export { ScheduleStore, SCHEDULE_MIGRATIONS } from "./schedule-store.js";
export type { ScheduleServiceOptions } from "./schedule-service.js";
export type { TickRecord } from "./schedule-store.js";
