<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** TOML that could not be parsed; the message names the line and column. */
final class TomlException extends ManifestError
{
    public function __construct(string $message, public readonly int $tomlLine = 0, public readonly int $tomlColumn = 0)
    {
        parent::__construct($message);
    }
}
