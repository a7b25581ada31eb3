<?php

// The PHP SDK's tests: unit tests, then the SDK under real child processes
// (tests/fixtures/kitchen_sink.php, examples/echo-php, templates/php).
// Run: php sdk/php/tests/run.php [name-filter]. Exit status 1 on any failure.

declare(strict_types=1);

require __DIR__ . '/../autoload.php';
require __DIR__ . '/harness.php';

use Nexo\Plugin\Sdk\ErrorCodes;
use Nexo\Plugin\Sdk\Event;
use Nexo\Plugin\Sdk\LineDecoder;
use Nexo\Plugin\Sdk\ManifestException;
use Nexo\Plugin\Sdk\PluginAdapter;
use Nexo\Plugin\Sdk\RpcException;
use Nexo\Plugin\Sdk\StdoutGuard;
use Nexo\Plugin\Sdk\Tool;
use Nexo\Plugin\Sdk\Toml;
use Nexo\Plugin\Sdk\TomlException;
use Nexo\Plugin\Sdk\WireError;
use Nexo\Plugin\Sdk\ToolDeniedException;
use Nexo\Plugin\Sdk\ToolExecutionFailedException;
use Nexo\Plugin\Sdk\ToolInvalidArgumentsException;
use Nexo\Plugin\Sdk\ToolNotFoundException;
use Nexo\Plugin\Sdk\ToolUnavailableException;

use function Nexo\Plugin\Sdk\now_rfc3339;
use function Nexo\Plugin\Sdk\reply_topic;
use function Nexo\Plugin\Sdk\state_dir;
use function Nexo\Plugin\Sdk\text_result;
use function Nexo\Plugin\Sdk\tool_topic;
use function Nexo\Plugin\Sdk\uuid7;

const ROOT = __DIR__ . '/../../..';
const SINK = __DIR__ . '/fixtures/kitchen_sink.php';
const SESSION = '0190d2a4-7b1c-7cc1-9d3e-2f4a5b6c7d8e';

/** Deep equality of decoded JSON: key order ignored, 1 == 1.0 (smol-toml's JSON cannot tell them apart). */
function json_equal(mixed $a, mixed $b): bool
{
    if ($a instanceof \stdClass) {
        $a = get_object_vars($a);
        ksort($a);
    }
    if ($b instanceof \stdClass) {
        $b = get_object_vars($b);
        ksort($b);
    }
    if (is_array($a) && is_array($b)) {
        if (array_keys($a) !== array_keys($b)) {
            return false;
        }
        foreach ($a as $k => $v) {
            if (!json_equal($v, $b[$k])) {
                return false;
            }
        }
        return true;
    }
    if ((is_int($a) || is_float($a)) && (is_int($b) || is_float($b))) {
        return $a == $b;
    }
    return $a === $b;
}

function started(array $args = [], array $env = []): PluginProcess
{
    $p = PluginProcess::php(SINK, $args, $env);
    $init = $p->request('initialize', ['nexo_version' => '0.1.0']);
    check(isset($init['result']), json_encode($init));
    return $p;
}

function publishes(PluginProcess $p, int $n): callable
{
    return fn (PluginProcess $q) => count($q->published()) >= $n;
}

// ---- TOML --------------------------------------------------------------------------

test('toml - every valid fixture parses to what smol-toml (the host\'s parser) gives', function (): void {
    $files = glob(__DIR__ . '/toml/valid/*.toml');
    check(count($files) >= 5, 'fixtures present');
    foreach ($files as $f) {
        $expected = json_decode(file_get_contents(substr($f, 0, -5) . '.json'));
        $got = Toml::parse(file_get_contents($f));
        check(json_equal($expected, $got), basename($f) . ': ' . json_encode($got));
    }
});

test('toml - every invalid fixture is refused with its line and column', function (): void {
    $files = glob(__DIR__ . '/toml/invalid/*.toml');
    check(count($files) >= 20, 'fixtures present');
    foreach ($files as $f) {
        $e = throws(TomlException::class, fn () => Toml::parse(file_get_contents($f)), '/^line \d+, column \d+: /');
        check($e->tomlLine >= 1, basename($f));
    }
});

test('toml - tables stay objects (empty ones encode as {}), toArray gives arrays', function (): void {
    $v = Toml::parse("[plugin]\nid = 'x'\n[plugin.extends]\n[[plugin.channels.register]]\nkind = 'x'\n");
    same('{"plugin":{"id":"x","extends":{},"channels":{"register":[{"kind":"x"}]}}}', json_encode($v));
    same(['plugin' => ['id' => 'x', 'extends' => [], 'channels' => ['register' => [['kind' => 'x']]]]], Toml::toArray($v));
});

test('toml - dates and times are kept as their text; 64-bit bounds, inf and nan', function (): void {
    $v = Toml::parse("a = 1979-05-27T07:32:00Z\nb = 1979-05-27 07:32:00.999-07:00\nc = 1979-05-27\nd = 07:32:00\ne = 1979-05-27T07:32\n"
        . "max = 9223372036854775807\nmin = -9223372036854775808\ni = inf\nn = -inf\nnan = nan\nhex = 0x7FFFFFFFFFFFFFFF\n");
    same('1979-05-27T07:32:00Z', $v->a);
    same('1979-05-27 07:32:00.999-07:00', $v->b);
    same('1979-05-27', $v->c);
    same('07:32:00', $v->d);
    same('1979-05-27T07:32', $v->e);
    same(PHP_INT_MAX, $v->max);
    same(PHP_INT_MIN, $v->min);
    same(INF, $v->i);
    same(-INF, $v->n);
    check(is_nan($v->nan));
    same(PHP_INT_MAX, $v->hex);
    throws(TomlException::class, fn () => Toml::parse("h = 0x8000000000000000\n"), '/64 bits/');
    throws(TomlException::class, fn () => Toml::parse("t = 25:00:00\n"), '/invalid time/');
});

test('toml - CRLF line endings and a missing final newline', function (): void {
    $v = Toml::parse("[a]\r\nb = \"\"\"x\r\ny\"\"\"\r\nc = 1");
    same("x\ny", $v->a->b);
    same(1, $v->a->c);
    throws(TomlException::class, fn () => Toml::parse("a = \"\xff\"\n"), '/UTF-8/');
});

// ---- events, ids, helpers ----------------------------------------------------------

test('event - Event::new fills all six fields; the wire form omits unset optionals', function (): void {
    $e = Event::new('a.b', 'me', ['x' => 1]);
    same(null, $e->sessionId);
    check(preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $e->id) === 1, $e->id);
    check(preg_match('/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/', $e->timestamp) === 1, $e->timestamp);
    same(['id', 'timestamp', 'topic', 'source', 'session_id', 'payload'], array_keys($e->jsonSerialize()));
    $sid = '0190d2a4-7b1c-7cc1-9d3e-2f4a5b6c7d8e';
    $f = Event::new('a.b', 'me', new \stdClass(), sessionId: $sid, correlationId: 'c', metadata: ['k' => 1]);
    same('{"topic":"a.b","source":"me","session_id":"' . $sid . '","payload":{},"correlation_id":"c","metadata":{"k":1}}', json_encode(array_diff_key($f->jsonSerialize(), ['id' => 1, 'timestamp' => 1])));
    same($f->jsonSerialize(), $f->toJson());
});

