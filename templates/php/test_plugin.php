<?php

// Runs the plugin (main.php) as the daemon would: JSON-RPC over its stdin/stdout.
// `php test_plugin.php` (exit 1 on failure); `nexo plugin test .` runs the full conformance kit.

declare(strict_types=1);

preg_match('/^id\s*=\s*"([^"]+)"/m', file_get_contents(__DIR__ . '/nexo-plugin.toml'), $m);
$id = $m[1];

$proc = proc_open([PHP_BINARY, 'main.php'], [['pipe', 'r'], ['pipe', 'w'], ['file', '/dev/null', 'w']], $pipes, __DIR__);
$send = function (array $frame) use ($pipes): void {
    fwrite($pipes[0], json_encode($frame) . "\n");
};
$next = function (callable $pred) use ($pipes): array {
    while (($line = fgets($pipes[1])) !== false) {
        $frame = json_decode($line, true, 512, JSON_THROW_ON_ERROR); // every stdout line must be a JSON frame
        if ($pred($frame)) {
            return $frame;
        }
    }
    throw new RuntimeException('the plugin closed stdout');
};
$check = function (bool $ok, string $what): void {
    if (!$ok) {
        fwrite(STDERR, "FAIL: {$what}\n");
        exit(1);
    }
};

$send(['jsonrpc' => '2.0', 'id' => 1, 'method' => 'initialize', 'params' => ['nexo_version' => '0.1.0']]);
$init = $next(fn ($f) => ($f['id'] ?? null) === 1);
$check($init['result']['manifest']['plugin']['id'] === $id, 'initialize returns the manifest');

$topic = "plugin.outbound.{$id}";
$event = ['id' => 'e-1', 'timestamp' => '2026-01-01T00:00:00Z', 'topic' => $topic, 'source' => 'test', 'session_id' => null, 'payload' => ['text' => 'hi']];
$send(['jsonrpc' => '2.0', 'method' => 'broker.event', 'params' => ['topic' => $topic, 'event' => $event]]);
$pub = $next(fn ($f) => ($f['method'] ?? null) === 'broker.publish');
$check($pub['params']['topic'] === "plugin.inbound.{$id}", 'the echo comes back on the inbound topic');
$check($pub['params']['event']['payload'] === ['text' => 'hi'], 'with the same payload');

$send(['jsonrpc' => '2.0', 'id' => 2, 'method' => 'shutdown', 'params' => ['reason' => 'test']]);
$check($next(fn ($f) => ($f['id'] ?? null) === 2)['result'] === ['ok' => true], 'shutdown is acknowledged');
fclose($pipes[0]);
fclose($pipes[1]);
$check(proc_close($proc) === 0, 'the plugin exits 0');
echo "ok: initialize, echo and a clean shutdown\n";
