//! The `SLIPWAY_OUTPUT` file format (SPEC §3), shared by every driver: a recipe appends
//! `name=value` lines, or `name<<DELIM` … `DELIM` blocks for values spanning lines.
//!
//! Pure text in, map out; no I/O.

use indexmap::IndexMap;

/// Parses the text a recipe left in `SLIPWAY_OUTPUT`.
///
/// - `name=value` sets an output; the value is everything after the first `=` (it may contain
///   `=` and may be empty).
/// - `name<<DELIM` starts a value that spans the following lines up to a line that is exactly
///   `DELIM`; the value is those lines joined by `\n`, without a trailing newline. When a line
///   holds both, whichever of `=` and `<<` comes first decides.
/// - A name starts with a letter or `_` and holds letters, digits, `_` and `-`.
/// - Lines may end in `\n` or `\r\n`; blank lines between entries are ignored; a name set twice
///   keeps the later value (in the position where it was first set).
///
/// Errors name the 1-based line: a line that is neither form, a bad name, an empty delimiter,
/// or a delimiter that is never closed.
pub fn parse_outputs(text: &str) -> Result<IndexMap<String, String>, String> {
    let mut outputs = IndexMap::new();
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(i, line)| (i + 1, line));
    // `split` yields one empty piece after a final newline; it is a blank line and is ignored.
    while let Some((number, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(eq), h) if h.is_none_or(|h| eq < h) => {
                let name = check_name(&line[..eq], number)?;
                outputs.insert(name, line[eq + 1..].to_string());
            }
            (_, Some(h)) => {
                let name = check_name(&line[..h], number)?;
                let delimiter = &line[h + 2..];
                if delimiter.is_empty() || delimiter.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "line {number}: `{name}<<` must be followed by a delimiter without spaces"
                    ));
                }
                let mut value: Vec<&str> = Vec::new();
                let mut closed = false;
                for (_, body) in lines.by_ref() {
                    if body == delimiter {
                        closed = true;
                        break;
                    }
                    value.push(body);
                }
                if !closed {
                    return Err(format!(
                        "line {number}: the value of `{name}` is never closed by a line \
                         `{delimiter}`"
                    ));
                }
                outputs.insert(name, value.join("\n"));
            }
            _ => {
                return Err(format!(
                    "line {number}: expected `name=value` or `name<<DELIMITER`, found `{}`",
                    shorten(line)
                ));
            }
        }
    }
    Ok(outputs)
}

fn check_name(name: &str, number: usize) -> Result<String, String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!(
            "line {number}: `{}` is not a valid output name (letters, digits, `_` and `-`, \
             starting with a letter or `_`)",
            shorten(name)
        ))
    }
}

