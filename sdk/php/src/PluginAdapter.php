<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * Runs a plugin: speaks the contract on stdin/stdout and runs each event, tool
 * call, timer and readable-stream callback in a Fiber of its own, started in
 * arrival order. A handler that waits on a host call (or calls Fiber::suspend())
 * lets the others run meanwhile; one that never suspends finishes before the
 * next starts. PHP has no event loop, so the adapter is one: a stream_select()
 * on stdin. It shuts down cleanly on `shutdown`, SIGTERM/SIGINT or stdin EOF:
 * new work is refused, pending host calls fail, in-flight handlers drain,
 * onShutdown runs, the host gets `{ok: true}`, exit 0.
 *
 * Takes the reference SDK's options array or Nexo's named arguments:
 *
 * @example
 * $adapter = new PluginAdapter([
 *     'manifestToml' => file_get_contents(__DIR__ . '/nexo-plugin.toml'),
 *     'onEvent' => function (string $topic, Event $event, BrokerSender $broker): void {
 *         $out = str_replace('plugin.outbound.', 'plugin.inbound.', $topic);
 *         $broker->publish($out, Event::new($out, 'my_plugin', $event->payload));
 *     },
 * ]);
 * $adapter->run();
 */
final class PluginAdapter
{
    /** Requests (tool.invoke, plugin.configure) that may wait for their turn; beyond it they are refused with -32603. */
    public const MAX_QUEUED_REQUESTS = 1024;

    private const WRITE_BATCH_BYTES = 65536;
    private const MAX_WAIT_SECONDS = 0.2;
    private const MAX_IDLE_FIBERS = 64;

    private const JSON_FLAGS = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

    private static ?string $currentPluginId = null;

    /** The whole manifest with tables as associative arrays. */
    public readonly array $manifest;
    /** `[plugin].id` of the manifest. */
    public readonly string $pluginId;
    /** Publish events and call host services; usable before run(). */
    public readonly BrokerSender $broker;

    private readonly \stdClass $manifestJson;
    private readonly string $serverVersion;
    /** @var list<ToolDef> */
    private readonly array $tools;
    private readonly ?\Closure $onEvent;
    private readonly ?\Closure $onShutdown;
    private readonly ?\Closure $onConfigure;
    private readonly ?\Closure $onTool;
    /** @var array{start?: \Closure, stop?: \Closure, sendOutbound?: \Closure}|null */
    private readonly ?array $channels;
    private readonly ?\Closure $onHook;
    private readonly bool $enableStdoutGuard;
    private readonly bool $handleProcessSignals;
    private readonly bool $exitOnShutdown;
    private readonly int $maxConcurrentHandlers;
    private readonly int $maxFrameBytes;
    private readonly float $hostCallTimeout;
    private readonly int $maxQueuedEvents;
    private readonly float $drainTimeout;

    /** @var resource */
    private $in;
    /** @var resource */
    private $out;
    private LineDecoder $decoder;
    private bool $inputReady = false;
    private bool $inputOpen = true;
    private bool $outputBroken = false;
    private string $outBuf = '';

    /** @var \SplQueue<array> events and requests waiting for their handler, in arrival order */
    private \SplQueue $work;
    private int $queuedEvents = 0;
    private int $queuedRequests = 0;
    private int $dropped = 0;

    private int $nextId = 1;
    /** @var array<int, array{method: string, onDelta: ?\Closure, raw: bool, chunks: list<mixed>}> */
    private array $pending = [];
    /**
     * Handlers in flight, by spl_object_id of their Fiber: what a suspended one waits
     * for (a host request id and its deadline, or nothing: it yielded), the event it
     * handles (replies correlate to it) and the tool request it must answer.
     *
     * @var array<int, array{fiber: \Fiber, waitId: ?int, deadline: ?float, eventId: ?string, requestId: int|string|null}>
     */
    private array $fibers = [];
    /** @var list<\Fiber> workers whose job is done, ready for the next one */
    private array $idleFibers = [];
    /** @var array<int, array<string, mixed>> responses to host calls, by id (objects kept as \stdClass for raw calls) */
    private array $responses = [];

    /** @var array<string, \Closure> */
    private array $subscriptions = [];
    /** @var array<string, \Closure> */
    private array $topicTools = [];
    /** @var array<int, array{due: float, interval: ?float, fn: \Closure}> */
    private array $timers = [];
    private int $nextTimerId = 1;
    /** @var array<int, array{stream: resource, fn: \Closure}> */
    private array $readStreams = [];

    private bool $running = false;
    private bool $shuttingDown = false;
    private float $shutdownStartedAt = 0.0;
    /** @var list<int|string|null> */
    private array $shutdownReplies = [];

    /** Options the reference SDK's options array takes, beside Nexo's own (all named arguments work as keys). */
    private const OPTION_KEYS = [
        'manifestToml', 'onEvent', 'onShutdown', 'onConfigure', 'tools', 'onTool', 'onToolWithContext', 'serverVersion',
        'enableStdoutGuard', 'maxFrameBytes', 'handleProcessSignals', 'hostCallTimeout', 'maxQueuedEvents',
        'maxConcurrentHandlers', 'drainTimeout', 'exitOnShutdown', 'input', 'output', 'channels', 'onHook',
    ];

