//! The store against real SQLite files in temporary directories.

use std::path::{Path, PathBuf};

use slipway_recipe::{KeepRunning, Recipe};
use slipway_store::*;

fn open(dir: &Path) -> Store {
    Store::open(dir).expect("the store opens")
}

fn new_run(id: &str, created_at: i64) -> NewRun {
    let (pid, start) = current_process_identity();
    NewRun {
        id: id.to_string(),
        name: "web-with-db".to_string(),
        keep_running: KeepRunning::OnSuccess,
        recipe_text: "slipway: 1\nname: web-with-db\n".to_string(),
        default_cloud: "local".to_string(),
        created_at,
        owner_pid: pid,
        owner_start_time: start,
    }
}

fn instance(name: &str) -> NewInstance {
    let (node, index) = name.split_once('.').unwrap();
    NewInstance {
        name: name.to_string(),
        node: node.to_string(),
        index: index.parse().unwrap(),
        cloud: "local".to_string(),
    }
}

fn examples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/examples");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".slipway.yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the examples are missing");
    files
}

fn parse_example(text: &str) -> Recipe {
    let checked = slipway_recipe::check(text, &Default::default());
    checked
        .valid_recipe()
        .expect("the example is valid")
        .clone()
}

/// A process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

// ---------------------------------------------------------------------------------------------
// Opening and schema

#[test]
fn migrations_apply_on_a_fresh_file_and_reopening_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("nested/home");
    let version = {
        let mut store = open(&home);
        assert_eq!(store.path(), home.join("slipway.db"));
        let version = store.schema_version().unwrap();
        assert!(version >= 1);
        store.create_run(&new_run("r-1", 1)).unwrap();
        // WAL mode: the write-ahead log sits beside the database while it is open.
        assert!(home.join("slipway.db-wal").exists());
        version
    };
    let store = open(&home);
    assert_eq!(store.schema_version().unwrap(), version);
    assert_eq!(
        store.list_runs().unwrap().len(),
        1,
        "reopening kept the data"
    );
}

#[test]
fn a_database_from_a_newer_slipway_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let db = dir.path().join("slipway.db");
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.pragma_update(None, "user_version", 999).unwrap();
    drop(raw);
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SchemaTooNew);
    assert_eq!(err.code(), "store.schema_too_new");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
}

