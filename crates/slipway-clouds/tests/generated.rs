//! The committed TypeScript bindings of the clouds crate must match the Rust types.
//! Refresh with `UPDATE_EXPECT=1 cargo test -p slipway-clouds --test generated`.

use std::path::PathBuf;

#[test]
fn typescript_bindings_are_fresh() {
    let rel = "ui/src/bindings/clouds.ts";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let fresh = slipway_clouds::typescript_bindings();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{rel} is stale: run `UPDATE_EXPECT=1 cargo test -p slipway-clouds --test generated` and commit the result"
    );
}