    /**
     * @param string|array $manifestToml the plugin's manifest text (`[plugin].id` required), or the reference
     *        SDK's options array holding every option below by name
     * @param ?callable $onEvent `fn(string $topic, Event $event, BrokerSender $broker)`: each broker.event; a throw is logged and the next event still runs
     * @param ?callable $onShutdown `fn()`: runs during shutdown after the drain; a throw makes the shutdown reply -32000
     * @param ?callable $onConfigure `fn(mixed $value)`: the operator's config (arrays); throw to refuse it (-32602). Without it plugin.configure is -32601.
     * @param list<ToolDef|array{name: string, description: string, input_schema?: array}> $tools advertised in initialize (omitted when empty); each must be in `[plugin.extends].tools`
     * @param ?callable $onTool `fn(ToolInvocation $inv, ToolContext $ctx): mixed` (the context may be left out); throw a ToolError for its code, anything else is -33403; without a tool handler tool.invoke is -32601
     * @param ?callable $onToolWithContext reference name of the same handler with the context; wins over onTool when both are given
     * @param ?string $serverVersion initialize's server_version; default `<id>-<version>`
     * @param bool $enableStdoutGuard send echo/print output to stderr prefixed `[stdout-guard] ` (default true)
     * @param int $maxFrameBytes largest frame read or written (default 1 MiB); longer input lines are logged and skipped
     * @param bool $handleProcessSignals drain and exit 0 on SIGTERM/SIGINT (needs the pcntl extension; default true)
     * @param float $hostCallTimeout deadline of host calls in seconds (default 30)
     * @param int $maxQueuedEvents events waiting for a handler; beyond it new ones are dropped and counted (default 10,000)
     * @param int $maxConcurrentHandlers handlers in flight at once; more wait their turn in arrival order (default 256)
     * @param float $drainTimeout how long shutdown waits for in-flight and queued work, in seconds (default 10)
     * @param bool $exitOnShutdown exit(0) once shut down (default true); false makes run() return
     * @param resource|null $input the stream frames arrive on (default STDIN)
     * @param resource|null $output the stream frames leave on (default STDOUT)
     * @param ?array $channels channel methods for `[plugin.extends] channels`: `start` `fn(string $kind, ?string $instance)`, `stop` `fn(string $kind)`, `sendOutbound` `fn(string $kind, array $msg, ?string $instance): array` returning `['message_id' => ..., 'sent_at_unix' => ...]`; throw a ChannelError subclass for the contract's -330xx codes. Without it the channel methods are -32601.
     * @param ?callable $onHook `fn(string $hookName, array $event, string $pluginId): ?array` answering hook.on_hook with a HookResponse (null allows); without it hook.on_hook is -32601 (the host allows)
     */
    public function __construct(
        string|array $manifestToml,
        ?callable $onEvent = null,
        ?callable $onShutdown = null,
        ?callable $onConfigure = null,
        array $tools = [],
        ?callable $onTool = null,
        ?callable $onToolWithContext = null,
        ?string $serverVersion = null,
        bool $enableStdoutGuard = true,
        int $maxFrameBytes = MAX_FRAME_BYTES,
        bool $handleProcessSignals = true,
        float $hostCallTimeout = DEFAULT_HOST_CALL_TIMEOUT,
        int $maxQueuedEvents = 10000,
        int $maxConcurrentHandlers = 256,
        float $drainTimeout = 10.0,
        bool $exitOnShutdown = true,
        $input = null,
        $output = null,
        ?array $channels = null,
        ?callable $onHook = null,
    ) {
        if (is_array($manifestToml)) {
            // The reference SDK's form: one options array.
            $o = $manifestToml;
            foreach (array_keys($o) as $key) {
                if (!in_array($key, self::OPTION_KEYS, true)) {
                    throw new \InvalidArgumentException("PluginAdapter option '{$key}' is not known; known: " . implode(', ', self::OPTION_KEYS));
                }
            }
            if (!is_string($o['manifestToml'] ?? null)) {
                throw new PluginError("PluginAdapter requires the 'manifestToml' string option");
            }
            foreach (['onEvent', 'onShutdown', 'onConfigure', 'onTool', 'onToolWithContext'] as $k) {
                if (isset($o[$k]) && !is_callable($o[$k])) {
                    throw new \InvalidArgumentException("PluginAdapter option '{$k}' must be callable, got " . get_debug_type($o[$k]));
                }
            }
            if (isset($o['tools']) && !is_array($o['tools'])) {
                throw new PluginError("PluginAdapter 'tools' option must be an array of ToolDef");
            }
            $manifestToml = $o['manifestToml'];
            $onEvent = $o['onEvent'] ?? null;
            $onShutdown = $o['onShutdown'] ?? null;
            $onConfigure = $o['onConfigure'] ?? null;
            $tools = $o['tools'] ?? [];
            $onTool = $o['onTool'] ?? null;
            $onToolWithContext = $o['onToolWithContext'] ?? null;
            $serverVersion = $o['serverVersion'] ?? null;
            $enableStdoutGuard = (bool) ($o['enableStdoutGuard'] ?? true);
            $maxFrameBytes = (int) ($o['maxFrameBytes'] ?? MAX_FRAME_BYTES);
            $handleProcessSignals = (bool) ($o['handleProcessSignals'] ?? true);
            $hostCallTimeout = (float) ($o['hostCallTimeout'] ?? DEFAULT_HOST_CALL_TIMEOUT);
            $maxQueuedEvents = (int) ($o['maxQueuedEvents'] ?? 10000);
            $maxConcurrentHandlers = (int) ($o['maxConcurrentHandlers'] ?? 256);
            $drainTimeout = (float) ($o['drainTimeout'] ?? 10.0);
            $exitOnShutdown = (bool) ($o['exitOnShutdown'] ?? true);
            $input = $o['input'] ?? null;
            $output = $o['output'] ?? null;
            $channels = $o['channels'] ?? null;
            $onHook = $o['onHook'] ?? null;
        }
        foreach ($channels ?? [] as $k => $fn) {
            if (!in_array($k, ['start', 'stop', 'sendOutbound'], true) || !is_callable($fn)) {
                throw new \InvalidArgumentException("PluginAdapter 'channels' takes callables under start, stop and sendOutbound; got " . var_export($k, true) . ' => ' . get_debug_type($fn));
            }
        }
        $json = Manifest::parseJson($manifestToml);
        $plugin = $json->plugin;
        $this->manifestJson = $json;
        $this->manifest = Toml::toArray($json);
        $this->pluginId = $plugin->id;
        self::$currentPluginId = $plugin->id;
        $version = is_string($plugin->version ?? null) ? $plugin->version : '0.0.0';
        $this->serverVersion = $serverVersion ?? "{$this->pluginId}-{$version}";
        $this->tools = array_map(self::toolDef(...), array_values($tools));
        $this->checkToolsDeclared();
        $this->onEvent = $onEvent === null ? null : $onEvent(...);
        $this->onShutdown = $onShutdown === null ? null : $onShutdown(...);
        $this->onConfigure = $onConfigure === null ? null : $onConfigure(...);
        // With-context wins when both are given, as in the reference SDKs; a one-argument
        // handler ignores the context PHP passes it.
        $handler = $onToolWithContext ?? $onTool;
        $this->onTool = $handler === null ? null : $handler(...);
        $this->channels = $channels === null ? null : array_map(static fn (callable $fn): \Closure => $fn(...), $channels);
        $this->onHook = $onHook === null ? null : $onHook(...);
        $this->enableStdoutGuard = $enableStdoutGuard;
        $this->handleProcessSignals = $handleProcessSignals;
        $this->exitOnShutdown = $exitOnShutdown;
        $this->maxFrameBytes = self::positive('maxFrameBytes', $maxFrameBytes);
        $this->maxQueuedEvents = self::positive('maxQueuedEvents', $maxQueuedEvents);
        $this->maxConcurrentHandlers = self::positive('maxConcurrentHandlers', $maxConcurrentHandlers);
        $this->hostCallTimeout = self::positive('hostCallTimeout', $hostCallTimeout);
        $this->drainTimeout = self::positive('drainTimeout', $drainTimeout);
        $this->in = $input ?? STDIN;
        $this->out = $output ?? STDOUT;
        $this->work = new \SplQueue();
        $this->broker = new BrokerSender($this);
        $this->decoder = new LineDecoder($this->maxFrameBytes, $this->route(...), $this->onBadLine(...));
    }