#[test]
fn foreign_keys_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    let err = store
        .append_logs(&[NewLogLine {
            run_id: "r-nope".into(),
            instance: None,
            step: None,
            stream: LogStream::System,
            line: "x".into(),
            at: 2,
        }])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let param = NewParam {
        instance: "ghost.1".into(),
        name: "port".into(),
        kind: ParamKind::Output,
        value: "1".into(),
        secret: false,
    };
    let err = store.set_params("r-1", &[param], 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("ghost.1"), "{err}");
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cli = open(dir.path());
    let mut app = open(dir.path());

    cli.create_run(&new_run("r-1", 100)).unwrap();
    assert_eq!(
        app.run("r-1").unwrap().unwrap().run.state,
        RunState::Initializing
    );

    cli.set_run_state("r-1", RunState::Provisioning, 110, None)
        .unwrap();
    assert_eq!(app.list_runs().unwrap()[0].state, RunState::Provisioning);

    let image = ModuleBody::Image(slipway_recipe::Image::default());
    app.save_module("base", &image, None, 120).unwrap();
    assert_eq!(
        cli.module(ModuleKind::Image, "base", None)
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Runs

#[test]
fn every_state_change_is_recorded_as_a_transition_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1000)).unwrap();
    store
        .add_instances("r-1", &[instance("db.1"), instance("web.1")], 1001)
        .unwrap();
    store
        .set_run_state("r-1", RunState::Provisioning, 1002, None)
        .unwrap();
    store
        .set_instance_state("r-1", "db.1", InstanceState::Provisioning, 1003, None)
        .unwrap();
    // Setting the same state again is not a change.
    store
        .set_instance_state("r-1", "db.1", InstanceState::Provisioning, 1004, None)
        .unwrap();
    store
        .set_instance_state(
            "r-1",
            "db.1",
            InstanceState::Ready,
            1005,
            Some("all steps done"),
        )
        .unwrap();
    store
        .fail_instance(
            "r-1",
            "web.1",
            Some(StepKind::Deployment),
            "exit code 3",
            1006,
        )
        .unwrap();
    store
        .set_run_state("r-1", RunState::Aborted, 1007, Some("web.1 failed"))
        .unwrap();

    let detail = store.run("r-1").unwrap().unwrap();
    let seen: Vec<(Option<&str>, Option<&str>, &str, i64)> = detail
        .transitions
        .iter()
        .map(|t| {
            (
                t.instance.as_deref(),
                t.from.as_deref(),
                t.to.as_str(),
                t.at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (None, None, "initializing", 1000),
            (Some("db.1"), None, "pending", 1001),
            (Some("web.1"), None, "pending", 1001),
            (None, Some("initializing"), "provisioning", 1002),
            (Some("db.1"), Some("pending"), "provisioning", 1003),
            (Some("db.1"), Some("provisioning"), "ready", 1005),
            (Some("web.1"), Some("pending"), "failed", 1006),
            (None, Some("provisioning"), "aborted", 1007),
        ]
    );
    assert!(detail.transitions.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        detail.transitions[5].detail.as_deref(),
        Some("all steps done")
    );
    assert_eq!(
        detail.transitions[6].detail.as_deref(),
        Some("deployment: exit code 3")
    );

    let run = &detail.run;
    assert_eq!(run.state, RunState::Aborted);
    assert_eq!(run.started_at, Some(1002), "first state after initializing");
    assert_eq!(run.ended_at, Some(1007), "set by the final state");
    let web = detail.instances.iter().find(|i| i.name == "web.1").unwrap();
    assert_eq!(web.state, InstanceState::Failed);
    assert_eq!(web.failed_step, Some(StepKind::Deployment));
    assert_eq!(web.reason.as_deref(), Some("exit code 3"));
    assert_eq!(web.updated_at, 1006);

    // The live view's detail: the same run and instances, without the text and the history.
    let live = store.run_live("r-1").unwrap().unwrap();
    assert!(live.transitions.is_empty() && live.recipe_text.is_empty());
    assert!(!detail.recipe_text.is_empty());
    assert_eq!(
        (&live.run, &live.instances, &live.steps, &live.params),
        (
            &detail.run,
            &detail.instances,
            &detail.steps,
            &detail.params
        )
    );

    // A final run stays final, and the refusal records nothing.
    let err = store
        .set_run_state("r-1", RunState::Executing, 1008, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(store.run("r-1").unwrap().unwrap().transitions.len(), 8);
}

#[test]
fn finish_run_records_exit_code_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    store
        .finish_run("r-1", 3, Some("docker: connection refused"), 9)
        .unwrap();
    let run = store.run("r-1").unwrap().unwrap().run;
    assert_eq!(run.exit_code, Some(3));
    assert_eq!(run.error.as_deref(), Some("docker: connection refused"));
    assert_eq!(run.ended_at, Some(9));
    let err = store.finish_run("r-missing", 0, None, 9).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn run_ids_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    let err = store.create_run(&new_run("r-1", 2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.message().contains("r-1"));
}

#[test]
fn runs_are_listed_newest_first_and_final_ones_left_out_of_non_final() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-a", 10)).unwrap();
    store.create_run(&new_run("r-c", 30)).unwrap();
    store.create_run(&new_run("r-b", 20)).unwrap();
    store
        .set_run_state("r-c", RunState::Done, 40, None)
        .unwrap();
    let ids: Vec<String> = store
        .list_runs()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["r-c", "r-b", "r-a"]);
    let open_ids: Vec<String> = store
        .non_final_runs()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open_ids, ["r-b", "r-a"]);
}

