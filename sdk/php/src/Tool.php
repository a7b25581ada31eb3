<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** Helpers for tool authors. */
final class Tool
{
    /**
     * The usual text result `{content: [{type: "text", text}], is_error}`.
     *
     * @example return Tool::text("sent {$id}");
     */
    public static function text(string $text, bool $isError = false): array
    {
        return text_result($text, $isError);
    }
}
