<?php

declare(strict_types=1);

namespace Nexo\PluginSdk;

/**
 * Runs a plugin: speaks the contract on stdin/stdout, hands events and tool
 * calls to your handlers one at a time in arrival order, runs your timers and
 * extra streams between them (PHP has no event loop, so the adapter is one:
 * a stream_select() on stdin), and shuts down cleanly on `shutdown`,
 * SIGTERM/SIGINT or stdin EOF: new work is refused, pending host calls fail,
 * queued work drains, onShutdown runs, the host gets `{ok: true}`, exit 0.
 *
 * @example
 * $adapter = new PluginAdapter(
 *     manifestToml: file_get_contents(__DIR__ . '/nexo-plugin.toml'),
 *     onEvent: function (string $topic, Event $event, BrokerSender $broker): void {
 *         $out = str_replace('plugin.outbound.', 'plugin.inbound.', $topic);
 *         $broker->publish($out, Event::new($out, 'my_plugin', $event->payload));
 *     },
 * );
 * $adapter->run();
 */
final class PluginAdapter
{
    /** Requests (tool.invoke, plugin.configure) that may wait for their turn; beyond it they are refused with -32603. */
    public const MAX_QUEUED_REQUESTS = 1024;

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

    /** @var \SplQueue<array> events and requests waiting for their handler, in arrival order */
    private \SplQueue $work;
    private int $queuedEvents = 0;
    private int $queuedRequests = 0;
    private int $dropped = 0;

    private int $nextId = 1;
    /** @var array<int, array{method: string, onDelta: ?\Closure, raw: bool}> */
    private array $pending = [];
    /** @var array<int, \stdClass> */
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

    /**
     * @param string $manifestToml the plugin's manifest text; `[plugin].id` (required) and `version` are read from it
     * @param ?callable $onEvent `fn(string $topic, Event $event, BrokerSender $broker)`: each broker.event, in order; a throw is logged and the next event still runs
     * @param ?callable $onShutdown `fn()`: runs during shutdown after the drain; a throw makes the shutdown reply -32000
     * @param ?callable $onConfigure `fn(mixed $value)`: the operator's config (arrays); throw to refuse it (-32602)
     * @param list<ToolDef|array{name: string, description: string, input_schema?: array}> $tools advertised in initialize (omitted when empty)
     * @param ?callable $onTool `fn(ToolInvocation $inv, ToolContext $ctx): mixed`; throw a ToolException for its code, anything else is -33403; without it tool.invoke is -32601
     * @param ?string $serverVersion initialize's server_version; default `<id>-<version>`
     * @param bool $enableStdoutGuard send echo/print output to stderr prefixed `[stdout-guard] ` (default true)
     * @param int $maxFrameBytes largest frame read or written (default 1 MiB); longer input lines are logged and skipped
     * @param bool $handleProcessSignals drain and exit 0 on SIGTERM/SIGINT (needs the pcntl extension; default true)
     * @param float $hostCallTimeout deadline of host calls in seconds (default 30)
     * @param int $maxQueuedEvents events waiting for onEvent; beyond it new ones are dropped and counted (default 10,000)
     * @param float $drainTimeout how long shutdown keeps working through queued work, in seconds (default 10)
     * @param bool $exitOnShutdown exit(0) once shut down (default true); false makes run() return
     * @param resource|null $input the stream frames arrive on (default STDIN)
     * @param resource|null $output the stream frames leave on (default STDOUT)
     */
    public function __construct(
        string $manifestToml,
        ?callable $onEvent = null,
        ?callable $onShutdown = null,
        ?callable $onConfigure = null,
        array $tools = [],
        ?callable $onTool = null,
        ?string $serverVersion = null,
        private readonly bool $enableStdoutGuard = true,
        int $maxFrameBytes = MAX_FRAME_BYTES,
        private readonly bool $handleProcessSignals = true,
        float $hostCallTimeout = DEFAULT_HOST_CALL_TIMEOUT,
        int $maxQueuedEvents = 10000,
        float $drainTimeout = 10.0,
        private readonly bool $exitOnShutdown = true,
        $input = null,
        $output = null,
    ) {
        try {
            $json = Toml::parse($manifestToml);
        } catch (TomlException $e) {
            throw new ManifestException("manifestToml is not valid TOML: {$e->getMessage()}", 0, $e);
        }
        $plugin = $json->plugin ?? null;
        if (!$plugin instanceof \stdClass || !is_string($plugin->id ?? null) || $plugin->id === '') {
            throw new ManifestException('manifestToml has no [plugin].id');
        }
        $this->manifestJson = $json;
        $this->manifest = Toml::toArray($json);
        $this->pluginId = $plugin->id;
        self::$currentPluginId = $plugin->id;
        $version = is_string($plugin->version ?? null) ? $plugin->version : '0.0.0';
        $this->serverVersion = $serverVersion ?? "{$this->pluginId}-{$version}";
        $this->tools = array_map(self::toolDef(...), array_values($tools));
        $this->onEvent = $onEvent === null ? null : $onEvent(...);
        $this->onShutdown = $onShutdown === null ? null : $onShutdown(...);
        $this->onConfigure = $onConfigure === null ? null : $onConfigure(...);
        $this->onTool = $onTool === null ? null : $onTool(...);
        $this->maxFrameBytes = self::positive('maxFrameBytes', $maxFrameBytes);
        $this->maxQueuedEvents = self::positive('maxQueuedEvents', $maxQueuedEvents);
        $this->hostCallTimeout = self::positive('hostCallTimeout', $hostCallTimeout);
        $this->drainTimeout = self::positive('drainTimeout', $drainTimeout);
        $this->in = $input ?? STDIN;
        $this->out = $output ?? STDOUT;
        $this->work = new \SplQueue();
        $this->broker = new BrokerSender($this);
        $this->decoder = new LineDecoder($this->maxFrameBytes, $this->route(...), $this->onBadLine(...));
    }

