<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * Line splitter for stdin: bounded (a line over `max` bytes is reported once
 * and skipped up to its newline without being buffered), CRLF-tolerant, skips
 * blank lines, reports invalid UTF-8 and non-JSON lines. It only frames;
 * dispatch lives elsewhere. Objects decode to associative arrays; the line's
 * text goes along for a caller that wants JSON's shape kept.
 */
final class LineDecoder
{
    private string $buf = '';
    private bool $skipping = false;

    /**
     * @param \Closure(mixed, string): void $onValue each decoded JSON value, with its line
     * @param \Closure(string, string): void $onBad kind (too_large|invalid_utf8|invalid_json) and a preview
     */
    public function __construct(private readonly int $max, private readonly \Closure $onValue, private readonly \Closure $onBad)
    {
    }

    public function push(string $chunk): void
    {
        $start = 0;
        $len = strlen($chunk);
        while (true) {
            $nl = strpos($chunk, "\n", $start);
            if ($nl === false) {
                $rest = $len - $start;
                if ($rest > 0 && !$this->skipping) {
                    if (strlen($this->buf) + $rest > $this->max + 1) {
                        ($this->onBad)('too_large', '');
                        $this->buf = '';
                        $this->skipping = true;
                    } else {
                        $this->buf .= substr($chunk, $start);
                    }
                }
                return;
            }
            if ($this->skipping) {
                $this->skipping = false;
            } elseif (strlen($this->buf) + ($nl - $start) > $this->max + 1) {
                ($this->onBad)('too_large', '');
                $this->buf = '';
            } else {
                $line = $this->buf . substr($chunk, $start, $nl - $start);
                $this->buf = '';
                $this->line($line);
            }
            $start = $nl + 1;
        }
    }

    /** End of input: a last line without a newline still counts. */
    public function end(): void
    {
        if (!$this->skipping && $this->buf !== '') {
            $line = $this->buf;
            $this->buf = '';
            $this->line($line);
        }
        $this->buf = '';
    }

    private function line(string $raw): void
    {
        if (str_ends_with($raw, "\r")) {
            $raw = substr($raw, 0, -1);
        }
        if ($raw === '') {
            return;
        }
        if (strlen($raw) > $this->max) {
            ($this->onBad)('too_large', '');
            return;
        }
        try {
            // json_decode refuses invalid UTF-8 itself, so no separate scan of the line.
            $value = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            if ($e->getCode() === JSON_ERROR_UTF8) {
                ($this->onBad)('invalid_utf8', '');
            } elseif (trim($raw) !== '') {
                ($this->onBad)('invalid_json', mb_substr_safe($raw, 120));
            }
            return;
        }
        ($this->onValue)($value, $raw);
    }
}
