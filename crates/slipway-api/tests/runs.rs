//! Launching and following runs, against a real SQLite store in a temporary data directory: the
//! launch dialog's plan (clouds a node cannot use, inputs, the preview), the runs history with
//! clouds and version, following a run through the store (what the desktop streams over its
//! Channel), and deleting finished runs only.

use std::path::PathBuf;
use std::sync::mpsc;

use serde_json::{json, Value};
use slipway_api::{dispatch, Context, ErrorCode, RunFollowArgs, RunUpdate};
use slipway_store::{LogStream, NewInstance, NewLogLine, NewRun, RunState, Store};

fn example(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/examples")
        .join(file);
    std::fs::read_to_string(path).unwrap()
}

fn recipe_of(text: &str) -> Value {
    let checked = slipway_recipe::check(text, &slipway_recipe::ValidateOptions::default());
    serde_json::to_value(checked.recipe.expect("the recipe reads")).unwrap()
}

fn call(ctx: &Context, command: &str, args: Value) -> Result<Value, slipway_api::CommandError> {
    dispatch(ctx, command, args).unwrap_or_else(|| panic!("no command `{command}`"))
}

#[test]
fn the_launch_plan_lists_clouds_a_node_cannot_use_its_inputs_and_the_plan() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::new(Store::open(home.path()).unwrap());
    call(
        &ctx,
        "cloud_save",
        json!({ "name": "dock", "kind": "docker", "settings": [], "replace": false }),
    )
    .unwrap();
    // hello's image has no mapping for docker once its `docker:` line is gone.
    let text = example("hello.slipway.yaml").replace("      docker: { image: debian:12 }\n", "");
    let recipe = recipe_of(&text);
    let plan = call(
        &ctx,
        "launch_plan",
        json!({ "recipe": recipe, "placement": {} }),
    )
    .unwrap();
    assert_eq!(plan["problems"], json!([]), "{plan}");
    let node = &plan["nodes"][0];
    assert_eq!(node["node"], json!("hello"));
    assert_eq!(node["cloud"], json!("local"));
    let unusable = node["unusable"].as_array().unwrap();
    assert_eq!(unusable.len(), 1, "{node}");
    assert_eq!(unusable[0]["cloud"], json!("dock"));
    assert!(unusable[0]["reason"]
        .as_str()
        .unwrap()
        .contains("no `clouds:` entry"));
    assert_eq!(
        plan["per_cloud"],
        json!([{ "cloud": "local", "instances": 1 }])
    );
    assert!(plan["steps"].as_u64().unwrap() >= 2, "{plan}");
    assert!(!plan["critical_path"].as_array().unwrap().is_empty());
    assert_eq!(
        plan["inputs"],
        json!([{ "node": "hello", "input": "who", "secret": false, "required": false,
                 "generated": false, "value": "world" }])
    );
    // Placed on that cloud, the deployment has a problem and no plan.
    let on_dock = call(
        &ctx,
        "launch_plan",
        json!({ "recipe": recipe, "placement": { "cloud": "dock" } }),
    )
    .unwrap();
    let codes: Vec<&str> = on_dock["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["missing-cloud-mapping"]);
    assert_eq!(on_dock["critical_path"], json!([]));
    // Launching it there is refused, and nothing is recorded.
    let refused = call(
        &ctx,
        "run_launch",
        json!({ "recipe": recipe, "placement": { "cloud": "dock" } }),
    )
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::RecipeInvalid);
    assert_eq!(call(&ctx, "runs_list", json!({})).unwrap(), json!([]));
}

#[test]
fn a_secret_input_is_offered_without_its_value() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::new(Store::open(home.path()).unwrap());
    let recipe = recipe_of(&example("web-with-db.slipway.yaml"));
    let plan = call(
        &ctx,
        "launch_plan",
        json!({ "recipe": recipe, "placement": {} }),
    )
    .unwrap();
    let inputs = plan["inputs"].as_array().unwrap();
    let password = inputs
        .iter()
        .find(|i| i["input"] == json!("db_password"))
        .unwrap();
    assert_eq!(password["secret"], json!(true));
    assert_eq!(password["generated"], json!(true));
    assert_eq!(password["value"], Value::Null);
    // Wired inputs are not offered.
    assert!(
        !inputs.iter().any(|i| i["input"] == json!("db_host")),
        "{plan}"
    );
    assert_eq!(
        plan["per_cloud"],
        json!([{ "cloud": "local", "instances": 4 }])
    );
}

