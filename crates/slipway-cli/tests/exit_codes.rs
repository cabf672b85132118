//! Exit codes and JSON of SPEC §6 where the deployment, not the cloud, is at fault; the real
//! binary on the real `local` cloud.

mod common;

use std::path::Path;

use common::{slipway_in as slipway, slipway_with_stdin, text};

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_string_lossy().into_owned()
}

const BAD_OUTPUT: &str = r#"slipway: 1
name: bad-output
images:
  base: {}
components:
  app:
    image: base
    outputs: { ok: {} }
    recipes:
      deployment: |
        echo "ok=1" >> "$SLIPWAY_OUTPUT"
        echo "this is not an output line" >> "$SLIPWAY_OUTPUT"
deployment:
  keep_running: never
  nodes:
    app: { component: app }
"#;

#[test]
fn a_malformed_slipway_output_is_a_deployment_failure_naming_the_line() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "bad.slipway.yaml", BAD_OUTPUT);
    let out = slipway(home.path(), &["run", &file]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("line 2"), "{all}");
    assert!(all.contains("SLIPWAY_OUTPUT"), "{all}");
}

#[test]
fn packages_missing_on_local_are_a_deployment_failure_naming_them() {
    let home = tempfile::tempdir().unwrap();
    let recipe = r#"slipway: 1
name: missing-packages
images:
  base:
    recipes:
      packages: [coreutils, no-such-package-slipway-x]
components:
  app: { image: base }
deployment:
  keep_running: never
  nodes:
    app: { component: app }
"#;
    let file = write(home.path(), "pkgs.slipway.yaml", recipe);
    let out = slipway(home.path(), &["run", &file]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("no-such-package-slipway-x"), "{all}");
}

#[test]
fn plan_json_reports_bad_input_as_json() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "bad.slipway.yaml", BAD_OUTPUT);
    for args in [
        vec!["plan", "/no/such/file.slipway.yaml", "--json"],
        vec!["plan", file.as_str(), "--set", "not-a-set", "--json"],
    ] {
        let out = slipway(home.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stdout = text(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout:?}"));
        assert_eq!(v["event"], "error", "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
}

#[test]
fn status_json_never_prints_null() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "bad.slipway.yaml", BAD_OUTPUT);
    // A failed run has values that are absent (exit codes of steps that never ran, …).
    slipway(home.path(), &["run", &file]);
    let out = slipway(home.path(), &["status", "last", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["state"], "aborted", "{v}");
    assert!(!stdout.contains("null"), "{stdout}");
}

#[test]
fn a_background_run_that_cannot_read_its_values_fails_loudly() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "bad.slipway.yaml", BAD_OUTPUT);
    let out = slipway_with_stdin(
        home.path(),
        &["run", &file, "--internal-run-id", "20261203-000000-abcd"],
        "{truncated",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--set values"), "{stderr}");
    // Nothing ran.
    assert!(!home
        .path()
        .join("runs/20261203-000000-abcd/instances")
        .exists());
}
