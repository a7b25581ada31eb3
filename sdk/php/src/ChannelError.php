<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * A channel method failed with one of the contract's codes (-33001..-33005) as
 * `getCode()`; the host turns it into a typed error. Throw a subclass from a
 * channel handler; any other throwable is answered -32603.
 */
class ChannelError extends PluginError
{
    public function __construct(string $message, int $code, private readonly ?array $data = null)
    {
        parent::__construct($message, $code);
    }

    /** The `data` member of the error reply, or null. */
    public function errorData(): ?array
    {
        return $this->data;
    }
}
