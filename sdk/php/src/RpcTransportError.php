<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** The request could not be sent, or its reply will never come (the plugin is shutting down, or the host went away). */
class RpcTransportError extends RpcError
{
}
