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

/// An event as published: the handled event's id as `correlation_id` when it has none.
pub(crate) fn outgoing(mut event: Event) -> Event {
    if event.correlation_id.is_none() {
        if let Ok(id) = HANDLED_EVENT.try_with(|id| id.clone()) {
            event.correlation_id = Some(id);
        }
    }
    event
}
