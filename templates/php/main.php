<?php

// Plugin pattern 1 (echo channel): every event on plugin.outbound.{{id}}[.x] comes
// back on the mirrored plugin.inbound.{{id}}[.x] topic with the same payload,
// session id and correlation id, so a round trip can be matched end to end.

declare(strict_types=1);

// nexo/plugin-sdk (composer.json), vendored by `nexo plugin new`; `composer install` works too.
require __DIR__ . '/vendor/autoload.php';

use Nexo\Plugin\Sdk\BrokerSender;
use Nexo\Plugin\Sdk\Event;
use Nexo\Plugin\Sdk\PluginAdapter;

use function Nexo\Plugin\Sdk\conformance_probe;

$adapter = new PluginAdapter([
    'manifestToml' => file_get_contents(__DIR__ . '/nexo-plugin.toml'),
    'onEvent' => function (string $topic, Event $event, BrokerSender $broker): void {
        if (!str_starts_with($topic, 'plugin.outbound.')) {
            return;
        }
        $out = 'plugin.inbound.' . substr($topic, strlen('plugin.outbound.'));
        $broker->publish($out, Event::new($out, '{{id}}', $event->payload, sessionId: $event->sessionId, correlationId: $event->correlationId));
    },
    // conformance_probe() adds the tool `nexo plugin test` drives the SDK with, only when the
    // test runner starts the plugin (NEXO_CONFORMANCE_PROBE=1); pass your own tools/onTool through it.
    ...conformance_probe(),
]);
$adapter->run();
