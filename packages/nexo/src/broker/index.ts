export { createBroker } from "./create-broker.js";
export { LocalBroker } from "./local-broker.js";
export { NatsBroker } from "./nats-broker.js";
export { DEFAULT_BUFFER_SIZE } from "./subscription-queue.js";
export { MAX_TOPIC_LENGTH, MAX_TOPIC_SEGMENTS, matchTopic, validatePattern, validateTopic } from "./topic.js";
export { TopicTrie } from "./topic-trie.js";
export type { LocalBrokerOptions } from "./local-broker.js";
export type { NatsBrokerOptions } from "./nats-broker.js";
export type { Broker, BrokerStats, EventHandler, SubscribeOptions, Subscription } from "./types.js";