#[test]
fn resources_steps_params_reports_and_modules_are_kept_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    store.add_instances("r-1", &[instance("db.1")], 2).unwrap();
    store
        .set_instance_resource(
            "r-1",
            "db.1",
            "c0ffee",
            Some("10.0.0.7"),
            Some(r#"{"port":2222}"#),
            3,
        )
        .unwrap();
    store
        .set_instance_resource("r-1", "db.1", "c0ffee2", None, None, 4)
        .unwrap();
    store
        .add_steps(
            "r-1",
            &[
                ("db.1", StepKind::Provision),
                ("db.1", StepKind::Deployment),
            ],
        )
        .unwrap();
    store
        .set_step_state(
            "r-1",
            "db.1",
            StepKind::Provision,
            StepState::Running,
            5,
            None,
        )
        .unwrap();
    store
        .set_step_state(
            "r-1",
            "db.1",
            StepKind::Provision,
            StepState::Succeeded,
            6,
            Some(0),
        )
        .unwrap();
    store
        .set_params(
            "r-1",
            &[
                NewParam {
                    instance: "db.1".into(),
                    name: "port".into(),
                    kind: ParamKind::Output,
                    value: "5432".into(),
                    secret: false,
                },
                NewParam {
                    instance: "db.1".into(),
                    name: "db_password".into(),
                    kind: ParamKind::Input,
                    value: "hunter2".into(),
                    secret: true,
                },
            ],
            7,
        )
        .unwrap();
    // An upsert replaces the value.
    store
        .set_params(
            "r-1",
            &[NewParam {
                instance: "db.1".into(),
                name: "port".into(),
                kind: ParamKind::Output,
                value: "5433".into(),
                secret: false,
            }],
            8,
        )
        .unwrap();
    store.add_report("r-1", "db.1", "kv.log", 1234, 9).unwrap();
    let used = [ModuleRef {
        kind: ModuleKind::Deployment,
        name: "web-with-db".into(),
        version: 4,
    }];
    store.set_run_modules("r-1", &used).unwrap();

    let detail = store.run("r-1").unwrap().unwrap();
    let db = &detail.instances[0];
    assert_eq!(db.resource_id.as_deref(), Some("c0ffee2"));
    assert_eq!(
        db.hostname.as_deref(),
        Some("10.0.0.7"),
        "None keeps the hostname"
    );
    assert_eq!(
        db.driver_state.as_deref(),
        Some(r#"{"port":2222}"#),
        "None keeps the driver state"
    );
    assert_eq!(detail.steps.len(), 2);
    let provision = &detail.steps[0];
    assert_eq!(
        (
            provision.kind,
            provision.state,
            provision.started_at,
            provision.ended_at,
            provision.exit_code
        ),
        (
            StepKind::Provision,
            StepState::Succeeded,
            Some(5),
            Some(6),
            Some(0)
        )
    );
    assert_eq!(detail.steps[1].state, StepState::Pending);
    let value = |name: &str| {
        let p = detail.params.iter().find(|p| p.name == name).unwrap();
        (p.value.as_str(), p.secret)
    };
    assert_eq!(value("port"), ("5433", false));
    assert_eq!(
        value("db_password"),
        ("***", true),
        "the secret value is never stored"
    );
    assert_eq!(detail.reports[0].path, "kv.log");
    assert_eq!(detail.reports[0].size, 1234);
    assert_eq!(detail.modules, used);
    assert_eq!(detail.recipe_text, "slipway: 1\nname: web-with-db\n");

    let err = store
        .add_steps("r-1", &[("db.1", StepKind::Provision)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(store.run("r-nope").unwrap().is_none());
}

#[test]
fn ten_thousand_log_lines_in_one_batch_page_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    store.create_run(&new_run("r-2", 1)).unwrap();
    let lines: Vec<NewLogLine> = (0..10_000)
        .map(|i| NewLogLine {
            run_id: "r-1".into(),
            instance: Some(if i % 2 == 0 { "web.1" } else { "web.2" }.into()),
            step: Some(StepKind::Deployment),
            stream: if i % 10 == 0 {
                LogStream::Stderr
            } else {
                LogStream::Stdout
            },
            line: format!("line {i}"),
            at: 1000 + i,
        })
        .collect();
    store.append_logs(&lines).unwrap();
    store
        .append_logs(&[NewLogLine {
            run_id: "r-2".into(),
            instance: None,
            step: None,
            stream: LogStream::System,
            line: "another run".into(),
            at: 5,
        }])
        .unwrap();

    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.logs("r-1", None, after, 3000).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3000);
        after = page.last().unwrap().id;
        seen.extend(page);
    }
    assert_eq!(seen.len(), 10_000);
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    for (i, l) in seen.iter().enumerate() {
        assert_eq!(l.line, format!("line {i}"));
    }
    assert_eq!(seen[10].stream, LogStream::Stderr);
    assert_eq!(seen[10].at, 1010);

    let web2 = store.logs("r-1", Some("web.2"), 0, 100_000).unwrap();
    assert_eq!(web2.len(), 5_000);
    assert!(web2.iter().all(|l| l.instance.as_deref() == Some("web.2")));
    // Following from the last id seen gives nothing new until more is appended.
    assert!(store.logs("r-1", None, after, 10).unwrap().is_empty());
}