test('event - for an upstream host a non-UUID session id goes out as its v5 UUID with the original in metadata; Nexo takes it as is', function (): void {
    $f = Event::new('a.b', 'me', [], sessionId: 'chat-42', metadata: ['k' => 1]);
    Event::$stringSessionIds = false;
    try {
        $wire = $f->toJson();
        same(Event::sessionUuid('chat-42'), $wire['session_id']);
        check(preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $wire['session_id']) === 1, $wire['session_id']);
        same(['k' => 1, 'session_id' => 'chat-42'], $wire['metadata']);
        same('chat-42', $f->sessionId, 'the event itself keeps it');
        same('chat-42', Event::fromWire($wire)->sessionId, 'read back, the original returns');
        $odd = new Event('not-a-uuid', 't', 'a.b', 'me', null, []);
        check($odd->toJson()['id'] !== 'not-a-uuid', 'an id an upstream host cannot parse is replaced');
        // The same derivation as the other SDKs: uuid5(NAMESPACE_URL, "nexo:session:<id>"), value from Python's uuid module.
        same('95cba63a-98b5-5bb9-982c-841bd55ae4a8', Event::sessionUuid('chat-42'));
        Event::$stringSessionIds = true;
        same(['chat-42', ['k' => 1]], [$f->toJson()['session_id'], $f->toJson()['metadata']]);
    } finally {
        Event::$stringSessionIds = null;
    }
});

test('event - fromJson needs a string topic; payloads and metadata arrive as arrays', function (): void {
    throws(WireError::class, fn () => Event::fromJson(['source' => 'x']), '/topic/');
    $e = Event::fromJson(['topic' => 't', 'source' => 's', 'payload' => json_decode('{"a":{"b":[1]},"o":{}}'), 'metadata' => json_decode('{"m":{"n":1}}')]);
    same(['a' => ['b' => [1]], 'o' => []], $e->payload);
    same(['m' => ['n' => 1]], $e->metadata);
});

test('event - fromWire is lenient and payloadArray converts objects', function (): void {
    $e = Event::fromWire(json_decode('{"topic":"t","payload":{"a":{"b":[1]}},"session_id":"s","correlation_id":"c"}'));
    same('t', $e->topic);
    same('s', $e->sessionId);
    same('c', $e->correlationId);
    same(36, strlen($e->id));
    same(['a' => ['b' => [1]]], $e->payloadArray());
    same(['a' => ['b' => [1]]], $e->payload, 'payload objects arrive as arrays, as in the reference SDK');
    $bare = Event::fromWire([]);
    same(null, $bare->payload);
    same(null, $bare->sessionId);
});

test('event - uuid7 sorts by time; now_rfc3339 is UTC with milliseconds', function (): void {
    $a = uuid7();
    usleep(2000);
    check($a < uuid7(), 'later ids sort after');
    $now = now_rfc3339();
    check(abs(strtotime($now) - time()) < 5, $now);
    check(str_ends_with($now, 'Z'));
});

test('tools - typed tool exceptions carry their contract codes and data', function (): void {
    $nf = new ToolNotFoundException('x');
    same([-33401, 'tool not found: x'], [$nf->getCode(), $nf->getMessage()]);
    check($nf instanceof \Nexo\Plugin\Sdk\ToolNotFound && $nf instanceof \Nexo\Plugin\Sdk\ToolError && $nf instanceof \Nexo\Plugin\Sdk\PluginError, 'old names are the reference classes');
    $bad = new ToolInvalidArgumentsException('bad', [['path' => '/a']]);
    same([-33402, 'invalid argument: bad', ['details' => [['path' => '/a']]]], [$bad->getCode(), $bad->getMessage(), $bad->errorData()]);
    same(-33403, (new ToolExecutionFailedException('boom'))->getCode());
    same(['x' => 1], (new ToolExecutionFailedException('boom', ['x' => 1]))->errorData(), 'Nexo addition: data on -33403');
    same([-33404, ['retry_after_ms' => 5]], [(new ToolUnavailableException('busy', 5))->getCode(), (new ToolUnavailableException('busy', 5))->errorData()]);
    same(null, (new ToolUnavailableException('busy'))->errorData());
    same([-33405, 'denied: no'], [(new ToolDeniedException('no'))->getCode(), (new ToolDeniedException('no'))->getMessage()]);
    $host = RpcException::fromWire(json_decode('{"message": 5}'));
    same([ErrorCodes::INTERNAL_ERROR, '5', 'rpc error -32603: 5'], [$host->getCode(), $host->serverMessage, $host->getMessage()]);
    check($host instanceof \Nexo\Plugin\Sdk\RpcServerError && $host instanceof \Nexo\Plugin\Sdk\RpcError);
    same(['content' => [['type' => 'text', 'text' => 'hi']], 'is_error' => false], text_result('hi'));
    same('plugin.tool.x.y.reply', reply_topic('plugin.tool.x.y'));
    same('plugin.tool.x.y', tool_topic('x.y'));
});

test('state dir - NEXO_PLUGIN_STATE_DIR wins, else ./.nexo-state/<id>; created', function (): void {
    $tmp = sys_get_temp_dir() . '/nexo-php-state-' . getmypid();
    putenv("NEXO_PLUGIN_STATE_DIR={$tmp}/a");
    same("{$tmp}/a", state_dir());
    check(is_dir("{$tmp}/a"));
    putenv('NEXO_PLUGIN_STATE_DIR');
    $cwd = getcwd();
    mkdir("{$tmp}/cwd", 0o777, true);
    chdir("{$tmp}/cwd");
    try {
        same("{$tmp}/cwd/.nexo-state/poller", state_dir('poller'));
        check(is_dir("{$tmp}/cwd/.nexo-state/poller"));
    } finally {
        chdir($cwd);
        exec('rm -rf ' . escapeshellarg($tmp));
    }
});

// ---- framing -----------------------------------------------------------------------

function decode_all(array $chunks, int $max): array
{
    $got = [];
    $d = new LineDecoder($max, function (mixed $v, string $line) use (&$got): void {
        $got[] = ['ok', json_encode($v)];
        $GLOBALS['__last_line'] = $line;
    }, function (string $kind, string $preview) use (&$got): void {
        $got[] = [$kind, $preview];
    });
    foreach ($chunks as $c) {
        $d->push($c);
    }
    $d->end();
    return $got;
}

test('framing - lines split across chunks, CRLF and blank lines', function (): void {
    same([['ok', '{"a":1}'], ['ok', '[2]'], ['ok', '{"b":3}']], decode_all(["{\"a\":", "1}\r\n\n  \n[2]\n{\"b\"", ':3}'], 1024));
});

test('framing - bad lines are reported and decoding continues', function (): void {
    same([['invalid_json', 'not json'], ['invalid_utf8', ''], ['ok', '{"ok":true}']], decode_all(["not json\n\xff\xfe\n{\"ok\":true}\n"], 1024));
});

test('framing - an over-limit line is reported once and skipped without buffering', function (): void {
    same([['too_large', ''], ['ok', '[1]']], decode_all(['{"x":"0123456789', '0123456789', "still the same line\n[1]\n"], 16));
    same([['ok', '"' . str_repeat('a', 14) . '"']], decode_all(['"' . str_repeat('a', 14) . "\"\n"], 16), 'exactly at the limit');
    same([['too_large', '']], decode_all(['"' . str_repeat('a', 15) . "\"\n"], 16), 'one byte over');
});

test('framing - UTF-8 split inside a character survives; objects decode to arrays, the line goes along', function (): void {
    $line = "{\"s\":\"😀 日本語\",\"o\":{},\"l\":[]}\n";
    same([['ok', '{"s":"\ud83d\ude00 \u65e5\u672c\u8a9e","o":[],"l":[]}']], decode_all([substr($line, 0, 8), substr($line, 8)], 1024));
    same(rtrim($line), $GLOBALS['__last_line']);
});

