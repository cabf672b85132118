//! The test host: every desktop command run against a real SQLite store in a temporary data
//! directory, without a desktop. Most calls go through `dispatch` with the JSON the UI sends, so
//! the argument keys and result shapes are tested too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use slipway_api::{dispatch, CommandError, Context, ErrorCode, Recipe, COMMANDS, EXAMPLES};
use slipway_store::Store;
use tempfile::TempDir;

struct Host {
    _home: TempDir,
    dir: PathBuf,
    ctx: Context,
}

/// A fresh data directory and a clock that ticks one second per reading, from 2026-01-01.
fn host() -> Host {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let tick = Arc::new(AtomicI64::new(1_767_225_600_000));
    let ctx =
        Context::new(store).with_clock(Box::new(move || tick.fetch_add(1000, Ordering::SeqCst)));
    Host {
        dir: home.path().to_path_buf(),
        _home: home,
        ctx,
    }
}

impl Host {
    fn call(&self, command: &str, args: Value) -> Result<Value, CommandError> {
        dispatch(&self.ctx, command, args).unwrap_or_else(|| panic!("no command `{command}`"))
    }

    fn ok(&self, command: &str, args: Value) -> Value {
        self.call(command, args)
            .unwrap_or_else(|e| panic!("{command} failed: {e}"))
    }

