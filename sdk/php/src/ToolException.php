<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** Base of the typed tool errors: throw a subclass from onTool to send its contract code. */
class ToolException extends RpcException
{
}
