<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** JSON-RPC frame helpers and the wire's constants. */
final class Wire
{
    public const JSONRPC_VERSION = '2.0';
    /** Largest frame either side may send (1 MiB). */
    public const MAX_FRAME_BYTES = MAX_FRAME_BYTES;
    /** Default deadline of a plugin-to-host request, in seconds. */
    public const DEFAULT_RPC_TIMEOUT = DEFAULT_HOST_CALL_TIMEOUT;

    /** @return array{jsonrpc: string, id: int|string|null, result: mixed} */
    public static function buildResponse(int|string|null $id, array $result): array
    {
        return ['jsonrpc' => self::JSONRPC_VERSION, 'id' => $id, 'result' => $result];
    }

    /** @return array{jsonrpc: string, id: int|string|null, error: array{code: int, message: string}} */
    public static function buildErrorResponse(int|string|null $id, int $code, string $message): array
    {
        return ['jsonrpc' => self::JSONRPC_VERSION, 'id' => $id, 'error' => ['code' => $code, 'message' => $message]];
    }

    /** One frame as one line, newline included. Throws WireError when the frame cannot be encoded. */
    public static function serializeFrame(array $frame): string
    {
        try {
            return json_encode($frame, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR) . "\n";
        } catch (\JsonException $e) {
            throw new WireError("frame is not JSON-encodable: {$e->getMessage()}", 0, $e);
        }
    }
}
