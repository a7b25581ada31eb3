//! The plugin's manifest: TOML in, the whole document as JSON out (for `initialize`).

use serde_json::{Map, Number, Value};

use crate::errors::ManifestError;

/// A parsed manifest: the whole document as JSON plus the two fields the SDK reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The whole manifest as JSON (TOML datetimes become their RFC 3339 text).
    pub json: Value,
    /// `[plugin].id`.
    pub id: String,
    /// `[plugin].version`, `0.0.0` when absent.
    pub version: String,
}

impl Manifest {
    /// Parse manifest text; fails on invalid TOML or a missing `[plugin].id`.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ManifestError(format!("manifest is not valid TOML: {}", e.message())))?;
        let json = toml_to_json(toml::Value::Table(table))?;
        let plugin = json.get("plugin").and_then(Value::as_object);
        let id = match plugin.and_then(|p| p.get("id")) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(ManifestError("manifest has no [plugin].id".into())),
        };
        let version = plugin.and_then(|p| p.get("version")).and_then(Value::as_str).unwrap_or("0.0.0").to_string();
        Ok(Manifest { json, id, version })
    }
}

fn toml_to_json(v: toml::Value) -> Result<Value, ManifestError> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(f) => Value::Number(Number::from_f64(f).ok_or_else(|| ManifestError(format!("manifest float {f} has no JSON form")))?),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => {
            let mut m = Map::new();
            for (k, v) in t {
                m.insert(k, toml_to_json(v)?);
            }
            Value::Object(m)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_manifest_as_json_with_id_and_version() {
        let m = Manifest::parse(
            r#"
manifest_version = 2
[plugin]
id = "slack"
version = "0.2.0"
[plugin.entrypoint]
command = "./bin/slack"
args = ["--mode", "stdio"]
env = { RUST_LOG = "info" }
[[plugin.channels.register]]
kind = "slack"
[plugin.supervisor]
backoff_ms = 1_000
respawn = true
ratio = 0.5
"#,
        )
        .unwrap();
        assert_eq!(m.id, "slack");
        assert_eq!(m.version, "0.2.0");
        assert_eq!(m.json["manifest_version"], json!(2));
        assert_eq!(m.json["plugin"]["entrypoint"], json!({ "command": "./bin/slack", "args": ["--mode", "stdio"], "env": { "RUST_LOG": "info" } }));
        assert_eq!(m.json["plugin"]["channels"]["register"], json!([{ "kind": "slack" }]));
        assert_eq!(m.json["plugin"]["supervisor"], json!({ "backoff_ms": 1000, "respawn": true, "ratio": 0.5 }));
    }

    #[test]
    fn refuses_bad_toml_and_a_missing_id() {
        assert!(Manifest::parse("not = = toml").unwrap_err().0.contains("not valid TOML"));
        assert_eq!(Manifest::parse("[plugin]\nversion = '1.0.0'\n").unwrap_err().0, "manifest has no [plugin].id");
        assert_eq!(Manifest::parse("[plugin]\nid = ''\n").unwrap_err().0, "manifest has no [plugin].id");
        assert_eq!(Manifest::parse("[plugin]\nid = 'x'\n").unwrap().version, "0.0.0");
    }

    #[test]
    fn datetimes_become_text() {
        let m = Manifest::parse("[plugin]\nid = 'x'\nreleased = 2026-01-02T03:04:05Z\n").unwrap();
        assert_eq!(m.json["plugin"]["released"], json!("2026-01-02T03:04:05Z"));
    }
}
