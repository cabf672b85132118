//! Generated files are committed; these tests fail when one is stale.
//! Refresh with `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test generated`.

use std::path::PathBuf;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn check_generated(rel: &str, fresh: &str) {
    let path = repo_file(rel);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{rel} is stale: run `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test generated` and commit the result"
    );
}

#[test]
fn json_schema_is_fresh() {
    check_generated(
        "assets/schema/slipway-v1.schema.json",
        &slipway_recipe::json_schema(),
    );
}

#[test]
fn typescript_bindings_are_fresh() {
    check_generated(
        "ui/src/bindings/recipe.ts",
        &slipway_recipe::typescript_bindings(),
    );
}

#[test]
fn schema_describes_the_format() {
    let schema: serde_json::Value = serde_json::from_str(&slipway_recipe::json_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "slipway",
        "name",
        "images",
        "components",
        "deployment",
        "layout",
    ] {
        assert!(props.contains_key(key), "schema lacks `{key}`");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}
