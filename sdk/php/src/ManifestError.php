<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** A manifest the SDK cannot start from: not TOML, no `[plugin].id`, or an id outside `^[a-z][a-z0-9_]{0,31}$`. */
class ManifestError extends PluginError
{
}
