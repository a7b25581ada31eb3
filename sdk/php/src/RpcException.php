<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/** A JSON-RPC error: one the host replied with, or one the plugin sends. `getCode()` is the numeric code. */
class RpcException extends \RuntimeException
{
    public function __construct(int $code, string $message, private readonly mixed $data = null)
    {
        parent::__construct($message, $code);
    }

    /** The error's `data` member (null when absent). */
    public function getData(): mixed
    {
        return $this->data;
    }

    /** The wire form `{code, message, data?}`. */
    public function toArray(): array
    {
        $e = ['code' => $this->getCode(), 'message' => $this->getMessage()];
        if ($this->data !== null) {
            $e['data'] = $this->data;
        }
        return $e;
    }

    /** Read an `error` member of a response; anything malformed becomes -32603. */
    public static function fromWire(mixed $error): self
    {
        $e = is_object($error) ? get_object_vars($error) : (is_array($error) ? $error : []);
        $code = is_int($e['code'] ?? null) ? $e['code'] : ErrorCodes::INTERNAL_ERROR;
        $message = $e['message'] ?? 'host error';
        return new self($code, is_string($message) ? $message : json_encode($message), isset($e['data']) ? Toml::toArray($e['data']) : null);
    }
}