    fn err(&self, command: &str, args: Value) -> CommandError {
        match self.call(command, args) {
            Ok(v) => panic!("{command} succeeded with {v}"),
            Err(e) => e,
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn import_example(&self, file: &str) -> Value {
        let path = self.write(file, &example(file));
        let result = self.ok("recipe_import", json!({ "path": path }));
        assert_eq!(result["ok"], json!(true), "{result}");
        result
    }

    /// Every module with every one of its versions: what "nothing changed" compares.
    fn snapshot(&self) -> Vec<(String, String, Value)> {
        let list = self.ok("library_list", json!({}));
        let mut out = Vec::new();
        for m in list.as_array().unwrap() {
            let (kind, name) = (m["kind"].as_str().unwrap(), m["name"].as_str().unwrap());
            let history = self.ok("library_history", json!({ "kind": kind, "name": name }));
            out.push((kind.to_string(), name.to_string(), history));
        }
        out
    }

    fn versions(&self, kind: &str, name: &str) -> usize {
        let history = self.ok("library_history", json!({ "kind": kind, "name": name }));
        history.as_array().unwrap().len()
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(file: &str) -> String {
    std::fs::read_to_string(repo().join("assets/examples").join(file)).unwrap()
}

/// The model of a recipe text that must be valid.
fn recipe_of(text: &str) -> Recipe {
    let checked = slipway_recipe::check(text, &Default::default());
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked.recipe.unwrap()
}

fn codes(problems: &Value) -> Vec<String> {
    problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

// ------------------------------------------------------------------ the declarations

#[test]
fn every_declared_command_has_a_handler_and_unknown_ones_do_not() {
    let h = host();
    assert_eq!(COMMANDS.len(), 31);
    for name in COMMANDS {
        assert!(dispatch(&h.ctx, name, json!({})).is_some(), "{name}");
    }
    assert!(dispatch(&h.ctx, "library_delete_everything", json!({})).is_none());
}

#[test]
fn bad_arguments_are_args_invalid() {
    let h = host();
    let e = h.err("library_get", json!({ "kind": "image" }));
    assert_eq!(e.code, ErrorCode::ArgsInvalid);
    assert!(e.message.contains("name"), "{}", e.message);
    let e = h.err("library_list", json!({ "kinds": "image" }));
    assert_eq!(
        e.code,
        ErrorCode::ArgsInvalid,
        "a misspelt key is not ignored"
    );
    let e = h.err("library_list", json!({ "kind": "machine" }));
    assert_eq!(e.code, ErrorCode::ArgsInvalid);
}

#[test]
fn scale_and_resume_are_refused_before_anything_starts() {
    let h = host();
    // The plan the run view shows first is refused as the scale is.
    for command in ["run_scale_plan", "run_scale"] {
        let e = h.err(
            command,
            json!({ "id": "r-none", "node": "web", "change": "2" }),
        );
        assert_eq!(e.code, ErrorCode::ArgsInvalid, "{}", e.message);
        assert!(e.message.contains("+N"), "{}", e.message);
        let e = h.err(
            command,
            json!({ "id": "r-none", "node": "web", "change": "+2" }),
        );
        assert_eq!(e.code, ErrorCode::StoreNotFound);
    }
    let e = h.err("run_resume", json!({ "id": "r-none" }));
    assert_eq!(e.code, ErrorCode::StoreNotFound);
    // A run still driven by this (live) process is neither ready nor interrupted.
    let (pid, start) = slipway_store::current_process_identity();
    h.ctx
        .store()
        .create_run(&slipway_store::NewRun {
            id: "r-live".into(),
            name: "live".into(),
            keep_running: slipway_api::KeepRunning::Always,
            recipe_text: String::new(),
            default_cloud: "local".into(),
            created_at: 1,
            owner_pid: pid,
            owner_start_time: start,
        })
        .unwrap();
    for command in ["run_scale_plan", "run_scale"] {
        let e = h.err(
            command,
            json!({ "id": "r-live", "node": "web", "change": "+1" }),
        );
        assert_eq!(e.code, ErrorCode::StoreConflict);
        assert!(e.message.contains("only a kept run"), "{}", e.message);
    }
    let e = h.err("run_resume", json!({ "id": "r-live" }));
    assert_eq!(e.code, ErrorCode::StoreConflict);
    assert!(e.message.contains("is initializing"), "{}", e.message);
}

#[test]
fn errors_cross_as_code_and_message() {
    let h = host();
    let e = h.err(
        "library_get",
        json!({ "kind": "component", "name": "nope" }),
    );
    let wire = serde_json::to_value(&e).unwrap();
    assert_eq!(wire["code"], json!("store.not_found"));
    assert_eq!(
        wire.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "message"]
    );
    assert!(wire["message"].as_str().unwrap().contains("`nope`"));
}

// ------------------------------------------------------------------ seeding

#[test]
fn every_example_file_is_built_in() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("assets/examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".slipway.yaml"))
        .collect();
    files.sort();
    let mut built_in: Vec<String> = EXAMPLES.iter().map(|(f, _)| f.to_string()).collect();
    built_in.sort();
    assert_eq!(files, built_in);
    for (file, text) in EXAMPLES {
        assert_eq!(*text, example(file), "{file} differs from assets/examples");
    }
}

#[test]
fn first_start_seeds_the_examples_once() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::open_seeded(home.path()).unwrap();
    let list = dispatch(&ctx, "library_list", json!({ "kind": "deployment" }))
        .unwrap()
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["hello", "multiline-outputs", "web-with-db", "web-with-lb"]
    );
    let all = dispatch(&ctx, "library_list", json!({})).unwrap().unwrap();
    drop(ctx);

    // A deleted example stays deleted; nothing is seeded twice.
    let mut store = Store::open(home.path()).unwrap();
    store
        .delete_module(slipway_store::ModuleKind::Deployment, "hello")
        .unwrap();
    drop(store);
    let ctx = Context::open_seeded(home.path()).unwrap();
    let again = dispatch(&ctx, "library_list", json!({})).unwrap().unwrap();
    assert_eq!(
        again.as_array().unwrap().len(),
        all.as_array().unwrap().len() - 1
    );
    assert!(again
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["latest_version"] == json!(1)));
}

// ------------------------------------------------------------------ library

#[test]
fn library_lists_with_ui_field_names() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let list = h.ok("library_list", json!({}));
    let first = &list[0];
    assert_eq!(first["kind"], json!("image"));
    assert_eq!(first["name"], json!("debian-12"));
    assert_eq!(first["latest_version"], json!(1));
    assert_eq!(first["description"], json!("Debian 12 with Python 3"));
    assert_eq!(first["updated_at"], json!("2026-01-01T00:00:00.000Z"));

    let components = h.ok("library_list", json!({ "kind": "component" }));
    assert_eq!(components.as_array().unwrap().len(), 3);
    let found = h.ok("library_list", json!({ "query": "SMOKE" }));
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["smoke-test", "web-with-db"], "name or description");
}

