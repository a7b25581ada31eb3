<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** The host did not answer a plugin's request within its deadline (default 30 s). */
final class HostCallTimeoutException extends HostCallException
{
}
