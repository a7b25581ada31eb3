<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * What `llm.complete` returns. `$content` is null for a streamed completion (the
 * chunks were the content); `$finishReason` is stop, length, tool_use or
 * `other:<reason>`.
 */
final class LlmCompleteResult
{
    public function __construct(
        public readonly ?string $content,
        public readonly string $finishReason = '',
        public readonly TokenCount $usage = new TokenCount(),
    ) {
    }

    public static function fromJson(array $d): self
    {
        return new self(
            is_string($d['content'] ?? null) ? $d['content'] : null,
            is_scalar($d['finish_reason'] ?? null) ? (string) $d['finish_reason'] : '',
            TokenCount::fromJson(is_array($d['usage'] ?? null) ? $d['usage'] : null),
        );
    }
}
