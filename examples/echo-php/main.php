<?php

// Plugin pattern 1 (echo channel) in PHP: every event on plugin.outbound.echo_php[.x]
// comes back on the mirrored plugin.inbound.echo_php[.x] topic with the same payload,
// session id and correlation id, so a round trip can be matched end to end.
// It also serves one tool, `echo`, which returns its `text` argument.

declare(strict_types=1);

// Installed with Composer, or run from the repository with the SDK beside it.
require is_file(__DIR__ . '/vendor/autoload.php') ? __DIR__ . '/vendor/autoload.php' : __DIR__ . '/../../sdk/php/autoload.php';

use Nexo\Plugin\Sdk\BrokerSender;
use Nexo\Plugin\Sdk\Event;
use Nexo\Plugin\Sdk\PluginAdapter;
use Nexo\Plugin\Sdk\Tool;
use Nexo\Plugin\Sdk\ToolArgumentInvalid;
use Nexo\Plugin\Sdk\ToolDef;
use Nexo\Plugin\Sdk\ToolInvocation;
use Nexo\Plugin\Sdk\ToolNotFound;

use function Nexo\Plugin\Sdk\conformance_probe;

$echoTool = new ToolDef('echo', 'Returns its text argument', ['type' => 'object', 'properties' => ['text' => ['type' => 'string']], 'required' => ['text']]);
$onTool = function (ToolInvocation $inv): array {
    if ($inv->toolName !== 'echo') {
        throw new ToolNotFound($inv->toolName);
    }
    if (!is_string($inv->args['text'] ?? null)) {
        throw new ToolArgumentInvalid('text is required', [['path' => '/text', 'message' => 'required']]);
    }
    return Tool::text($inv->args['text']);
};

$adapter = new PluginAdapter([
    'manifestToml' => file_get_contents(__DIR__ . '/nexo-plugin.toml'),
    'onEvent' => function (string $topic, Event $event, BrokerSender $broker): void {
        if (!str_starts_with($topic, 'plugin.outbound.')) {
            return;
        }
        $out = 'plugin.inbound.' . substr($topic, strlen('plugin.outbound.'));
        $broker->publish($out, Event::new($out, 'echo_php', $event->payload, sessionId: $event->sessionId, correlationId: $event->correlationId));
    },
    // conformance_probe() adds the tool `nexo plugin test` drives the SDK with, only when the
    // test runner starts the plugin (NEXO_CONFORMANCE_PROBE=1); the echo tool goes through it.
    ...conformance_probe(tools: [$echoTool], onTool: $onTool),
]);
$adapter->run();
