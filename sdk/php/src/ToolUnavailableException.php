<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** -33404: temporarily unavailable; the caller may retry after `retryAfterMs`. */
final class ToolUnavailableException extends ToolException
{
    public function __construct(string $message, ?int $retryAfterMs = null)
    {
        parent::__construct(ErrorCodes::TOOL_UNAVAILABLE, $message, $retryAfterMs === null ? null : ['retry_after_ms' => $retryAfterMs]);
    }
}
