//! The recipe format reference (`docs/recipe-format.md`) cannot go stale: every complete recipe
//! in it validates, it names every diagnostic code, and the JSON Schema describes every field.

use std::path::PathBuf;

use slipway_recipe::{check, Code, ValidateOptions};

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn reference() -> String {
    std::fs::read_to_string(repo_file("docs/recipe-format.md")).expect("docs/recipe-format.md")
}

/// The ```yaml blocks of the reference that are complete files (they start with `slipway: 1`),
/// with the line each starts on.
fn full_recipes(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```yaml" => current = Some((number + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => {
                let (start, body) = current.take().expect("inside a block");
                if body.starts_with("slipway: 1") {
                    out.push((start, body));
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(current.is_none(), "a ```yaml block is never closed");
    out
}

#[test]
fn every_full_recipe_in_the_reference_validates_cleanly() {
    let text = reference();
    let recipes = full_recipes(&text);
    assert!(
        recipes.len() >= 5,
        "expected the reference's examples, found {}",
        recipes.len()
    );
    for (line, body) in recipes {
        let checked = check(&body, &ValidateOptions::default());
        let problems: Vec<String> = checked
            .diagnostics
            .iter()
            .map(|d| d.render("example", Some(&body)))
            .collect();
        assert!(
            problems.is_empty(),
            "the example at docs/recipe-format.md:{line} has problems:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn the_reference_names_every_diagnostic_code() {
    let text = reference();
    for code in Code::ALL {
        let cell = format!("| `{}` |", code.as_str());
        assert!(
            text.contains(&cell),
            "docs/recipe-format.md has no row for diagnostic code `{}`",
            code.as_str()
        );
    }
}

/// Every property of every object in the schema, with its path, lacking a description.
fn undescribed(schema: &serde_json::Value) -> Vec<String> {
    let mut missing = Vec::new();
    let mut todo: Vec<(String, &serde_json::Value)> = vec![("#".to_string(), schema)];
    while let Some((path, node)) = todo.pop() {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    for (name, prop) in props {
                        let described = prop
                            .get("description")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(|d| !d.trim().is_empty());
                        if !described {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                for (key, value) in map {
                    todo.push((format!("{path}/{key}"), value));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    todo.push((format!("{path}/{i}"), value));
                }
            }
            _ => {}
        }
    }
    missing.sort();
    missing
}

#[test]
fn the_schema_describes_every_property() {
    let schema: serde_json::Value =
        serde_json::from_str(&slipway_recipe::json_schema()).expect("the schema is JSON");
    let missing = undescribed(&schema);
    assert!(
        missing.is_empty(),
        "these schema properties have no description (add a doc comment in model.rs):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_walk_finds_a_property_without_description() {
    let schema = serde_json::json!({
        "properties": { "a": { "description": "fine" } },
        "$defs": { "X": { "properties": { "b": { "type": "string" } } } }
    });
    assert_eq!(undescribed(&schema), ["#/$defs/X/properties/b"]);
}
