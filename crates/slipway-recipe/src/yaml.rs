//! A small YAML document tree that keeps the source position of every key and value.
//!
//! Owns: turning text into [`Node`]s, reporting syntax errors and duplicate keys as diagnostics.
//! Never: interprets what a key means (that is `parse.rs`), panics on any input, or recurses on
//! input depth (the builder uses an explicit stack and caps nesting).

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::{Code, Diagnostic, Pos};

/// Deeper nesting than this is refused: no recipe needs it, and it bounds memory and drop depth.
const MAX_DEPTH: usize = 64;
/// Alias expansion budget (a "billion laughs" document must not explode memory).
const MAX_NODES_FROM_ALIASES: usize = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing at all after a key.
    Null,
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar { .. } => "a single value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    let len = if span.end.line() == span.start.line() {
        span.len()
    } else {
        1
    };
    Pos {
        line: span.start.line() as u32,
        col: span.start.col() as u32 + 1,
        len: len.max(1) as u32,
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        bad_key: bool,
    },
}

/// Parses `text` as one YAML document. Returns the root (None when the document is empty or
/// unreadable) and appends syntax problems to `diags`.
pub fn load(text: &str, diags: &mut Vec<Diagnostic>) -> Option<Node> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = MAX_NODES_FROM_ALIASES;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(err)) => {
                let m = err.marker();
                diags.push(
                    Diagnostic::error(
                        Code::YamlSyntax,
                        format!("this is not valid YAML: {}", err.info()),
                    )
                    .at(Pos {
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                        len: 1,
                    })
                    .hint("check the indentation and the quoting on this line and the one above"),
                );
                return None;
            }
        };
        let pos = pos_of(&span);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    diags.push(
                        Diagnostic::error(
                            Code::YamlSyntax,
                            "a recipe file holds exactly one YAML document, this is a second one",
                        )
                        .at(pos)
                        .hint("remove the `---` line, or split the file"),
                    );
                    return None;
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    let cost = count_nodes(node);
                    if cost > alias_budget {
                        diags.push(
                            Diagnostic::error(
                                Code::YamlSyntax,
                                "aliases in this file expand to too many values",
                            )
                            .at(pos),
                        );
                        return None;
                    }
                    alias_budget -= cost;
                    let mut copy = node.clone();
                    copy.pos = pos;
                    Some((copy, 0))
                }
                None => {
                    diags.push(
                        Diagnostic::error(Code::YamlSyntax, "alias refers to an unknown anchor")
                            .at(pos),
                    );
                    return None;
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                let value = if plain && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: Cow::into_owned(text),
                        plain,
                    }
                };
                Some((Node { pos, value }, anchor))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    diags.push(
                        Diagnostic::error(
                            Code::YamlSyntax,
                            format!("values are nested more than {MAX_DEPTH} levels deep"),
                        )
                        .at(pos),
                    );
                    return None;
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        pending_key: None,
                        bad_key: false,
                    }
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => Some((
                    Node {
                        pos,
                        value: Value::Seq(items),
                    },
                    anchor,
                )),
                _ => return None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => Some((
                    Node {
                        pos,
                        value: Value::Map(dedup_keys(entries, diags)),
                    },
                    anchor,
                )),
                _ => return None,
            },
        };

        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                bad_key,
                ..
            }) => match pending_key.take() {
                Some(key) => entries.push((key, node)),
                None if *bad_key => *bad_key = false,
                None => match node.value {
                    Value::Scalar { text, .. } => {
                        *pending_key = Some(Key {
                            text,
                            pos: node.pos,
                        })
                    }
                    Value::Null => {
                        *pending_key = Some(Key {
                            text: String::new(),
                            pos: node.pos,
                        })
                    }
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                Code::WrongType,
                                format!("a key must be a name, found {}", node.kind_name()),
                            )
                            .at(node.pos),
                        );
                        *bad_key = true;
                    }
                },
            },
        }
    }
    root
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => todo.extend(items.iter()),
            Value::Map(entries) => todo.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}

/// Reports every repeated key of one mapping and keeps the first occurrence.
fn dedup_keys(entries: Vec<(Key, Node)>, diags: &mut Vec<Diagnostic>) -> Vec<(Key, Node)> {
    if entries.len() < 2 {
        return entries;
    }
    let mut duplicates = Vec::new();
    let mut report = |i: usize, first: &Key, diags: &mut Vec<Diagnostic>| {
        let key = &entries[i].0;
        duplicates.push(i);
        diags.push(
            Diagnostic::error(
                Code::DuplicateName,
                format!(
                    "`{}` is defined twice (first on line {})",
                    key.text, first.pos.line
                ),
            )
            .at(key.pos)
            .hint("names must be unique: rename or remove one of them"),
        );
    };
    if entries.len() <= 16 {
        // Small mappings (almost all of them): a scan beats hashing.
        for i in 1..entries.len() {
            if let Some((first, _)) = entries[..i]
                .iter()
                .find(|(k, _)| k.text == entries[i].0.text)
            {
                report(i, first, diags);
            }
        }
    } else {
        let mut first: FxHashMap<&str, usize> = FxHashMap::default();
        first.reserve(entries.len());
        for (i, (key, _)) in entries.iter().enumerate() {
            match first.get(key.text.as_str()) {
                Some(&f) => report(i, &entries[f].0, diags),
                None => {
                    first.insert(&key.text, i);
                }
            }
        }
    }
    if duplicates.is_empty() {
        return entries;
    }
    entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !duplicates.contains(i))
        .map(|(_, e)| e)
        .collect()
}
