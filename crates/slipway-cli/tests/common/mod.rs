//! Helpers shared by the CLI tests: run the real `slipway` binary against a data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path in the repository.
#[allow(dead_code)] // not every test file uses every helper
pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Runs `slipway` with `home` as its data directory.
pub fn slipway_in(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("SLIPWAY_HOME", home)
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
