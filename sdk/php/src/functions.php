<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** Largest frame either side may send (1 MiB). */
const MAX_FRAME_BYTES = 1048576;

/** Default deadline of a plugin-to-host request, in seconds (contract: 30 s). */
const DEFAULT_HOST_CALL_TIMEOUT = 30.0;

/** `{content: [{type: "text", text}], is_error}`. @example return text_result("sent {$id}"); */
function text_result(string $text, bool $isError = false): array
{
    return ['content' => [['type' => 'text', 'text' => $text]], 'is_error' => $isError];
}

/** The topic a topic-form tool call is answered on: `plugin.tool.<name>` -> `plugin.tool.<name>.reply`. */
function reply_topic(string $topic): string
{
    return "{$topic}.reply";
}

/** The topic a topic-form tool (docs/writing-plugins.md, Tools) is called on: `plugin.tool.<name>`. */
function tool_topic(string $name): string
{
    return "plugin.tool.{$name}";
}

/** A UUID v7 (RFC 9562): 48-bit millisecond timestamp, version 7, random bits; sorts by creation time. */
function uuid7(): string
{
    // Random bits come from a pooled read of the CSPRNG: one syscall per 409 ids, not one each.
    static $pool = '';
    static $at = 0;
    if ($at + 10 > strlen($pool)) {
        $pool = random_bytes(4096);
        $at = 0;
    }
    $ms = (int) (microtime(true) * 1000);
    $bytes = substr(pack('J', $ms), 2, 6) . substr($pool, $at, 10);
    $at += 10;
    $bytes[6] = chr((ord($bytes[6]) & 0x0F) | 0x70);
    $bytes[8] = chr((ord($bytes[8]) & 0x3F) | 0x80);
    $h = bin2hex($bytes);
    return substr($h, 0, 8) . '-' . substr($h, 8, 4) . '-' . substr($h, 12, 4) . '-' . substr($h, 16, 4) . '-' . substr($h, 20);
}

/** The current UTC time, RFC 3339 with milliseconds and a Z suffix. */
function now_rfc3339(): string
{
    // The date part changes once a second: format it once per second.
    static $second = -1;
    static $prefix = '';
    $now = microtime(true);
    $sec = (int) $now;
    if ($sec !== $second) {
        $second = $sec;
        $prefix = gmdate('Y-m-d\TH:i:s', $sec);
    }
    return sprintf('%s.%03dZ', $prefix, (int) (($now - $sec) * 1000));
}

/**
 * The plugin's state directory, created if missing: $NEXO_PLUGIN_STATE_DIR (the
 * host sets it), else ./.nexo-state/<id> where <id> is $pluginId, else the
 * adapter's manifest id, else $NEXO_PLUGIN_ID.
 *
 * @example file_put_contents(state_dir() . '/seen.json', json_encode($seen));
 */
function state_dir(?string $pluginId = null): string
{
    $env = getenv('NEXO_PLUGIN_STATE_DIR');
    if (is_string($env) && $env !== '') {
        $dir = $env;
    } else {
        $id = $pluginId ?? PluginAdapter::currentPluginId() ?? (getenv('NEXO_PLUGIN_ID') ?: null);
        if ($id === null || $id === '') {
            throw new \RuntimeException('state_dir(): no plugin id (pass one, construct a PluginAdapter first, or set NEXO_PLUGIN_STATE_DIR)');
        }
        $dir = getcwd() . DIRECTORY_SEPARATOR . '.nexo-state' . DIRECTORY_SEPARATOR . $id;
    }
    if (!is_dir($dir) && !@mkdir($dir, 0o777, true) && !is_dir($dir)) {
        throw new \RuntimeException("state_dir(): cannot create {$dir}");
    }
    return $dir;
}

/** @internal the first `$chars` characters of a UTF-8 string, without mbstring. */
function mb_substr_safe(string $s, int $chars): string
{
    if (preg_match('/^.{0,' . $chars . '}/us', $s, $m) === 1) {
        return $m[0];
    }
    return substr($s, 0, $chars);
}

/**
 * PluginAdapter arguments that add the conformance probe tool when `nexo plugin test`
 * started the plugin (NEXO_CONFORMANCE_PROBE=1; the daemon never sets it). Pass your
 * own tools and onTool through it; anywhere else they come back unchanged. PHP
 * wants the unpacking before the named arguments.
 *
 * @example new PluginAdapter(...conformance_probe(), manifestToml: $m, onEvent: $h);
 * @example new PluginAdapter(...conformance_probe(tools: [$myTool], onTool: $myHandler), manifestToml: $m);
 */
function conformance_probe(array $tools = [], ?callable $onTool = null): array
{
    return ConformanceProbe::wrap($tools, $onTool);
}
