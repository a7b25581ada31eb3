<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/**
 * A TOML 1.0 reader (plus TOML 1.1's multi-line inline tables, \e and \xHH
 * escapes and optional seconds, which the host's parser accepts too), enough
 * for plugin manifests and more: tables, arrays of tables, dotted and quoted
 * keys, basic/literal/multi-line strings with every escape, integers
 * (decimal, hex, octal, binary, underscores), floats (including inf/nan),
 * booleans, arrays, inline tables, and dates/times (kept as their text). PHP has no TOML in core and the SDK must run without
 * Composer or the network, hence this file.
 *
 * Tables come back as \stdClass so an empty table stays `{}` in JSON; call
 * {@see Toml::toArray()} for plain PHP arrays.
 *
 * @example $manifest = Toml::parse(file_get_contents('nexo-plugin.toml'));
 */
final class Toml
{
    private const TABLE_IMPLICIT = 1; // created by a header path ([a.b] creates a); may be defined later
    private const TABLE_DEFINED = 2;  // defined by its own [header]
    private const TABLE_DOTTED = 3;   // created by a dotted key (a.b = 1); cannot get a [header]
    private const TABLE_INLINE = 4;   // { ... }: closed, nothing may be added

    private string $s;
    private int $i = 0;
    private int $n;
    private \stdClass $root;
    /** @var array<int, int> spl_object_id(table) => TABLE_* */
    private array $kind = [];
    /** @var array<string, true> "<parent object id>\0<key>" of arrays made by [[...]] */
    private array $tableArrays = [];

    private function __construct(string $text)
    {
        $this->s = $text;
        $this->n = strlen($text);
        $this->root = new \stdClass();
    }

    /**
     * Parse a TOML document; throws TomlException naming the line and column.
     */
    public static function parse(string $text): \stdClass
    {
        if (preg_match('//u', $text) !== 1) {
            throw new TomlException('TOML must be valid UTF-8');
        }
        $p = new self($text);
        $p->document();
        return $p->root;
    }

    /** Tables as associative arrays, recursively (an empty table becomes []). */
    public static function toArray(mixed $value): mixed
    {
        if ($value instanceof \stdClass) {
            $value = get_object_vars($value);
        }
        if (is_array($value)) {
            foreach ($value as $k => $v) {
                $value[$k] = self::toArray($v);
            }
        }
        return $value;
    }

    private function document(): void
    {
        $current = $this->root;
        while (true) {
            $this->skipBlankLines();
            if ($this->i >= $this->n) {
                return;
            }
            if ($this->s[$this->i] === '[') {
                $current = ($this->peek(1) === '[') ? $this->arrayTableHeader() : $this->tableHeader();
            } else {
                $this->keyValue($current);
            }
            $this->endOfLine();
        }
    }

    // ---- structure ------------------------------------------------------------------

    private function tableHeader(): \stdClass
    {
        $this->i++; // [
        $this->ws();
        $keys = $this->key();
        $this->ws();
        $this->expect(']');
        $last = array_pop($keys);
        $parent = $this->walk($this->root, $keys, true);
        if (property_exists($parent, $last)) {
            $t = $parent->{$last};
            $k = $t instanceof \stdClass ? $this->kind[spl_object_id($t)] ?? 0 : 0;
            if ($k !== self::TABLE_IMPLICIT) {
                $this->fail("table [" . implode('.', [...$keys, $last]) . "] is defined more than once");
            }
            $this->kind[spl_object_id($t)] = self::TABLE_DEFINED;
            return $t;
        }
        return $parent->{$last} = $this->newTable(self::TABLE_DEFINED);
    }

    private function arrayTableHeader(): \stdClass
    {
        $this->i += 2; // [[
        $this->ws();
        $keys = $this->key();
        $this->ws();
        $this->expect(']');
        $this->expect(']');
        $last = array_pop($keys);
        $parent = $this->walk($this->root, $keys, true);
        $slot = spl_object_id($parent) . "\0" . $last;
        $t = $this->newTable(self::TABLE_DEFINED);
        if (!property_exists($parent, $last)) {
            $parent->{$last} = [$t];
            $this->tableArrays[$slot] = true;
        } elseif (isset($this->tableArrays[$slot])) {
            $parent->{$last}[] = $t;
        } else {
            $this->fail("[[" . implode('.', [...$keys, $last]) . "]] conflicts with a value or table of that name");
        }
        return $t;
    }

