<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** Token usage reported with an `llm.complete` reply. */
final class TokenCount
{
    public function __construct(public readonly int $promptTokens = 0, public readonly int $completionTokens = 0)
    {
    }

    public static function fromJson(?array $d): self
    {
        $d ??= [];
        return new self(self::int($d['prompt_tokens'] ?? 0), self::int($d['completion_tokens'] ?? 0));
    }

    private static function int(mixed $v): int
    {
        return is_int($v) || is_float($v) || (is_string($v) && is_numeric($v)) ? (int) $v : 0;
    }
}
