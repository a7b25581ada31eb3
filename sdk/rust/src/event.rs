//! Events as they travel on the wire, UUID v7 ids and RFC 3339 timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An event: `id`, `timestamp`, `topic`, `source`, `session_id`, `payload`, plus
/// optional `correlation_id` and `metadata`. Serializes with `session_id` always
/// present (null when none) and the two optional fields left out when unset.
///
/// ```
/// use nexo_plugin_sdk::Event;
/// use serde_json::json;
/// let e = Event::new("plugin.inbound.feed", "feed_poller", json!({ "id": 7 }));
/// assert_eq!(e.session_id, None);
/// assert_eq!(&e.id[14..15], "7"); // UUID version 7
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUID v7, time-ordered.
    #[serde(default = "uuid7")]
    pub id: String,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-01-01T12:00:00.000Z`.
    #[serde(default = "now_rfc3339")]
    pub timestamp: String,
    /// Dot-separated topic.
    #[serde(default)]
    pub topic: String,
    /// Who produced the event (usually the plugin id).
    #[serde(default)]
    pub source: String,
    /// Conversation this event belongs to, if any.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The event's data, any JSON.
    #[serde(default)]
    pub payload: Value,
    /// Ties a reply to its request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Event {
    /// A new event with all six fields set: UUID v7 `id`, RFC 3339 UTC `timestamp`, no session.
    pub fn new(topic: impl Into<String>, source: impl Into<String>, payload: impl Into<Value>) -> Self {
        Event {
            id: uuid7(),
            timestamp: now_rfc3339(),
            topic: topic.into(),
            source: source.into(),
            session_id: None,
            payload: payload.into(),
            correlation_id: None,
            metadata: None,
        }
    }

    /// Set the session id (e.g. the incoming event's, to keep a conversation together).
    pub fn with_session_id(mut self, session_id: Option<String>) -> Self {
        self.session_id = session_id;
        self
    }

    /// Set the correlation id (ties a reply to its request).
    pub fn with_correlation_id(mut self, correlation_id: Option<String>) -> Self {
        self.correlation_id = correlation_id;
        self
    }

    /// Set the metadata.
    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Read a wire event leniently: a host (or an SDK) that omits or mistypes
    /// `id`, `timestamp` or `session_id` still yields an event; missing ids and
    /// timestamps are filled in.
    pub fn from_value(v: &Value) -> Self {
        let s = |k: &str| match v.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Event {
            id: s("id").filter(|x| !x.is_empty()).unwrap_or_else(uuid7),
            timestamp: s("timestamp").filter(|x| !x.is_empty()).unwrap_or_else(now_rfc3339),
            topic: s("topic").unwrap_or_default(),
            source: s("source").unwrap_or_default(),
            session_id: s("session_id"),
            payload: v.get("payload").cloned().unwrap_or(Value::Null),
            correlation_id: s("correlation_id"),
            metadata: v.get("metadata").and_then(Value::as_object).cloned(),
        }
    }
}

/// A UUID v7 (RFC 9562): 48-bit millisecond timestamp, version 7, random bits; sorts by creation time.
pub fn uuid7() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current UTC time, RFC 3339 with milliseconds and a `Z` suffix.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_rfc3339(d.as_secs() as i64, d.subsec_millis())
}

/// `secs` since the Unix epoch (UTC) plus milliseconds, as RFC 3339.
pub(crate) fn format_rfc3339(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(format_rfc3339(1_767_225_599, 999), "2025-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn new_event_serializes_all_six_fields_and_no_unset_optionals() {
        let e = Event::new("a.b", "me", json!({ "x": 1 }));
        let v = serde_json::to_value(&e).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["id", "payload", "session_id", "source", "timestamp", "topic"]);
        assert_eq!(v["session_id"], Value::Null);
        let id = &e.id;
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "7");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert!(e.timestamp.ends_with('Z') && e.timestamp.len() == 24);
    }

    #[test]
    fn session_uuid_is_the_rfc_4122_v5_every_sdk_computes() {
        // The same values as Python's uuid.uuid5(NAMESPACE_URL, "nexo:session:chat-42") and the TS SDK's sessionUuid.
        assert_eq!(super::session_uuid("chat-42"), "95cba63a-98b5-5bb9-982c-841bd55ae4a8");
        assert_eq!(super::session_uuid(""), "9c026c69-7257-5e03-b0ea-0a8de866d6e6");
    }

    #[test]
    fn upstream_readable_events_have_uuid_ids_and_keep_the_originals_in_metadata() {
        let e = super::upstream_readable(Event::new("t", "s", serde_json::json!(1)).with_session_id(Some("chat-42".to_string())));
        assert!(super::is_uuid(&e.id) && e.session_id.as_deref() == Some("95cba63a-98b5-5bb9-982c-841bd55ae4a8"));
        assert_eq!(e.metadata.unwrap()["session_id"], "chat-42");
        let mut odd = Event::new("t", "s", serde_json::json!(1));
        odd.id = "e-1".into();
        let kept = "0190a8f6-1c2b-7d3e-8f40-123456789abc".to_string();
        let e = super::upstream_readable(odd.with_session_id(Some(kept.clone())));
        assert!(super::is_uuid(&e.id));
        assert_eq!(e.session_id, Some(kept));
        assert_eq!(e.metadata.unwrap(), serde_json::json!({ "event_id": "e-1" }).as_object().unwrap().clone());
    }

    #[test]
    fn uuid7_sorts_by_time() {
        let a = uuid7();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(a < uuid7());
    }

    #[test]
    fn from_value_fills_what_is_missing_and_keeps_the_rest() {
        let e = Event::from_value(&json!({ "topic": "t", "payload": [1], "session_id": "s", "correlation_id": "c", "metadata": { "k": 1 } }));
        assert_eq!(e.topic, "t");
        assert_eq!(e.payload, json!([1]));
        assert_eq!(e.session_id.as_deref(), Some("s"));
        assert_eq!(e.correlation_id.as_deref(), Some("c"));
        assert_eq!(e.metadata.unwrap()["k"], json!(1));
        assert_eq!(e.id.len(), 36);
        let bare = Event::from_value(&json!({}));
        assert_eq!(bare.payload, Value::Null);
        assert_eq!(bare.session_id, None);
    }
}

tokio::task_local! {
    /// The id of the event whose handler runs on this task.
    static HANDLED_EVENT: String;
}

/// Run `fut` as the handler of the event `event_id`: an event it publishes
/// without a `correlation_id` gets that id, through every `.await` (but not in
/// tasks it spawns).
pub(crate) fn in_handler_of<F: std::future::Future>(event_id: String, fut: F) -> impl std::future::Future<Output = F::Output> {
    HANDLED_EVENT.scope(event_id, fut)
}

/// An event as published: the handled event's id as `correlation_id` when it
/// has none, and ids an upstream host can parse (see [`upstream_readable`])
/// unless the host takes any string (the Nexo daemon sets `NEXO_PLUGIN_KEY`).
pub(crate) fn outgoing(mut event: Event) -> Event {
    if event.correlation_id.is_none() {
        if let Ok(id) = HANDLED_EVENT.try_with(|id| id.clone()) {
            event.correlation_id = Some(id);
        }
    }
    static STRING_SESSION_IDS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *STRING_SESSION_IDS.get_or_init(|| std::env::var_os("NEXO_PLUGIN_KEY").is_some_and(|v| !v.is_empty())) {
        event
    } else {
        upstream_readable(event)
    }
}

/// True for a hyphenated UUID, the only `id` / `session_id` an upstream host's event parser accepts.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36 && b.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// The name-based UUID (v5, RFC 4122 URL namespace, name `nexo:session:<text>`) of a
/// session id: the same text always gives the same UUID, in every nexo SDK.
pub fn session_uuid(text: &str) -> String {
    const NAMESPACE: [u8; 16] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];
    let mut data = NAMESPACE.to_vec();
    data.extend_from_slice(b"nexo:session:");
    data.extend_from_slice(text.as_bytes());
    let mut h = sha1(&data);
    h[6] = (h[6] & 0x0f) | 0x50;
    h[8] = (h[8] & 0x3f) | 0x80;
    let x: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

/// An upstream host parses `id` and `session_id` as UUIDs and drops a publish whose
/// event does not parse: a non-UUID `session_id` becomes its [`session_uuid`] (one
/// per conversation) with the text kept in `metadata.session_id`, and a non-UUID
/// `id` a fresh one (the original in `metadata.event_id`).
pub fn upstream_readable(mut event: Event) -> Event {
    if !is_uuid(&event.id) {
        let original = std::mem::replace(&mut event.id, uuid7());
        if !original.is_empty() {
            event.metadata.get_or_insert_with(Map::new).insert("event_id".into(), Value::String(original));
        }
    }
    if let Some(sid) = event.session_id.take() {
        if is_uuid(&sid) {
            event.session_id = Some(sid);
        } else if !sid.is_empty() {
            event.session_id = Some(session_uuid(&sid));
            event.metadata.get_or_insert_with(Map::new).insert("session_id".into(), Value::String(sid));
        }
    }
    event
}

/// SHA-1 (FIPS 180-4), for name-based UUIDs only.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}
