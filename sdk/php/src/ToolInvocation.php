<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** The params of `tool.invoke`; `args` is an associative array (validated by the host against input_schema). */
final class ToolInvocation
{
    /** @param array<string, mixed> $args */
    public function __construct(
        public readonly string $pluginId,
        public readonly string $toolName,
        public readonly array $args,
        public readonly ?string $agentId,
    ) {
    }
}
