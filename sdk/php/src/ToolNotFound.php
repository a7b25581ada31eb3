<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33401: the plugin does not serve this tool. */
class ToolNotFound extends ToolError
{
    public function __construct(public readonly string $toolName)
    {
        parent::__construct("tool not found: {$toolName}", ErrorCodes::TOOL_NOT_FOUND);
    }
}
