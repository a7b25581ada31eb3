<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * A tool the plugin serves, advertised in the initialize result. List its name
 * in `[plugin.extends].tools` too, or the host refuses the plugin.
 */
final class ToolDef implements \JsonSerializable
{
    /** @param array<string, mixed>|object $inputSchema JSON Schema of the arguments */
    public function __construct(
        public readonly string $name,
        public readonly string $description,
        public readonly array|object $inputSchema = ['type' => 'object'],
    ) {
    }

    /** The catalogue entry `{name, description, input_schema}` (reference name). */
    public function toJson(): array
    {
        return ['name' => $this->name, 'description' => $this->description, 'input_schema' => $this->inputSchema];
    }

    public function jsonSerialize(): array
    {
        return $this->toJson();
    }
}