test('stdout guard - output lines get the prefix; a partial line waits for its newline', function (): void {
    $file = tempnam(sys_get_temp_dir(), 'guard');
    $code = 'require ' . var_export(realpath(__DIR__ . '/../autoload.php'), true) . '; Nexo\Plugin\Sdk\StdoutGuard::install(); echo "a\nb"; print "c\n"; echo "tail";';
    exec(escapeshellarg(PHP_BINARY) . ' -r ' . escapeshellarg($code) . ' 2>' . escapeshellarg($file), $stdout, $status);
    same([], $stdout, 'nothing on stdout');
    same("[stdout-guard] a\n[stdout-guard] bc\n[stdout-guard] tail\n", file_get_contents($file));
    unlink($file);
});

test('adapter - the constructor refuses a manifest without [plugin].id and names a bad option', function (): void {
    throws(ManifestException::class, fn () => new PluginAdapter(manifestToml: "[plugin]\nversion = '1.0.0'\n"), '/no \[plugin\]\.id/');
    throws(ManifestException::class, fn () => new PluginAdapter(manifestToml: 'not = = toml'), '/not valid TOML: line 1, column 7/');
    throws(ManifestException::class, fn () => new PluginAdapter(manifestToml: "[plugin]\nid = 'Bad-Id'\n"), '/must match/');
    throws(\InvalidArgumentException::class, fn () => new PluginAdapter(['manifestToml' => "[plugin]\nid = 'x'\n", 'onEvnt' => fn () => null]), "/option 'onEvnt' is not known/");
    throws(\Nexo\Plugin\Sdk\PluginError::class, fn () => new PluginAdapter(['onEvent' => fn () => null]), '/manifestToml/');
    throws(\Nexo\Plugin\Sdk\ManifestError::class, fn () => new PluginAdapter(['manifestToml' => "[plugin]\nid = 'x'\n", 'tools' => [new \Nexo\Plugin\Sdk\ToolDef('x_t', 'd')]]), '/no \[plugin\.extends\]\.tools/');
    throws(\Nexo\Plugin\Sdk\ManifestError::class, fn () => new PluginAdapter(['manifestToml' => "[plugin]\nid = 'x'\n[plugin.extends]\ntools = ['x_a']\n", 'tools' => [new \Nexo\Plugin\Sdk\ToolDef('x_b', 'd')]]), '/not in \[plugin\.extends\]\.tools \[x_a\]: x_b/');
    throws(\InvalidArgumentException::class, fn () => new PluginAdapter(manifestToml: "[plugin]\nid = 'x'\n", maxFrameBytes: -1), '/maxFrameBytes must be positive, got -1 \(int\)/');
    $a = new PluginAdapter(manifestToml: "[plugin]\nid = 'x'\nversion = '2.0.0'\n");
    same('x', $a->pluginId);
    same('2.0.0', $a->manifest['plugin']['version']);
});

// ---- the SDK under a real process --------------------------------------------------

test('process - initialize returns the whole manifest, server_version default and the tool catalogue', function (): void {
    $p = PluginProcess::php(SINK);
    $r = $p->request('initialize', new \stdClass());
    same('sink', $r['result']['manifest']['plugin']['id']);
    same(['add', 'host', 'fail'], $r['result']['manifest']['plugin']['extends']['tools']);
    same('sink-1.2.3', $r['result']['server_version']);
    same(['add', 'host', 'fail'], array_column($r['result']['tools'], 'name'));
    same(['type' => 'object'], $r['result']['tools'][2]['input_schema']);
    $q = PluginProcess::php(SINK, ['no-tools']);
    $r2 = $q->request('initialize', ['nexo_version' => '0.1.0']);
    check(!array_key_exists('tools', $r2['result']), 'tools omitted when none');
    same(-32601, $q->tool('add', new \stdClass())['error']['code']);
    same(-32602, $q->request('initialize', ['nexo_version' => 5])['error']['code']);
});

test('process - plugin.configure reaches onConfigure; a refusal is an error reply', function (): void {
    $p = started();
    same(['ok' => true], $p->request('plugin.configure', ['value' => ['a' => 1]])['result']);
    $r = $p->request('plugin.configure', ['value' => ['reject' => true]]);
    same(-32602, $r['error']['code']);
    check(str_contains($r['error']['message'], 'rejected on purpose'));
    same(-32602, $p->request('plugin.configure', 'nope')['error']['code']);
});

test('process - echo: 1,000 events come back in order with all six fields', function (): void {
    $p = started();
    for ($i = 0; $i < 1000; $i++) {
        $p->event('plugin.outbound.sink', ['i' => $i]);
    }
    $p->waitUntil('1000 publishes', publishes($p, 1000));
    foreach ($p->published() as $i => $f) {
        same('plugin.inbound.sink', $f['params']['topic']);
        same($i, $f['params']['event']['payload']['i']);
        check(!array_key_exists('id', $f), 'publish is a notification');
    }
    $keys = array_keys($p->published()[0]['params']['event']);
    sort($keys);
    same(['correlation_id', 'id', 'payload', 'session_id', 'source', 'timestamp', 'topic'], $keys);
    foreach ($p->published() as $i => $f) {
        same($p->sentEvents[$i], $f['params']['event']['correlation_id'], 'a reply correlates to the event its handler ran for');
    }
});

test('process - UTF-8 payloads come back byte-exact (objects as arrays, as in the reference SDK); a 256 KiB payload passes', function (): void {
    $p = started();
    $tricky = ['s' => "emoji 😀🎉 CJK 日本語中文 한국어 control \u{1}\u{1f}\t\n\"quote\" \\ end", 'o' => new \stdClass(), 'l' => []];
    $p->event('plugin.outbound.sink', $tricky);
    $p->event('plugin.outbound.sink', ['big' => str_repeat('x', 256 * 1024)]);
    $p->waitUntil('two publishes', publishes($p, 2));
    [$a, $b] = $p->published();
    same($tricky['s'], $a['params']['event']['payload']['s']);
    $raw = array_values(array_filter($p->lines, fn ($l) => str_contains($l, 'broker.publish')))[0];
    check(str_contains($raw, '"o":[],"l":[]'), $raw);
    check(str_contains($raw, '😀🎉 CJK 日本語中文 한국어 control \u0001\u001f\t\n'), 'UTF-8 unescaped, control characters escaped');
    same(256 * 1024, strlen($b['params']['event']['payload']['big']));
});

test('process - unknown method -32601, bad params -32602, frames that are not requests dropped unanswered', function (): void {
    $p = started();
    same(-32601, $p->request('no.such.method', new \stdClass())['error']['code']);
    same(-32602, $p->request('tool.invoke', 5)['error']['code']);
    same(-32602, $p->request('tool.invoke', ['nope' => 1])['error']['code']);
    $before = count($p->frames);
    $p->send(['id' => 77, 'method' => 5]);
    $p->write("[1,2]\n");
    $p->send(['id' => 12345, 'result' => []]);
    $p->waitUntil('the drops logged', fn ($q) => str_contains($q->stderr, 'must be an object') && str_contains($q->stderr, 'unknown/expired request id 12345'));
    $p->notify('some.notification', ['x' => 1]);
    $p->request('no.such.method', new \stdClass());
    same($before + 1, count($p->frames), 'only the request got a reply');
});

