<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** -33405: the caller may not use this tool. */
final class ToolDeniedException extends ToolException
{
    public function __construct(string $message)
    {
        parent::__construct(ErrorCodes::TOOL_DENIED, $message);
    }
}
