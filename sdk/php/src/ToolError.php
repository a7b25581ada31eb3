<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * Base of the typed failures a tool handler throws; each subclass carries its
 * contract code (-33401..-33405) as `getCode()`. Any other throwable from a
 * handler is answered as {@see ToolExecutionFailed}.
 */
class ToolError extends PluginError
{
    /** The `data` member of the error reply, or null when the failure carries none. */
    public function errorData(): ?array
    {
        return null;
    }

    /** Same as errorData() (Nexo's earlier name). */
    public function getData(): ?array
    {
        return $this->errorData();
    }
}