test('process - a non-JSON line and an over-1-MiB line are logged and the plugin keeps running', function (): void {
    $p = started();
    $p->write("this is not json\n");
    $p->write(str_repeat('y', 1_100_000) . "\n");
    same(-32601, $p->request('no.such.method', new \stdClass())['error']['code']);
    $p->waitUntil('both bad lines logged', fn ($q) => str_contains($q->stderr, 'malformed jsonrpc line') && str_contains($q->stderr, 'exceeds maxFrameBytes'));
    same([], array_values(array_filter($p->frames, fn ($f) => ($f['id'] ?? 0) === null)), 'bad lines are never answered (as in the reference SDKs)');
});

test('process - tool.invoke: result, each typed code, any other throwable is -33403, an oversize reply is -32603', function (): void {
    $p = started();
    same(['content' => [['type' => 'text', 'text' => '5']], 'is_error' => false], $p->tool('add', ['a' => 2, 'b' => 3])['result']);
    foreach (['not_found' => -33401, 'invalid' => -33402, 'failed' => -33403, 'unavailable' => -33404, 'denied' => -33405, 'crash' => -33403, 'type_error' => -33403] as $how => $code) {
        same($code, $p->tool('fail', ['how' => $how])['error']['code'], $how);
    }
    same(['retry_after_ms' => 250], $p->tool('fail', ['how' => 'unavailable'])['error']['data']);
    same(['details' => [['path' => '/a', 'message' => 'required']]], $p->tool('fail', ['how' => 'invalid'])['error']['data']);
    check(str_contains($p->tool('fail', ['how' => 'crash'])['error']['message'], 'plain crash'));
    same(-32603, $p->tool('fail', ['how' => 'big'])['error']['code']);
});

test('process - host calls: memory.recall and llm.complete succeed, fail and time out; streaming deltas arrive first', function (): void {
    $p = started();
    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall', 'query' => 'cats'], 'agent_id' => null]);
    $req = $p->waitFor('memory.recall', fn ($f) => ($f['method'] ?? null) === 'memory.recall');
    same(['agent_id' => 'a1', 'query' => 'cats', 'limit' => 10], $req['params']);
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['entries' => [['id' => 'm1', 'content' => 'cats purr']]]]);
    same(['ids' => ['m1']], $p->replyTo($call)['result']);

    // Named arguments (the reference's option names, as Python's keywords) answer MemoryEntry objects like the options array.
    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall_named', 'query' => 'dogs'], 'agent_id' => null]);
    $req = $p->waitFor('named memory.recall', fn ($f) => ($f['method'] ?? null) === 'memory.recall' && ($f['params']['agent_id'] ?? null) === 'a2');
    same(['agent_id' => 'a2', 'query' => 'dogs', 'limit' => 4], $req['params']);
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['entries' => [['id' => 'm7', 'content' => 'dogs bark'], ['id' => 'm8', 'content' => 'dogs dig']]]]);
    same(['ids' => ['m7', 'm8']], $p->replyTo($call)['result']);
    $r = $p->tool('host', ['call' => 'recall_named', 'query' => 'q', 'timeout_ms' => 200]);
    check(str_contains($r['error']['message'], 'no host reply within 0.2s (memory.recall)'), $r['error']['message']);

    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'complete'], 'agent_id' => null]);
    $req = $p->waitFor('llm.complete', fn ($f) => ($f['method'] ?? null) === 'llm.complete');
    same([4096, 0.7], [$req['params']['max_tokens'], $req['params']['temperature']]);
    check(!array_key_exists('stream', $req['params']), 'a non-streamed llm.complete has no stream member, as in the reference SDKs');
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'error' => ['code' => -32603, 'message' => 'llm not configured']]);
    $r = $p->replyTo($call);
    same(-33403, $r['error']['code']);
    check(str_contains($r['error']['message'], 'llm not configured'));

    $r = $p->tool('host', ['call' => 'complete', 'timeout_ms' => 200]);
    check(str_contains($r['error']['message'], 'no host reply within 0.2s (llm.complete)'), $r['error']['message']);

    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'stream'], 'agent_id' => null]);
    $req = $p->waitFor('streaming request', fn ($f) => ($f['method'] ?? null) === 'llm.complete' && ($f['params']['stream'] ?? null) === true);
    foreach (['Hel', 'lo'] as $chunk) {
        $p->notify('llm.complete.delta', ['request_id' => $req['id'], 'chunk' => $chunk]);
    }
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['finish_reason' => 'stop']]);
    same(['chunks' => ['Hel', 'lo'], 'finish_reason' => 'stop'], $p->replyTo($call)['result']);

    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'publish_acked'], 'agent_id' => null]);
    $req = $p->waitFor('acked publish', fn ($f) => ($f['method'] ?? null) === 'broker.publish' && isset($f['id']));
    same(['acked' => true], $req['params']['event']['payload']);
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['ok' => true]]);
    same(['ok' => true], $p->replyTo($call)['result']);
});

test('process - handlers run concurrently on Fibers: events are handled while another handler waits on the host', function (): void {
    $p = started();
    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall', 'query' => 'q'], 'agent_id' => null]);
    $req = $p->waitFor('memory.recall', fn ($f) => ($f['method'] ?? null) === 'memory.recall');
    for ($i = 0; $i < 5; $i++) {
        $p->event('plugin.outbound.sink', ['i' => $i]);
    }
    $p->waitUntil('five publishes while the tool still waits', publishes($p, 5));
    same([0, 1, 2, 3, 4], array_map(fn ($f) => $f['params']['event']['payload']['i'], $p->published()), 'handlers that do not suspend keep arrival order');
    same(-32601, $p->request('no.such.method', new \stdClass())['error']['code'], 'answered while the handler waits');
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['entries' => []]]);
    same(['ids' => []], $p->replyTo($call)['result']);
});

test('process - a handler that yields lets later events finish first; its reply still correlates to its own event', function (): void {
    $p = started();
    $p->event('plugin.outbound.sink', ['yield_ms' => 300, 'k' => 'slow']);
    $p->event('plugin.outbound.sink', ['k' => 'fast']);
    $p->waitUntil('two publishes', publishes($p, 2));
    [$first, $second] = $p->published();
    same(['fast', 'slow'], [$first['params']['event']['payload']['k'], $second['params']['event']['payload']['k']]);
    same([$p->sentEvents[1], $p->sentEvents[0]], [$first['params']['event']['correlation_id'], $second['params']['event']['correlation_id']]);
});

test('process - two tool calls wait on the host at once and are answered out of order', function (): void {
    $p = started();
    $a = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall', 'query' => 'a'], 'agent_id' => null]);
    $b = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall', 'query' => 'b'], 'agent_id' => null]);
    $p->waitUntil('two memory.recall requests in flight', fn ($q) => count(array_filter($q->frames, fn ($f) => ($f['method'] ?? null) === 'memory.recall')) === 2);
    $reqs = array_values(array_filter($p->frames, fn ($f) => ($f['method'] ?? null) === 'memory.recall'));
    $p->send(['jsonrpc' => '2.0', 'id' => $reqs[1]['id'], 'result' => ['entries' => [['id' => 'mb']]]]);
    same(['ids' => ['mb']], $p->replyTo($b)['result']);
    $p->send(['jsonrpc' => '2.0', 'id' => $reqs[0]['id'], 'result' => ['entries' => [['id' => 'ma']]]]);
    same(['ids' => ['ma']], $p->replyTo($a)['result']);
});

