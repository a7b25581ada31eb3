import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { LocalBroker } from "./local-broker.js";
import { NatsBroker } from "./nats-broker.js";
import type { Broker } from "./types.js";

/** Build the broker a config names: `local` or a `nats://` URL. */
export async function createBroker(url: string, options: { logger?: Logger } = {}): Promise<Broker> {
  if (url === "local") return new LocalBroker(options);
  if (url.startsWith("nats://")) return NatsBroker.connect(url, options);
  throw new NexoError(ErrorCodes.CONFIG_INVALID, `broker must be "local" or a nats:// URL, got ${JSON.stringify(url)}`);
}