    /** @internal the id of the last adapter constructed, for state_dir() */
    public static function currentPluginId(): ?string
    {
        return self::$currentPluginId;
    }

    /**
     * Serve a tool in the topic form of seed pattern 3: a call arrives as an event on
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
            throw new \LogicException('PluginAdapter::run() was already called');
        }
        $this->running = true;
        if ($this->enableStdoutGuard) {
            StdoutGuard::install();
        }
        $this->installSignals();
        $this->prepareInput();
        $this->loop();
        $this->finishShutdown();
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

    private function writeLine(string $line): void
    {
        if ($this->outputBroken) {
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

    private function reply(int|string|null $id, mixed $result): void
    {
        try {
            $this->sendFrame(['jsonrpc' => '2.0', 'id' => $id, 'result' => $result]);
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
     * @internal send a request to the host and wait for its reply, reading (and
     * queueing) everything else that arrives meanwhile. Returns the result with
     * objects as arrays; throws RpcException (host error), HostCallTimeoutException,
     * or HostCallException (shutdown).
     */
    public function hostRequest(string $method, mixed $params, ?float $timeout = null, ?\Closure $onDelta = null, bool $raw = false): mixed
    {
        if ($this->shuttingDown) {
            throw new HostCallException("{$method} not sent: plugin is shutting down");
        }
        $this->prepareInput();
        $id = $this->nextId++;
        $this->pending[$id] = ['method' => $method, 'onDelta' => $onDelta, 'raw' => $raw];
        $limit = $timeout ?? $this->hostCallTimeout;
        $deadline = microtime(true) + $limit;
        try {
            $this->sendFrame(['jsonrpc' => '2.0', 'id' => $id, 'method' => $method, 'params' => $params]);
            while (true) {
                if (isset($this->responses[$id])) {
                    $frame = $this->responses[$id];
                    if (isset($frame->error) && is_object($frame->error)) {
                        throw RpcException::fromWire($frame->error);
                    }
                    return $raw ? ($frame->result ?? null) : Toml::toArray($frame->result ?? null);
                }
                if ($this->shuttingDown) {
                    throw new HostCallException("{$method} failed: plugin is shutting down");
                }
                $left = $deadline - microtime(true);
                if ($left <= 0) {
                    throw new HostCallTimeoutException(sprintf('host did not answer %s within %d ms', $method, (int) round($limit * 1000)));
                }
                $this->pump($left, true);
            }
        } finally {
            unset($this->pending[$id], $this->responses[$id]);
        }
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

    private function onBadLine(string $kind, string $preview): void
    {
        $this->log("dropped a bad line from the host ({$kind})" . ($preview !== '' ? ": {$preview}" : ''));
        // An over-size line is only logged (CONTRACT: logged and dropped); other bad lines get a parse error with id null.
        if ($kind !== 'too_large') {
            $this->replyError(null, ErrorCodes::PARSE_ERROR, "parse error ({$kind})");
        }
    }

    private function route(mixed $v): void
    {
        if (!$v instanceof \stdClass || ($v->jsonrpc ?? null) !== '2.0') {
            $id = $v instanceof \stdClass && (is_int($v->id ?? null) || is_string($v->id ?? null)) ? $v->id : null;
            $this->replyError($id, ErrorCodes::INVALID_REQUEST, 'invalid request: not a JSON-RPC 2.0 object');
            return;
        }
        if (!property_exists($v, 'method')) {
            // A response to one of our host calls; one we no longer wait for (timed out) is dropped.
            $id = $v->id ?? null;
            if (is_int($id) && isset($this->pending[$id])) {
                $this->responses[$id] = $v;
            } else {
                $this->log('response to unknown request id ' . json_encode($id) . ' ignored');
            }
            return;
        }
        $hasId = property_exists($v, 'id');
        if (!is_string($v->method)) {
            if ($hasId) {
                $this->replyError(self::wireId($v->id), ErrorCodes::INVALID_REQUEST, 'invalid request: method must be a string');
            }
            return;
        }
        $hasParams = property_exists($v, 'params');
        $params = $hasParams ? $v->params : null;
        if (!$hasId) {
            $this->onNotification($v->method, $params);
            return;
        }
        $this->onRequest(self::wireId($v->id), $v->method, $hasParams, $params);
    }

    private function onRequest(int|string|null $id, string $method, bool $hasParams, mixed $params): void
    {
        if ($this->shuttingDown && $method !== 'shutdown') {
            $this->replyError($id, ErrorCodes::INTERNAL_ERROR, 'plugin is shutting down');
            return;
        }
        switch ($method) {
            case 'initialize':
                if ($hasParams && !$params instanceof \stdClass) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'initialize params must be an object ({nexo_version} or {})');
                    return;
                }
                if ($params instanceof \stdClass && property_exists($params, 'nexo_version') && !is_string($params->nexo_version)) {
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
                if (!$params instanceof \stdClass || !property_exists($params, 'value')) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'plugin.configure params must be {value}');
                    return;
                }
                $this->enqueueRequest(['configure', $id, Toml::toArray($params->value)]);
                return;
            case 'shutdown':
                if ($hasParams && !$params instanceof \stdClass) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'shutdown params must be {reason}');
                    return;
                }
                $reason = $params instanceof \stdClass && is_string($params->reason ?? null) ? $params->reason : 'shutdown requested';
                $this->shutdownReplies[] = $id;
                $this->beginShutdown($reason);
                return;
            case 'tool.invoke':
                $args = $params instanceof \stdClass ? ($params->args ?? new \stdClass()) : null;
                if (!$params instanceof \stdClass || !is_string($params->tool_name ?? null) || !$args instanceof \stdClass) {
                    $this->replyError($id, ErrorCodes::INVALID_PARAMS, 'tool.invoke params must be {plugin_id, tool_name, args, agent_id}');
                    return;
                }
                if ($this->onTool === null) {
                    $this->replyError($id, ErrorCodes::METHOD_NOT_FOUND, 'this plugin has no tool handler');
                    return;
                }
                $inv = new ToolInvocation(
                    is_string($params->plugin_id ?? null) ? $params->plugin_id : $this->pluginId,
                    $params->tool_name,
                    Toml::toArray($args),
                    is_string($params->agent_id ?? null) ? $params->agent_id : null,
                );
                $this->enqueueRequest(['tool', $id, $inv]);
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

    private function onNotification(string $method, mixed $params): void
    {
        if ($method === 'broker.event') {
            if (!$params instanceof \stdClass || !($params->event ?? null) instanceof \stdClass) {
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
            $event = Event::fromWire($params->event);
            $topic = is_string($params->topic ?? null) ? $params->topic : $event->topic;
            $sub = $params->subscriber_id ?? null;
            $this->queuedEvents++;
            $this->work->enqueue(['event', $topic, $event, is_string($sub) || is_int($sub) ? (string) $sub : null]);
            return;
        }
        if ($method === 'llm.complete.delta' && $params instanceof \stdClass) {
            $rid = $params->request_id ?? null;
            $rid = is_string($rid) && ctype_digit($rid) ? (int) $rid : $rid;
            $call = is_int($rid) ? ($this->pending[$rid] ?? null) : null;
            if ($call !== null && $call['onDelta'] !== null) {
                try {
                    $chunk = $params->chunk ?? null;
                    ($call['onDelta'])($call['raw'] ? $chunk : Toml::toArray($chunk));
                } catch (\Throwable $e) {
                    $this->log("onDelta handler failed: {$e->getMessage()}");
                }
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
            if ($this->shuttingDown) {
                if ($this->work->isEmpty()) {
                    return;
                }
                if (microtime(true) - $this->shutdownStartedAt > $this->drainTimeout) {
                    $this->abandonQueuedWork();
                    return;
                }
                $this->processNext();
                continue;
            }
            if (!$this->work->isEmpty()) {
                $this->processNext();
                $this->runDueTimers();
                $this->pump(0.0);
                continue;
            }
            if ($this->runDueTimers()) {
                continue;
            }
            $this->pump($this->untilNextTimer());
        }
    }

    private function processNext(): void
    {
        $item = $this->work->dequeue();
        switch ($item[0]) {
            case 'event':
                $this->queuedEvents--;
                $this->handleEvent($item[1], $item[2], $item[3]);
                return;
            case 'configure':
                $this->queuedRequests--;
                try {
                    if ($this->onConfigure !== null) {
                        ($this->onConfigure)($item[2]);
                    }
                    $this->reply($item[1], ['ok' => true]);
                } catch (\Throwable $e) {
                    $this->replyError($item[1], ErrorCodes::INVALID_PARAMS, "configuration refused: {$e->getMessage()}");
                }
                return;
            case 'tool':
                $this->queuedRequests--;
                try {
                    $this->reply($item[1], ($this->onTool)($item[2], new ToolContext($this->broker, $this)));
                } catch (ToolException $e) {
                    $this->replyError($item[1], $e->getCode(), $e->getMessage(), $e->getData());
                } catch (\Throwable $e) {
                    // Only typed tool errors choose their code; anything else (a host call's error included) is -33403.
                    $this->replyError($item[1], ErrorCodes::TOOL_EXECUTION_FAILED, $e->getMessage() !== '' ? $e->getMessage() : get_class($e));
                }
                return;
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
        } catch (RpcException $e) {
            $payload = ['error' => $e->toArray()];
        } catch (\Throwable $e) {
            $payload = ['error' => ['code' => ErrorCodes::TOOL_EXECUTION_FAILED, 'message' => $e->getMessage()]];
        }
        $out = reply_topic($topic);
        $this->broker->publish($out, Event::new($out, $this->pluginId, $payload, $event->sessionId, $event->correlationId ?? $event->id));
    }

    private function abandonQueuedWork(): void
    {
        $left = count($this->work);
        $this->log("{$left} queued item(s) still waiting after " . (int) ($this->drainTimeout * 1000) . ' ms; shutting down anyway');
        while (!$this->work->isEmpty()) {
            $item = $this->work->dequeue();
            if ($item[0] !== 'event') {
                $this->replyError($item[1], ErrorCodes::INTERNAL_ERROR, 'plugin is shutting down');
            }
        }
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
            try {
                ($t['fn'])($this->broker);
            } catch (\Throwable $e) {
                $this->log("timer failed: {$e->getMessage()}");
            }
            if ($this->shuttingDown) {
                break;
            }
        }
        return $ran;
    }

    private function untilNextTimer(): ?float
    {
        if ($this->timers === []) {
            return null;
        }
        $next = min(array_column($this->timers, 'due'));
        return max(0.0, $next - microtime(true));
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
