<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/**
 * An event as it travels on the wire: id, timestamp, topic, source,
 * session_id, payload, plus optional correlation_id and metadata.
 *
 * A payload read from the wire keeps JSON's shape (objects are \stdClass, so
 * `{}` and `[]` stay distinct and an echo is exact); {@see payloadArray()}
 * gives it as plain arrays.
 *
 * @example $broker->publish($t, Event::new($t, 'my_plugin', ['text' => 'hi']));
 */
final class Event implements \JsonSerializable
{
    public function __construct(
        public string $id,
        public string $timestamp,
        public string $topic,
        public string $source,
        public ?string $sessionId,
        public mixed $payload,
        public ?string $correlationId = null,
        public array|object|null $metadata = null,
    ) {
    }

    /** A new event with all six fields set: UUID v7 id, RFC 3339 UTC timestamp, no session unless given. */
    public static function new(
        string $topic,
        string $source,
        mixed $payload,
        ?string $sessionId = null,
        ?string $correlationId = null,
        array|object|null $metadata = null,
    ): self {
        return new self(uuid7(), now_rfc3339(), $topic, $source, $sessionId, $payload, $correlationId, $metadata);
    }

    /** Read a wire event leniently: a missing id or timestamp is filled in, a missing session is null. */
    public static function fromWire(object|array $e): self
    {
        $e = is_object($e) ? get_object_vars($e) : $e;
        $str = static fn (string $k): ?string => isset($e[$k]) && (is_string($e[$k]) || is_int($e[$k]) || is_float($e[$k])) ? (string) $e[$k] : null;
        $meta = $e['metadata'] ?? null;
        return new self(
            ($id = $str('id')) !== null && $id !== '' ? $id : uuid7(),
            ($ts = $str('timestamp')) !== null && $ts !== '' ? $ts : now_rfc3339(),
            $str('topic') ?? '',
            $str('source') ?? '',
            $str('session_id'),
            $e['payload'] ?? null,
            $str('correlation_id'),
            is_object($meta) || is_array($meta) ? $meta : null,
        );
    }

    /** The payload with JSON objects as associative arrays. */
    public function payloadArray(): mixed
    {
        return Toml::toArray($this->payload);
    }

    /** The wire form; `session_id` is always present, `correlation_id` and `metadata` only when set. */
    public function jsonSerialize(): array
    {
        $e = [
            'id' => $this->id,
            'timestamp' => $this->timestamp,
            'topic' => $this->topic,
            'source' => $this->source,
            'session_id' => $this->sessionId,
            'payload' => $this->payload,
        ];
        if ($this->correlationId !== null) {
            $e['correlation_id'] = $this->correlationId;
        }
        if ($this->metadata !== null) {
            $e['metadata'] = is_array($this->metadata) && $this->metadata === [] ? new \stdClass() : $this->metadata;
        }
        return $e;
    }
}
