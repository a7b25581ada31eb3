<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/**
 * Publish events and call host services. Every frame is written whole by the
 * adapter's one writer, so frames never interleave. Host calls block the
 * calling handler until the reply, the deadline (default 30 s) or shutdown;
 * meanwhile the adapter keeps reading stdin (events queue up in order) but
 * runs no other handler. Results come back as associative arrays.
 */
final class BrokerSender
{
    /** @internal built by PluginAdapter */
    public function __construct(private readonly PluginAdapter $adapter)
    {
    }

    /**
     * `broker.publish` as a notification (the host checks the allowlist and drops what is outside it).
     * Throws FrameTooLargeException for a frame over the limit.
     *
     * @example $broker->publish($t, Event::new($t, 'my_plugin', $payload));
     */
    public function publish(string $topic, Event $event): void
    {
        $this->adapter->sendFrame(['jsonrpc' => '2.0', 'method' => 'broker.publish', 'params' => ['topic' => $topic, 'event' => $event]]);
    }

    /** `broker.publish` as a request: returns `['ok' => true]`, throws RpcException when refused (e.g. outside the allowlist). */
    public function publishAcked(string $topic, Event $event, ?float $timeout = null): array
    {
        return (array) $this->adapter->hostRequest('broker.publish', ['topic' => $topic, 'event' => $event], $timeout);
    }

    /**
     * `broker.subscribe {topic_pattern}`: matching events (inside the allowlist) go to
     * `$handler($topic, $event)`, in order with every other event. Returns the subscriber id.
     */
    public function subscribe(string $pattern, callable $handler, ?float $timeout = null): string
    {
        $r = $this->adapter->hostRequest('broker.subscribe', ['topic_pattern' => $pattern], $timeout);
        $id = is_array($r) ? ($r['subscriber_id'] ?? null) : null;
        if (!is_string($id) && !is_int($id)) {
            throw new RpcException(ErrorCodes::INTERNAL_ERROR, 'broker.subscribe reply has no subscriber_id', $r);
        }
        $this->adapter->addSubscription((string) $id, $handler);
        return (string) $id;
    }

    /** `broker.unsubscribe`: the handler stops at once, then the host is told. */
    public function unsubscribe(string $subscriberId, ?float $timeout = null): void
    {
        $this->adapter->removeSubscription($subscriberId);
        $this->adapter->hostRequest('broker.unsubscribe', ['subscriber_id' => $subscriberId], $timeout);
    }

    /** `memory.recall` -> `['entries' => [...]]` (limit default 10, host max 1000). */
    public function memoryRecall(string $agentId, string $query, int $limit = 10, ?float $timeout = null): array
    {
        return (array) $this->adapter->hostRequest('memory.recall', ['agent_id' => $agentId, 'query' => $query, 'limit' => $limit], $timeout);
    }

    /**
     * `llm.complete` in one reply -> `['content' => ..., 'finish_reason' => ..., 'usage' => ...]`.
     *
     * @param list<array{role: string, content: string}> $messages
     */
    public function llmComplete(
        array $messages,
        ?string $provider = null,
        ?string $model = null,
        int $maxTokens = 4096,
        float $temperature = 0.7,
        ?string $systemPrompt = null,
        ?float $timeout = null,
    ): array {
        $params = self::llmParams($messages, $provider, $model, $maxTokens, $temperature, $systemPrompt, false);
        return (array) $this->adapter->hostRequest('llm.complete', $params, $timeout);
    }

    /**
     * `llm.complete` with `stream: true`: `$onDelta($chunk)` runs for each
     * `llm.complete.delta`, in order, then the final reply (without `content`) is returned.
     */
    public function llmCompleteStream(
        array $messages,
        callable $onDelta,
        ?string $provider = null,
        ?string $model = null,
        int $maxTokens = 4096,
        float $temperature = 0.7,
        ?string $systemPrompt = null,
        ?float $timeout = null,
    ): array {
        $params = self::llmParams($messages, $provider, $model, $maxTokens, $temperature, $systemPrompt, true);
        return (array) $this->adapter->hostRequest('llm.complete', $params, $timeout, $onDelta(...));
    }

    /** Any other plugin-to-host request, for methods this SDK does not wrap yet. */
    public function request(string $method, mixed $params, ?float $timeout = null): mixed
    {
        return $this->adapter->hostRequest($method, $params, $timeout);
    }

    /**
     * Like request(), but the result (and each streamed chunk, with `$onDelta`) keeps
     * JSON's shape: objects are \stdClass, so `{}` and `[]` stay distinct.
     */
    public function requestRaw(string $method, mixed $params, ?float $timeout = null, ?callable $onDelta = null): mixed
    {
        return $this->adapter->hostRequest($method, $params, $timeout, $onDelta === null ? null : $onDelta(...), true);
    }

    private static function llmParams(array $messages, ?string $provider, ?string $model, int $maxTokens, float $temperature, ?string $systemPrompt, bool $stream): array
    {
        $p = ['messages' => $messages, 'max_tokens' => $maxTokens, 'temperature' => $temperature, 'stream' => $stream];
        if ($provider !== null) {
            $p['provider'] = $provider;
        }
        if ($model !== null) {
            $p['model'] = $model;
        }
        if ($systemPrompt !== null) {
            $p['system_prompt'] = $systemPrompt;
        }
        return $p;
    }
}
