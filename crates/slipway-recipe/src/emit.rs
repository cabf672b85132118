//! Writes a recipe as format v1 YAML.
//!
//! Owns: a small, deterministic YAML writer for the recipe model: block mappings, literal blocks
//! (`|`) for multi-line recipes, short flow mappings (`{ x: 80, y: 40 }`), and quoting only where a
//! plain scalar would read back differently. Reading the output gives back the same model.
//! Never: writes anything that is not in the model (no secrets can be there).

use serde_json::Value;

use crate::model::Recipe;

const FLOW_WIDTH: usize = 88;

/// The recipe as YAML text, ending with a newline.
pub fn to_yaml(recipe: &Recipe) -> String {
    let value = serde_json::to_value(recipe).expect("the recipe model always serialises");
    let mut out = String::with_capacity(4096);
    if let Value::Object(map) = &value {
        for (i, (k, v)) in map.iter().enumerate() {
            // A blank line between the top-level sections, as a person would write it.
            if i > 0 && matches!(v, Value::Object(_)) {
                out.push('\n');
            }
            write_entry(&mut out, 0, k, v);
        }
    }
    out
}

fn write_entry(out: &mut String, indent: usize, key: &str, value: &Value) {
    push_indent(out, indent);
    out.push_str(&scalar(key));
    out.push(':');
    match value {
        Value::Object(map) if map.is_empty() => out.push_str(" {}\n"),
        Value::Array(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Object(_) | Value::Array(_) => {
            if let Some(flow) =
                flow(value).filter(|f| indent + key.len() + 2 + f.len() <= FLOW_WIDTH)
            {
                out.push(' ');
                out.push_str(&flow);
                out.push('\n');
            } else {
                out.push('\n');
                write_block(out, indent + 2, value);
            }
        }
        Value::String(s) if s.contains('\n') => write_literal(out, indent, s),
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_block(out: &mut String, indent: usize, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                write_entry(out, indent, k, v);
            }
        }
        Value::Array(items) => {
            for item in items {
                push_indent(out, indent);
                out.push('-');
                match item {
                    Value::String(s) if s.contains('\n') => write_literal(out, indent, s),
                    Value::Object(_) | Value::Array(_) => match flow(item) {
                        Some(f) => {
                            out.push(' ');
                            out.push_str(&f);
                            out.push('\n');
                        }
                        None => {
                            out.push('\n');
                            write_block(out, indent + 2, item);
                        }
                    },
                    other => {
                        out.push(' ');
                        out.push_str(&inline(other));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            push_indent(out, indent);
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A literal block scalar, or a double-quoted string when a block cannot hold the text exactly.
fn write_literal(out: &mut String, indent: usize, s: &str) {
    let body_indent = indent + 2;
    // Several trailing newlines would need `|+`, whose kept lines swallow any blank line that
    // follows; such rare text is written double-quoted instead.
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let blockable = trailing <= 1
        && !s.starts_with(['\n', ' ', '\t'])
        && !s.contains('\r')
        && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
        && !s.contains('\u{feff}')
        && !s.contains('\u{85}')
        && !s.contains('\u{2028}')
        && !s.contains('\u{2029}');
    if !blockable {
        out.push(' ');
        out.push_str(&quoted(s));
        out.push('\n');
        return;
    }
    let chomp = if trailing == 0 { "-" } else { "" };
    out.push_str(" |");
    out.push_str(chomp);
    out.push('\n');
    let body = s.trim_end_matches('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            push_indent(out, body_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// A one-line flow form for small collections of plain values.
fn flow(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => {
            let parts: Option<Vec<String>> = map
                .iter()
                .map(|(k, v)| match v {
                    Value::Object(_) | Value::Array(_) => None,
                    Value::String(s) if s.contains('\n') => None,
                    other => Some(format!("{}: {}", flow_scalar(k), flow_inline(other))),
                })
                .collect();
            let parts = parts?;
            if parts.is_empty() {
                return Some("{}".into());
            }
            Some(format!("{{ {} }}", parts.join(", ")))
        }
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|v| match v {
                    Value::Object(_) | Value::Array(_) => None,
                    Value::String(s) if s.contains('\n') => None,
                    other => Some(flow_inline(other)),
                })
                .collect();
            Some(format!("[{}]", parts?.join(", ")))
        }
        _ => None,
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::String(s) => scalar(s),
        Value::Number(n) => number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        _ => unreachable!("collections are written as blocks or flows"),
    }
}

fn flow_inline(v: &Value) -> String {
    match v {
        Value::String(s) => flow_scalar(s),
        other => inline(other),
    }
}

fn number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else double-quoted.
fn scalar(s: &str) -> String {
    if is_plain_safe(s, false) {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// Inside `{ }` and `[ ]` the flow indicators `,[]{}` also need quoting.
fn flow_scalar(s: &str) -> String {
    if is_plain_safe(s, true) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn is_plain_safe(s: &str, in_flow: bool) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    // Words YAML would read as null, booleans or numbers stay strings only when quoted.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || lower.parse::<f64>().is_ok()
        || lower.starts_with("0x")
        || lower.starts_with("0o")
        || lower.starts_with(".inf")
        || lower.starts_with(".nan")
        || lower.starts_with("+.")
        || lower.starts_with("-.")
    {
        return false;
    }
    let first = s.chars().next().expect("non-empty");
    if !(first.is_ascii_alphanumeric()
        || first == '/'
        || first == '.'
        || first == '_'
        || first == '$'
        || first == '(')
    {
        return false;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                ' ' | '-'
                    | '_'
                    | '.'
                    | '/'
                    | ':'
                    | '@'
                    | '+'
                    | '='
                    | '$'
                    | '('
                    | ')'
                    | '<'
                    | '>'
                    | '~'
                    | '^'
                    | '!'
                    | ';'
                    | '?'
            )
            || (!in_flow && matches!(c, ',' | '[' | ']'))
    }) && !(in_flow && s.contains(['{', '}']))
}

/// A YAML double-quoted scalar (JSON escapes are valid YAML escapes).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{a0}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn push_indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_unambiguous() {
        assert_eq!(scalar("debian-12"), "debian-12");
        assert_eq!(scalar("5432"), "\"5432\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("-x"), "\"-x\"");
        assert_eq!(flow_scalar("a,b"), "\"a,b\"");
        assert_eq!(scalar("ami-0abc1234"), "ami-0abc1234");
    }
}
