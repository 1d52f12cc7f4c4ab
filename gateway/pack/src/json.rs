//! Conversions between TOML and JSON values, and rendering of JSON pointers as the dotted
//! paths (`grants[0].actions[1]`) an operator recognises from the TOML they wrote.

use serde_json::Value;

/// Converts a TOML value to JSON. Datetimes become their RFC 3339 text; NaN and infinities,
/// which JSON cannot hold, are refused.
pub(crate) fn toml_to_json(value: toml::Value, path: &mut String) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => match serde_json::Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(format!(
                    "{}: {f} cannot be represented in JSON",
                    display_path(path)
                ));
            }
        },
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(toml_to_json(item, path)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        toml::Value::Table(table) => Value::Object(table_to_json(table, path)?),
    })
}

/// Converts a TOML table to a JSON object (see [`toml_to_json`]).
pub(crate) fn table_to_json(
    table: toml::Table,
    path: &mut String,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut out = serde_json::Map::new();
    for (k, v) in table {
        let len = path.len();
        push_key(path, &k);
        let v = toml_to_json(v, path)?;
        path.truncate(len);
        out.insert(k, v);
    }
    Ok(out)
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "config" } else { path }
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Appends `.key` (or `."odd key"`) to a dotted path.
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    if is_bare_key(key) {
        path.push_str(key);
    } else {
        path.push_str(&Value::String(key.to_string()).to_string());
    }
}

/// Renders the JSON pointer `pointer` (as reported for `instance`) as a dotted path under
/// `root`: `/grants/0/actions/1` → `config.grants[0].actions[1]`. Segments are read as array
/// indexes only where the instance holds an array, so an object key `"0"` stays a key.
pub(crate) fn dotted_path(root: &str, instance: &Value, pointer: &str) -> String {
    let mut path = root.to_string();
    let mut current = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        let index = seg.parse::<usize>().ok();
        match (current, index) {
            (Some(Value::Array(items)), Some(i)) => {
                path.push_str(&format!("[{i}]"));
                current = items.get(i);
            }
            (Some(Value::Object(map)), _) => {
                push_key(&mut path, &seg);
                current = map.get(&seg);
            }
            _ => {
                push_key(&mut path, &seg);
                current = None;
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_to_dotted() {
        let v = json!({"grants": [{"actions": ["read", "x"]}], "0": {"a/b": 1}});
        assert_eq!(
            dotted_path("config", &v, "/grants/0/actions/1"),
            "config.grants[0].actions[1]"
        );
        assert_eq!(dotted_path("config", &v, "/0/a~1b"), "config.0.\"a/b\"");
        assert_eq!(dotted_path("config", &v, ""), "config");
        assert_eq!(dotted_path("", &v, "/grants"), "grants");
    }

    #[test]
    fn toml_datetimes_become_strings() {
        let t: toml::Table = toml::from_str("at = 2026-01-01T00:00:00Z\nn = [1, 2.5]").unwrap();
        let v = table_to_json(t, &mut String::new()).unwrap();
        assert_eq!(v["at"], json!("2026-01-01T00:00:00Z"));
        assert_eq!(v["n"], json!([1, 2.5]));
    }

    #[test]
    fn nan_is_refused() {
        let t: toml::Table = toml::from_str("a = { b = [nan] }").unwrap();
        let e = table_to_json(t, &mut "config".to_string()).unwrap_err();
        assert_eq!(e, "config.a.b[0]: NaN cannot be represented in JSON");
    }
}
