<?php

// A minimal test runner (PHPUnit needs Composer and the network; this does not)
// and a harness that drives a real plugin process over stdio, playing the host.

declare(strict_types=1);

final class TestFailure extends \Exception
{
}

/** @var list<array{string, callable}> */
$GLOBALS['__tests'] = [];

function test(string $name, callable $fn): void
{
    $GLOBALS['__tests'][] = [$name, $fn];
}

function check(bool $condition, string $message = 'expected true'): void
{
    if (!$condition) {
        throw new TestFailure($message);
    }
}

function same(mixed $expected, mixed $actual, string $message = ''): void
{
    if ($expected !== $actual) {
        throw new TestFailure(($message !== '' ? "{$message}: " : '') . 'expected ' . var_export($expected, true) . ', got ' . var_export($actual, true));
    }
}

/** @param class-string<\Throwable> $class */
function throws(string $class, callable $fn, string $messagePattern = ''): \Throwable
{
    try {
        $fn();
    } catch (\Throwable $e) {
        if (!$e instanceof $class) {
            throw new TestFailure("expected {$class}, got " . get_class($e) . ": {$e->getMessage()}");
        }
        if ($messagePattern !== '' && preg_match($messagePattern, $e->getMessage()) !== 1) {
            throw new TestFailure("message '{$e->getMessage()}' does not match {$messagePattern}");
        }
        return $e;
    }
    throw new TestFailure("expected {$class}, nothing was thrown");
}

/** Run every registered test (optionally only names containing $filter); exit 1 if any failed. */
function run_tests(?string $filter): never
{
    $passed = $failed = 0;
    foreach ($GLOBALS['__tests'] as [$name, $fn]) {
        if ($filter !== null && !str_contains($name, $filter)) {
            continue;
        }
        $t0 = microtime(true);
        try {
            $fn();
            $passed++;
            printf("ok   %s (%d ms)\n", $name, (microtime(true) - $t0) * 1000);
        } catch (\Throwable $e) {
            $failed++;
            printf("FAIL %s\n     %s: %s\n     at %s:%d\n", $name, get_class($e), $e->getMessage(), $e->getFile(), $e->getLine());
        } finally {
            PluginProcess::killAll();
        }
    }
    printf("%d passed, %d failed\n", $passed, $failed);
    exit($failed > 0 ? 1 : 0);
}

/** Drives a real plugin child over stdio. Frames are kept decoded as arrays and as raw lines. */
final class PluginProcess
{
    /** @var list<self> */
    private static array $live = [];

    /** @var list<string> ids of the events sent with event(), in order */
    public array $sentEvents = [];
    /** @var list<array> */
    public array $frames = [];
    /** @var list<string> raw stdout lines, in order */
    public array $lines = [];
    /** @var list<string> stdout lines that were not JSON */
    public array $stray = [];
    public string $stderr = '';
    /** @var resource */
    private $proc;
    /** @var array<int, resource> */
    private array $pipes;
    private string $outBuf = '';
    private int $nextId = 1;
    private ?int $exitCode = null;
    private bool $stderrOpen = true;

    /** @param list<string> $command argv, run without a shell */
    public function __construct(array $command, array $env = [], ?string $cwd = null)
    {
        $proc = proc_open($command, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, $cwd, $env + getenv());
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->proc = $proc;
        $this->pipes = $pipes;
        // Non-blocking both ways: a test writing a burst keeps reading the plugin's output meanwhile, so neither side's pipe stalls the other.
        stream_set_blocking($pipes[0], false);
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
        self::$live[] = $this;
    }

    public static function php(string $script, array $args = [], array $env = [], ?string $cwd = null): self
    {
        return new self([PHP_BINARY, $script, ...$args], $env, $cwd);
    }

    public static function killAll(): void
    {
        foreach (self::$live as $p) {
            $p->kill();
        }
        self::$live = [];
    }

    public function kill(): void
    {
        if (is_resource($this->proc)) {
            @proc_terminate($this->proc, 9);
            foreach ($this->pipes as $pipe) {
                if (is_resource($pipe)) {
                    fclose($pipe);
                }
            }
            proc_close($this->proc);
        }
    }

    public function write(string $raw): void
    {
        for ($off = 0; $off < strlen($raw);) {
            $n = fwrite($this->pipes[0], substr($raw, $off));
            if ($n === false) {
                throw new \RuntimeException('plugin stdin closed');
            }
            $off += $n;
            if ($n === 0) {
                $this->poll(0.01); // the pipe is full: keep reading its output so it can make progress
            }
        }
    }

    public function send(array $frame): void
    {
        $this->write(json_encode($frame, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION) . "\n");
    }

    public function notify(string $method, mixed $params): void
    {
        $this->send(['jsonrpc' => '2.0', 'method' => $method, 'params' => $params]);
    }