    /** The whole manifest as arrays (reference accessor; same as the `manifest` property). */
    public function manifest(): array
    {
        return $this->manifest;
    }

    /** @internal the id of the last adapter constructed, for state_dir() */
    public static function currentPluginId(): ?string
    {
        return self::$currentPluginId;
    }

    /**
     * Serve a tool in the topic form of tools (docs/writing-plugins.md, Tools): a call arrives as an event on
     * `plugin.tool.<name>`; the handler's return value is published as `{result}` (or
     * `{error: {code, message}}` when it throws) on `plugin.tool.<name>.reply`, with
     * the call's correlation id (else its id) and session id.
     *
     * @param callable $handler `fn(mixed $args, Event $event): mixed` ($args as arrays)
     */
    public function onTopicTool(string $name, callable $handler): self
    {
        $this->topicTools[tool_topic($name)] = $handler(...);
        return $this;
    }

    /**
     * Run `$fn($broker)` every `$seconds`, between handlers, until shutdown. Returns a timer id.
     *
     * @example $adapter->every(300, fn (BrokerSender $b) => poll($b));
     */
    public function every(float $seconds, callable $fn): int
    {
        return $this->addTimer(self::positive('every() seconds', $seconds), true, $fn);
    }

    /** Run `$fn($broker)` once after `$seconds` (unless cancelled or shut down first). Returns a timer id. */
    public function after(float $seconds, callable $fn): int
    {
        return $this->addTimer(max(0.0, $seconds), false, $fn);
    }

    /** Cancel a timer from every() or after(); unknown ids are ignored. */
    public function cancelTimer(int $id): void
    {
        unset($this->timers[$id]);
    }

    /**
     * Call `$fn($stream, $broker)` whenever `$stream` is readable (a listening socket,
     * a client connection...), between handlers. The stream should be non-blocking.
     */
    public function onReadable($stream, callable $fn): void
    {
        $this->readStreams[(int) $stream] = ['stream' => $stream, 'fn' => $fn(...)];
    }

    /** Stop watching a stream given to onReadable(). */
    public function removeReadable($stream): void
    {
        unset($this->readStreams[(int) $stream]);
    }

    /** True once shutdown began. */
    public function isShuttingDown(): bool
    {
        return $this->shuttingDown;
    }

    /** broker.events dropped because maxQueuedEvents were already waiting. */
    public function eventsDropped(): int
    {
        return $this->dropped;
    }

    /** This plugin's state directory ({@see state_dir()}). */
    public function stateDir(): string
    {
        return state_dir($this->pluginId);
    }

    /**
     * Serve until `shutdown`, SIGTERM/SIGINT or stdin EOF; then drain, run
     * onShutdown, reply, and exit(0) (or return, with exitOnShutdown: false).
     */
    public function run(): void
    {
        if ($this->running) {
            throw new PluginError('PluginAdapter::run() was already called');
        }
        $this->running = true;
        if ($this->enableStdoutGuard) {
            StdoutGuard::install();
        }
        $this->installSignals();
        $this->prepareInput();
        $this->loop();
        $this->finishShutdown();
        $this->flush();
        if ($this->exitOnShutdown) {
            exit(0);
        }
    }

    // ---- frames out -------------------------------------------------------------------

    /**
     * @internal write one frame (whole, never interleaved: PHP runs one thing at a time).
     * Throws FrameTooLargeException or \JsonException; after stdout closed, frames are dropped.
     */
    public function sendFrame(array $frame): void
    {
        $line = json_encode($frame, self::JSON_FLAGS);
        if (strlen($line) > $this->maxFrameBytes) {
            throw new FrameTooLargeException(strlen($line), $this->maxFrameBytes);
        }
        $this->writeLine($line . "\n");
    }

    /**
     * Frames written in one turn of the loop share a write: they collect here and go
     * out before the loop waits again (or once 64 KiB piled up), so a burst of
     * replies costs one syscall instead of one each.
     */
    private function writeLine(string $line): void
    {
        if ($this->outputBroken) {
            return;
        }
        $this->outBuf .= $line;
        if (strlen($this->outBuf) >= self::WRITE_BATCH_BYTES) {
            $this->flush();
        }
    }

    /** Frames collected but not yet written (a publish before run(), say) still go out. */
    public function __destruct()
    {
        $this->flush();
    }

    /** Write out every frame collected so far. */
    private function flush(): void
    {
        $line = $this->outBuf;
        $this->outBuf = '';
        if ($line === '' || $this->outputBroken) {
            return;
        }
        $len = strlen($line);
        for ($off = 0; $off < $len;) {
            $n = @fwrite($this->out, $off === 0 ? $line : substr($line, $off));
            if ($n === false || $n === 0) {
                $this->outputBroken = true;
                $this->log('stdout closed; shutting down');
                $this->beginShutdown('stdout closed');
                return;
            }
            $off += $n;
        }
    }

    private function reply(int|string|null $id, mixed $result, bool $toolResult = false): void
    {
        try {
            $this->sendFrame(['jsonrpc' => '2.0', 'id' => $id, 'result' => $result]);
        } catch (\JsonException $e) {
            if ($toolResult) {
                // The reference SDKs answer a tool result that cannot be encoded as the tool's failure.
                $this->replyError($id, ErrorCodes::TOOL_EXECUTION_FAILED, "execution failed: tool result not JSON-serializable: {$e->getMessage()}");
                return;
            }
            $this->log('reply to request ' . json_encode($id) . " not sent: {$e->getMessage()}");
            $this->replyError($id, ErrorCodes::INTERNAL_ERROR, "reply not sent: {$e->getMessage()}");
        } catch (\Throwable $e) {
            // A result too large for one frame (or not encodable) still gets an answer, so the host's call does not hang until its deadline.
            $this->log('reply to request ' . json_encode($id) . " not sent: {$e->getMessage()}");
            $this->replyError($id, ErrorCodes::INTERNAL_ERROR, "reply not sent: {$e->getMessage()}");
        }
    }

