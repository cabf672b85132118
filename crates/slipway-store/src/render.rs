//! A YAML-like, line-oriented rendering of module bodies, made for line diffs (a recipe script
//! shows one line per script line), and the diff itself.
//!
//! Owns: display text only. Never: be parsed back; the stored form of a body is its JSON.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::modules::{DiffRow, DiffTag};

/// Renders a JSON value as YAML-like text: `key: value` lines, nested maps indented by two,
/// list items as `- item`, and multi-line strings as `|` blocks.
pub(crate) fn yamlish(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => entries(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => list(&mut out, items, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn entries(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&plain_or_quoted(key));
        out.push(':');
        nested(out, value, indent);
    }
}

fn list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        nested(out, item, indent);
    }
}

/// Writes what follows `key:` or `-`: a scalar on the same line, or a block below.
fn nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            entries(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            list(out, items, indent + 2);
        }
        Value::String(text) if text.contains('\n') => {
            out.push_str(if text.ends_with('\n') {
                " |\n"
            } else {
                " |-\n"
            });
            for line in text.lines() {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => plain_or_quoted(text),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        other => other.to_string(),
    }
}

/// A string as is when YAML would read it back as the same string, else JSON-quoted.
fn plain_or_quoted(text: &str) -> String {
    let looks_typed = matches!(text, "true" | "false" | "null" | "~" | "yes" | "no")
        || text.parse::<f64>().is_ok();
    let starts_special = text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c));
    let risky = text.is_empty()
        || text.trim() != text
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.chars().any(char::is_control);
    if looks_typed || starts_special || risky {
        serde_json::to_string(text).unwrap_or_default()
    } else {
        text.to_string()
    }
}

/// The line diff of two texts, for a side-by-side view.
pub(crate) fn diff_lines(old: &str, new: &str) -> Vec<DiffRow> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffRow {
            tag: match change.tag() {
                ChangeTag::Equal => DiffTag::Equal,
                ChangeTag::Insert => DiffTag::Insert,
                ChangeTag::Delete => DiffTag::Delete,
            },
            old_line: change.old_index().map(|i| i as u32 + 1),
            new_line: change.new_index().map(|i| i as u32 + 1),
            text: change.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_scripts_as_blocks_and_quotes_what_yaml_would_retype() {
        let text = yamlish(&json!({
            "image": "debian-12",
            "inputs": { "db_port": { "default": "5432" }, "empty": {} },
            "packages": ["curl", "git"],
            "recipes": { "deployment": "echo one\n\necho two\n" },
            "note": "a: b",
        }));
        let expected = "\
image: debian-12
inputs:
  db_port:
    default: \"5432\"
  empty: {}
packages:
  - curl
  - git
recipes:
  deployment: |
    echo one

    echo two
note: \"a: b\"
";
        assert_eq!(text, expected);
    }

    #[test]
    fn diff_numbers_lines_on_each_side() {
        let rows = diff_lines("a\nb\nc\n", "a\nB\nc\n");
        let tags: Vec<_> = rows.iter().map(|r| (r.tag, r.text.as_str())).collect();
        assert_eq!(
            tags,
            [
                (DiffTag::Equal, "a"),
                (DiffTag::Delete, "b"),
                (DiffTag::Insert, "B"),
                (DiffTag::Equal, "c"),
            ]
        );
        assert_eq!((rows[1].old_line, rows[1].new_line), (Some(2), None));
        assert_eq!((rows[2].old_line, rows[2].new_line), (None, Some(2)));
    }
}