#[test]
fn a_log_line_is_stored_exactly_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.create_run(&new_run("r-1", 1)).unwrap();
    let texts = [
        "password=hunter2 (the engine masks; the store does not)",
        "  leading and trailing  \t",
        "",
        "ünïcödé ✓ \u{1b}[31mred\u{1b}[0m",
        "quote ' and \" and \\ and %_",
    ];
    let lines: Vec<NewLogLine> = texts
        .iter()
        .map(|t| NewLogLine {
            run_id: "r-1".into(),
            instance: None,
            step: None,
            stream: LogStream::Stdout,
            line: t.to_string(),
            at: 2,
        })
        .collect();
    store.append_logs(&lines).unwrap();
    let stored: Vec<String> = store
        .logs("r-1", None, 0, 100)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert_eq!(stored, texts);
}

#[test]
fn process_identity_tells_live_owners_from_dead_ones() {
    let (pid, start) = current_process_identity();
    assert_eq!(pid, std::process::id());
    assert!(start > 0, "Linux gives a start time");
    assert!(process_alive(pid, start));
    assert!(!process_alive(pid, start + 1), "same pid, other process");
    assert!(!process_alive(dead_pid(), start));
}

#[test]
fn a_non_final_run_whose_owner_died_shows_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let mut orphan = new_run("r-orphan", 1);
    orphan.owner_pid = dead_pid();
    store.create_run(&orphan).unwrap();
    store.create_run(&new_run("r-live", 2)).unwrap();
    let mut finished = new_run("r-done", 3);
    finished.owner_pid = orphan.owner_pid;
    store.create_run(&finished).unwrap();
    store
        .set_run_state("r-done", RunState::Done, 4, None)
        .unwrap();

    let by_id = |store: &Store, id: &str| {
        store
            .list_runs()
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap()
    };
    assert_eq!(by_id(&store, "r-orphan").display_state(), "interrupted");
    assert_eq!(by_id(&store, "r-live").display_state(), "initializing");
    assert_eq!(by_id(&store, "r-done").display_state(), "done");

    // A process that takes the run over makes it live again.
    let (pid, start) = current_process_identity();
    store.claim_run("r-orphan", pid, start).unwrap();
    assert_eq!(by_id(&store, "r-orphan").display_state(), "initializing");
}

// ---------------------------------------------------------------------------------------------
// Module library

fn image(description: &str, packages: &[&str]) -> ModuleBody {
    let mut image = slipway_recipe::Image {
        description: Some(description.to_string()),
        ..Default::default()
    };
    image.recipes.packages = packages.iter().map(|p| p.to_string()).collect();
    ModuleBody::Image(image)
}