#[test]
fn library_get_returns_the_body_without_a_tag() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let web = h.ok("library_get", json!({ "kind": "component", "name": "web" }));
    assert_eq!(web["kind"], json!("component"));
    assert_eq!(web["version"], json!(1));
    assert_eq!(web["body"]["image"], json!("debian-12"));
    assert_eq!(web["body"]["inputs"]["db_host"]["required"], json!(true));
    let dep = h.ok(
        "library_get",
        json!({ "kind": "deployment", "name": "web-with-db", "version": 1 }),
    );
    assert_eq!(
        dep["body"]["deployment"]["nodes"]["web"]["multiplicity"],
        json!(2)
    );
    assert_eq!(
        dep["body"]["layout"]["db"],
        json!({ "x": 40.0, "y": 120.0 })
    );

    let e = h.err(
        "library_get",
        json!({ "kind": "component", "name": "web", "version": 9 }),
    );
    assert_eq!(e.code, ErrorCode::StoreNotFound);
    assert!(e.message.contains("version 9"), "{}", e.message);
}

#[test]
fn library_save_history_diff_restore() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let mut body =
        h.ok("library_get", json!({ "kind": "component", "name": "web" }))["body"].clone();
    body["description"] = json!("A web server, now with a new description");
    let v = h.ok(
        "library_save",
        json!({ "kind": "component", "name": "web", "body": body, "comment": "reworded" }),
    );
    assert_eq!(v, json!(2));
    let same = h.ok(
        "library_save",
        json!({ "kind": "component", "name": "web", "body": body }),
    );
    assert_eq!(same, json!(2), "an unchanged body makes no version");

    let history = h.ok(
        "library_history",
        json!({ "kind": "component", "name": "web" }),
    );
    assert_eq!(history[0]["version"], json!(2));
    assert_eq!(history[0]["comment"], json!("reworded"));
    assert!(history[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(history[1]["version"], json!(1));

    let diff = h.ok(
        "library_diff",
        json!({ "kind": "component", "name": "web", "a": 1, "b": 2 }),
    );
    let rows = diff.as_array().unwrap();
    assert!(rows.iter().all(|r| r.as_object().unwrap().len() == 2));
    let changed: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["tag"] != json!("equal"))
        .map(|r| (r["tag"].as_str().unwrap(), r["text"].as_str().unwrap()))
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[0].0, "delete");
    assert!(changed[0].1.contains("A web server whose page"));
    assert_eq!(changed[1].0, "insert");
    assert!(changed[1].1.contains("now with a new description"));

    let restored = h.ok(
        "library_restore",
        json!({ "kind": "component", "name": "web", "version": 1 }),
    );
    assert_eq!(restored, json!(3));
    let latest = h.ok("library_get", json!({ "kind": "component", "name": "web" }));
    assert_eq!(
        latest["body"]["description"],
        json!("A web server whose page says which database it talks to")
    );
    let history = h.ok(
        "library_history",
        json!({ "kind": "component", "name": "web" }),
    );
    assert_eq!(history[0]["comment"], json!("restored from version 1"));
}

#[test]
fn library_save_reads_the_body_as_its_kind() {
    let h = host();
    let image = json!({ "login_user": "debian", "clouds": { "docker": { "image": "debian:12" } } });
    let v = h.ok(
        "library_save",
        json!({ "kind": "image", "name": "deb", "body": image }),
    );
    assert_eq!(v, json!(1));
    let e = h.err(
        "library_save",
        json!({ "kind": "component", "name": "deb2", "body": image }),
    );
    assert_eq!(e.code, ErrorCode::ArgsInvalid);
    assert!(e.message.contains("not a valid component"), "{}", e.message);
    let e = h.err(
        "library_save",
        json!({ "kind": "image", "name": "Bad Name", "body": image }),
    );
    assert_eq!(e.code, ErrorCode::StoreInvalid);
    assert_eq!(h.snapshot().len(), 1, "nothing else was saved");
}

// ------------------------------------------------------------------ deployments

#[test]
fn deployment_open_assembles_the_recipe() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let opened = h.ok("deployment_open", json!({ "name": "web-with-db" }));
    let recipe: Recipe = serde_json::from_value(opened).unwrap();
    assert_eq!(recipe, recipe_of(&example("web-with-db.slipway.yaml")));
    let e = h.err("deployment_open", json!({ "name": "nothing-here" }));
    assert_eq!(e.code, ErrorCode::StoreNotFound);
}

