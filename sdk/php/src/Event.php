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
 * Upstream hosts parse `id` and `session_id` as UUIDs and drop an event that does
 * not parse. Unless the host takes any string (the Nexo daemon, recognised by the
 * NEXO_PLUGIN_KEY it sets; see {@see $stringSessionIds}), a `session_id` that is
 * not a UUID goes out as its name-based UUID (v5, stable per conversation, the
 * same as the other Nexo SDKs compute) with the original in `metadata.session_id`,
 * and an `id` that is not a UUID is replaced. fromWire() restores such a session.
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
        $session = $str('session_id');
        // A session that travelled as its UUID (or as null) with the original in metadata gets the original back.
        if (is_array($meta) && is_string($meta['session_id'] ?? null) && ($session === null || $session === self::sessionUuid($meta['session_id']))) {
            $session = $meta['session_id'];
        }
        return new self(
            ($id = $str('id')) !== null && $id !== '' ? $id : uuid7(),
            ($ts = $str('timestamp')) !== null && $ts !== '' ? $ts : now_rfc3339(),
            $str('topic') ?? '',
            $str('source') ?? '',
            $session,
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
        $id = $this->id;
        if (!(self::$stringSessionIds ??= getenv('NEXO_PLUGIN_KEY') !== false)) {
            if ($session !== null && preg_match(self::UUID, $session) !== 1) {
                $metadata = is_object($metadata) ? (array) $metadata : ($metadata ?? []);
                $metadata['session_id'] ??= $session;
                $session = $session === '' ? null : self::sessionUuid($session);
            }
            if (preg_match(self::UUID, $id) !== 1) {
                $id = uuid7();
            }
        }
        $e = [
            'id' => $id,
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

    /**
     * Whether the host takes any string as `session_id` and `id`: by default (null)
     * true under the Nexo daemon (it sets NEXO_PLUGIN_KEY), else false, as upstream
     * hosts read only UUIDs. Nexo addition; set it yourself to override.
     */
    public static ?bool $stringSessionIds = null;

    /** The name-based UUID (v5) a non-UUID session id travels as: the same text always gives the same UUID. Nexo addition. */
    public static function sessionUuid(string $text): string
    {
        $h = sha1(hex2bin('6ba7b8119dad11d180b400c04fd430c8') . "nexo:session:{$text}", true);
        $h[6] = chr((ord($h[6]) & 0x0F) | 0x50);
        $h[8] = chr((ord($h[8]) & 0x3F) | 0x80);
        $x = bin2hex(substr($h, 0, 16));
        return substr($x, 0, 8) . '-' . substr($x, 8, 4) . '-' . substr($x, 12, 4) . '-' . substr($x, 16, 4) . '-' . substr($x, 20);
    }

    private const UUID = '/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/';
}
