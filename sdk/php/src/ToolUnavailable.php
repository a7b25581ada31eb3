<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33404: the tool cannot run now; `$retryAfterMs` travels as `error.data.retry_after_ms`. */
class ToolUnavailable extends ToolError
{
    public function __construct(string $message, public ?int $retryAfterMs = null)
    {
        parent::__construct("unavailable: {$message}", ErrorCodes::TOOL_UNAVAILABLE);
    }

    public function errorData(): ?array
    {
        return $this->retryAfterMs === null ? null : ['retry_after_ms' => $this->retryAfterMs];
    }
}