#[test]
fn deployment_save_versions_only_what_changed() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let mut recipe = h.ok("deployment_open", json!({ "name": "web-with-db" }));

    // Moving a node changes the deployment only.
    recipe["layout"]["db"] = json!({ "x": 60.0, "y": 200.0 });
    let v = h.ok(
        "deployment_save",
        json!({ "recipe": recipe, "comment": "moved db" }),
    );
    assert_eq!(v, json!(2));
    assert_eq!(h.versions("component", "web"), 1);
    assert_eq!(h.versions("image", "debian-12"), 1);

    // Saving it again unchanged makes nothing.
    let v = h.ok("deployment_save", json!({ "recipe": recipe }));
    assert_eq!(v, json!(2));

    // Editing a component inside the deployment versions that component.
    recipe["components"]["web"]["outputs"]["url"]["description"] = json!("where to browse");
    let v = h.ok("deployment_save", json!({ "recipe": recipe }));
    assert_eq!(v, json!(2), "the deployment itself did not change");
    assert_eq!(h.versions("component", "web"), 2);
    assert_eq!(h.versions("component", "kv-database"), 1);
    let history = h.ok(
        "library_history",
        json!({ "kind": "deployment", "name": "web-with-db" }),
    );
    assert_eq!(history[0]["comment"], json!("moved db"));

    // A new deployment made on the canvas is created at version 1.
    recipe["name"] = json!("my-copy");
    let v = h.ok("deployment_save", json!({ "recipe": recipe }));
    assert_eq!(v, json!(1));
    let reopened: Recipe =
        serde_json::from_value(h.ok("deployment_open", json!({ "name": "my-copy" }))).unwrap();
    assert_eq!(
        reopened.components["web"].outputs["url"]
            .description
            .as_deref(),
        Some("where to browse")
    );
}

#[test]
fn deployment_save_refuses_a_name_the_library_cannot_hold() {
    let h = host();
    let mut recipe = serde_json::to_value(recipe_of(&example("hello.slipway.yaml"))).unwrap();
    recipe["name"] = json!("Not A Name");
    let e = h.err("deployment_save", json!({ "recipe": recipe }));
    assert_eq!(e.code, ErrorCode::StoreInvalid);
    assert!(h.snapshot().is_empty(), "nothing of it was saved");
}

// ------------------------------------------------------------------ validation

const CYCLE: &str = "\
slipway: 1
name: loop
images:
  base: {}
components:
  relay:
    image: base
    inputs:
      upstream: { required: true }
    outputs:
      address: {}
deployment:
  nodes:
    first:
      component: relay
      inputs:
        upstream: { from: second.address }
    second:
      component: relay
      inputs:
        upstream: { from: first.address }
";

#[test]
fn validate_reports_a_cycle() {
    let h = host();
    let checked = slipway_recipe::parse(CYCLE);
    let recipe = checked.recipe.unwrap();
    let problems = h.ok("recipe_validate", json!({ "recipe": recipe }));
    assert_eq!(codes(&problems), ["wire-cycle"]);
    let p = &problems[0];
    assert_eq!(p["severity"], json!("error"));
    let message = p["message"].as_str().unwrap();
    assert!(
        message.contains("first") && message.contains("second"),
        "{message}"
    );
    assert_eq!(p["line"], Value::Null, "a model has no positions");
}

#[test]
fn validate_matches_the_cli_on_the_examples_and_an_unconnected_input() {
    let h = host();
    for (file, text) in EXAMPLES {
        let problems = h.ok("recipe_validate", json!({ "recipe": recipe_of(text) }));
        assert_eq!(codes(&problems), Vec::<String>::new(), "{file}");
    }
    let mut recipe = recipe_of(&example("web-with-db.slipway.yaml"));
    recipe.deployment.nodes["web"]
        .inputs
        .shift_remove("db_host");
    let problems = h.ok("recipe_validate", json!({ "recipe": recipe }));
    assert_eq!(codes(&problems), ["unconnected-input"]);
    assert_eq!(problems[0]["path"], json!("deployment.nodes.web"));
    assert!(problems[0]["message"].as_str().unwrap().contains("db_host"));
}

// ------------------------------------------------------------------ export