    /**
     * Descend through `keys` from `table`, creating missing tables. Headers may
     * pass through header-made and dotted tables and into the last element of an
     * array of tables; dotted keys may only pass through tables dotted keys made.
     */
    private function walk(\stdClass $table, array $keys, bool $fromHeader): \stdClass
    {
        foreach ($keys as $k) {
            if (!property_exists($table, $k)) {
                $table = $table->{$k} = $this->newTable($fromHeader ? self::TABLE_IMPLICIT : self::TABLE_DOTTED);
                continue;
            }
            $v = $table->{$k};
            if (is_array($v) && isset($this->tableArrays[spl_object_id($table) . "\0" . $k]) && $fromHeader) {
                $table = $v[count($v) - 1];
                continue;
            }
            if (!$v instanceof \stdClass) {
                $this->fail("key {$k} is already a value, not a table");
            }
            $kind = $this->kind[spl_object_id($v)] ?? 0;
            if ($kind === self::TABLE_INLINE) {
                $this->fail("inline table {$k} cannot be extended");
            }
            if (!$fromHeader && $kind !== self::TABLE_DOTTED) {
                $this->fail("table {$k} is defined by a header; dotted keys cannot add to it here");
            }
            $table = $v;
        }
        return $table;
    }

    private function newTable(int $kind): \stdClass
    {
        $t = new \stdClass();
        $this->kind[spl_object_id($t)] = $kind;
        return $t;
    }

    private function keyValue(\stdClass $table): void
    {
        $keys = $this->key();
        $this->ws();
        $this->expect('=');
        $this->ws();
        $last = array_pop($keys);
        $target = $this->walk($table, $keys, false);
        if (property_exists($target, $last)) {
            $this->fail("key " . implode('.', [...$keys, $last]) . " is defined more than once");
        }
        $target->{$last} = $this->value();
    }

    /** @return list<string> the parts of a (possibly dotted) key */
    private function key(): array
    {
        $parts = [];
        while (true) {
            $c = $this->s[$this->i] ?? '';
            if ($c === '"') {
                $parts[] = $this->basicString();
            } elseif ($c === "'") {
                $parts[] = $this->literalString();
            } elseif (preg_match('/\G[A-Za-z0-9_-]+/', $this->s, $m, 0, $this->i) === 1) {
                $parts[] = $m[0];
                $this->i += strlen($m[0]);
            } else {
                $this->fail('expected a key');
            }
            $this->ws();
            if (($this->s[$this->i] ?? '') !== '.') {
                return $parts;
            }
            $this->i++;
            $this->ws();
        }
    }

    // ---- values ---------------------------------------------------------------------

    private function value(): mixed
    {
        $c = $this->s[$this->i] ?? '';
        if ($c === '"') {
            return substr($this->s, $this->i, 3) === '"""' ? $this->multilineBasicString() : $this->basicString();
        }
        if ($c === "'") {
            return substr($this->s, $this->i, 3) === "'''" ? $this->multilineLiteralString() : $this->literalString();
        }
        if ($c === '[') {
            return $this->arrayValue();
        }
        if ($c === '{') {
            return $this->inlineTable();
        }
        if (substr($this->s, $this->i, 4) === 'true') {
            $this->i += 4;
            $this->delimiterFollows();
            return true;
        }
        if (substr($this->s, $this->i, 5) === 'false') {
            $this->i += 5;
            $this->delimiterFollows();
            return false;
        }
        return $this->scalar();
    }

