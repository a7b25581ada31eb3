<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** A JSON-RPC frame or wire value the SDK cannot use: malformed, or over the frame limit. */
class WireError extends PluginError
{
}