#[test]
fn export_equals_the_example_modulo_layout() {
    let h = host();
    for (file, text) in EXAMPLES {
        h.import_example(file);
        let name = recipe_of(text).name;
        let recipe = h.ok("deployment_open", json!({ "name": name }));
        let out = h.dir.join(format!("out-{file}"));
        h.ok(
            "recipe_export",
            json!({ "recipe": recipe, "path": out.to_string_lossy() }),
        );
        let written = std::fs::read_to_string(&out).unwrap();
        let mut exported = recipe_of(&written);
        let mut original = recipe_of(text);
        exported.layout.clear();
        original.layout.clear();
        assert_eq!(exported, original, "{file}");
        assert_eq!(
            written,
            slipway_recipe::to_yaml(&recipe_of(text)),
            "{file}: the same text as the CLI writes"
        );
    }
}

#[test]
fn export_refuses_a_recipe_with_errors_and_writes_nothing() {
    let h = host();
    let recipe = slipway_recipe::parse(CYCLE).recipe.unwrap();
    let out = h.dir.join("loop.slipway.yaml");
    let e = h.err(
        "recipe_export",
        json!({ "recipe": recipe, "path": out.to_string_lossy() }),
    );
    assert_eq!(e.code, ErrorCode::RecipeInvalid);
    assert!(e.message.contains("cycle"), "{}", e.message);
    assert!(!out.exists());
}

#[test]
fn export_to_an_unwritable_place_is_file_write() {
    let h = host();
    let recipe = recipe_of(&example("hello.slipway.yaml"));
    let out = h.dir.join("no/such/dir/hello.slipway.yaml");
    let e = h.err(
        "recipe_export",
        json!({ "recipe": recipe, "path": out.to_string_lossy() }),
    );
    assert_eq!(e.code, ErrorCode::FileWrite);
}

// ------------------------------------------------------------------ import

#[test]
fn import_of_an_invalid_file_changes_nothing() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let before = h.snapshot();
    // A changed component (would be a new version) plus an unknown key and a cycle.
    let text = example("web-with-db.slipway.yaml")
        .replace("A web server whose page", "A changed web server whose page")
        .replace("keep_running: on-success", "keep_runing: on-success")
        + "\n";
    let text = text.replace(
        "    db:\n      component: kv-database\n",
        "    db:\n      component: kv-database\n      inputs:\n        db_password: { from: smoke.hostname }\n",
    );
    let path = h.write("broken.slipway.yaml", &text);
    let result = h.ok("recipe_import", json!({ "path": path }));
    assert_eq!(result["ok"], json!(false));
    assert!(result.get("recipe").is_none());
    let found = codes(&result["problems"]);
    assert!(found.contains(&"unknown-key".to_string()), "{found:?}");
    assert!(
        result["problems"][0]["line"].is_number(),
        "positions in the file"
    );
    assert_eq!(h.snapshot(), before, "nothing changed");
}

#[test]
fn import_of_garbage_reports_problems_and_stores_nothing() {
    let h = host();
    let path = h.write("garbage.slipway.yaml", "slipway: [\n");
    let result = h.ok("recipe_import", json!({ "path": path }));
    assert_eq!(result["ok"], json!(false));
    assert_eq!(codes(&result["problems"]), ["yaml-syntax"]);
    assert!(h.snapshot().is_empty());
}

#[test]
fn import_of_a_missing_file_is_file_read() {
    let h = host();
    let e = h.err(
        "recipe_import",
        json!({ "path": h.dir.join("absent.yaml").to_string_lossy() }),
    );
    assert_eq!(e.code, ErrorCode::FileRead);
}

#[test]
fn import_twice_creates_no_duplicate_versions() {
    let h = host();
    let first = h.import_example("web-with-db.slipway.yaml");
    let after_first = h.snapshot();
    let second = h.import_example("web-with-db.slipway.yaml");
    assert_eq!(h.snapshot(), after_first);
    assert_eq!(first["recipe"], second["recipe"]);
    assert_eq!(
        first["recipe"],
        serde_json::to_value(recipe_of(&example("web-with-db.slipway.yaml"))).unwrap()
    );
    let history = h.ok(
        "library_history",
        json!({ "kind": "deployment", "name": "web-with-db" }),
    );
    assert_eq!(
        history[0]["comment"],
        json!("imported from web-with-db.slipway.yaml")
    );
}

