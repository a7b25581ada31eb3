<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** -33402: the arguments do not fit; `details` (e.g. a list of violations) goes in `data.details`. */
final class ToolInvalidArgumentsException extends ToolException
{
    public function __construct(string $message, mixed $details = null)
    {
        parent::__construct(ErrorCodes::TOOL_INVALID_ARGS, $message, $details === null ? null : ['details' => $details]);
    }
}
