//! Helpers shared by the CLI tests: run the real `slipway` binary against a data directory.

pub mod balancer;

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

/// Runs `slipway` with `home` as its data directory and `input` on its stdin.
#[allow(dead_code)]
pub fn slipway_with_stdin(home: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("SLIPWAY_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Whether a keychain answers for `home`; when none does, the caller skips (a note is
/// printed), unless `SLIPWAY_REQUIRE_KEYCHAIN=1` makes that a failure.
#[allow(dead_code)]
pub fn keychain_answers(home: &Path) -> bool {
    match slipway_secrets::Keychain::for_home(home).probe() {
        Ok(()) => true,
        Err(e) if std::env::var("SLIPWAY_REQUIRE_KEYCHAIN").as_deref() == Ok("1") => {
            panic!("SLIPWAY_REQUIRE_KEYCHAIN=1 but no keychain is reachable: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no keychain reachable ({e})");
            false
        }
    }
}

/// Every file under `dir`.
#[allow(dead_code)]
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A server and a test that fails (exit 3) after reading the server's URL, with a report;
/// kept on success only. Clouds that need an image mapping add it to `base`.
#[allow(dead_code)]
pub const FAILING: &str = r#"
slipway: 1
name: failing
images:
  base: {}
components:
  server:
    image: base
    outputs: { url: {} }
    recipes:
      deployment: |
        nohup sleep 1000 >/dev/null 2>&1 &
        echo "url=http://$SLIPWAY_HOSTNAME/" >> "$SLIPWAY_OUTPUT"
  test:
    image: base
    inputs: { url: { required: true } }
    recipes:
      deployment: |
        echo "testing $url"
        echo "assertion failed" >&2
        exit 3
      reporting: |
        echo "failure details" > "$SLIPWAY_REPORT_DIR/junit.txt"
deployment:
  keep_running: on-success
  nodes:
    server: { component: server }
    test: { component: test, inputs: { url: { from: server.url } } }
"#;