fn log(run: &str, instance: &str, line: &str, at: i64) -> NewLogLine {
    NewLogLine {
        run_id: run.into(),
        instance: Some(instance.into()),
        step: None,
        stream: LogStream::Stdout,
        line: line.into(),
        at,
    }
}

#[test]
fn a_run_is_followed_through_the_store_listed_and_deleted_once_finished() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::new(Store::open(home.path()).unwrap());
    // Another process (a `slipway run`) writes the run: here, a second connection.
    let mut writer = Store::open(home.path()).unwrap();
    let (pid, start) = slipway_store::current_process_identity();
    writer
        .create_run(&NewRun {
            id: "r-1".into(),
            name: "hello".into(),
            keep_running: slipway_recipe::KeepRunning::Never,
            recipe_text: example("hello.slipway.yaml"),
            default_cloud: "local".into(),
            created_at: 1_000,
            owner_pid: pid,
            owner_start_time: start,
        })
        .unwrap();
    writer
        .add_instances(
            "r-1",
            &[NewInstance {
                name: "hello.1".into(),
                node: "hello".into(),
                index: 1,
                cloud: "local".into(),
            }],
            1_001,
        )
        .unwrap();
    writer
        .append_logs(&[log("r-1", "hello.1", "first", 1_002)])
        .unwrap();

    let (tx, rx) = mpsc::channel::<RunUpdate>();
    std::thread::scope(|scope| {
        let ctx = &ctx;
        scope.spawn(move || {
            let args = RunFollowArgs {
                id: "r-1".into(),
                after_log: None,
                token: "t".into(),
            };
            slipway_api::run_follow(ctx, args, &|u| tx.send(u).is_ok()).unwrap();
        });
        // The first detail, then the lines written so far.
        match rx.recv().unwrap() {
            RunUpdate::Detail { detail } => assert_eq!(detail.instances[0].name, "hello.1"),
            other => panic!("{other:?}"),
        }
        match rx.recv().unwrap() {
            RunUpdate::Logs { lines } => assert_eq!(lines[0].line, "first"),
            other => panic!("{other:?}"),
        }
        // A running run is not deleted.
        let refused = call(ctx, "run_delete", json!({ "id": "r-1" })).unwrap_err();
        assert_eq!(refused.code, ErrorCode::StoreInvalid);
        // What the owner writes next reaches the follower, in order, then the end.
        writer
            .append_logs(&[log("r-1", "hello.1", "second", 1_003)])
            .unwrap();
        writer
            .set_run_state("r-1", RunState::Done, 1_004, None)
            .unwrap();
        writer.finish_run("r-1", 0, None, 1_004).unwrap();
        let mut lines = Vec::new();
        let mut last_state = None;
        loop {
            match rx.recv().unwrap() {
                RunUpdate::Detail { detail } => last_state = Some(detail.run.state),
                RunUpdate::Logs { lines: l } => lines.extend(l.into_iter().map(|l| l.line)),
                RunUpdate::End => break,
            }
        }
        assert_eq!(lines, ["second"]);
        assert_eq!(last_state, Some(RunState::Done));
    });

    let history = call(&ctx, "runs_list", json!({})).unwrap();
    assert_eq!(history[0]["run"]["id"], json!("r-1"));
    assert_eq!(history[0]["clouds"], json!(["local"]));
    assert_eq!(history[0]["deployment_version"], Value::Null);
    assert_eq!(
        call(&ctx, "run_delete", json!({ "id": "r-1" })).unwrap(),
        json!(true)
    );
    assert_eq!(call(&ctx, "runs_list", json!({})).unwrap(), json!([]));
    assert_eq!(
        call(&ctx, "run_delete", json!({ "id": "r-1" })).unwrap(),
        json!(false)
    );
}