    private function replyError(int|string|null $id, int $code, string $message, mixed $data = null): void
    {
        $error = ['code' => $code, 'message' => $message];
        if ($data !== null) {
            $error['data'] = $data;
        }
        try {
            $this->sendFrame(['jsonrpc' => '2.0', 'id' => $id, 'error' => $error]);
        } catch (\Throwable $e) {
            $this->log('error reply to ' . json_encode($id) . " not sent with its data: {$e->getMessage()}");
            if ($data !== null) {
                $this->replyError($id, $code, $message);
            }
        }
    }

    private function log(string $message): void
    {
        @fwrite(STDERR, "[{$this->pluginId}] {$message}\n");
    }

    // ---- host calls ------------------------------------------------------------------

    /**
     * @internal send a request to the host and wait for its reply. Inside a handler's
     * Fiber the Fiber suspends until the reply, its deadline or shutdown, and other
     * handlers run meanwhile; elsewhere it reads stdin in place (queueing what else
     * arrives). Returns the result with objects as arrays (or as \stdClass with
     * `$raw`); throws RpcServerError (host error), RpcTimeoutError, or
     * RpcTransportError (shutdown, or the host went away).
     */
    public function hostRequest(string $method, mixed $params, ?float $timeout = null, ?\Closure $onDelta = null, bool $raw = false): mixed
    {
        if ($this->shuttingDown) {
            throw new RpcTransportError("{$method} not sent: plugin is shutting down");
        }
        $this->prepareInput();
        $id = $this->nextId++;
        $this->pending[$id] = ['method' => $method, 'onDelta' => $onDelta, 'raw' => $raw, 'chunks' => []];
        $limit = $timeout ?? $this->hostCallTimeout;
        $deadline = microtime(true) + $limit;
        $fiber = \Fiber::getCurrent();
        $slot = $fiber !== null && isset($this->fibers[spl_object_id($fiber)]) ? spl_object_id($fiber) : null;
        try {
            $this->sendFrame(['jsonrpc' => '2.0', 'id' => $id, 'method' => $method, 'params' => $params]);
            while (true) {
                $this->deliverChunks($id);
                if (isset($this->responses[$id])) {
                    $frame = $this->responses[$id];
                    if (isset($frame['error']) && (is_array($frame['error']) || is_object($frame['error']))) {
                        throw RpcServerError::fromWire($frame['error']);
                    }
                    return $frame['result'] ?? null;
                }
                if ($this->shuttingDown) {
                    throw new RpcTransportError("{$method} failed: plugin is shutting down");
                }
                if (!$this->inputOpen) {
                    throw new RpcTransportError("{$method} failed: the host closed stdin");
                }
                $left = $deadline - microtime(true);
                if ($left <= 0) {
                    throw new RpcTimeoutError($limit, $method);
                }
                if ($slot !== null) {
                    $this->fibers[$slot]['waitId'] = $id;
                    $this->fibers[$slot]['deadline'] = $deadline;
                    try {
                        \Fiber::suspend();
                    } finally {
                        if (isset($this->fibers[$slot])) {
                            $this->fibers[$slot]['waitId'] = null;
                            $this->fibers[$slot]['deadline'] = null;
                        }
                    }
                } else {
                    $this->pump($left, true);
                }
            }
        } finally {
            unset($this->pending[$id], $this->responses[$id]);
        }
    }

    /** Hand streamed chunks of request `$id` to its onDelta, in the waiting handler's own Fiber. */
    private function deliverChunks(int $id): void
    {
        while (isset($this->pending[$id]) && $this->pending[$id]['chunks'] !== []) {
            $chunk = array_shift($this->pending[$id]['chunks']);
            $call = $this->pending[$id];
            try {
                ($call['onDelta'])($chunk);
            } catch (\Throwable $e) {
                $this->log("onDelta handler failed: {$e->getMessage()}");
            }
        }
    }

    /**
     * @internal the id of the event whose handler is running in the current Fiber
     * (null outside one): what a publish from that handler correlates to.
     */
    public function currentEventId(): ?string
    {
        $fiber = \Fiber::getCurrent();
        return $fiber === null ? null : ($this->fibers[spl_object_id($fiber)]['eventId'] ?? null);
    }

    /** @internal */
    public function addSubscription(string $id, callable $handler): void
    {
        $this->subscriptions[$id] = $handler(...);
    }

    /** @internal */
    public function removeSubscription(string $id): void
    {
        unset($this->subscriptions[$id]);
    }

    // ---- frames in -------------------------------------------------------------------

    private function prepareInput(): void
    {
        if (!$this->inputReady) {
            $this->inputReady = true;
            stream_set_blocking($this->in, false);
        }
    }

    /**
     * Wait up to `$timeout` seconds (null = until something happens) for input,
     * read what is there and route it. With `$stdinOnly` (inside a host call)
     * the plugin's own streams wait.
     */
    private function pump(?float $timeout, bool $stdinOnly = false): void
    {
        // Nothing written may wait while the loop sleeps: the host may be waiting for it.
        $this->flush();
        $read = [];
        if ($this->inputOpen) {
            $read[] = $this->in;
        }
        if (!$stdinOnly && !$this->shuttingDown) {
            foreach ($this->readStreams as $r) {
                $read[] = $r['stream'];
            }
        }
        if ($read === []) {
            if ($timeout === null || $timeout > 0) {
                usleep((int) (min($timeout ?? 0.05, 0.05) * 1e6));
            }
            return;
        }
        $write = $except = null;
        // A signal that lands just before the wait starts is only acted on once the wait
        // ends (PHP runs signal handlers between opcodes), so never wait long.
        $timeout = min($timeout ?? self::MAX_WAIT_SECONDS, self::MAX_WAIT_SECONDS);
        $sec = $timeout === null ? null : (int) floor($timeout);
        $usec = $timeout === null ? 0 : (int) (($timeout - floor($timeout)) * 1e6);
        // A signal interrupts the wait (false, EINTR): the loop then sees its flag.
        $ready = @stream_select($read, $write, $except, $sec, $usec);
        if ($ready === false || $ready === 0) {
            return;
        }
        foreach ($read as $stream) {
            if ($stream === $this->in) {
                $this->readInput();
            } elseif (isset($this->readStreams[(int) $stream])) {
                try {
                    ($this->readStreams[(int) $stream]['fn'])($stream, $this->broker);
                } catch (\Throwable $e) {
                    $this->log("readable-stream handler failed: {$e->getMessage()}");
                }
            }
        }
    }

