import { ErrorCodes, NexoError } from "../errors.js";

/** Longest topic or pattern accepted, in characters. */
export const MAX_TOPIC_LENGTH = 512;
/** Most segments in a topic or pattern. */
export const MAX_TOPIC_SEGMENTS = 64;

const BAD_CHARS = /[\s*>]/;

function invalid(code: typeof ErrorCodes.BROKER_INVALID_TOPIC | typeof ErrorCodes.BROKER_INVALID_PATTERN, what: string, value: string, rule: string): NexoError {
  return new NexoError(code, `invalid ${what} ${JSON.stringify(value)}: ${rule}`, { topic: value, rule });
}

/**
 * Check a concrete topic: dot-separated, no empty segment, no wildcard or
 * whitespace characters, bounded length. Throws NEXO_ERR_BROKER_INVALID_TOPIC naming the rule.
 */
export function validateTopic(topic: string): void {
  const code = ErrorCodes.BROKER_INVALID_TOPIC;
  if (typeof topic !== "string" || topic.length === 0) throw invalid(code, "topic", String(topic), "must be a non-empty string");
  if (topic.length > MAX_TOPIC_LENGTH) throw invalid(code, "topic", topic.slice(0, 40), `longer than ${MAX_TOPIC_LENGTH} characters`);
  const segs = topic.split(".");
  if (segs.length > MAX_TOPIC_SEGMENTS) throw invalid(code, "topic", topic, `more than ${MAX_TOPIC_SEGMENTS} segments`);
  for (const s of segs) {
    if (s.length === 0) throw invalid(code, "topic", topic, "empty segment (leading, trailing or double dot)");
    if (BAD_CHARS.test(s)) throw invalid(code, "topic", topic, "wildcards (* >) and whitespace are not allowed in a topic");
  }
}

/**
 * Check a subscription pattern: like a topic, but a segment may be exactly `*`
 * (one segment) or, as the last segment only, `>` (one or more segments).
 * Throws NEXO_ERR_BROKER_INVALID_PATTERN naming the rule.
 */
export function validatePattern(pattern: string): void {
  const code = ErrorCodes.BROKER_INVALID_PATTERN;
  if (typeof pattern !== "string" || pattern.length === 0) throw invalid(code, "pattern", String(pattern), "must be a non-empty string");
  if (pattern.length > MAX_TOPIC_LENGTH) throw invalid(code, "pattern", pattern.slice(0, 40), `longer than ${MAX_TOPIC_LENGTH} characters`);
  const segs = pattern.split(".");
  if (segs.length > MAX_TOPIC_SEGMENTS) throw invalid(code, "pattern", pattern, `more than ${MAX_TOPIC_SEGMENTS} segments`);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.length === 0) throw invalid(code, "pattern", pattern, "empty segment (leading, trailing or double dot)");
    if (s === "*") continue;
    if (s === ">") {
      if (i !== segs.length - 1) throw invalid(code, "pattern", pattern, "`>` is only allowed as the last segment");
      continue;
    }
    if (BAD_CHARS.test(s)) throw invalid(code, "pattern", pattern, "`*` and `>` must be whole segments; whitespace is not allowed");
  }
}

/** True when `topic` matches `pattern` (`*` = exactly one segment, `>` = one or more trailing). Both assumed valid. */
export function matchTopic(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    const s = p[i];
    if (s === ">") return t.length > i;
    if (i >= t.length) return false;
    if (s !== "*" && s !== t[i]) return false;
  }
  return p.length === t.length;
}

/**
 * True when every topic `inner` matches is also matched by `outer` (both
 * valid patterns): `plugin.outbound.echo` and `plugin.outbound.*` lie inside
 * `plugin.outbound.>`, `plugin.>` does not.
 */
export function patternWithin(inner: string, outer: string): boolean {
  const p = inner.split(".");
  const o = outer.split(".");
  for (let i = 0; i < o.length; i++) {
    const os = o[i];
    if (os === ">") return i < p.length;
    if (i >= p.length) return false;
    const ps = p[i];
    if (ps === ">") return false;
    if (os !== "*" && (ps === "*" || ps !== os)) return false;
  }
  return p.length === o.length;
}

const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Check a work-sharing queue name (it becomes a NATS queue group and part of a JetStream consumer name). */
export function validateQueueName(queue: string): void {
  if (typeof queue !== "string" || !QUEUE_NAME.test(queue)) {
    throw new NexoError(ErrorCodes.BROKER_INVALID_PATTERN, `queue name must be 1..128 characters of [A-Za-z0-9_.:-], got ${JSON.stringify(queue)}`, { data: { queue } });
  }
}
