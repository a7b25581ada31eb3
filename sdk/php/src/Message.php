<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** A chat message for `llm.complete`; `$role` is system, user, assistant or tool. */
final class Message
{
    public function __construct(public readonly string $role, public readonly string $content)
    {
    }

    /** @return array{role: string, content: string} */
    public function toJson(): array
    {
        return ['role' => $this->role, 'content' => $this->content];
    }
}