test('process - subscriptions route their events to their handler', function (): void {
    $p = started();
    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'subscribe'], 'agent_id' => null]);
    $req = $p->waitFor('broker.subscribe', fn ($f) => ($f['method'] ?? null) === 'broker.subscribe');
    same(['topic_pattern' => 'plugin.outbound.sink.sub.>'], $req['params']);
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['subscriber_id' => 'sub-9']]);
    same(['subscriber_id' => 'sub-9'], $p->replyTo($call)['result']);
    $ev = ['id' => 'x1', 'timestamp' => '2026-01-01T00:00:00.000Z', 'topic' => 'plugin.outbound.sink.sub.a', 'source' => 't', 'session_id' => null, 'payload' => ['n' => 1]];
    $p->notify('broker.event', ['subscriber_id' => 'sub-9', 'topic' => 'plugin.outbound.sink.sub.a', 'event' => $ev]);
    $pub = $p->waitFor('subscription publish', fn ($f) => ($f['params']['topic'] ?? null) === 'plugin.inbound.sink.sub');
    same(['via' => 'plugin.outbound.sink.sub.a', 'payload' => ['n' => 1]], $pub['params']['event']['payload']);
});

test('process - topic tools answer on the reply topic with the correlation id', function (): void {
    $p = started();
    foreach ([['1', ['a' => 2, 'b' => 3]], ['2', new \stdClass()]] as [$id, $payload]) {
        $p->notify('broker.event', ['topic' => 'plugin.tool.calc.add', 'event' => ['id' => $id, 'timestamp' => 't', 'topic' => 'plugin.tool.calc.add', 'source' => 'agent', 'session_id' => SESSION, 'correlation_id' => "c-{$id}", 'payload' => $payload]]);
    }
    $p->waitUntil('two replies', publishes($p, 2));
    [$a, $b] = $p->published();
    same('plugin.tool.calc.add.reply', $a['params']['topic']);
    same(['result' => 5], $a['params']['event']['payload']);
    same(['c-1', SESSION], [$a['params']['event']['correlation_id'], $a['params']['event']['session_id']]);
    same(-33402, $b['params']['event']['payload']['error']['code']);
});

test('process - shutdown drains the in-flight handler first, runs the hook, replies, then exits 0 within 1 s', function (): void {
    $p = started();
    $p->event('plugin.outbound.sink', ['sleep_ms' => 300, 'n' => 1]);
    usleep(50_000);
    $r = $p->request('shutdown', ['reason' => 'test']);
    same(['ok' => true], $r['result']);
    $pubAt = array_search('broker.publish', array_map(fn ($f) => $f['method'] ?? null, $p->frames), true);
    check($pubAt !== false && $pubAt < array_search($r, $p->frames, true), 'the in-flight handler finished before the reply');
    same(0, $p->exitCode(1.0));
    check(str_contains($p->finalStderr(), 'shutdown hook ran'));
});

test('process - shutdown fails a pending host call, drains queued events, refuses new requests', function (): void {
    $p = started();
    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'host', 'args' => ['call' => 'recall', 'query' => 'q'], 'agent_id' => null]);
    $p->waitFor('memory.recall', fn ($f) => ($f['method'] ?? null) === 'memory.recall');
    $p->event('plugin.outbound.sink', ['queued' => true]);
    $shut = $p->sendRequest('shutdown', ['reason' => 'test']);
    $late = $p->sendRequest('no.such.method', new \stdClass());
    $r = $p->replyTo($call);
    same(-33403, $r['error']['code']);
    check(str_contains($r['error']['message'], 'shutting down'), $r['error']['message']);
    same(-32603, $p->replyTo($late)['error']['code']);
    same(['ok' => true], $p->replyTo($shut)['result']);
    same(['queued' => true], $p->published()[0]['params']['event']['payload'], 'the queued event ran during the drain');
    same(0, $p->exitCode(2.0));
});

test('process - a failing shutdown hook is a -32000 reply and the plugin still exits 0', function (): void {
    $p = started([], ['SINK_HOOK_FAILS' => '1']);
    same(-32000, $p->request('shutdown', new \stdClass())['error']['code']);
    same(0, $p->exitCode(2.0));
});

test('process - SIGTERM, SIGINT and stdin EOF drain and exit 0', function (): void {
    foreach (['SIGTERM' => 15, 'SIGINT' => 2, 'eof' => 0] as $how => $sig) {
        $p = started();
        if ($sig === 0) {
            $p->closeStdin();
        } else {
            $p->signal($sig);
        }
        same(0, $p->exitCode(5.0), $how);
        check(str_contains($p->finalStderr(), 'shutdown hook ran'), $how);
    }
});

test('process - a second signal while draining exits at once with 1', function (): void {
    $p = started();
    $p->event('plugin.outbound.sink', ['sleep_ms' => 5000]);
    usleep(100_000);
    $p->signal(15);
    $p->waitUntil('drain started', fn ($q) => str_contains($q->stderr, 'shutting down'));
    $p->signal(15);
    same(1, $p->exitCode(2.0));
});

test('process - stdout guard: echo, print, printf, var_dump and warnings go to stderr; stdout stays frames', function (): void {
    $p = started();
    $p->event('plugin.outbound.sink', ['log' => 'hello from plugin code']);
    $p->event('plugin.outbound.sink', ['noise' => true]);
    $p->waitUntil('two publishes', publishes($p, 2));
    $p->waitUntil('guarded output', fn ($q) => str_contains($q->stderr, 'a warning from plugin code'));
    check(str_contains($p->stderr, "[stdout-guard] hello from plugin code\n"), $p->stderr);
    check(str_contains($p->stderr, "[stdout-guard] printed with printf\n"), $p->stderr);
    check(str_contains($p->stderr, "[stdout-guard] int(42)\n"), $p->stderr);
    same([], $p->stray, 'stdout carried only frames');
});

test('process - a throwing event handler is logged and the next event still runs', function (): void {
    $p = started();
    $p->event('plugin.outbound.sink', ['throw' => true]);
    $p->event('plugin.outbound.sink', ['n' => 2]);
    same(['n' => 2], $p->waitFor('the next event', fn ($f) => ($f['method'] ?? null) === 'broker.publish')['params']['event']['payload']);
    $p->waitUntil('the failure logged', fn ($q) => str_contains($q->stderr, 'event handler failed on plugin.outbound.sink'));
});

test('process - the event backlog is bounded; overflow is dropped and logged', function (): void {
    $p = started([], ['SINK_MAX_QUEUED' => '2']);
    // One write, so every event is read while the first handler still sleeps.
    $batch = '';
    for ($i = 0; $i < 20; $i++) {
        $batch .= json_encode(['jsonrpc' => '2.0', 'method' => 'broker.event', 'params' => ['topic' => 'plugin.outbound.sink', 'event' => ['id' => "b{$i}", 'topic' => 'plugin.outbound.sink', 'source' => 't', 'session_id' => null, 'payload' => ['sleep_ms' => 50, 'i' => $i]]]]) . "\n";
    }
    $p->write($batch);
    $p->waitUntil('a drop logged', fn ($q) => str_contains($q->stderr, 'event backlog full'));
    $p->request('shutdown', new \stdClass());
    same(0, $p->exitCode(5.0));
    $n = count($p->published());
    check($n >= 2 && $n < 20, "some events ran, some were dropped: {$n}");
});

