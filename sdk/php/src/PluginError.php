<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** Base of every error the SDK throws (reference name). */
class PluginError extends \RuntimeException
{
}
