<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * Publish events and call host services. Every frame is written whole, so frames
 * never interleave. A host call made inside a handler suspends that handler's
 * Fiber until the reply, the deadline (default 30 s) or shutdown; other handlers
 * keep running meanwhile. Outside a handler (no Fiber) the call waits in place.
 *
 * The reference API takes one options array and returns typed objects
 * (`memoryRecall(['agentId' => ..., 'query' => ...])` -> MemoryEntry[]); Nexo's
 * earlier positional forms still work and return arrays (deprecated).
 */
final class BrokerSender
{
    /** @internal built by PluginAdapter */
    public function __construct(private readonly PluginAdapter $adapter)
    {
    }

    /**
     * `broker.publish` as a notification (the host checks the allowlist and drops what
     * is outside it). Published from inside the handler of an event E, an event
     * without a correlation id gets E's id, so replies correlate themselves.
     * Throws FrameTooLargeException for a frame over the limit.
     *
     * @example $broker->publish($t, Event::new($t, 'my_plugin', $payload));
     */
    public function publish(string $topic, Event $event): void
    {
        $this->adapter->sendFrame(['jsonrpc' => '2.0', 'method' => 'broker.publish', 'params' => ['topic' => $topic, 'event' => $this->correlated($event)]]);
    }

    /** `broker.publish` as a request: returns `['ok' => true]`, throws RpcServerError when refused (e.g. outside the allowlist). Nexo addition. */
    public function publishAcked(string $topic, Event $event, ?float $timeout = null): array
    {
        return (array) $this->adapter->hostRequest('broker.publish', ['topic' => $topic, 'event' => $this->correlated($event)], $timeout);
    }

    /**
     * `broker.subscribe {topic_pattern}`: matching events (inside the allowlist) go to
     * `$handler($topic, $event)`. Returns the subscriber id. Nexo addition.
     */
    public function subscribe(string $pattern, callable $handler, ?float $timeout = null): string
    {
        $r = $this->adapter->hostRequest('broker.subscribe', ['topic_pattern' => $pattern], $timeout);
        $id = is_array($r) ? ($r['subscriber_id'] ?? null) : null;
        if (!is_string($id) && !is_int($id)) {
            throw new RpcDecodeError('broker.subscribe reply has no subscriber_id');
        }
        $this->adapter->addSubscription((string) $id, $handler);
        return (string) $id;
    }

    /** `broker.unsubscribe`: the handler stops at once, then the host is told. Nexo addition. */
    public function unsubscribe(string $subscriberId, ?float $timeout = null): void
    {
        $this->adapter->removeSubscription($subscriberId);
        $this->adapter->hostRequest('broker.unsubscribe', ['subscriber_id' => $subscriberId], $timeout);
    }

    /**
     * `memory.recall`: up to `limit` (default 10, host max 1000) entries of an agent's memory.
     *
     * @example $entries = $broker->memoryRecall(['agentId' => 'a1', 'query' => 'preferences', 'limit' => 5]);
     * @example $entries = $broker->memoryRecall(agentId: 'a1', query: 'preferences', limit: 5, timeoutSec: 2.0);
     * @param array{agentId: string, query: string, limit?: int, timeoutSec?: float}|string|null $opts the options
     *        (reference form), or the agent id of Nexo's earlier positional form; null with named arguments
     * @param string|null $agentId with named arguments (the option names of the reference form, as
     *        Python's keywords): the entries are returned as with the options array
     * @return list<MemoryEntry>|array the entries; the positional form returns `['entries' => [...]]` as arrays
     */
    public function memoryRecall(
        array|string|null $opts = null,
        ?string $query = null,
        int $limit = 10,
        ?float $timeout = null,
        ?string $agentId = null,
        ?float $timeoutSec = null,
    ): array {
        if ($agentId !== null) {
            if ($opts !== null) {
                throw new \InvalidArgumentException('memoryRecall: give the options array or named arguments (agentId: ...), not both');
            }
            $opts = ['agentId' => $agentId, 'query' => (string) $query, 'limit' => $limit];
            if ($timeoutSec !== null || $timeout !== null) {
                $opts['timeoutSec'] = $timeoutSec ?? $timeout;
            }
        }
        if ($opts === null) {
            throw new \InvalidArgumentException('memoryRecall needs the options array, or named arguments agentId: and query:');
        }
        if (is_string($opts)) {
            return (array) $this->adapter->hostRequest('memory.recall', ['agent_id' => $opts, 'query' => (string) $query, 'limit' => $limit], $timeout);
        }
        $r = $this->adapter->hostRequest('memory.recall', [
            'agent_id' => (string) ($opts['agentId'] ?? ''),
            'query' => (string) ($opts['query'] ?? ''),
            'limit' => (int) ($opts['limit'] ?? 10),
        ], self::timeout($opts));
        $entries = is_array($r) ? ($r['entries'] ?? null) : null;
        if (!is_array($entries)) {
            throw new RpcDecodeError('memory.recall result has no `entries` array');
        }
        return array_map(static fn (mixed $e): MemoryEntry => MemoryEntry::fromJson(is_array($e) ? $e : []), array_values($entries));
    }

