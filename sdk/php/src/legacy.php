<?php

// Nexo's earlier names, kept working: the namespace `Nexo\PluginSdk` and the
// `...Exception` class names resolve to the reference-named classes of
// `Nexo\Plugin\Sdk` (README, "Reference API and Nexo's additions"). Deprecated.

declare(strict_types=1);

namespace Nexo\Plugin\Sdk {
    /** @internal earlier Nexo class names and the reference-named class each now is */
    final class LegacyNames
    {
        public const RENAMED = [
            'ManifestException' => ManifestError::class,
            'RpcException' => RpcServerError::class,
            'HostCallException' => RpcTransportError::class,
            'HostCallTimeoutException' => RpcTimeoutError::class,
            'ToolException' => ToolError::class,
            'ToolNotFoundException' => ToolNotFound::class,
            'ToolInvalidArgumentsException' => ToolArgumentInvalid::class,
            'ToolExecutionFailedException' => ToolExecutionFailed::class,
            'ToolUnavailableException' => ToolUnavailable::class,
            'ToolDeniedException' => ToolDenied::class,
        ];

        /**
         * Define every earlier name now. Type declarations and `catch` clauses never
         * autoload, so a lazily made alias would not match an object of the new class.
         */
        public static function register(): void
        {
            foreach (glob(__DIR__ . '/*.php') ?: [] as $file) {
                $short = basename($file, '.php');
                if (preg_match('/^[A-Z]\w*$/', $short) === 1 && !isset(self::RENAMED[$short])) {
                    self::alias(__NAMESPACE__ . '\\' . $short, 'Nexo\\PluginSdk\\' . $short);
                }
            }
            foreach (self::RENAMED as $old => $new) {
                self::alias($new, __NAMESPACE__ . '\\' . $old);
                self::alias($new, 'Nexo\\PluginSdk\\' . $old);
            }
        }

        private static function alias(string $class, string $alias): void
        {
            if ($class !== self::class && !class_exists($alias, false) && (class_exists($class) || interface_exists($class))) {
                class_alias($class, $alias);
            }
        }
    }

    LegacyNames::register();
}

namespace Nexo\PluginSdk {
    const MAX_FRAME_BYTES = \Nexo\Plugin\Sdk\MAX_FRAME_BYTES;
    const DEFAULT_HOST_CALL_TIMEOUT = \Nexo\Plugin\Sdk\DEFAULT_HOST_CALL_TIMEOUT;

    /** @deprecated use Nexo\Plugin\Sdk\text_result() or Tool::text() */
    function text_result(string $text, bool $isError = false): array
    {
        return \Nexo\Plugin\Sdk\text_result($text, $isError);
    }

    /** @deprecated use Nexo\Plugin\Sdk\reply_topic() */
    function reply_topic(string $topic): string
    {
        return \Nexo\Plugin\Sdk\reply_topic($topic);
    }

    /** @deprecated use Nexo\Plugin\Sdk\tool_topic() */
    function tool_topic(string $name): string
    {
        return \Nexo\Plugin\Sdk\tool_topic($name);
    }

    /** @deprecated use Nexo\Plugin\Sdk\uuid7() */
    function uuid7(): string
    {
        return \Nexo\Plugin\Sdk\uuid7();
    }

    /** @deprecated use Nexo\Plugin\Sdk\now_rfc3339() */
    function now_rfc3339(): string
    {
        return \Nexo\Plugin\Sdk\now_rfc3339();
    }

    /** @deprecated use Nexo\Plugin\Sdk\state_dir() */
    function state_dir(?string $pluginId = null): string
    {
        return \Nexo\Plugin\Sdk\state_dir($pluginId);
    }

    /** @deprecated use Nexo\Plugin\Sdk\conformance_probe() */
    function conformance_probe(array $tools = [], ?callable $onTool = null): array
    {
        return \Nexo\Plugin\Sdk\conformance_probe($tools, $onTool);
    }
}