#[test]
fn import_of_a_changed_module_creates_a_new_version_and_keeps_the_old() {
    let h = host();
    h.import_example("web-with-db.slipway.yaml");
    let changed = example("web-with-db.slipway.yaml").replace(
        "db_port: { default: \"5432\" }",
        "db_port: { default: \"6543\" }",
    );
    let path = h.write("changed.slipway.yaml", &changed);
    let result = h.ok("recipe_import", json!({ "path": path }));
    assert_eq!(result["ok"], json!(true));
    assert_eq!(h.versions("component", "web"), 2);
    assert_eq!(h.versions("component", "kv-database"), 1);
    assert_eq!(h.versions("image", "debian-12"), 1);
    assert_eq!(h.versions("deployment", "web-with-db"), 1);
    let old = h.ok(
        "library_get",
        json!({ "kind": "component", "name": "web", "version": 1 }),
    );
    assert_eq!(old["body"]["inputs"]["db_port"]["default"], json!("5432"));
    let new = h.ok("library_get", json!({ "kind": "component", "name": "web" }));
    assert_eq!(new["version"], json!(2));
    assert_eq!(new["body"]["inputs"]["db_port"]["default"], json!("6543"));
}

#[test]
fn import_returns_warnings_with_a_valid_recipe() {
    let h = host();
    let text = example("hello.slipway.yaml").replace(
        "who: { default: world,",
        "who: { required: true, default: world,",
    );
    let path = h.write("warned.slipway.yaml", &text);
    let result = h.ok("recipe_import", json!({ "path": path }));
    assert_eq!(result["ok"], json!(true), "{result}");
    assert_eq!(codes(&result["problems"]), ["redundant-default"]);
    assert_eq!(result["problems"][0]["severity"], json!("warning"));
}

// ------------------------------------------------------------------ start

#[test]
fn app_initial_file_is_the_file_given_at_start() {
    let h = host();
    assert_eq!(h.ok("app_initial_file", Value::Null), Value::Null);
    let ctx = Context::new(Store::open(&h.dir).unwrap())
        .with_initial_file(Some(PathBuf::from("/tmp/web.slipway.yaml")));
    let file = dispatch(&ctx, "app_initial_file", json!({}))
        .unwrap()
        .unwrap();
    assert_eq!(file, json!("/tmp/web.slipway.yaml"));
}

// ------------------------------------------------------------------ clouds

fn call(h: &Host, name: &str, args: Value) -> Result<Value, slipway_api::CommandError> {
    dispatch(&h.ctx, name, args).expect("a declared command")
}

#[test]
fn clouds_are_configured_from_the_declaration_and_tested() {
    let h = host();
    let e = call(
        &h,
        "cloud_save",
        json!({"name": "aws", "kind": "ec2", "settings": [["secret_access_key", "s3cr3t-canary"]], "replace": false}),
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "cloud.invalid");
    assert!(e.message.contains("`region` is required"), "{}", e.message);
    assert!(
        e.message
            .contains("slipway secret set aws secret_access_key"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("s3cr3t-canary"));
    call(
        &h,
        "cloud_save",
        json!({"name": "aws", "kind": "ec2", "settings": [["region", "eu-west-1"], ["endpoint", ""]], "replace": false}),
    )
    .unwrap();
    let listing = call(&h, "clouds_list", json!({})).unwrap();
    let aws = &listing["clouds"][1];
    assert_eq!(aws["name"], "aws");
    assert_eq!(aws["settings"], json!({"region": "eu-west-1"}));
    let names: Vec<&str> = aws["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["secret_access_key", "session_token"]);
    let ec2 = listing["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "ec2")
        .unwrap();
    assert_eq!(ec2["settings"][0]["name"], "region");
    assert_eq!(ec2["settings"][0]["required"], true);
    // No credentials yet: the test says how to give them.
    let message = match call(&h, "cloud_test", json!({"name": "aws"})) {
        Ok(t) => {
            assert_eq!(t["ok"], false, "{t}");
            t["message"].as_str().unwrap().to_string()
        }
        Err(e) => e.message,
    };
    assert!(
        message.contains("no credentials: set `access_key_id`"),
        "{message}"
    );
    let t = call(&h, "cloud_test", json!({"name": "local"})).unwrap();
    assert_eq!(t["ok"], true, "{t}");
    let e = call(
        &h,
        "cloud_secret_set",
        json!({"cloud": "aws", "key": "region", "value": "x"}),
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "cloud.invalid");
    call(&h, "cloud_remove", json!({"name": "aws"})).unwrap_or_else(|e| {
        // Removing deletes the keychain entries, so it needs a keychain.
        assert_eq!(e.code.as_str(), "keychain.unavailable", "{e}");
        Value::Null
    });
}