/// Keeps error messages readable when a recipe wrote something huge by mistake.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_outputs(text)
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
            .into_iter()
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(text: &str) -> String {
        match parse_outputs(text) {
            Ok(map) => panic!("{text:?} should fail, parsed as {map:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_text_has_no_outputs() {
        assert!(parse("").is_empty());
        assert!(parse("\n\n  \n\t\n").is_empty());
    }

    #[test]
    fn name_value_lines() {
        assert_eq!(
            parse("port=5432\nurl=http://10.0.0.1:8080/\n"),
            pairs(&[("port", "5432"), ("url", "http://10.0.0.1:8080/")])
        );
    }

    #[test]
    fn last_line_needs_no_newline() {
        assert_eq!(parse("a=1\nb=2"), pairs(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn value_may_contain_equals_signs_and_heredoc_marks() {
        assert_eq!(
            parse("query=a=b&c=d\nexpr=x<<y\n"),
            pairs(&[("query", "a=b&c=d"), ("expr", "x<<y")])
        );
    }

    #[test]
    fn empty_values() {
        assert_eq!(parse("a=\nb=\n"), pairs(&[("a", ""), ("b", "")]));
        assert_eq!(parse("a<<EOF\nEOF\n"), pairs(&[("a", "")]));
    }

    #[test]
    fn whitespace_in_values_is_kept() {
        assert_eq!(
            parse("a=  padded  \nb=\t\n"),
            pairs(&[("a", "  padded  "), ("b", "\t")])
        );
    }

    #[test]
    fn later_lines_win() {
        assert_eq!(parse("a=1\nb=2\na=3\n"), pairs(&[("a", "3"), ("b", "2")]));
        assert_eq!(
            parse("a=1\na<<X\nmulti\nline\nX\n"),
            pairs(&[("a", "multi\nline")])
        );
    }

    #[test]
    fn blank_lines_between_entries_are_ignored() {
        assert_eq!(
            parse("\na=1\n\n   \nb=2\n\n"),
            pairs(&[("a", "1"), ("b", "2")])
        );
    }

    #[test]
    fn heredoc_spans_lines_without_trailing_newline() {
        assert_eq!(
            parse("cert<<EOF\n-----BEGIN-----\nabc=\n\n-----END-----\nEOF\nnext=1\n"),
            pairs(&[
                ("cert", "-----BEGIN-----\nabc=\n\n-----END-----"),
                ("next", "1")
            ])
        );
    }

    #[test]
    fn heredoc_keeps_blank_lines_at_its_edges() {
        assert_eq!(parse("a<<E\n\nx\n\nE"), pairs(&[("a", "\nx\n")]));
        assert_eq!(parse("a<<E\n\nE\n"), pairs(&[("a", "")]));
        assert_eq!(parse("a<<E\n\n\nE\n"), pairs(&[("a", "\n")]));
    }

    #[test]
    fn heredoc_closes_only_on_an_exact_delimiter_line() {
        assert_eq!(
            parse("a<<EOF\n EOF\nEOF2\nxEOF\nEOF\n"),
            pairs(&[("a", " EOF\nEOF2\nxEOF")])
        );
    }

    #[test]
    fn heredoc_delimiter_may_contain_equals() {
        assert_eq!(parse("a<<X=Y\nv\nX=Y\n"), pairs(&[("a", "v")]));
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(
            parse("a=1\r\nb=x=y\r\n\r\nc<<EOF\r\nl1\r\nl2\r\nEOF\r\n"),
            pairs(&[("a", "1"), ("b", "x=y"), ("c", "l1\nl2")])
        );
    }

    #[test]
    fn a_lone_carriage_return_inside_a_value_is_kept() {
        assert_eq!(parse("a=x\ry\n"), pairs(&[("a", "x\ry")]));
    }

    #[test]
    fn unicode_values() {
        assert_eq!(
            parse("greeting=grüß dich ☃\n"),
            pairs(&[("greeting", "grüß dich ☃")])
        );
    }

    #[test]
    fn names_with_underscores_dashes_digits_and_capitals() {
        assert_eq!(
            parse("_x=1\ndb-port=2\nPort9=3\n"),
            pairs(&[("_x", "1"), ("db-port", "2"), ("Port9", "3")])
        );
    }

    #[test]
    fn a_line_that_is_neither_form_is_an_error_naming_its_line() {
        let e = error("a=1\n\njust some text\n");
        assert!(e.starts_with("line 3:"), "{e}");
        assert!(e.contains("just some text"), "{e}");
    }

    #[test]
    fn bad_names_are_errors() {
        for (text, line) in [
            ("=value\n", 1),
            ("a=1\nmy name=v\n", 2),
            (" a=1\n", 1),
            ("9a=1\n", 1),
            ("a.b=1\n", 1),
            ("<<EOF\nx\nEOF\n", 1),
        ] {
            let e = error(text);
            assert!(e.starts_with(&format!("line {line}:")), "{text:?}: {e}");
            assert!(e.contains("not a valid output name"), "{text:?}: {e}");
        }
    }

    #[test]
    fn an_unterminated_heredoc_is_an_error_naming_the_delimiter() {
        let e = error("a=1\nbody<<END_OF_BODY\nline\nEND\n");
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(e.contains("END_OF_BODY"), "{e}");
        assert!(e.contains("body"), "{e}");
    }

    #[test]
    fn a_heredoc_needs_a_delimiter() {
        let e = error("a<<\nx\n\n");
        assert!(e.starts_with("line 1:"), "{e}");
        let e = error("a<<E F\nx\nE F\n");
        assert!(e.contains("delimiter"), "{e}");
    }

    #[test]
    fn errors_shorten_huge_lines() {
        let e = error(&"x".repeat(10_000));
        assert!(e.len() < 300, "{e}");
    }
}
