//! The committed TypeScript of the commands is generated; this test fails when it is stale.
//! Refresh with `UPDATE_EXPECT=1 cargo test -p slipway-api --test generated`.

use std::path::PathBuf;

#[test]
fn typescript_bindings_are_fresh() {
    let rel = "ui/src/bindings/api.ts";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let fresh = slipway_api::typescript_bindings();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{rel} is stale: run `UPDATE_EXPECT=1 cargo test -p slipway-api --test generated` and commit the result"
    );
}

#[test]
fn every_command_is_in_the_typescript_map() {
    let ts = slipway_api::typescript_bindings();
    for name in slipway_api::COMMANDS {
        assert!(
            ts.contains(&format!("  {name}: {{ args: ")),
            "`{name}` is missing"
        );
    }
}