#[test]
fn a_version_is_made_on_change_and_not_on_an_identical_save() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let v1 = store
        .save_module("debian", &image("Debian", &["curl"]), Some("first"), 10)
        .unwrap();
    assert_eq!((v1.version, v1.created_new), (1, true));
    let same = store
        .save_module("debian", &image("Debian", &["curl"]), Some("again"), 11)
        .unwrap();
    assert_eq!((same.version, same.created_new), (1, false));
    let v2 = store
        .save_module("debian", &image("Debian", &["curl", "git"]), None, 12)
        .unwrap();
    assert_eq!((v2.version, v2.created_new), (2, true));

    let history = store.history(ModuleKind::Image, "debian").unwrap();
    let seen: Vec<(u32, Option<&str>, i64)> = history
        .iter()
        .map(|v| (v.version, v.comment.as_deref(), v.created_at))
        .collect();
    assert_eq!(seen, [(2, None, 12), (1, Some("first"), 10)]);

    let old = store
        .module(ModuleKind::Image, "debian", Some(1))
        .unwrap()
        .unwrap();
    assert_eq!(old.body, image("Debian", &["curl"]));
    assert!(store
        .module(ModuleKind::Image, "debian", Some(3))
        .unwrap()
        .is_none());
    assert!(store
        .module(ModuleKind::Component, "debian", None)
        .unwrap()
        .is_none());
}

#[test]
fn diff_shows_the_changed_lines_and_restore_makes_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .save_module("debian", &image("Debian", &["curl"]), None, 1)
        .unwrap();
    store
        .save_module("debian", &image("Debian 12", &["curl", "git"]), None, 2)
        .unwrap();

    let rows = store.diff(ModuleKind::Image, "debian", 1, 2).unwrap();
    let changed: Vec<(DiffTag, &str)> = rows
        .iter()
        .filter(|r| r.tag != DiffTag::Equal)
        .map(|r| (r.tag, r.text.as_str()))
        .collect();
    assert_eq!(
        changed,
        [
            (DiffTag::Delete, "description: Debian"),
            (DiffTag::Insert, "description: Debian 12"),
            (DiffTag::Insert, "    - git"),
        ]
    );
    assert!(rows
        .iter()
        .any(|r| r.tag == DiffTag::Equal && r.text == "    - curl"));

    let restored = store
        .restore(ModuleKind::Image, "debian", 1, None, 3)
        .unwrap();
    assert_eq!((restored.version, restored.created_new), (3, true));
    let latest = store
        .module(ModuleKind::Image, "debian", None)
        .unwrap()
        .unwrap();
    assert_eq!(latest.version, 3);
    assert_eq!(latest.body, image("Debian", &["curl"]));
    assert_eq!(latest.comment.as_deref(), Some("restored from version 1"));
    assert!(store
        .diff(ModuleKind::Image, "debian", 1, 3)
        .unwrap()
        .iter()
        .all(|r| r.tag == DiffTag::Equal));
    // Versions 1 and 2 are still there, unchanged.
    assert_eq!(store.history(ModuleKind::Image, "debian").unwrap().len(), 3);

    // Restoring what is already the latest makes nothing.
    let again = store
        .restore(ModuleKind::Image, "debian", 3, Some("no-op"), 4)
        .unwrap();
    assert_eq!((again.version, again.created_new), (3, false));

    let err = store
        .restore(ModuleKind::Image, "debian", 9, None, 5)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store.history(ModuleKind::Image, "nope").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn modules_are_listed_by_kind_and_found_by_name_or_description() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .save_module("debian", &image("Debian with PostgreSQL", &[]), None, 1)
        .unwrap();
    store
        .save_module("alpine", &image("Small", &[]), None, 2)
        .unwrap();
    store
        .save_module("alpine", &image("Small base", &[]), None, 3)
        .unwrap();
    let pg = slipway_recipe::Component {
        image: "debian".into(),
        ..Default::default()
    };
    store
        .save_module("postgres", &ModuleBody::Component(pg), None, 4)
        .unwrap();

    let names = |kind, search| -> Vec<String> {
        store
            .list_modules(kind, search)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect()
    };
    assert_eq!(names(None, ""), ["alpine", "debian", "postgres"]);
    assert_eq!(names(Some(ModuleKind::Image), ""), ["alpine", "debian"]);
    assert_eq!(names(None, "postgre"), ["debian", "postgres"]);
    assert_eq!(names(None, "SMALL"), ["alpine"]);
    assert!(names(Some(ModuleKind::Deployment), "").is_empty());

    let alpine = &store.list_modules(None, "alpine").unwrap()[0];
    assert_eq!(alpine.kind, ModuleKind::Image);
    assert_eq!(alpine.latest, 2);
    assert_eq!(alpine.description.as_deref(), Some("Small base"));
    assert_eq!(alpine.updated_at, 3);
}

