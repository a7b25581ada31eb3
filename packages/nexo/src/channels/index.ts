export { ChannelService, CHANNEL_SOURCE_PREFIX, defaultChannelTimeouts } from "./channel-service.js";
export { toChannelError } from "./channel-errors.js";
export { checkOutboundMessage, MESSAGE_KINDS, messageFromPayload } from "./outbound-message.js";
export type { ChannelInfo, ChannelSendOptions, ChannelSendResult, ChannelServiceOptions, ChannelStats, ChannelTimeouts } from "./channel-service.js";
export type { ChannelTarget } from "./channel-errors.js";
export type { OutboundMessage } from "./outbound-message.js";
export { PluginExtensions } from "./plugin-extensions.js";
