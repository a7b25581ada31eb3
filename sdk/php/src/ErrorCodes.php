<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** JSON-RPC and contract error codes the SDK sends or receives. */
final class ErrorCodes
{
    public const PARSE_ERROR = -32700;
    public const INVALID_REQUEST = -32600;
    public const METHOD_NOT_FOUND = -32601;
    public const INVALID_PARAMS = -32602;
    /** Internal error, or a host service that is not configured. */
    public const INTERNAL_ERROR = -32603;
    public const SHUTDOWN_FAILED = -32000;
    public const TOOL_NOT_FOUND = -33401;
    public const TOOL_INVALID_ARGS = -33402;
    public const TOOL_EXECUTION_FAILED = -33403;
    public const TOOL_UNAVAILABLE = -33404;
    public const TOOL_DENIED = -33405;
    public const CHANNEL_CONNECTION = -33001;
    public const CHANNEL_AUTHENTICATION = -33002;
    public const CHANNEL_RECIPIENT_INVALID = -33003;
    public const CHANNEL_RATE_LIMITED = -33004;
    public const CHANNEL_UNSUPPORTED = -33005;
}