test('process - every() timers run while idle and between handlers, and stop at shutdown', function (): void {
    $p = started([], ['SINK_TIMER_MS' => '50']);
    $p->waitUntil('three ticks', fn ($q) => count(array_filter($q->published(), fn ($f) => $f['params']['topic'] === 'plugin.inbound.sink.tick')) >= 3);
    same(['content' => [['type' => 'text', 'text' => '3']], 'is_error' => false], $p->tool('add', ['a' => 1, 'b' => 2])['result']);
    $ticks = array_map(fn ($f) => $f['params']['event']['payload']['tick'], array_values(array_filter($p->published(), fn ($f) => $f['params']['topic'] === 'plugin.inbound.sink.tick')));
    same(range(1, count($ticks)), $ticks);
    $p->request('shutdown', new \stdClass());
    same(0, $p->exitCode(2.0));
});

test('process - onReadable streams serve a TCP listener beside the protocol (the webhook pattern)', function (): void {
    $p = started([], ['SINK_LISTEN' => '1']);
    $p->waitUntil('listening', fn ($q) => preg_match('/listening on (127\.0\.0\.1:\d+)/', $q->stderr) === 1);
    preg_match('/listening on (127\.0\.0\.1:\d+)/', $p->stderr, $m);
    $client = stream_socket_client("tcp://{$m[1]}", $errno, $errstr, 5);
    check($client !== false, "connect: {$errstr}");
    fwrite($client, "{\"order\":42}\n");
    $pub = $p->waitFor('webhook publish', fn ($f) => ($f['params']['topic'] ?? null) === 'plugin.inbound.sink.http');
    same(['order' => 42], $pub['params']['event']['payload']);
    same("202\n", fgets($client));
    fclose($client);
    same(['content' => [['type' => 'text', 'text' => '3']], 'is_error' => false], $p->tool('add', ['a' => 1, 'b' => 2])['result']);
});

test('process - the conformance probe is served only under the runner, and other tools still route through it', function (): void {
    $p = PluginProcess::php(SINK);
    $init = $p->request('initialize', new \stdClass());
    same(['add', 'host', 'fail'], array_column($init['result']['tools'], 'name'));
    same(-33401, $p->tool('conformance_probe', ['action' => 'echo', 'text' => 'x'])['error']['code']);

    $p = PluginProcess::php(SINK, [], ['NEXO_CONFORMANCE_PROBE' => '1']);
    $init = $p->request('initialize', new \stdClass());
    same(['add', 'host', 'fail', 'conformance_probe'], array_column($init['result']['tools'], 'name'));
    $probe = fn (array $args) => $p->tool('conformance_probe', $args === [] ? new \stdClass() : $args);
    same(['content' => [['type' => 'text', 'text' => 'hi']], 'is_error' => false], $probe(['action' => 'echo', 'text' => 'hi'])['result']);
    same(-33402, $probe(['action' => 'echo'])['error']['code']);
    same('/action', $probe([])['error']['data']['details'][0]['path']);
    foreach ([-33401, -33402, -33403, -33404, -33405] as $code) {
        same($code, $probe(['action' => 'fail', 'code' => $code])['error']['code']);
    }
    same(-33403, $probe(['action' => 'throw', 'message' => 'boom'])['error']['code']);
    same('printed', $probe(['action' => 'print', 'text' => 'probe print'])['result']['content'][0]['text']);
    $p->waitUntil('guarded print', fn ($q) => str_contains($q->stderr, '[stdout-guard] probe print'));
    same('2', $p->tool('add', ['a' => 1, 'b' => 1])['result']['content'][0]['text'], 'own tools still route');

    $call = $p->sendRequest('tool.invoke', ['plugin_id' => 'sink', 'tool_name' => 'conformance_probe', 'args' => ['action' => 'llm_complete', 'stream' => true, 'messages' => [], 'model' => 'm'], 'agent_id' => null]);
    $req = $p->waitFor('streamed llm.complete', fn ($f) => ($f['method'] ?? null) === 'llm.complete');
    same(['m', 4096, true], [$req['params']['model'], $req['params']['max_tokens'], $req['params']['stream']]);
    $p->notify('llm.complete.delta', ['request_id' => $req['id'], 'chunk' => ['t' => 'a']]);
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['finish_reason' => 'stop', 'usage' => new \stdClass()]]);
    $p->replyTo($call);
    $raw = array_values(array_filter($p->lines, fn ($l) => str_contains($l, '"chunks"')))[0];
    check(str_contains($raw, '"result":{"ok":true,"chunks":[{"t":"a"}],"result":{"finish_reason":"stop","usage":{}}}'), "the host's result keeps its shape: {$raw}");
    same(['ok' => false, 'timeout' => true], $probe(['action' => 'memory_recall', 'agent_id' => 'a', 'query' => 'q', 'timeout_ms' => 100])['result']);
});

// ---- the example and the template --------------------------------------------------

// ---- a plugin written against the reference SDK's API alone --------------------------

const REF = __DIR__ . '/fixtures/reference-plugin/main.php';

/** The reference plugin's answer to host call `$method`: waits for the request, sends `$reply` (a result or an error). */
function answer_host(PluginProcess $p, string $method, array $reply, int $nth = 0): array
{
    $reqs = [];
    $p->waitUntil($method, function ($q) use ($method, $nth, &$reqs) {
        $reqs = array_values(array_filter($q->frames, fn ($f) => ($f['method'] ?? null) === $method && isset($f['id'])));
        return count($reqs) > $nth;
    });
    $req = $reqs[$nth];
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id']] + $reply);
    return $req;
}

function ref_published(PluginProcess $p, int $n): array
{
    $p->waitUntil("{$n} publishes", publishes($p, $n));
    return $p->published()[$n - 1]['params']['event'];
}

test('reference api - initialize, events with self-correlating replies, typed host calls', function (): void {
    $p = PluginProcess::php(REF);
    $init = $p->request('initialize', ['nexo_version' => '0.2.0'])['result'];
    same(['refphp', 'refphp-server-1'], [$init['manifest']['plugin']['id'], $init['server_version']]);
    same('refphp_echo', $init['tools'][0]['name']);
    same(['type' => 'object'], $init['tools'][0]['input_schema']);

    $p->event('plugin.outbound.refphp', ['op' => 'echo', 'text' => 'hi']);
    $e = ref_published($p, 1);
    same(['echoed' => 'hi', 'topic' => 'plugin.outbound.refphp'], $e['payload']);
    same($p->sentEvents[0], $e['correlation_id']);

    $p->event('plugin.outbound.refphp', ['op' => 'recall', 'q' => 'prefs']);
    $req = answer_host($p, 'memory.recall', ['result' => ['entries' => [['id' => 'm1', 'agent_id' => 'agent_x', 'content' => 'likes tea', 'tags' => ['t'], 'concept_tags' => [], 'created_at' => '2026-01-01T00:00:00Z', 'memory_type' => 'fact']]]]);
    same(['agent_id' => 'agent_x', 'query' => 'prefs', 'limit' => 3], $req['params']);
    same(['contents' => ['likes tea'], 'agents' => ['agent_x']], ref_published($p, 2)['payload']);

    $p->event('plugin.outbound.refphp', ['op' => 'complete']);
    $req = answer_host($p, 'llm.complete', ['result' => ['content' => 'hello', 'finish_reason' => 'stop', 'usage' => ['prompt_tokens' => 3, 'completion_tokens' => 1]]]);
    same(['provider' => 'fake', 'model' => 'm1', 'messages' => [['role' => 'user', 'content' => 'hi']], 'max_tokens' => 4096, 'temperature' => 0.7, 'system_prompt' => 'be brief'], $req['params']);
    same(['content' => 'hello', 'finish' => 'stop', 'completion_tokens' => 1, 'is_result' => true], ref_published($p, 3)['payload']);

    $p->event('plugin.outbound.refphp', ['op' => 'stream']);
    $p->waitUntil('stream request', fn ($q) => count(array_filter($q->frames, fn ($f) => ($f['method'] ?? null) === 'llm.complete')) === 2);
    $req = array_values(array_filter($p->frames, fn ($f) => ($f['method'] ?? null) === 'llm.complete'))[1];
    same(true, $req['params']['stream']);
    foreach (['Hel', 'lo'] as $c) {
        $p->notify('llm.complete.delta', ['request_id' => $req['id'], 'chunk' => $c]);
    }
    $p->send(['jsonrpc' => '2.0', 'id' => $req['id'], 'result' => ['finish_reason' => 'stop']]);
    same(['chunks' => ['Hel', 'lo'], 'content_is_null' => true, 'finish' => 'stop'], ref_published($p, 4)['payload']);

    $p->event('plugin.outbound.refphp', ['op' => 'timeout']);
    same(['timed_out' => true, 'seconds' => 0.3], ref_published($p, 5)['payload']);

    $p->event('plugin.outbound.refphp', ['op' => 'error']);
    answer_host($p, 'llm.complete', ['error' => ['code' => -32603, 'message' => 'llm not configured']], 2);
    same(['code' => -32603, 'server_message' => 'llm not configured'], ref_published($p, 6)['payload']);

    $p->event('plugin.outbound.refphp', ['op' => 'inflight']);
    $p->waitUntil('in-flight recall', fn ($q) => count(array_filter($q->frames, fn ($f) => ($f['method'] ?? null) === 'memory.recall')) === 3);
    same(['ok' => true], $p->request('shutdown', ['reason' => 'test'])['result']);
    same(0, $p->exitCode(3.0));
    $err = $p->finalStderr();
    check(str_contains($err, 'INFLIGHT_TRANSPORT_ERROR') && str_contains($err, 'REFPHP_SHUTDOWN_HOOK'), $err);
});

