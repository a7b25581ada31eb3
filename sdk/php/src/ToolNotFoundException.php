<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** -33401: no such tool. */
final class ToolNotFoundException extends ToolException
{
    public function __construct(string $toolName)
    {
        parent::__construct(ErrorCodes::TOOL_NOT_FOUND, "tool not found: {$toolName}");
    }
}