#[test]
fn a_bad_module_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let err = store
        .save_module("Debian 12", &image("x", &[]), None, 1)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("Debian 12"));
}

#[test]
fn export_after_import_gives_back_each_example() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    for (file, text) in examples() {
        let recipe = parse_example(&text);
        let imported = store.import_recipe(&recipe, Some(&file), 100).unwrap();
        assert_eq!(
            imported.len(),
            recipe.images.len() + recipe.components.len() + 1,
            "{file}"
        );
        let exported = store.export_recipe(&recipe.name, None).unwrap();
        assert_eq!(exported, recipe, "{file}");
        assert_eq!(
            slipway_recipe::to_yaml(&exported),
            slipway_recipe::to_yaml(&recipe),
            "{file}: same order of modules too"
        );
    }
}

#[test]
fn importing_again_makes_versions_only_for_changed_modules() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let text = examples()
        .into_iter()
        .find(|(f, _)| f == "web-with-db.slipway.yaml")
        .unwrap()
        .1;
    let mut recipe = parse_example(&text);
    let first = store.import_recipe(&recipe, None, 1).unwrap();
    assert!(first.iter().all(|m| m.created_new && m.version == 1));

    let again = store.import_recipe(&recipe, None, 2).unwrap();
    assert!(again.iter().all(|m| !m.created_new && m.version == 1));

    recipe.components["web"].description = Some("changed".into());
    let third = store.import_recipe(&recipe, Some("edit web"), 3).unwrap();
    let changed: Vec<(&str, u32)> = third
        .iter()
        .filter(|m| m.created_new)
        .map(|m| (m.name.as_str(), m.version))
        .collect();
    assert_eq!(changed, [("web", 2)]);
    let old_web = store
        .module(ModuleKind::Component, "web", Some(1))
        .unwrap()
        .unwrap();
    assert_ne!(
        old_web.body,
        store
            .module(ModuleKind::Component, "web", Some(2))
            .unwrap()
            .unwrap()
            .body,
        "version 1 was kept, not overwritten"
    );

    let (exported, used) = store.export_recipe_versions("web-with-db", None).unwrap();
    assert_eq!(exported, recipe);
    assert_eq!(used[0].kind, ModuleKind::Deployment);
    assert!(used.contains(&ModuleRef {
        kind: ModuleKind::Component,
        name: "web".into(),
        version: 2
    }));
    // An older deployment version exports too.
    assert!(store.export_recipe("web-with-db", Some(1)).is_ok());
}

#[test]
fn an_import_that_fails_midway_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let text = examples()
        .into_iter()
        .find(|(f, _)| f == "web-with-db.slipway.yaml")
        .unwrap()
        .1;
    let good = parse_example(&text);
    store.import_recipe(&good, None, 1).unwrap();
    let before: Vec<ModuleSummary> = store.list_modules(None, "").unwrap();

    // The image changes (and would be saved first); then a component has a name no module
    // may have, so the import fails after writing.
    let mut bad = good.clone();
    bad.images["debian-12"].login_user = Some("admin".into());
    bad.components["web"].description = Some("changed".into());
    let smoke = bad.components["smoke-test"].clone();
    bad.components.insert("Smoke Test".into(), smoke);
    let err = store.import_recipe(&bad, None, 2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("Smoke Test"), "{err}");

    assert_eq!(store.list_modules(None, "").unwrap(), before);
    assert_eq!(
        store.history(ModuleKind::Image, "debian-12").unwrap().len(),
        1
    );
    assert_eq!(
        store.history(ModuleKind::Component, "web").unwrap().len(),
        1
    );
}

