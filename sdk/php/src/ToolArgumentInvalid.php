<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33402: arguments the handler refuses; `$details` travels as `error.data.details`. */
class ToolArgumentInvalid extends ToolError
{
    public function __construct(string $message, public mixed $details = null)
    {
        parent::__construct("invalid argument: {$message}", ErrorCodes::TOOL_INVALID_ARGS);
    }

    public function errorData(): ?array
    {
        return $this->details === null ? null : ['details' => $this->details];
    }
}
