<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * The params of `tool.invoke`. `$args` is the arguments as the host sent them
 * (objects as associative arrays; the host has validated them against the tool's
 * input_schema), null when the call carried none.
 */
final class ToolInvocation
{
    public function __construct(
        public readonly string $pluginId,
        public readonly string $toolName,
        public readonly mixed $args = null,
        public readonly ?string $agentId = null,
    ) {
    }
}
