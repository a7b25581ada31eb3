<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * An event as it travels on the wire: id, timestamp, topic, source,
 * session_id, payload, plus optional correlation_id and metadata.
 *
 * A payload read from the wire has JSON objects as associative arrays, as the
 * reference SDK gives it (`$event->payload['text']`).
 *
 * A `session_id` that is not a UUID is not sent as `session_id` (hosts of the
 * contract read that field as a UUID): it travels as `metadata.session_id`.
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
        $e = is_object($e) ? Toml::toArray($e) : $e;
        $str = static fn (string $k): ?string => isset($e[$k]) && (is_string($e[$k]) || is_int($e[$k]) || is_float($e[$k])) ? (string) $e[$k] : null;
        $meta = $e['metadata'] ?? null;
        return new self(
            ($id = $str('id')) !== null && $id !== '' ? $id : uuid7(),
            ($ts = $str('timestamp')) !== null && $ts !== '' ? $ts : now_rfc3339(),
            $str('topic') ?? '',
            $str('source') ?? '',
            $str('session_id'),
            is_object($e['payload'] ?? null) ? Toml::toArray($e['payload']) : $e['payload'] ?? null,
            $str('correlation_id'),
            is_array($meta) ? $meta : (is_object($meta) ? Toml::toArray($meta) : null),
        );
    }

    /**
     * Read a wire event (reference name): like fromWire(), but `topic` must be a
     * string. Throws WireError otherwise.
     */
    public static function fromJson(array $d): self
    {
        if (!is_string($d['topic'] ?? null)) {
            throw new WireError('event has no string `topic`');
        }
        return self::fromWire($d);
    }

    /** The payload with JSON objects as associative arrays. */
    public function payloadArray(): mixed
    {
        return Toml::toArray($this->payload);
    }

    /** The wire form (reference name); same as jsonSerialize(). */
    public function toJson(): array
    {
        return $this->jsonSerialize();
    }

    /** The wire form; `session_id` is always present, `correlation_id` and `metadata` only when set. */
    public function jsonSerialize(): array
    {
        $metadata = $this->metadata;
        $session = $this->sessionId;
        if ($session !== null && preg_match(self::UUID, $session) !== 1) {
            $metadata = is_object($metadata) ? (array) $metadata : ($metadata ?? []);
            $metadata['session_id'] ??= $session;
            $session = null;
        }
        $e = [
            'id' => $this->id,
            'timestamp' => $this->timestamp,
            'topic' => $this->topic,
            'source' => $this->source,
            'session_id' => $session,
            'payload' => $this->payload,
        ];
        if ($this->correlationId !== null) {
            $e['correlation_id'] = $this->correlationId;
        }
        if ($metadata !== null) {
            $e['metadata'] = is_array($metadata) && $metadata === [] ? new \stdClass() : $metadata;
        }
        return $e;
    }

    private const UUID = '/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/';
}
