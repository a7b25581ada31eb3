<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** A host call that got no answer: sent while shutting down, failed by shutdown, or not sendable. */
class HostCallException extends \RuntimeException
{
}
