<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** One long-term memory entry from `memory.recall`. */
final class MemoryEntry
{
    /**
     * @param list<string> $tags
     * @param list<string> $conceptTags
     */
    public function __construct(
        public readonly string $id,
        public readonly string $agentId,
        public readonly string $content,
        public readonly array $tags = [],
        public readonly array $conceptTags = [],
        public readonly string $createdAt = '',
        public readonly ?string $memoryType = null,
    ) {
    }

    /** Read one wire entry (`agent_id`, `concept_tags`, `created_at`, `memory_type`); missing fields get their defaults. */
    public static function fromJson(array $d): self
    {
        $strings = static fn (mixed $v): array => is_array($v) ? array_values(array_map(static fn ($x) => is_scalar($x) ? (string) $x : '', $v)) : [];
        return new self(
            self::str($d['id'] ?? ''),
            self::str($d['agent_id'] ?? ''),
            self::str($d['content'] ?? ''),
            $strings($d['tags'] ?? null),
            $strings($d['concept_tags'] ?? null),
            self::str($d['created_at'] ?? ''),
            is_string($d['memory_type'] ?? null) ? $d['memory_type'] : null,
        );
    }

    private static function str(mixed $v): string
    {
        return is_scalar($v) ? (string) $v : '';
    }
}