test('reference api - tools: context, omitted args as null, typed errors, unserializable result is -33403', function (): void {
    $p = PluginProcess::php(REF);
    $p->request('initialize', new \stdClass());
    $call = fn (string $name, array $params) => $p->request('tool.invoke', ['plugin_id' => 'refphp', 'tool_name' => $name, 'agent_id' => 'ag1'] + $params);
    same(['args' => ['x' => 1], 'agent' => 'ag1', 'plugin' => 'refphp', 'ctx_plugin' => 'refphp'], $call('refphp_echo', ['args' => ['x' => 1]])['result']);
    same(null, $call('refphp_echo', [])['result']['args'], 'omitted args reach the handler as null');
    same(5, $call('refphp_echo', ['args' => 5])['result']['args'], 'a scalar passes through');
    $recall = $p->sendRequest('tool.invoke', ['plugin_id' => 'refphp', 'tool_name' => 'refphp_recall', 'args' => ['q' => 'x'], 'agent_id' => 'ag1']);
    answer_host($p, 'memory.recall', ['result' => ['entries' => [['id' => '1', 'content' => 'a'], ['id' => '2', 'content' => 'b']]]]);
    same(Tool::text('a, b'), $p->replyTo($recall)['result']);
    $cases = [
        'invalid' => [-33402, 'invalid argument: how is wrong', ['details' => ['field' => 'how']]],
        'unavailable' => [-33404, 'unavailable: try later', ['retry_after_ms' => 1500]],
        'denied' => [-33405, 'denied: not you', null],
        'failed' => [-33403, 'execution failed: downstream 500', null],
        'not_found' => [-33401, 'tool not found: refphp_fail', null],
        'generic' => [-33403, 'execution failed: generic failure', null],
    ];
    foreach ($cases as $how => [$code, $message, $data]) {
        $e = $call('refphp_fail', ['args' => ['how' => $how]])['error'];
        same([$code, $message, $data], [$e['code'], $e['message'], $e['data'] ?? null], $how);
    }
    $bad = $call('refphp_badjson', ['args' => []])['error'];
    same(-33403, $bad['code']);
    check(str_starts_with($bad['message'], 'execution failed: tool result not JSON-serializable'), $bad['message']);
});

test('reference api - old Nexo namespace and names still work beside the new ones', function (): void {
    check(class_exists('Nexo\\PluginSdk\\PluginAdapter', false) && is_a('Nexo\\PluginSdk\\ToolInvalidArgumentsException', \Nexo\Plugin\Sdk\ToolArgumentInvalid::class, true));
    $ev = \Nexo\Plugin\Sdk\Event::new('t', 's', []);
    check($ev instanceof \Nexo\PluginSdk\Event, 'an object of the new class satisfies the old type');
    same(text_result('x'), \Nexo\PluginSdk\text_result('x'));
    check(is_a('Nexo\\PluginSdk\\HostCallTimeoutException', \Nexo\Plugin\Sdk\RpcTimeoutError::class, true));
});

// ---- the README's code cannot rot ----------------------------------------------------

/** @return list<array{lang: string, code: string}> the fenced code blocks of a Markdown file */
function code_blocks(string $markdown): array
{
    preg_match_all('/^```(\w*)\n(.*?)^```/ms', $markdown, $m, PREG_SET_ORDER);
    return array_map(fn ($x) => ['lang' => $x[1], 'code' => $x[2]], $m);
}

test('readme - every PHP snippet compiles with the stated preamble', function (): void {
    $preamble = "<?php\ndeclare(strict_types=1);\nrequire '" . realpath(__DIR__ . '/../autoload.php') . "';\n"
        . "use Nexo\\Plugin\\Sdk\\{BrokerSender, Event, PluginAdapter, Tool, ToolDef, ToolInvocation, ToolNotFound};\n"
        . "use function Nexo\\Plugin\\Sdk\\state_dir;\n\$manifest = file_get_contents(__DIR__ . '/nexo-plugin.toml');\n";
    $blocks = array_values(array_filter(code_blocks(file_get_contents(__DIR__ . '/../README.md')), fn ($b) => $b['lang'] === 'php'));
    check(count($blocks) >= 10, 'the README has its snippets: ' . count($blocks));
    $dir = sys_get_temp_dir() . '/nexo-php-readme-' . getmypid();
    @mkdir($dir);
    foreach ($blocks as $i => $b) {
        $code = str_starts_with($b['code'], '<?php') ? $b['code'] : $preamble . $b['code'];
        $file = "{$dir}/snippet{$i}.php";
        file_put_contents($file, $code);
        exec(escapeshellarg(PHP_BINARY) . ' -l ' . escapeshellarg($file) . ' 2>&1', $out, $status);
        same(0, $status, "snippet {$i} does not compile:\n" . implode("\n", $out) . "\n{$b['code']}");
        unlink($file);
    }
    rmdir($dir);
});

