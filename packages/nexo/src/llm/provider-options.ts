/** What a provider client is built from: the config with the API key already read from its env variable. */
export interface ProviderClientOptions {
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  timeoutMs: number;
  maxRetries: number;
  /** The HTTP client the vendor SDK uses (a bounded one, see boundedFetch). Default the global fetch. */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}
