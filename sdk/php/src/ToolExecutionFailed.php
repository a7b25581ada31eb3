<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33403: the tool ran and failed; also what any other throwable from a handler becomes. */
class ToolExecutionFailed extends ToolError
{
    /** @param array<string, mixed>|null $data an `error.data` object to send along (Nexo addition) */
    public function __construct(string $message, private readonly ?array $data = null)
    {
        parent::__construct("execution failed: {$message}", ErrorCodes::TOOL_EXECUTION_FAILED);
    }

    public function errorData(): ?array
    {
        return $this->data;
    }
}