#[test]
fn export_names_what_is_missing_and_honours_pinned_images() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let err = store.export_recipe("nothing", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let deployment = |components: &[(&str, &str)]| {
        let mut d = slipway_recipe::Deployment::default();
        for (node, component) in components {
            d.nodes
                .insert(node.to_string(), slipway_recipe::Node::new(*component));
        }
        ModuleBody::Deployment(DeploymentBody {
            description: None,
            deployment: d,
            layout: Default::default(),
        })
    };
    let component = |image: &str| {
        ModuleBody::Component(slipway_recipe::Component {
            image: image.into(),
            ..Default::default()
        })
    };
    store
        .save_module("app", &deployment(&[("web", "web")]), None, 1)
        .unwrap();
    let err = store.export_recipe("app", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("component `web`"), "{err}");

    store
        .save_module("web", &component("base@1"), None, 2)
        .unwrap();
    let err = store.export_recipe("app", None).unwrap_err();
    assert!(err.message().contains("image `base` version 1"), "{err}");

    store
        .save_module("base", &image("one", &[]), None, 3)
        .unwrap();
    store
        .save_module("base", &image("two", &[]), None, 4)
        .unwrap();
    let recipe = store.export_recipe("app", None).unwrap();
    assert_eq!(
        recipe.images["base"].description.as_deref(),
        Some("one"),
        "the pinned version, not the latest"
    );
    assert_eq!(recipe.components["web"].image, "base@1");

    // Another component wanting the latest `base` cannot share one recipe with the pin.
    store
        .save_module("db", &component("base"), None, 5)
        .unwrap();
    store
        .save_module("app", &deployment(&[("web", "web"), ("db", "db")]), None, 6)
        .unwrap();
    let err = store.export_recipe("app", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn examples_are_seeded_once_and_a_deleted_module_stays_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let files = examples();
    let mut offered: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    offered.push(("broken.slipway.yaml", "slipway: 7\nname: broken\n"));

    let first = store.seed_examples(&offered, 1).unwrap();
    assert!(first
        .imported
        .iter()
        .any(|m| m.kind == ModuleKind::Deployment && m.name == "hello" && m.created_new));
    assert_eq!(first.skipped.len(), 1);
    assert_eq!(first.skipped[0].0, "broken.slipway.yaml");
    let hello = store
        .module(ModuleKind::Deployment, "hello", None)
        .unwrap()
        .unwrap();
    assert_eq!(hello.comment.as_deref(), Some("example hello.slipway.yaml"));

    assert!(store
        .delete_module(ModuleKind::Deployment, "hello")
        .unwrap());
    let second = store.seed_examples(&offered, 2).unwrap();
    assert!(second.imported.is_empty());
    assert!(store
        .module(ModuleKind::Deployment, "hello", None)
        .unwrap()
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Clouds

#[test]
fn clouds_are_added_updated_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let settings = |v: serde_json::Value| v.as_object().unwrap().clone();
    let added = store
        .add_cloud(
            "aws-eu",
            "ec2",
            &settings(serde_json::json!({ "region": "eu-west-1" })),
            10,
        )
        .unwrap();
    assert_eq!((added.created_at, added.updated_at), (10, 10));
    store
        .add_cloud("dock", "docker", &settings(serde_json::json!({})), 11)
        .unwrap();

    let err = store
        .add_cloud("dock", "docker", &Default::default(), 12)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let err = store
        .add_cloud("other", "vmware", &Default::default(), 12)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);

    let updated = store
        .update_cloud(
            "aws-eu",
            "ec2",
            &settings(serde_json::json!({ "region": "eu-central-1" })),
            13,
        )
        .unwrap();
    assert_eq!(updated.settings["region"], "eu-central-1");
    assert_eq!((updated.created_at, updated.updated_at), (10, 13));
    let err = store
        .update_cloud("nope", "ec2", &Default::default(), 14)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let names: Vec<String> = store
        .list_clouds()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["aws-eu", "dock"]);
    assert!(store.remove_cloud("dock").unwrap());
    assert!(!store.remove_cloud("dock").unwrap());
    assert!(store.cloud("dock").unwrap().is_none());
    assert_eq!(store.cloud("aws-eu").unwrap().unwrap().kind, "ec2");
}

