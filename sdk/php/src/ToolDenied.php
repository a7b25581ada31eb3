<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33405: the caller may not use this tool. */
class ToolDenied extends ToolError
{
    public function __construct(string $message)
    {
        parent::__construct("denied: {$message}", ErrorCodes::TOOL_DENIED);
    }
}