    public function event(string $topic, mixed $payload, array $extra = []): void
    {
        $ev = array_replace(['id' => 'e-' . $this->nextId++, 'timestamp' => '2026-01-01T00:00:00.000Z', 'topic' => $topic, 'source' => 'test', 'session_id' => null, 'payload' => $payload], $extra);
        $this->sentEvents[] = $ev['id'];
        $this->notify('broker.event', ['topic' => $topic, 'event' => $ev]);
    }

    public function sendRequest(string $method, mixed $params = null): int
    {
        $id = 1000 + $this->nextId++;
        $frame = ['jsonrpc' => '2.0', 'id' => $id, 'method' => $method];
        if ($params !== null) {
            $frame['params'] = $params;
        }
        $this->send($frame);
        return $id;
    }

    public function request(string $method, mixed $params = null): array
    {
        return $this->replyTo($this->sendRequest($method, $params));
    }

    public function tool(string $name, mixed $args): array
    {
        return $this->request('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => $name, 'args' => $args, 'agent_id' => null]);
    }

    public function replyTo(int $id): array
    {
        return $this->waitFor("reply to {$id}", fn (array $f) => ($f['id'] ?? null) === $id && (array_key_exists('result', $f) || array_key_exists('error', $f)));
    }

    public function waitFor(string $what, callable $pred, float $timeout = 20.0): array
    {
        $deadline = microtime(true) + $timeout;
        $checked = 0;
        while (true) {
            for (; $checked < count($this->frames); $checked++) {
                if ($pred($this->frames[$checked])) {
                    return $this->frames[$checked];
                }
            }
            if (microtime(true) > $deadline) {
                throw new TestFailure("timed out waiting for {$what}; stderr:\n{$this->stderr}");
            }
            $this->poll(0.02);
        }
    }

    public function waitUntil(string $what, callable $cond, float $timeout = 20.0): void
    {
        $deadline = microtime(true) + $timeout;
        while (!$cond($this)) {
            if (microtime(true) > $deadline) {
                throw new TestFailure("timed out waiting for {$what}; stderr:\n{$this->stderr}");
            }
            $this->poll(0.02);
        }
    }

    /** @return list<array> */
    public function published(): array
    {
        return array_values(array_filter($this->frames, fn (array $f) => ($f['method'] ?? null) === 'broker.publish'));
    }

    public function closeStdin(): void
    {
        if (is_resource($this->pipes[0])) {
            fclose($this->pipes[0]);
        }
    }

    public function signal(int $sig): void
    {
        proc_terminate($this->proc, $sig);
    }

    /** The exit code once the process exited within `$limit` seconds (null if a signal ended it). */
    public function exitCode(float $limit): ?int
    {
        $deadline = microtime(true) + $limit;
        while (true) {
            $this->poll(0.01);
            $s = proc_get_status($this->proc);
            if (!$s['running']) {
                // proc_get_status reports the exit code once; keep it.
                $this->exitCode ??= $s['signaled'] ? null : $s['exitcode'];
                return $this->exitCode;
            }
            if (microtime(true) > $deadline) {
                throw new TestFailure("plugin did not exit within {$limit} s; stderr:\n{$this->stderr}");
            }
        }
    }

    /** All of stderr, once the plugin closed it. */
    public function finalStderr(): string
    {
        $this->waitUntil('stderr closed', fn () => !$this->stderrOpen, 5.0);
        return $this->stderr;
    }

    public function poll(float $timeout): void
    {
        $read = [];
        if (is_resource($this->pipes[1]) && !feof($this->pipes[1])) {
            $read[] = $this->pipes[1];
        }
        if ($this->stderrOpen) {
            $read[] = $this->pipes[2];
        }
        if ($read === []) {
            usleep((int) ($timeout * 1e6));
            return;
        }
        $w = $e = null;
        if (@stream_select($read, $w, $e, 0, (int) ($timeout * 1e6)) < 1) {
            return;
        }
        foreach ($read as $r) {
            $chunk = (string) fread($r, 1 << 20);
            if ($r === $this->pipes[2]) {
                $this->stderr .= $chunk;
                if ($chunk === '' && feof($r)) {
                    $this->stderrOpen = false;
                }
                continue;
            }
            $this->outBuf .= $chunk;
            while (($nl = strpos($this->outBuf, "\n")) !== false) {
                $line = substr($this->outBuf, 0, $nl);
                $this->outBuf = substr($this->outBuf, $nl + 1);
                if (trim($line) === '') {
                    continue;
                }
                $this->lines[] = $line;
                $f = json_decode($line, true);
                if (is_array($f)) {
                    $this->frames[] = $f;
                } else {
                    $this->stray[] = $line; // the stdout guard should make this impossible
                }
            }
        }
    }
}
