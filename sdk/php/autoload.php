<?php

// Use the SDK without Composer: require this file, then `use Nexo\Plugin\Sdk\...`.
// (With Composer, composer.json's PSR-4 and "files" entries do the same.)

declare(strict_types=1);

require_once __DIR__ . '/src/functions.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Nexo\\Plugin\\Sdk\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

require_once __DIR__ . '/src/legacy.php';
