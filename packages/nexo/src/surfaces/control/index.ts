export { ControlServer } from "./control-server.js";
export { ControlClient } from "./control-client.js";
export { ControlMethods, TAIL_EVENT } from "./protocol.js";
export { pollerControlHandlers } from "./poller-handlers.js";
export { runControlHandlers } from "./run-handlers.js";
export type { ControlHandler, ControlServerOptions, ControlSession } from "./control-server.js";
