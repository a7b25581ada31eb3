<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** What a tool handler gets besides the invocation. */
final class ToolContext
{
    public function __construct(public readonly BrokerSender $broker, private readonly PluginAdapter $adapter)
    {
    }

    /** True once the plugin started shutting down. */
    public function isShuttingDown(): bool
    {
        return $this->adapter->isShuttingDown();
    }
}