    private function readInput(): void
    {
        // Bounded per call so timers and queued work get their turn under a flood.
        for ($total = 0; $total < 1048576;) {
            $chunk = @fread($this->in, 65536);
            if ($chunk === false || $chunk === '') {
                if (feof($this->in)) {
                    $this->inputOpen = false;
                    $this->decoder->end();
                    $this->beginShutdown('stdin closed');
                }
                return;
            }
            $total += strlen($chunk);
            $this->decoder->push($chunk);
        }
    }

    /** A line that is not a frame is logged and dropped, never answered (the reference SDKs do the same). */
    private function onBadLine(string $kind, string $preview): void
    {
        if ($kind === 'too_large') {
            $this->log("plugin: inbound frame exceeds maxFrameBytes {$this->maxFrameBytes}, dropped");
            return;
        }
        $this->log("plugin: malformed jsonrpc line ({$kind})" . ($preview !== '' ? ": {$preview}" : '') . ', dropped');
    }

    /**
     * Route one decoded frame (objects as arrays; `$line` is its text, decoded again
     * with objects kept for the calls made with requestRaw()).
     */
    private function route(mixed $v, string $line): void
    {
        if (!is_array($v) || ($v !== [] && array_is_list($v))) {
            $this->log('plugin: jsonrpc frame must be an object, dropped');
            return;
        }
        $method = $v['method'] ?? null;
        if (!is_string($method)) {
            // A response to one of our host calls (or garbage): never answered. One we
            // no longer wait for (timed out) is dropped.
            $id = $v['id'] ?? null;
            if (is_int($id) && isset($this->pending[$id])) {
                $this->responses[$id] = $this->pending[$id]['raw'] ? (array) json_decode($line, false) : $v;
            } elseif ($id !== null) {
                $this->log('plugin: response for unknown/expired request id ' . json_encode($id) . ', dropped');
            }
            return;
        }
        $hasParams = array_key_exists('params', $v);
        $params = $v['params'] ?? null;
        if (!isset($v['id'])) {
            $this->onNotification($method, $params, $line);
            return;
        }
        $this->onRequest(self::wireId($v['id']), $method, $hasParams, $params);
    }

    /** A JSON object's decoded form (an empty array may be `{}` or `[]`: both pass). */
    private static function isObject(mixed $v): bool
    {
        return is_array($v) && ($v === [] || !array_is_list($v));
    }