test('readme - the quick start, with its manifest, is a working echo plugin', function (): void {
    $blocks = code_blocks(file_get_contents(__DIR__ . '/../README.md'));
    $php = array_values(array_filter($blocks, fn ($b) => $b['lang'] === 'php' && str_starts_with($b['code'], '<?php')))[0]['code'];
    $toml = array_values(array_filter($blocks, fn ($b) => $b['lang'] === 'toml'))[0]['code'];
    $dir = sys_get_temp_dir() . '/nexo-php-quick-' . getmypid();
    @mkdir($dir);
    file_put_contents("{$dir}/nexo-plugin.toml", $toml);
    file_put_contents("{$dir}/main.php", str_replace("__DIR__ . '/vendor/autoload.php'", var_export(realpath(__DIR__ . '/../autoload.php'), true), $php));
    try {
        $p = PluginProcess::php("{$dir}/main.php");
        same('my_plugin', $p->request('initialize', new \stdClass())['result']['manifest']['plugin']['id']);
        $p->event('plugin.outbound.my_plugin', ['text' => 'hi']);
        $p->waitUntil('the echo', publishes($p, 1));
        $e = $p->published()[0]['params'];
        same(['plugin.inbound.my_plugin', ['text' => 'hi'], $p->sentEvents[0]], [$e['topic'], $e['event']['payload'], $e['event']['correlation_id']]);
        same(['ok' => true], $p->request('shutdown', new \stdClass())['result']);
        same(0, $p->exitCode(3.0));
    } finally {
        @unlink("{$dir}/main.php");
        @unlink("{$dir}/nexo-plugin.toml");
        @rmdir($dir);
    }
});

function check_echo(PluginProcess $p, string $id): void
{
    $init = $p->request('initialize', ['nexo_version' => '0.1.0']);
    same($id, $init['result']['manifest']['plugin']['id']);
    same('php', $init['result']['manifest']['plugin']['entrypoint']['command']);
    same(['main.php'], $init['result']['manifest']['plugin']['entrypoint']['args']);
    same($id, $init['result']['manifest']['plugin']['channels']['register'][0]['kind']);
    same("{$id}-0.1.0", $init['result']['server_version']);
    $payload = ['text' => 'héllo 👋 世界'];
    $p->event("plugin.outbound.{$id}.room1", $payload, ['session_id' => SESSION, 'correlation_id' => 'c-1']);
    $p->event("plugin.outbound.{$id}", ['n' => 2]);
    $p->waitUntil('two echoes', publishes($p, 2));
    [$a, $b] = array_map(fn ($f) => $f['params'], $p->published());
    same("plugin.inbound.{$id}.room1", $a['topic']);
    same("plugin.inbound.{$id}.room1", $a['event']['topic']);
    same($id, $a['event']['source']);
    same($payload, $a['event']['payload']);
    same([SESSION, 'c-1'], [$a['event']['session_id'], $a['event']['correlation_id']]);
    same("plugin.inbound.{$id}", $b['topic']);
    same(null, $b['event']['session_id']);
    same($p->sentEvents[1], $b['event']['correlation_id'] ?? null, 'the reply to an uncorrelated event correlates to that event');
    same(['ok' => true], $p->request('shutdown', ['reason' => 'test'])['result']);
    same(0, $p->exitCode(2.0));
    same([], $p->stray);
}

test('example - examples/echo-php mirrors outbound to inbound, keeps ids, and serves the echo tool', function (): void {
    $dir = ROOT . '/examples/echo-php';
    $p = PluginProcess::php("{$dir}/main.php", [], [], $dir);
    $r = $p->request('initialize', new \stdClass());
    same(['echo'], array_column($r['result']['tools'], 'name'));
    same(['content' => [['type' => 'text', 'text' => 'hi']], 'is_error' => false], $p->request('tool.invoke', ['plugin_id' => 'echo_php', 'tool_name' => 'echo', 'args' => ['text' => 'hi'], 'agent_id' => null])['result']);
    same(-33402, $p->request('tool.invoke', ['plugin_id' => 'echo_php', 'tool_name' => 'echo', 'args' => new \stdClass(), 'agent_id' => null])['error']['code']);
    same(-33401, $p->request('tool.invoke', ['plugin_id' => 'echo_php', 'tool_name' => 'nope', 'args' => new \stdClass(), 'agent_id' => null])['error']['code']);
    $p->kill();
    check_echo(PluginProcess::php("{$dir}/main.php", [], [], $dir), 'echo_php');
});

test('template - templates/php rendered with an id is a working echo plugin with no placeholder left', function (): void {
    $dir = sys_get_temp_dir() . '/nexo-php-template-' . getmypid();
    mkdir($dir);
    try {
        foreach (glob(ROOT . '/templates/php/*') as $f) {
            $text = strtr(file_get_contents($f), ['{{id}}' => 'demo', '{{sdk_version}}' => '0.1.0']);
            check(!str_contains($text, '{{'), basename($f) . ' has a placeholder left');
            file_put_contents($dir . '/' . basename($f), $text);
        }
        // What `nexo plugin new` vendors: a vendor/autoload.php loading the SDK (here this checkout's).
        mkdir("{$dir}/vendor");
        file_put_contents("{$dir}/vendor/autoload.php", "<?php\nrequire_once " . var_export(realpath(__DIR__ . '/../autoload.php'), true) . ";\n");
        check_echo(PluginProcess::php("{$dir}/main.php", [], [], $dir), 'demo');
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg("{$dir}/test_plugin.php") . ' 2>&1', $out, $status);
        same(0, $status, "the template's own test: " . implode("\n", $out));
    } finally {
        exec('rm -rf ' . escapeshellarg($dir));
    }
});

test('channels - channel methods answer; ChannelError subclasses are the contract\'s -330xx replies; hook.on_hook answers', function (): void {
    $p = PluginProcess::php(__DIR__ . '/fixtures/channel_hook.php');
    check(isset($p->request('initialize', new \stdClass())['result']));
    same(['ok' => true], $p->request('channel.start', ['kind' => 'chat', 'instance' => 'a'])['result']);
    same(['ok' => true], $p->request('channel.stop', ['kind' => 'chat'])['result']);
    $send = fn (array $msg) => $p->request('channel.send_outbound', ['kind' => 'chat', 'msg' => $msg, 'instance' => 'a']);
    same(['message_id' => 'chat:a:1', 'sent_at_unix' => 1700000000], $send(['kind' => 'text', 'to' => '1', 'body' => 'hi'])['result']);
    same(['code' => -33004, 'message' => 'rate limited', 'data' => ['retry_after_secs' => 12]], $send(['kind' => 'text', 'to' => 'limited', 'body' => 'x'])['error']);
    same(['recipient' => 'nobody', 'reason' => 'unknown chat'], $send(['kind' => 'text', 'to' => 'nobody', 'body' => 'x'])['error']['data']);
    same(-33005, $send(['kind' => 'media', 'to' => '1', 'url' => 'u'])['error']['code']);
    same(-32603, $send(['kind' => 'text', 'to' => 'crash', 'body' => 'x'])['error']['code']);
    same(-32602, $p->request('channel.send_outbound', ['kind' => 'chat'])['error']['code']);
    same(['decision' => 'block', 'reason' => 'before_message by chan'], $p->request('hook.on_hook', ['plugin_id' => 'chan', 'hook_name' => 'before_message', 'event' => ['body' => 'spam!']])['result']);
    $allow = $p->request('hook.on_hook', ['plugin_id' => 'chan', 'hook_name' => 'before_message', 'event' => ['body' => 'hi']]);
    check(in_array('{"jsonrpc":"2.0","id":' . $allow['id'] . ',"result":{}}', $p->lines, true), 'allow is sent as {}: ' . implode("\n", $p->lines));
    $p->kill();
    $q = PluginProcess::php(__DIR__ . '/fixtures/channel_hook.php', ['bare']);
    check(isset($q->request('initialize', new \stdClass())['result']));
    foreach (['channel.start', 'channel.send_outbound', 'hook.on_hook'] as $method) {
        same(-32601, $q->request($method, ['kind' => 'chat', 'hook_name' => 'x', 'msg' => ['kind' => 'text']])['error']['code'], $method);
    }
    $q->kill();
});

run_tests($argv[1] ?? null);
