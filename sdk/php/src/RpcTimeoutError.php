<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** The host did not answer within the call's deadline (default 30 s); `$seconds` is that deadline. */
class RpcTimeoutError extends RpcError
{
    /** @param ?string $method the host method that timed out (Nexo addition; named in the message) */
    public function __construct(public readonly float $seconds, public readonly ?string $method = null)
    {
        parent::__construct("no host reply within {$seconds}s" . ($method !== null ? " ({$method})" : ''));
    }
}
