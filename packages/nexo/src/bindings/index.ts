export { AgentBinding } from "./agent-binding.js";
export { BindingsService } from "./bindings-service.js";
export { parseBindings } from "./parse-bindings.js";
export { ReplyGuard } from "./reply-guard.js";
export { autoOutboundTopic, channelOfTopic, INBOUND_PREFIX } from "./topics.js";
export type { BindingOutbound, BindingSpec, BindingStats } from "./types.js";
