//! The committed TypeScript bindings of the store must match the Rust types.
//! Refresh with `UPDATE_EXPECT=1 cargo test -p slipway-store --test generated`.

use std::path::PathBuf;

#[test]
fn typescript_bindings_are_fresh() {
    let rel = "ui/src/bindings/store.ts";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let fresh = slipway_store::typescript_bindings();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{rel} is stale: run `UPDATE_EXPECT=1 cargo test -p slipway-store --test generated` and commit the result"
    );
}

#[test]
fn bindings_import_the_recipe_types_they_use() {
    let text = slipway_store::typescript_bindings();
    let import = text
        .lines()
        .find(|l| l.starts_with("import type"))
        .expect("an import of the recipe types");
    for name in [
        "KeepRunning",
        "Image",
        "Component",
        "Deployment",
        "Position",
    ] {
        assert!(import.contains(name), "{name} not imported: {import}");
    }
    assert!(text.contains("export type RunState = \"initializing\""));
    // 64-bit integers cross as numbers, as serde_json writes them.
    assert!(!text.contains("bigint"));
}
