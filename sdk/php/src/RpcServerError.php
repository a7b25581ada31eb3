<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * The host answered with a JSON-RPC error. `getCode()` is its code (-32603: backend
 * failed or not configured; -32602: bad params; -32601: not served by this host),
 * `$serverMessage` the host's own message, {@see getData()} its `data` member.
 */
class RpcServerError extends RpcError
{
    public function __construct(int $code, public readonly string $serverMessage, private readonly mixed $data = null)
    {
        parent::__construct("rpc error {$code}: {$serverMessage}", $code);
    }

    /** The error's `data` member as arrays (null when absent). Nexo addition. */
    public function getData(): mixed
    {
        return $this->data;
    }

    /** The wire form `{code, message, data?}` with the host's own message. Nexo addition. */
    public function toArray(): array
    {
        $e = ['code' => $this->getCode(), 'message' => $this->serverMessage];
        if ($this->data !== null) {
            $e['data'] = $this->data;
        }
        return $e;
    }

    /** Read the `error` member of a response; anything malformed becomes -32603. Nexo addition. */
    public static function fromWire(mixed $error): self
    {
        $e = is_object($error) ? get_object_vars($error) : (is_array($error) ? $error : []);
        $code = is_int($e['code'] ?? null) ? $e['code'] : ErrorCodes::INTERNAL_ERROR;
        $message = $e['message'] ?? 'host error';
        return new self($code, is_string($message) ? $message : (string) json_encode($message), isset($e['data']) ? Toml::toArray($e['data']) : null);
    }
}
