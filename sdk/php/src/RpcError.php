<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** A plugin-to-host request failed; the subclasses say how. */
class RpcError extends PluginError
{
}