    private function scalar(): mixed
    {
        $s = $this->s;
        $at = $this->i;
        if (preg_match('/\G(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|z|[+-]\d{2}:\d{2})?)?/', $s, $m, 0, $at) === 1) {
            if (!checkdate((int) $m[2], (int) $m[3], (int) $m[1])) {
                $this->fail("invalid date {$m[0]}");
            }
            if (isset($m[4]) && $m[4] !== '') {
                $this->checkTime((int) $m[4], (int) $m[5], (int) ($m[6] ?? 0), $m[0]);
                if (isset($m[8]) && strlen($m[8]) === 6 && ((int) substr($m[8], 1, 2) > 23 || (int) substr($m[8], 4, 2) > 59)) {
                    $this->fail("invalid offset in {$m[0]}");
                }
            }
            return $this->token($m[0]);
        }
        if (preg_match('/\G(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?/', $s, $m, 0, $at) === 1) {
            $this->checkTime((int) $m[1], (int) $m[2], (int) ($m[3] ?? 0), $m[0]);
            return $this->token($m[0]);
        }
        if (preg_match('/\G([+-]?)(inf|nan)/', $s, $m, 0, $at) === 1) {
            $this->token($m[0]);
            return $m[2] === 'inf' ? ($m[1] === '-' ? -INF : INF) : NAN;
        }
        if (preg_match('/\G0(x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|o[0-7](?:_?[0-7])*|b[01](?:_?[01])*)/', $s, $m, 0, $at) === 1) {
            $digits = str_replace('_', '', substr($m[1], 1));
            $v = match ($m[1][0]) { 'x' => hexdec($digits), 'o' => octdec($digits), default => bindec($digits) };
            if (!is_int($v)) {
                $this->fail("integer {$m[0]} does not fit in 64 bits");
            }
            $this->token($m[0]);
            return $v;
        }
        if (preg_match('/\G[+-]?(?:0|[1-9](?:_?\d)*)(\.\d(?:_?\d)*)?([eE][+-]?\d(?:_?\d)*)?/', $s, $m, 0, $at) === 1) {
            $clean = str_replace('_', '', $m[0]);
            $this->token($m[0]);
            if (($m[1] ?? '') !== '' || ($m[2] ?? '') !== '') {
                return (float) $clean;
            }
            $norm = ltrim($clean, '+');
            $norm = $norm === '-0' ? '0' : $norm;
            // intval saturates on overflow, so the round trip only fails for values outside 64 bits.
            if ((string) intval($norm) !== $norm) {
                $this->fail("integer {$m[0]} does not fit in 64 bits");
            }
            return intval($norm);
        }
        $this->fail('expected a value');
    }

    private function checkTime(int $h, int $min, int $sec, string $text): void
    {
        if ($h > 23 || $min > 59 || $sec > 60) {
            $this->fail("invalid time in {$text}");
        }
    }

    /** Consume `text` and require a delimiter after it (so 01, 1x, truex are errors). */
    private function token(string $text): string
    {
        $this->i += strlen($text);
        $this->delimiterFollows();
        return $text;
    }

    private function delimiterFollows(): void
    {
        $c = $this->s[$this->i] ?? '';
        if ($c !== '' && strpbrk($c, " \t\r\n,]}#") === false) {
            $this->fail('unexpected character ' . json_encode($c) . ' after a value');
        }
    }

    private function arrayValue(): array
    {
        $this->i++; // [
        $out = [];
        while (true) {
            $this->skipWsCommentsNewlines();
            if (($this->s[$this->i] ?? '') === ']') {
                $this->i++;
                return $out;
            }
            $out[] = $this->value();
            $this->skipWsCommentsNewlines();
            $c = $this->s[$this->i] ?? '';
            if ($c === ',') {
                $this->i++;
            } elseif ($c === ']') {
                $this->i++;
                return $out;
            } else {
                $this->fail('expected , or ] in an array');
            }
        }
    }

    /** Inline tables as TOML 1.1 (and the host's parser) allow: newlines, comments and a trailing comma inside. */
    private function inlineTable(): \stdClass
    {
        $this->i++; // {
        $t = $this->newTable(self::TABLE_DOTTED);
        while (true) {
            $this->skipWsCommentsNewlines();
            if (($this->s[$this->i] ?? '') === '}') {
                $this->i++;
                $this->closeInline($t);
                return $t;
            }
            $this->keyValue($t);
            $this->skipWsCommentsNewlines();
            $c = $this->s[$this->i] ?? '';
            if ($c === ',') {
                $this->i++;
            } elseif ($c !== '}') {
                $this->fail('expected , or } in an inline table');
            }
        }
    }

