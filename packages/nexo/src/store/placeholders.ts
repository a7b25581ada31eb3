/**
 * Translate portable `?` placeholders to PostgreSQL's `$1..$n`, leaving alone
 * every `?` inside a quoted string ('...', E'...'), a quoted identifier ("..."),
 * a dollar-quoted body ($tag$...$tag$) or a comment (-- and nested /* *\/).
 * Returns the translated text and the number of placeholders found. PostgreSQL's
 * JSON operators spelled with `?` are therefore unavailable: use the jsonb
 * functions (`jsonb_exists`, ...) instead.
 */
export function toNumberedPlaceholders(sql: string): { text: string; count: number } {
  let out = "";
  let count = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "?") {
      count += 1;
      out += `$${count}`;
      i += 1;
    } else if (c === "'" || c === '"') {
      const end = skipQuoted(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "-" && next === "-") {
      const nl = sql.indexOf("\n", i);
      const end = nl === -1 ? n : nl;
      out += sql.slice(i, end);
      i = end;
    } else if (c === "/" && next === "*") {
      const end = skipBlockComment(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      // `$1` (a numbered parameter someone wrote by hand) has no closing `$` right after the digits, so it is no tag.
      if (tag && !isIdentChar(sql[i - 1])) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        const end = close === -1 ? n : close + tag[0].length;
        out += sql.slice(i, end);
        i = end;
      } else {
        out += c;
        i += 1;
      }
    } else {
      out += c;
      i += 1;
    }
  }
  return { text: out, count };
}

/** Number of `?` placeholders in `sql` (same lexing rules as the translation). */
export function countPlaceholders(sql: string): number {
  return toNumberedPlaceholders(sql).count;
}

function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      // A doubled quote is an escaped quote, not the end.
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    // E'...' strings allow backslash escapes; a backslash before the quote never ends a standard string either way.
    if (sql[i] === "\\" && quote === "'" && isEscapeString(sql, start)) {
      i += 2;
      continue;
    }
    i += 1;
  }
  return sql.length;
}

function isEscapeString(sql: string, quoteAt: number): boolean {
  const prev = sql[quoteAt - 1];
  return (prev === "E" || prev === "e") && !isIdentChar(sql[quoteAt - 2]);
}

function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === "/" && sql[i + 1] === "*") {
      depth += 1;
      i += 2;
    } else if (sql[i] === "*" && sql[i + 1] === "/") {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}