#[test]
fn batched_state_changes_record_every_transition() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .create_run(&slipway_store::NewRun {
            id: "rb".into(),
            name: "batch".into(),
            keep_running: slipway_recipe::KeepRunning::Never,
            recipe_text: String::new(),
            default_cloud: "local".into(),
            created_at: 1,
            owner_pid: 1,
            owner_start_time: 1,
        })
        .unwrap();
    let instances: Vec<slipway_store::NewInstance> = (1..=3)
        .map(|i| slipway_store::NewInstance {
            name: format!("w.{i}"),
            node: "w".into(),
            index: i,
            cloud: "local".into(),
        })
        .collect();
    store.add_instances("rb", &instances, 2).unwrap();
    store
        .add_steps(
            "rb",
            &[
                ("w.1", StepKind::Provision),
                ("w.2", StepKind::Provision),
                ("w.3", StepKind::Provision),
            ],
        )
        .unwrap();
    store
        .set_instance_states(
            "rb",
            &[
                ("w.1", InstanceState::Provisioning),
                ("w.2", InstanceState::Provisioning),
                ("w.3", InstanceState::Provisioning),
            ],
            3,
        )
        .unwrap();
    store
        .set_step_states(
            "rb",
            &[
                ("w.1", StepKind::Provision, StepState::Running),
                ("w.3", StepKind::Provision, StepState::Running),
            ],
            3,
        )
        .unwrap();
    let d = store.run("rb").unwrap().unwrap();
    assert!(d
        .instances
        .iter()
        .all(|i| i.state == InstanceState::Provisioning));
    let running: Vec<&str> = d
        .steps
        .iter()
        .filter(|s| s.state == StepState::Running)
        .map(|s| s.instance.as_str())
        .collect();
    assert_eq!(running, ["w.1", "w.3"]);
    let to_prov = d
        .transitions
        .iter()
        .filter(|t| t.to == "provisioning")
        .count();
    assert_eq!(to_prov, 3);
}

#[test]
fn a_checkpointer_copies_the_wal_back_when_commits_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.set_auto_checkpoint(0).unwrap();
    let checkpointer = slipway_store::Checkpointer::start(&store).unwrap();
    store.create_run(&new_run("r-1", 1)).unwrap();
    let lines: Vec<slipway_store::NewLogLine> = (0..5_000)
        .map(|n| slipway_store::NewLogLine {
            run_id: "r-1".into(),
            instance: None,
            step: None,
            stream: slipway_store::LogStream::System,
            line: format!("line {n} {}", "x".repeat(200)),
            at: n,
        })
        .collect();
    for chunk in lines.chunks(100) {
        store.append_logs(chunk).unwrap();
    }
    let db = dir.path().join(slipway_store::DB_FILE);
    let before = std::fs::metadata(&db).unwrap().len();
    // Stopping it runs a last checkpoint: the logs are in the database file itself then (the
    // commits, with automatic checkpoints off, only ever wrote to the WAL).
    drop(checkpointer);
    let after = std::fs::metadata(&db).unwrap().len();
    assert!(
        after > 1_000_000,
        "the database file holds {after} bytes (before the last checkpoint: {before})"
    );
}
