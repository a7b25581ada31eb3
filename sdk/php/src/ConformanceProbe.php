<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * The conformance probe: a tool through which `nexo plugin test` drives the
 * plugin (host calls, tool errors, a slow handler, stray prints). The
 * language-neutral definition is conformance/README.md, "The probe".
 * Use it through {@see conformance_probe()}.
 */
final class ConformanceProbe
{
    /** Name of the probe tool. */
    public const TOOL = 'conformance_probe';
    /** The runner sets this to `1` for the vectors that use the probe; the daemon never does. */
    public const ENV = 'NEXO_CONFORMANCE_PROBE';

    /**
     * PluginAdapter arguments: your own `tools` and `onTool`, plus the probe when the
     * conformance runner started the plugin. Anywhere else your own come back unchanged.
     *
     * @return array{tools?: list<ToolDef|array>, onTool?: callable}
     */
    public static function wrap(array $tools = [], ?callable $onTool = null): array
    {
        $own = array_filter(['tools' => $tools, 'onTool' => $onTool], static fn ($v) => $v !== null && $v !== []);
        if (getenv(self::ENV) !== '1') {
            return $own;
        }
        $tools[] = new ToolDef(self::TOOL, 'Lets `nexo plugin test` drive the plugin; present only under the conformance runner', [
            'type' => 'object',
            'properties' => ['action' => ['type' => 'string']],
            'required' => ['action'],
        ]);
        return [
            'tools' => $tools,
            'onTool' => static function (ToolInvocation $inv, ToolContext $ctx) use ($onTool): mixed {
                if ($inv->toolName === self::TOOL) {
                    return self::run($inv->args, $ctx);
                }
                if ($onTool !== null) {
                    return $onTool($inv, $ctx);
                }
                throw new ToolNotFound($inv->toolName);
            },
        ];
    }

    /** Carry out one probe action. */
    public static function run(mixed $args, ToolContext $ctx): mixed
    {
        $args = is_array($args) ? $args : [];
        $timeout = is_int($args['timeout_ms'] ?? null) || is_float($args['timeout_ms'] ?? null) ? $args['timeout_ms'] / 1000 : null;
        switch ($args['action'] ?? null) {
            case 'echo':
                if (!is_string($args['text'] ?? null)) {
                    throw self::invalid('/text', 'text must be a string');
                }
                return text_result($args['text']);
            case 'fail':
                throw match ($args['code'] ?? null) {
                    -33401 => new ToolNotFound('asked to fail with -33401'),
                    -33402 => new ToolArgumentInvalid('asked to fail with -33402', [['path' => '/', 'message' => 'rejected on request']]),
                    -33403 => new ToolExecutionFailed('asked to fail with -33403'),
                    -33404 => new ToolUnavailable('asked to fail with -33404', 250),
                    -33405 => new ToolDenied('asked to fail with -33405'),
                    default => self::invalid('/code', 'code must be one of -33401..-33405'),
                };
            case 'throw':
                throw new \RuntimeException((string) ($args['message'] ?? 'boom'));
            case 'sleep':
                // Inside a handler's Fiber the wait lets other handlers run; elsewhere it blocks.
                $until = microtime(true) + (float) ($args['ms'] ?? 0) / 1000;
                while (($left = $until - microtime(true)) > 0) {
                    \Fiber::getCurrent() !== null ? \Fiber::suspend() : usleep((int) ($left * 1e6));
                }
                return text_result('slept');
            case 'print':
                echo (string) ($args['text'] ?? ''), "\n"; // the stdout guard must route this to stderr
                return text_result('printed');
            case 'memory_recall':
                $params = ['agent_id' => (string) ($args['agent_id'] ?? ''), 'query' => (string) ($args['query'] ?? ''), 'limit' => $args['limit'] ?? 10];
                return self::outcome(fn () => $ctx->broker->requestRaw('memory.recall', $params, $timeout));
            case 'llm_complete':
                $params = ['messages' => $args['messages'] ?? [], 'max_tokens' => 4096, 'temperature' => 0.7];
                foreach (['provider', 'model', 'max_tokens', 'temperature', 'system_prompt'] as $k) {
                    if (array_key_exists($k, $args)) {
                        $params[$k] = $args[$k];
                    }
                }
                $params['stream'] = ($args['stream'] ?? false) === true;
                if (!$params['stream']) {
                    return self::outcome(fn () => $ctx->broker->requestRaw('llm.complete', $params, $timeout));
                }
                $chunks = [];
                $collect = function (mixed $chunk) use (&$chunks): void {
                    $chunks[] = $chunk;
                };
                $o = self::outcome(fn () => $ctx->broker->requestRaw('llm.complete', $params, $timeout, $collect));
                return $o['ok'] ? ['ok' => true, 'chunks' => $chunks, 'result' => $o['result']] : $o;
        }
        throw self::invalid('/action', 'action is required: echo, fail, throw, sleep, print, memory_recall or llm_complete');
    }

    /** How a host call ended, in the probe's words. */
    private static function outcome(callable $call): array
    {
        try {
            return ['ok' => true, 'result' => $call()];
        } catch (RpcTimeoutError) {
            return ['ok' => false, 'timeout' => true];
        } catch (RpcServerError $e) {
            return ['ok' => false, 'error' => ['code' => $e->getCode(), 'message' => $e->serverMessage]];
        } catch (\Throwable $e) {
            return ['ok' => false, 'error' => ['message' => $e->getMessage()]];
        }
    }

    private static function invalid(string $path, string $message): ToolArgumentInvalid
    {
        return new ToolArgumentInvalid($message, [['path' => $path, 'message' => $message]]);
    }
}