#[test]
fn a_stopped_follow_ends() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::new(Store::open(home.path()).unwrap());
    call(&ctx, "follow_stop", json!({ "token": "gone" })).unwrap();
    let args = slipway_api::RunsFollowArgs {
        token: "gone".into(),
    };
    let sent = std::sync::atomic::AtomicUsize::new(0);
    slipway_api::runs_follow(&ctx, args, &|_| {
        sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    })
    .unwrap();
    assert_eq!(sent.into_inner(), 0);
}

fn new_run(writer: &mut Store, id: &str) {
    let (pid, start) = slipway_store::current_process_identity();
    writer
        .create_run(&NewRun {
            id: id.into(),
            name: "hello".into(),
            keep_running: slipway_recipe::KeepRunning::Never,
            recipe_text: example("hello.slipway.yaml"),
            default_cloud: "local".into(),
            created_at: 1_000,
            owner_pid: pid,
            owner_start_time: start,
        })
        .unwrap();
}

#[test]
fn a_launched_run_that_ends_gives_one_notice_and_other_runs_none() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::new(Store::open(home.path()).unwrap());
    let mut writer = Store::open(home.path()).unwrap();
    new_run(&mut writer, "r-1");
    // Not launched from this app (a CI job on the same machine): none of its business.
    new_run(&mut writer, "r-cli");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let (ctx, stop) = (&ctx, &stop);
        scope.spawn(move || {
            let launched = || vec!["r-1".to_string(), "r-unknown".to_string()];
            let stopped = || stop.load(std::sync::atomic::Ordering::SeqCst);
            slipway_api::watch_run_ends(ctx, &launched, &stopped, &mut |n| tx.send(n).unwrap())
                .unwrap();
        });
        writer
            .set_run_state("r-cli", RunState::Aborted, 1_900, Some("no"))
            .unwrap();
        writer.finish_run("r-cli", 1, Some("no"), 1_900).unwrap();
        writer
            .set_run_state(
                "r-1",
                RunState::Aborted,
                2_000,
                Some("deployment of hello.1 failed"),
            )
            .unwrap();
        writer
            .finish_run("r-1", 1, Some("deployment of hello.1 failed"), 63_000)
            .unwrap();
        let notice = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a notice for r-1");
        assert_eq!(notice.run_id, "r-1");
        assert_eq!(notice.title, "Run hello failed");
        assert!(notice.body.starts_with("r-1 · "), "{}", notice.body);
        assert!(
            notice.body.contains("deployment of hello.1 failed"),
            "{}",
            notice.body
        );
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    // Nothing else: not r-cli, and r-1 once.
    assert_eq!(rx.try_iter().count(), 0);
}

#[test]
fn notices_say_how_a_run_ended() {
    let mut run = slipway_store::RunSummary {
        id: "r-9".into(),
        name: "web".into(),
        state: RunState::Ready,
        keep_running: slipway_recipe::KeepRunning::Always,
        default_cloud: "local".into(),
        created_at: 0,
        started_at: Some(1_000),
        ended_at: None,
        exit_code: None,
        error: None,
        owner_pid: None,
        owner_start_time: None,
        interrupted: false,
    };
    let n = slipway_api::run_end_notice(&run).unwrap();
    assert_eq!(n.title, "Run web is ready");
    assert!(n.body.contains("kept running"), "{}", n.body);
    run.state = RunState::Executing;
    assert_eq!(slipway_api::run_end_notice(&run), None);
    run.interrupted = true;
    assert_eq!(
        slipway_api::run_end_notice(&run).unwrap().title,
        "Run web was interrupted"
    );
    run.interrupted = false;
    run.state = RunState::Done;
    run.exit_code = Some(0);
    run.ended_at = Some(126_000);
    let n = slipway_api::run_end_notice(&run).unwrap();
    assert_eq!(n.title, "Run web succeeded");
    assert_eq!(n.body, "r-9 · 2 min 5 s");
    run.state = RunState::Cancelled;
    assert_eq!(
        slipway_api::run_end_notice(&run).unwrap().title,
        "Run web was cancelled"
    );
}
