<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * Keep stdout for frames only: everything the plugin's code outputs through
 * PHP's output layer (echo, print, printf, var_dump, print_r...) goes to stderr
 * prefixed `[stdout-guard] `, line by line. Frames bypass the output layer (the
 * SDK fwrite()s them to STDOUT). PHP's own warnings are sent to stderr as
 * well (display_errors=stderr). Code that fwrite()s to STDOUT or php://stdout
 * itself bypasses the guard: log with error_log() or fwrite(STDERR, ...).
 */
final class StdoutGuard
{
    private static bool $installed = false;
    private static string $partial = '';

    /** Install the guard (once per process). */
    public static function install(): void
    {
        ini_set('display_errors', 'stderr');
        ini_set('html_errors', '0');
        if (self::$installed) {
            return;
        }
        self::$installed = true;
        // chunk_size 1 flushes after every output call; not removable, so plugin code's ob_end_*() cannot take it away.
        ob_start([self::class, 'handle'], 1, PHP_OUTPUT_HANDLER_CLEANABLE | PHP_OUTPUT_HANDLER_FLUSHABLE);
    }

    /** @internal the output handler */
    public static function handle(string $buffer, int $phase): string
    {
        $text = self::$partial . $buffer;
        $lines = explode("\n", $text);
        self::$partial = array_pop($lines);
        if (strlen(self::$partial) > 65536 || ($phase & PHP_OUTPUT_HANDLER_FINAL) !== 0) {
            if (self::$partial !== '') {
                $lines[] = self::$partial;
            }
            self::$partial = '';
        }
        if ($lines !== []) {
            $out = '';
            foreach ($lines as $line) {
                $out .= "[stdout-guard] {$line}\n";
            }
            @fwrite(STDERR, $out);
        }
        return '';
    }
}