    private function onRequest(int|string|null $id, string $method, bool $hasParams, mixed $params): void
    {
        if ($this->shuttingDown && $method !== 'shutdown') {
            $this->replyError($id, ErrorCodes::INTERNAL_ERROR, 'plugin is shutting down');
            return;
        }
        switch ($method) {
            case 'initialize':
                if ($hasParams && !self::isObject($params)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'initialize params must be an object ({nexo_version} or {})');
                    return;
                }
                if (is_array($params) && array_key_exists('nexo_version', $params) && !is_string($params['nexo_version'])) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'initialize params.nexo_version must be a string');
                    return;
                }
                $result = ['manifest' => $this->manifestJson, 'server_version' => $this->serverVersion];
                if ($this->tools !== []) {
                    $result['tools'] = $this->tools;
                }
                $this->reply($id, $result);
                return;
            case 'plugin.configure':
                if (!self::isObject($params) || !array_key_exists('value', $params)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'plugin.configure params must be {value}');
                    return;
                }
                $this->enqueueRequest(['configure', $id, $params['value']]);
                return;
            case 'shutdown':
                if ($hasParams && !self::isObject($params)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'shutdown params must be {reason}');
                    return;
                }
                $reason = is_string($params['reason'] ?? null) ? $params['reason'] : 'shutdown requested';
                $this->shutdownReplies[] = $id;
                $this->beginShutdown($reason);
                return;
            case 'tool.invoke':
                // No handler wins over the params' shape, as in the reference SDKs.
                if ($this->onTool === null) {
                    $this->replyError($id, ErrorCodes::METHOD_NOT_FOUND, 'method not found: tool.invoke (this plugin has no tool handler)');
                    return;
                }
                if (!self::isObject($params)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'tool.invoke params must be an object {plugin_id, tool_name, args, agent_id}');
                    return;
                }
                if (!is_string($params['tool_name'] ?? null) || $params['tool_name'] === '') {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'tool.invoke params missing string `tool_name`');
                    return;
                }
                // Omitted args reach the handler as null, a scalar as itself.
                $inv = new ToolInvocation(
                    is_string($params['plugin_id'] ?? null) ? $params['plugin_id'] : $this->pluginId,
                    $params['tool_name'],
                    $params['args'] ?? null,
                    is_string($params['agent_id'] ?? null) ? $params['agent_id'] : null,
                );
                $this->enqueueRequest(['tool', $id, $inv]);
                return;
            case 'channel.start':
            case 'channel.stop':
            case 'channel.send_outbound':
            case 'hook.on_hook':
                $this->enqueueRequest(['extension', $id, $method, $params]);
                return;
            default:
                $this->replyError($id, ErrorCodes::METHOD_NOT_FOUND, "method not found: {$method}");
        }
    }

    private function enqueueRequest(array $item): void
    {
        if ($this->queuedRequests >= self::MAX_QUEUED_REQUESTS) {
            $this->replyError($item[1], ErrorCodes::INTERNAL_ERROR, 'plugin is busy: ' . self::MAX_QUEUED_REQUESTS . ' requests already waiting');
            return;
        }
        $this->queuedRequests++;
        $this->work->enqueue($item);
    }

    private function onNotification(string $method, mixed $params, string $line): void
    {
        if ($method === 'broker.event') {
            if (!self::isObject($params) || !self::isObject($params['event'] ?? null)) {
                $this->log('broker.event without an event object ignored');
                return;
            }
            if ($this->shuttingDown) {
                return;
            }
            if ($this->queuedEvents >= $this->maxQueuedEvents) {
                // Power-of-two counts keep the log bounded under a sustained flood.
                $n = ++$this->dropped;
                if (($n & ($n - 1)) === 0) {
                    $this->log("event backlog full ({$this->maxQueuedEvents}); {$n} event(s) dropped so far");
                }
                return;
            }
            $event = Event::fromWire($params['event']);
            $topic = is_string($params['topic'] ?? null) ? $params['topic'] : $event->topic;
            $sub = $params['subscriber_id'] ?? null;
            $this->queuedEvents++;
            $this->work->enqueue(['event', $topic, $event, is_string($sub) || is_int($sub) ? (string) $sub : null]);
            return;
        }
        if ($method === 'llm.complete.delta' && is_array($params)) {
            $rid = $params['request_id'] ?? null;
            $rid = is_string($rid) && ctype_digit($rid) ? (int) $rid : $rid;
            // Chunks wait for the handler that streams them; it runs them through its onDelta in order.
            if (is_int($rid) && ($this->pending[$rid]['onDelta'] ?? null) !== null) {
                $this->pending[$rid]['chunks'][] = $this->pending[$rid]['raw'] ? (json_decode($line, false)->params->chunk ?? null) : ($params['chunk'] ?? null);
            } else {
                $this->log('plugin: llm.complete.delta for unknown/non-stream request ' . json_encode($rid) . ', dropped');
            }
        }
        // Other notifications (future contract additions) are ignored, never answered.
    }

    // ---- work ------------------------------------------------------------------------

    private function loop(): void
    {
        while (true) {
            if (!function_exists('pcntl_async_signals') && function_exists('pcntl_signal_dispatch')) {
                pcntl_signal_dispatch();
            }
            $this->startQueuedWork();
            $progressed = $this->resumeFibers();
            if ($this->shuttingDown) {
                if ($this->work->isEmpty() && $this->fibers === []) {
                    return;
                }
                if (microtime(true) - $this->shutdownStartedAt > $this->drainTimeout) {
                    $this->abandonWork();
                    return;
                }
                $this->pump($progressed ? 0.0 : $this->untilNextWake(), true);
                continue;
            }
            if ($this->runDueTimers()) {
                continue;
            }
            $this->pump($progressed || $this->canStartWork() ? 0.0 : $this->untilNextWake());
        }
    }

    private function canStartWork(): bool
    {
        return !$this->work->isEmpty() && count($this->fibers) < $this->maxConcurrentHandlers;
    }

    /** Start queued work in arrival order while fewer than maxConcurrentHandlers are in flight. */
    private function startQueuedWork(): void
    {
        while ($this->canStartWork()) {
            $item = $this->work->dequeue();
            switch ($item[0]) {
                case 'event':
                    $this->queuedEvents--;
                    [, $topic, $event, $subscriberId] = $item;
                    $this->spawn(fn () => $this->handleEvent($topic, $event, $subscriberId), $event->id);
                    break;
                case 'configure':
                    $this->queuedRequests--;
                    [, $id, $value] = $item;
                    $this->spawn(fn () => $this->handleConfigure($id, $value), null, $id);
                    break;
                case 'tool':
                    $this->queuedRequests--;
                    [, $id, $inv] = $item;
                    $this->spawn(fn () => $this->handleTool($id, $inv), null, $id);
                    break;
                case 'extension':
                    $this->queuedRequests--;
                    [, $id, $method, $params] = $item;
                    $this->spawn(fn () => $this->handleExtension($id, $method, $params), null, $id);
                    break;
            }
        }
    }

    /**
     * Run `$fn` in a Fiber of its own until it finishes or first suspends.
     * `$eventId` is the event it handles (publishes correlate to it), `$requestId`
     * the request it answers (answered with an error if shutdown abandons it).
     * Fibers are reused: making one maps a stack, which costs more than most handlers.
     */
    private function spawn(\Closure $fn, ?string $eventId = null, int|string|null $requestId = null): void
    {
        $fiber = array_pop($this->idleFibers);
        $fresh = $fiber === null;
        $fiber ??= new \Fiber(function (\Closure $job): void {
            while (true) {
                try {
                    $job();
                } catch (\Throwable $e) {
                    $this->log('handler failed: ' . get_class($e) . ": {$e->getMessage()}");
                }
                // Park until the next job; anything else than a job ends the worker.
                $job = \Fiber::suspend(self::parked());
                if (!$job instanceof \Closure) {
                    return;
                }
            }
        });
        $slot = spl_object_id($fiber);
        $this->fibers[$slot] = ['fiber' => $fiber, 'waitId' => null, 'deadline' => null, 'eventId' => $eventId, 'requestId' => $requestId];
        $this->step($slot, $fresh ? static fn () => $fiber->start($fn) : static fn () => $fiber->resume($fn));
    }

    /** What a worker Fiber suspends with once its job is done: nothing a handler can pass. */
    private static function parked(): \stdClass
    {
        static $marker = null;
        return $marker ??= new \stdClass();
    }

    private function step(int $slot, \Closure $go): void
    {
        try {
            $out = $go();
        } catch (\Throwable $e) {
            $this->log('handler fiber failed: ' . get_class($e) . ": {$e->getMessage()}");
            $out = null;
        }
        $fiber = $this->fibers[$slot]['fiber'] ?? null;
        if ($fiber === null) {
            return;
        }
        if ($fiber->isTerminated()) {
            unset($this->fibers[$slot]);
        } elseif ($out === self::parked()) {
            unset($this->fibers[$slot]);
            if (count($this->idleFibers) < self::MAX_IDLE_FIBERS) {
                $this->idleFibers[] = $fiber;
            }
        }
    }

    /** Resume every suspended handler that can go on: it yielded, or what it waits for came (or expired). True if any ran. */
    private function resumeFibers(): bool
    {
        $ran = false;
        $now = microtime(true);
        foreach ($this->fibers as $slot => $f) {
            if (!$f['fiber']->isSuspended()) {
                continue;
            }
            $wait = $f['waitId'];
            if ($wait !== null && !$this->shuttingDown && !$this->inputOpenFailed($wait) && !isset($this->responses[$wait])
                && ($this->pending[$wait]['chunks'] ?? []) === [] && $now < ($f['deadline'] ?? INF)) {
                continue;
            }
            $ran = true;
            $this->step($slot, static fn () => $f['fiber']->resume());
        }
        return $ran;
    }

    /** A waiting host call can never be answered once stdin is closed. */
    private function inputOpenFailed(int $wait): bool
    {
        return !$this->inputOpen && !isset($this->responses[$wait]);
    }

    /** How long the loop may sleep: until the next timer or host-call deadline; 1 ms while a handler yielded by itself. */
    private function untilNextWake(): ?float
    {
        $next = $this->timers === [] || $this->shuttingDown ? INF : min(array_column($this->timers, 'due'));
        foreach ($this->fibers as $f) {
            if ($f['fiber']->isSuspended() && $f['waitId'] === null) {
                return 0.001;
            }
            $next = min($next, $f['deadline'] ?? INF);
        }
        if ($this->shuttingDown) {
            $next = min($next, $this->shutdownStartedAt + $this->drainTimeout);
        }
        return $next === INF ? null : max(0.0, $next - microtime(true));
    }

    private function handleConfigure(int|string|null $id, mixed $value): void
    {
        try {
            if ($this->onConfigure !== null) {
                ($this->onConfigure)($value);
            }
            $this->reply($id, ['ok' => true]);
        } catch (\Throwable $e) {
            $this->replyError($id, ErrorCodes::INVALID_PARAMS, "configuration refused: {$e->getMessage()}");
        }
    }

    private function handleTool(int|string|null $id, ToolInvocation $inv): void
    {
        try {
            $result = ($this->onTool)($inv, new ToolContext($this->broker, $this->pluginId, $this));
        } catch (ToolError $e) {
            $this->replyError($id, $e->getCode(), $e->getMessage(), $e->errorData());
            return;
        } catch (\Throwable $e) {
            // Only typed tool errors choose their code; anything else (a host call's error included) is -33403.
            $this->replyError($id, ErrorCodes::TOOL_EXECUTION_FAILED, 'execution failed: ' . ($e->getMessage() !== '' ? $e->getMessage() : get_class($e)));
            return;
        }
        $this->reply($id, $result, true);
    }

    /**
     * `channel.start {kind, instance}`, `channel.stop {kind}`, `channel.send_outbound
     * {kind, msg, instance}` and `hook.on_hook {plugin_id, hook_name, event}`. A
     * ChannelError keeps its code and data; any other throwable is -32603.
     */
    private function handleExtension(int|string|null $id, string $method, mixed $params): void
    {
        $p = is_array($params) ? $params : [];
        $kind = is_string($p['kind'] ?? null) && $p['kind'] !== '' ? $p['kind'] : null;
        $instance = is_string($p['instance'] ?? null) ? $p['instance'] : null;
        try {
            if ($method === 'hook.on_hook') {
                if ($this->onHook === null) {
                    $this->replyError($id, ErrorCodes::METHOD_NOT_FOUND, 'method not found: hook.on_hook');
                    return;
                }
                if (!is_string($p['hook_name'] ?? null)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'hook.on_hook params need a string hook_name');
                    return;
                }
                $pluginId = is_string($p['plugin_id'] ?? null) ? $p['plugin_id'] : $this->pluginId;
                $out = ($this->onHook)($p['hook_name'], is_array($p['event'] ?? null) ? $p['event'] : [], $pluginId);
                $this->reply($id, $out === null || $out === [] ? new \stdClass() : $out);
                return;
            }
            $handler = $this->channels[$method === 'channel.send_outbound' ? 'sendOutbound' : ($method === 'channel.start' ? 'start' : 'stop')] ?? null;
            if ($this->channels === null || ($method === 'channel.send_outbound' && $handler === null)) {
                $this->replyError($id, ErrorCodes::METHOD_NOT_FOUND, "method not found: {$method}");
                return;
            }
            if ($kind === null) {
                $this->replyError($id, ErrorCodes::INVALID_PARAMS, "{$method} params need a string kind");
                return;
            }
            if ($method === 'channel.send_outbound') {
                $msg = $p['msg'] ?? null;
                if (!is_array($msg) || !is_string($msg['kind'] ?? null)) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'channel.send_outbound params need msg: {kind, ...}');
                    return;
                }
                $ack = $handler($kind, $msg, $instance);
                if (!is_array($ack) || !(is_string($ack['message_id'] ?? null) || is_int($ack['message_id'] ?? null))) {
                    $this->replyError($id, ErrorCodes::INTERNAL_ERROR, 'sendOutbound must return [message_id, sent_at_unix]');
                    return;
                }
                $at = $ack['sent_at_unix'] ?? null;
                $this->reply($id, ['message_id' => $ack['message_id'], 'sent_at_unix' => is_int($at) || is_float($at) ? $at : time()]);
                return;
            }
            if ($handler !== null) {
                $method === 'channel.start' ? $handler($kind, $instance) : $handler($kind);
            }
            $this->reply($id, ['ok' => true]);
        } catch (ChannelError $e) {
            $this->replyError($id, $e->getCode(), $e->getMessage(), $e->errorData());
        } catch (\Throwable $e) {
            $this->replyError($id, ErrorCodes::INTERNAL_ERROR, $e->getMessage() !== '' ? $e->getMessage() : get_class($e));
        }
    }

    private function handleEvent(string $topic, Event $event, ?string $subscriberId): void
    {
        try {
            if ($subscriberId !== null && isset($this->subscriptions[$subscriberId])) {
                ($this->subscriptions[$subscriberId])($topic, $event);
                return;
            }
            // An event for a subscription the plugin dropped, or one not made through the SDK, goes to the default handler.
            if (isset($this->topicTools[$topic])) {
                $this->answerTopicTool($topic, $event, $this->topicTools[$topic]);
                return;
            }
            if ($this->onEvent !== null) {
                ($this->onEvent)($topic, $event, $this->broker);
            }
        } catch (\Throwable $e) {
            $this->log("event handler failed on {$topic}: " . get_class($e) . ": {$e->getMessage()}");
        }
    }

    private function answerTopicTool(string $topic, Event $event, \Closure $handler): void
    {
        try {
            $payload = ['result' => $handler($event->payloadArray(), $event)];
        } catch (RpcServerError $e) {
            $payload = ['error' => $e->toArray()];
        } catch (ToolError $e) {
            $payload = ['error' => array_filter(['code' => $e->getCode(), 'message' => $e->getMessage(), 'data' => $e->errorData()], static fn ($v) => $v !== null)];
        } catch (\Throwable $e) {
            $payload = ['error' => ['code' => ErrorCodes::TOOL_EXECUTION_FAILED, 'message' => $e->getMessage()]];
        }
        $out = reply_topic($topic);
        $this->broker->publish($out, Event::new($out, $this->pluginId, $payload, $event->sessionId, $event->correlationId ?? $event->id));
    }

    /** The drain ran out of time: requests still queued or in flight get an error reply; events are let go. */
    private function abandonWork(): void
    {
        $left = count($this->work) + count($this->fibers);
        $this->log("{$left} queued or in-flight item(s) still waiting after " . (int) ($this->drainTimeout * 1000) . ' ms; shutting down anyway');
        while (!$this->work->isEmpty()) {
            $item = $this->work->dequeue();
            if ($item[0] !== 'event') {
                $this->replyError($item[1], ErrorCodes::INTERNAL_ERROR, 'plugin is shutting down');
            }
        }
        foreach ($this->fibers as $f) {
            if ($f['requestId'] !== null) {
                $this->replyError($f['requestId'], ErrorCodes::INTERNAL_ERROR, 'plugin is shutting down');
            }
        }
        $this->fibers = [];
    }

    // ---- timers ----------------------------------------------------------------------

    private function addTimer(float $seconds, bool $repeat, callable $fn): int
    {
        $id = $this->nextTimerId++;
        $this->timers[$id] = ['due' => microtime(true) + $seconds, 'interval' => $repeat ? $seconds : null, 'fn' => $fn(...)];
        return $id;
    }

    /** Run every due timer once; true if any ran. */
    private function runDueTimers(): bool
    {
        if ($this->timers === [] || $this->shuttingDown) {
            return false;
        }
        $now = microtime(true);
        $ran = false;
        foreach ($this->timers as $id => $t) {
            if ($t['due'] > $now) {
                continue;
            }
            if ($t['interval'] === null) {
                unset($this->timers[$id]);
            } else {
                // A late run is not followed by a burst of catch-up runs.
                $this->timers[$id]['due'] = max($t['due'] + $t['interval'], $now + $t['interval'] / 2);
            }
            $ran = true;
            $fn = $t['fn'];
            $this->spawn(function () use ($fn): void {
                try {
                    $fn($this->broker);
                } catch (\Throwable $e) {
                    $this->log("timer failed: {$e->getMessage()}");
                }
            });
            if ($this->shuttingDown) {
                break;
            }
        }
        return $ran;
    }

    // ---- shutdown --------------------------------------------------------------------

    private function installSignals(): void
    {
        if (!function_exists('pcntl_signal')) {
            if ($this->handleProcessSignals) {
                $this->log('the pcntl extension is missing: SIGTERM/SIGINT end the plugin without a drain');
            }
            return;
        }
        // A host that closed our stdout must not kill us mid-drain.
        pcntl_signal(SIGPIPE, SIG_IGN);
        if (!$this->handleProcessSignals) {
            return;
        }
        pcntl_async_signals(true);
        $handler = function (int $sig): void {
            $name = $sig === SIGTERM ? 'SIGTERM' : 'SIGINT';
            // A second signal during the drain means "now": the operator gave up waiting.
            if ($this->shuttingDown && $this->exitOnShutdown) {
                $this->log("{$name} again while draining; exiting without waiting");
                exit(1);
            }
            $this->beginShutdown($name);
        };
        pcntl_signal(SIGTERM, $handler);
        pcntl_signal(SIGINT, $handler);
    }

    /** Mark the start of shutdown; safe from a signal handler (flags and one log line only). */
    private function beginShutdown(string $reason): void
    {
        if ($this->shuttingDown) {
            return;
        }
        $this->shuttingDown = true;
        $this->shutdownStartedAt = microtime(true);
        $this->log("shutting down ({$reason})");
    }

    private function finishShutdown(): void
    {
        $hookError = null;
        if ($this->onShutdown !== null) {
            try {
                ($this->onShutdown)();
            } catch (\Throwable $e) {
                $hookError = $e->getMessage() !== '' ? $e->getMessage() : get_class($e);
                $this->log("shutdown hook failed: {$hookError}");
            }
        }
        foreach ($this->shutdownReplies as $id) {
            if ($hookError !== null) {
                $this->replyError($id, ErrorCodes::SHUTDOWN_FAILED, "shutdown hook failed: {$hookError}");
            } else {
                $this->reply($id, ['ok' => true]);
            }
        }
        $this->shutdownReplies = [];
    }

    // ---- helpers ---------------------------------------------------------------------

    private static function wireId(mixed $id): int|string|null
    {
        return is_int($id) || is_string($id) ? $id : (is_float($id) ? (int) $id : null);
    }

    /** Every advertised tool must be listed in `[plugin.extends].tools`, or the host refuses the plugin: fail here first. */
    private function checkToolsDeclared(): void
    {
        $names = array_values(array_filter(
            array_map(static fn (ToolDef $t): string => $t->name, $this->tools),
            static fn (string $n): bool => $n !== ConformanceProbe::TOOL,
        ));
        if ($names === []) {
            return;
        }
        $allowed = $this->manifest['plugin']['extends']['tools'] ?? null;
        if (!is_array($allowed)) {
            throw new ManifestError('tools are declared but the manifest has no [plugin.extends].tools list; declared: ' . implode(', ', $names));
        }
        $missing = array_values(array_diff($names, $allowed));
        if ($missing !== []) {
            throw new ManifestError('declared tool(s) not in [plugin.extends].tools [' . implode(', ', $allowed) . ']: ' . implode(', ', $missing));
        }
    }

    private static function toolDef(ToolDef|array $t): ToolDef
    {
        if ($t instanceof ToolDef) {
            return $t;
        }
        if (!is_string($t['name'] ?? null) || $t['name'] === '') {
            throw new \InvalidArgumentException('PluginAdapter option tools: each tool needs a string name');
        }
        return new ToolDef($t['name'], (string) ($t['description'] ?? ''), $t['input_schema'] ?? ['type' => 'object']);
    }

    private static function positive(string $name, int|float $value): int|float
    {
        if ($value <= 0) {
            throw new \InvalidArgumentException("PluginAdapter option {$name} must be positive, got {$value} (" . get_debug_type($value) . ')');
        }
        return $value;
    }
}
