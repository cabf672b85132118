//! The `slipway validate` and `slipway plan` commands, run as a user would run them.

mod common;

use std::process::Output;

use common::{repo, slipway_in, text};

/// Runs `slipway` with its own fresh data directory.
fn slipway(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    slipway_in(home.path(), args)
}

#[test]
fn every_example_validates() {
    for entry in std::fs::read_dir(repo("assets/examples")).unwrap() {
        let path = entry.unwrap().path();
        let out = slipway(&["validate", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("valid"));
    }
}

#[test]
fn invalid_file_exits_2_with_located_problems() {
    let file = repo("tests/invalid/wires.slipway.yaml");
    let out = slipway(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // The problems are the command's result: standard output.
    let err = text(&out.stdout);
    assert!(
        err.contains("wires.slipway.yaml:27:26: error[unknown-parameter]"),
        "{err}"
    );
    assert!(err.contains("did you mean `port`?"), "{err}");
    assert!(err.contains("5 errors"), "{err}");
}

#[test]
fn validate_json_is_one_parseable_line() {
    let file = repo("tests/invalid/cycles.slipway.yaml");
    let out = slipway(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"][0]["code"], "wire-cycle");
    assert_eq!(v["problems"][0]["line"], 22);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("a → b → c → a"));
}

#[test]
fn missing_file_is_bad_input() {
    let out = slipway(&["validate", "/nonexistent/x.slipway.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the file"));
}

#[test]
fn bad_arguments_are_bad_input() {
    let file = repo("assets/examples/hello.slipway.yaml");
    let f = file.to_str().unwrap();
    assert_eq!(
        slipway(&["plan", f, "--set", "nodot"]).status.code(),
        Some(2)
    );
    assert_eq!(
        slipway(&["plan", f, "--set", "hello.nope=1"]).status.code(),
        Some(2)
    );
    assert_eq!(
        slipway(&["plan", f, "--cloud", "nowhere"]).status.code(),
        Some(2)
    );
    assert_eq!(slipway(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn plan_shows_instances_waves_and_critical_path() {
    let file = repo("assets/examples/web-with-db.slipway.yaml");
    let out = slipway(&["plan", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("web.1, web.2"), "{stdout}");
    assert!(stdout.contains("smoke.urls ← web.url"), "{stdout}");
    assert!(
        stdout.contains("Critical path (6 steps, lower bound 6 units)"),
        "{stdout}"
    );

    let out = slipway(&["plan", file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(v["instances"].as_array().unwrap().len(), 4);
    assert_eq!(v["lower_bound"], 6.0);
    let smoke = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "smoke.1 deployment")
        .unwrap();
    let mut after: Vec<&str> = smoke["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    after.sort();
    assert_eq!(
        after,
        [
            "db.1 provision",
            "smoke.1 pre_install",
            "web.1 deployment",
            "web.2 deployment"
        ]
    );
}

#[test]
fn plan_on_a_cloud_without_image_mapping_is_refused() {
    let file = repo("assets/examples/multiline-outputs.slipway.yaml");
    let out = slipway(&["plan", file.to_str().unwrap(), "--cloud", "gce"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[missing-cloud-mapping]"));
}

#[test]
fn import_then_export_round_trips_and_invalid_import_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| slipway_in(home.path(), args);
    let file = repo("assets/examples/web-with-db.slipway.yaml");
    let out = run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("new version"));
    // Importing the same file again creates no versions.
    let again = text(&run(&["import", file.to_str().unwrap()]).stdout);
    assert!(
        !again.contains("new version") && again.contains("unchanged"),
        "{again}"
    );
    let exported = home.path().join("out.slipway.yaml");
    let out = run(&["export", "web-with-db", "-o", exported.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let a = slipway_recipe::check(
        &std::fs::read_to_string(&file).unwrap(),
        &Default::default(),
    );
    let b = slipway_recipe::check(
        &std::fs::read_to_string(&exported).unwrap(),
        &Default::default(),
    );
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
    assert_eq!(a.recipe, b.recipe);
    // An invalid file imports nothing.
    let bad = repo("tests/invalid/unknown-references.slipway.yaml");
    assert_eq!(
        run(&["import", bad.to_str().unwrap()]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["export", "references"]).status.code(), Some(2));
}

#[test]
fn clouds_are_listed_added_tested_and_removed() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| slipway_in(home.path(), args);
    assert_eq!(run(&["clouds", "test", "local"]).status.code(), Some(0));
    assert_eq!(
        run(&["clouds", "add", "bench", "local"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["clouds", "add", "bench", "local"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["clouds", "add", "Bad Name", "local"]).status.code(),
        Some(2)
    );
    let list: serde_json::Value =
        serde_json::from_slice(&run(&["clouds", "list", "--json"]).stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["local", "bench"]);
    // A configured cloud is a valid placement for plan.
    let file = repo("assets/examples/hello.slipway.yaml");
    let plan = run(&["plan", file.to_str().unwrap(), "--cloud", "bench", "--json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(v["instances"][0]["cloud"], "bench");
    assert_eq!(run(&["clouds", "remove", "bench"]).status.code(), Some(0));
    assert_eq!(run(&["clouds", "test", "bench"]).status.code(), Some(2));
}