    /** Inline tables (and tables dotted keys made inside them) are closed once parsed. */
    private function closeInline(\stdClass $t): void
    {
        $this->kind[spl_object_id($t)] = self::TABLE_INLINE;
        foreach (get_object_vars($t) as $v) {
            if ($v instanceof \stdClass && ($this->kind[spl_object_id($v)] ?? 0) === self::TABLE_DOTTED) {
                $this->closeInline($v);
            }
        }
    }

    // ---- strings --------------------------------------------------------------------

    private function basicString(): string
    {
        $this->i++; // "
        $out = '';
        while (true) {
            if ($this->i >= $this->n) {
                $this->fail('unterminated string');
            }
            $c = $this->s[$this->i];
            if ($c === '"') {
                $this->i++;
                return $out;
            }
            if ($c === '\\') {
                $out .= $this->escape();
                continue;
            }
            if ($c === "\n" || (ord($c) < 0x20 && $c !== "\t") || ord($c) === 0x7f) {
                $this->fail('control character in a string (use an escape)');
            }
            $out .= $c;
            $this->i++;
        }
    }

    private function multilineBasicString(): string
    {
        $this->i += 3;
        $this->trimLeadingNewline();
        $out = '';
        while (true) {
            if ($this->i >= $this->n) {
                $this->fail('unterminated multi-line string');
            }
            if (substr($this->s, $this->i, 3) === '"""') {
                // Up to two quotes right before the closing delimiter belong to the string.
                $extra = 0;
                while ($extra < 2 && ($this->s[$this->i + 3 + $extra] ?? '') === '"') {
                    $extra++;
                }
                $out .= str_repeat('"', $extra);
                $this->i += 3 + $extra;
                return $out;
            }
            $c = $this->s[$this->i];
            if ($c === '\\') {
                // A line-ending backslash eats the newline and the whitespace after it.
                if (preg_match('/\G\\\\[ \t]*\r?\n[ \t\r\n]*/', $this->s, $m, 0, $this->i) === 1) {
                    $this->i += strlen($m[0]);
                    continue;
                }
                $out .= $this->escape();
                continue;
            }
            if ($c === "\r" && ($this->s[$this->i + 1] ?? '') === "\n") {
                $out .= "\n";
                $this->i += 2;
                continue;
            }
            if ((ord($c) < 0x20 && $c !== "\t" && $c !== "\n") || ord($c) === 0x7f) {
                $this->fail('control character in a string (use an escape)');
            }
            $out .= $c;
            $this->i++;
        }
    }

    private function literalString(): string
    {
        $this->i++; // '
        $end = strpos($this->s, "'", $this->i);
        $nl = strpos($this->s, "\n", $this->i);
        if ($end === false || ($nl !== false && $nl < $end)) {
            $this->fail('unterminated literal string');
        }
        $out = substr($this->s, $this->i, $end - $this->i);
        if (preg_match('/[\x00-\x08\x0a-\x1f\x7f]/', $out) === 1) {
            $this->fail('control character in a literal string');
        }
        $this->i = $end + 1;
        return $out;
    }

    private function multilineLiteralString(): string
    {
        $this->i += 3;
        $this->trimLeadingNewline();
        $end = strpos($this->s, "'''", $this->i);
        if ($end === false) {
            $this->fail('unterminated multi-line literal string');
        }
        $extra = 0;
        while ($extra < 2 && ($this->s[$end + 3 + $extra] ?? '') === "'") {
            $extra++;
        }
        $out = substr($this->s, $this->i, $end - $this->i) . str_repeat("'", $extra);
        $this->i = $end + 3 + $extra;
        return str_replace("\r\n", "\n", $out);
    }

