<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** -33403: the tool ran and failed (any other exception from onTool is sent with this code too). */
final class ToolExecutionFailedException extends ToolException
{
    public function __construct(string $message, mixed $data = null)
    {
        parent::__construct(ErrorCodes::TOOL_EXECUTION_FAILED, $message, $data);
    }
}
