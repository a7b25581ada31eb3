export { WebhookPlugin } from "./webhook-plugin.js";
export { signWebhookBody, verifyWebhookSignature, SIGNATURE_HEADER } from "./signature.js";
export type { WebhookOptions, WebhookPayload, WebhookStats } from "./webhook-plugin.js";
