export { AuthPlugin } from "./auth-plugin.js";
export { hashApiKey, apiKeyFromHeaders, isApiKeyHash, ApiKeyVerifier } from "./api-keys.js";
export { OIDC_PROVIDERS } from "./providers.js";
export { discoverOidc } from "./oidc-discovery.js";
export type { AuthOptions, AuthStrategy } from "./auth-plugin.js";
export type { ApiKeyEntry, ApiKeyHashAlgorithm } from "./api-keys.js";
export type { OidcProviderPreset } from "./providers.js";