    private function trimLeadingNewline(): void
    {
        if (($this->s[$this->i] ?? '') === "\n") {
            $this->i++;
        } elseif (substr($this->s, $this->i, 2) === "\r\n") {
            $this->i += 2;
        }
    }

    private function escape(): string
    {
        $c = $this->s[$this->i + 1] ?? '';
        $simple = ['b' => "\x08", 't' => "\t", 'n' => "\n", 'f' => "\x0c", 'r' => "\r", 'e' => "\x1b", '"' => '"', '\\' => '\\'];
        if (isset($simple[$c])) {
            $this->i += 2;
            return $simple[$c];
        }
        if ($c === 'u' || $c === 'U' || $c === 'x') {
            $len = $c === 'u' ? 4 : ($c === 'x' ? 2 : 8);
            $hex = substr($this->s, $this->i + 2, $len);
            if (strlen($hex) !== $len || !ctype_xdigit($hex)) {
                $this->fail("invalid \\{$c} escape");
            }
            $cp = hexdec($hex);
            if ($cp > 0x10FFFF || ($cp >= 0xD800 && $cp <= 0xDFFF)) {
                $this->fail("\\{$c}{$hex} is not a Unicode scalar value");
            }
            $this->i += 2 + $len;
            return self::utf8((int) $cp);
        }
        $this->fail('invalid escape \\' . $c);
    }

    private static function utf8(int $cp): string
    {
        if ($cp < 0x80) {
            return chr($cp);
        }
        if ($cp < 0x800) {
            return chr(0xC0 | ($cp >> 6)) . chr(0x80 | ($cp & 0x3F));
        }
        if ($cp < 0x10000) {
            return chr(0xE0 | ($cp >> 12)) . chr(0x80 | (($cp >> 6) & 0x3F)) . chr(0x80 | ($cp & 0x3F));
        }
        return chr(0xF0 | ($cp >> 18)) . chr(0x80 | (($cp >> 12) & 0x3F)) . chr(0x80 | (($cp >> 6) & 0x3F)) . chr(0x80 | ($cp & 0x3F));
    }

    // ---- whitespace -----------------------------------------------------------------

    private function peek(int $ahead): string
    {
        return $this->s[$this->i + $ahead] ?? '';
    }

    private function ws(): void
    {
        while ($this->i < $this->n && ($this->s[$this->i] === ' ' || $this->s[$this->i] === "\t")) {
            $this->i++;
        }
    }

    private function comment(): void
    {
        if (($this->s[$this->i] ?? '') !== '#') {
            return;
        }
        while ($this->i < $this->n && $this->s[$this->i] !== "\n") {
            $c = $this->s[$this->i];
            if ((ord($c) < 0x20 && $c !== "\t" && $c !== "\r") || ord($c) === 0x7f) {
                $this->fail('control character in a comment');
            }
            $this->i++;
        }
    }

    private function newline(): bool
    {
        if (($this->s[$this->i] ?? '') === "\n") {
            $this->i++;
            return true;
        }
        if (substr($this->s, $this->i, 2) === "\r\n") {
            $this->i += 2;
            return true;
        }
        return false;
    }

    private function skipBlankLines(): void
    {
        while ($this->i < $this->n) {
            $this->ws();
            $this->comment();
            if (!$this->newline()) {
                return;
            }
        }
    }

    private function skipWsCommentsNewlines(): void
    {
        do {
            $this->ws();
            $this->comment();
        } while ($this->newline());
    }

    private function endOfLine(): void
    {
        $this->ws();
        $this->comment();
        if ($this->i < $this->n && !$this->newline()) {
            $this->fail('expected the end of the line');
        }
    }

    private function expect(string $c): void
    {
        if (($this->s[$this->i] ?? '') !== $c) {
            $this->fail("expected {$c}");
        }
        $this->i++;
    }

    private function fail(string $message): never
    {
        $before = substr($this->s, 0, min($this->i, $this->n));
        $line = substr_count($before, "\n") + 1;
        $nl = strrpos($before, "\n");
        $col = $this->i - ($nl === false ? 0 : $nl + 1) + 1;
        throw new TomlException("line {$line}, column {$col}: {$message}", $line, $col);
    }
}
