<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** What a tool handler gets besides the invocation: the broker handle (host calls, publishes) and the plugin id. */
final class ToolContext
{
    /** @param ?PluginAdapter $adapter the adapter serving the call (Nexo addition: isShuttingDown()) */
    public function __construct(
        public readonly BrokerSender $broker,
        public readonly string $pluginId,
        private readonly ?PluginAdapter $adapter = null,
    ) {
    }

    /** True once the plugin started shutting down. Nexo addition. */
    public function isShuttingDown(): bool
    {
        return $this->adapter?->isShuttingDown() ?? false;
    }
}