    /**
     * `llm.complete` in one reply.
     *
     * @example $r = $broker->llmComplete(['provider' => 'openai', 'model' => 'gpt-4o-mini', 'messages' => [['role' => 'user', 'content' => 'hi']]]);
     * @param array $opts reference form: `provider`, `model`, `messages` (arrays or Message), `maxTokens` (4096),
     *        `temperature` (0.7), `systemPrompt`, `timeoutSec`; or Nexo's earlier form, a list of messages followed by named arguments
     * @return LlmCompleteResult|array LlmCompleteResult for the reference form; the earlier form returns the reply as arrays
     */
    public function llmComplete(
        array $opts,
        ?string $provider = null,
        ?string $model = null,
        int $maxTokens = 4096,
        float $temperature = 0.7,
        ?string $systemPrompt = null,
        ?float $timeout = null,
    ): LlmCompleteResult|array {
        if (self::isMessageList($opts)) {
            $params = self::llmParams(['messages' => $opts, 'provider' => $provider, 'model' => $model, 'maxTokens' => $maxTokens, 'temperature' => $temperature, 'systemPrompt' => $systemPrompt], false, true);
            return (array) $this->adapter->hostRequest('llm.complete', $params, $timeout);
        }
        $r = $this->adapter->hostRequest('llm.complete', self::llmParams($opts, false), self::timeout($opts));
        return LlmCompleteResult::fromJson(is_array($r) ? $r : []);
    }

    /**
     * `llm.complete` with `stream: true`: `$onChunk($chunk)` runs for each
     * `llm.complete.delta`, in order, inside the calling handler; then the final
     * result is returned (its content is null: the chunks were the content).
     *
     * @param array $opts as llmComplete()
     * @param callable(string): void $onChunk
     * @return LlmCompleteResult|array as llmComplete()
     */
    public function llmCompleteStream(
        array $opts,
        callable $onChunk,
        ?string $provider = null,
        ?string $model = null,
        int $maxTokens = 4096,
        float $temperature = 0.7,
        ?string $systemPrompt = null,
        ?float $timeout = null,
    ): LlmCompleteResult|array {
        if (self::isMessageList($opts)) {
            $params = self::llmParams(['messages' => $opts, 'provider' => $provider, 'model' => $model, 'maxTokens' => $maxTokens, 'temperature' => $temperature, 'systemPrompt' => $systemPrompt], true, true);
            return (array) $this->adapter->hostRequest('llm.complete', $params, $timeout, $onChunk(...));
        }
        $deliver = static function (mixed $chunk) use ($onChunk): void {
            $onChunk(is_string($chunk) ? $chunk : (string) json_encode($chunk));
        };
        $r = $this->adapter->hostRequest('llm.complete', self::llmParams($opts, true), self::timeout($opts), $deliver);
        return LlmCompleteResult::fromJson(is_array($r) ? $r : []);
    }

    /** Any other plugin-to-host request, results as arrays. Nexo addition. */
    public function request(string $method, mixed $params, ?float $timeout = null): mixed
    {
        return $this->adapter->hostRequest($method, $params, $timeout);
    }

    /**
     * Like request(), but the result (and each streamed chunk, with `$onDelta`) keeps
     * JSON's shape: objects are \stdClass, so `{}` and `[]` stay distinct. Nexo addition.
     */
    public function requestRaw(string $method, mixed $params, ?float $timeout = null, ?callable $onDelta = null): mixed
    {
        return $this->adapter->hostRequest($method, $params, $timeout, $onDelta === null ? null : $onDelta(...), true);
    }

    private function correlated(Event $event): Event
    {
        if ($event->correlationId !== null) {
            return $event;
        }
        $cause = $this->adapter->currentEventId();
        if ($cause === null) {
            return $event;
        }
        $copy = clone $event;
        $copy->correlationId = $cause;
        return $copy;
    }

    /**
     * The reference SDK's params: provider, model, messages, max_tokens, temperature
     * always; system_prompt when set; stream only when true. With `$omitUnset` (the
     * earlier positional form) a null provider or model is left out for the host to choose.
     */
    private static function llmParams(array $opts, bool $stream, bool $omitUnset = false): array
    {
        $messages = array_map(
            static fn (mixed $m): mixed => $m instanceof Message ? $m->toJson() : $m,
            is_array($opts['messages'] ?? null) ? array_values($opts['messages']) : [],
        );
        $p = [
            'provider' => (string) ($opts['provider'] ?? ''),
            'model' => (string) ($opts['model'] ?? ''),
            'messages' => $messages,
            'max_tokens' => (int) ($opts['maxTokens'] ?? 4096),
            'temperature' => (float) ($opts['temperature'] ?? 0.7),
        ];
        if (isset($opts['systemPrompt'])) {
            $p['system_prompt'] = (string) $opts['systemPrompt'];
        }
        foreach (['provider', 'model'] as $k) {
            if ($omitUnset && ($opts[$k] ?? null) === null) {
                unset($p[$k]);
            }
        }
        if ($stream) {
            $p['stream'] = true;
        }
        return $p;
    }

    private static function timeout(array $opts): ?float
    {
        $t = $opts['timeoutSec'] ?? null;
        return is_int($t) || is_float($t) ? (float) $t : null;
    }

    /** Nexo's earlier llm forms pass the messages list first; the reference passes an options map. */
    private static function isMessageList(array $a): bool
    {
        return $a !== [] && array_is_list($a) && !array_key_exists('messages', $a);
    }
}
