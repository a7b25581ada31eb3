<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** The host's reply does not have the shape the call expects. */
class RpcDecodeError extends RpcError
{
}
