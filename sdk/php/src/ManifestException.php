<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** A manifest the adapter cannot start from (not TOML, or no [plugin].id). */
final class ManifestException extends \InvalidArgumentException
{
}
