//! Engine logic with the in-memory fake driver and a real SQLite store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_engine::fake::FakeDriver;
use slipway_engine::{launch, terminate_run, Context, Drivers, Event, Hooks, Launch, SystemClock};
use slipway_recipe::{check, KeepRunning, SetValue, ValidateOptions};
use slipway_store::{InstanceState, RunState, StepState, Store};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);

impl Hooks for Collect {
    fn on_event(&self, e: &Event) {
        self.0.lock().unwrap().push(e.clone());
    }
}

struct Env {
    _dir: tempfile::TempDir,
    ctx: Context,
    events: Arc<Collect>,
    fake: Arc<FakeDriver>,
    run_dir: std::path::PathBuf,
}

fn env(fake: Arc<FakeDriver>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let events = Arc::new(Collect::default());
    let mut drivers: Drivers = Drivers::new();
    drivers.insert("local".into(), fake.clone());
    let run_dir = dir.path().join("runs/r1");
    Env {
        ctx: Context {
            store: Arc::new(Mutex::new(store)),
            drivers,
            hooks: events.clone(),
            clock: Arc::new(SystemClock),
            keeper: None,
        },
        events,
        fake,
        run_dir,
        _dir: dir,
    }
}

const THREE_TIER: &str = r#"
slipway: 1
name: three
images:
  base:
    recipes:
      pre_install: echo preparing
components:
  db:
    image: base
    inputs:
      password: { secret: true, generate: 12 }
    outputs: { port: {} }
    recipes:
      deployment: |
        echo starting with $password
        output port=5432
  web:
    image: base
    inputs:
      db_host: { required: true }
      db_port: {}
      token: { secret: true }
    outputs: { url: {} }
    recipes:
      deployment: |
        echo token is $token
        output url=http://$SLIPWAY_HOSTNAME/
  test:
    image: base
    inputs: { urls: {}, first: {} }
    recipes:
      deployment: echo testing $urls
      reporting: echo collecting
deployment:
  keep_running: never
  nodes:
    db: { component: db }
    web:
      component: web
      multiplicity: 2
      inputs:
        db_host: { from: db.hostname }
        db_port: { from: db.port }
    test:
      component: test
      inputs:
        urls: { from: web.url }
        first: { from: web.1.url }
"#;

fn launch_of(e: &Env, text: &str, keep: Option<KeepRunning>, sets: Vec<SetValue>) -> Launch {
    let opts = ValidateOptions {
        sets,
        ..Default::default()
    };
    let checked = check(text, &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let recipe = checked.recipe.unwrap();
    Launch {
        run_id: "r1".into(),
        keep: keep.unwrap_or(recipe.deployment.keep_running),
        recipe,
        recipe_text: text.into(),
        opts,
        run_dir: e.run_dir.clone(),
        already_created: false,
        resume: None,
    }
}

/// Runs the three-tier recipe to its end, tearing everything down.
async fn run_three_tier(e: &Env) -> slipway_engine::Outcome {
    launch(
        &e.ctx,
        launch_of(e, THREE_TIER, Some(KeepRunning::Never), vec![]),
        CancellationToken::new(),
    )
    .await
}

fn env_of<'a>(
    started: &'a [slipway_engine::fake::StartedStep],
    inst: &str,
    step: &str,
) -> &'a [(String, String)] {
    &started
        .iter()
        .find(|(i, s, _)| i == inst && s == step)
        .unwrap_or_else(|| panic!("{inst} {step} never ran"))
        .2
}

fn get<'a>(env: &'a [(String, String)], k: &str) -> &'a str {
    env.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {k}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wires_values_and_tears_down() {
    let e = env(FakeDriver::instant());
    let l = launch_of(
        &e,
        THREE_TIER,
        None,
        vec![SetValue::parse("web.token=canary-XYZ").unwrap()],
    );
    let out = launch(&e.ctx, l, CancellationToken::new()).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    assert_eq!(out.state, RunState::Done);
    let started = e.fake.started.lock().unwrap().clone();
    let web1 = env_of(&started, "web.1", "deployment");
    assert_eq!(get(web1, "db_host"), "db.1.fake");
    assert_eq!(get(web1, "db_port"), "5432");
    assert_eq!(get(web1, "SLIPWAY_INDEX"), "1");
    let test = env_of(&started, "test.1", "deployment");
    assert_eq!(get(test, "urls"), "http://web.1.fake/,http://web.2.fake/");
    assert_eq!(get(test, "first"), "http://web.1.fake/");
    // Image recipes never see wired inputs.
    assert!(env_of(&started, "web.1", "pre_install")
        .iter()
        .all(|(k, _)| k != "db_host"));
    // Nothing left.
    assert!(e.fake.live.lock().unwrap().is_empty());
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert!(
        detail
            .instances
            .iter()
            .all(|i| i.state == InstanceState::Terminated),
        "{:?}",
        detail.instances
    );
    assert!(detail.steps.iter().all(|s| s.state == StepState::Succeeded));
    // Secrets: the canary and the generated password are masked everywhere.
    let logs = e
        .ctx
        .store
        .lock()
        .unwrap()
        .logs("r1", None, 0, 10_000)
        .unwrap();
    let all_logs: Vec<&str> = logs.iter().map(|l| l.line.as_str()).collect();
    assert!(all_logs.contains(&"echo token is ***"), "{all_logs:?}");
    assert!(all_logs.contains(&"echo starting with ***"), "{all_logs:?}");
    let events = serde_json::to_string(&*e.events.0.lock().unwrap()).unwrap();
    assert!(!events.contains("canary-XYZ"));
    let password = get(env_of(&started, "db.1", "deployment"), "password").to_string();
    assert_eq!(password.len(), 12);
    assert!(!events.contains(&password));
    let params = serde_json::to_string(&detail.params).unwrap();
    assert!(!params.contains("canary-XYZ") && !params.contains(&password));
    // The first event carries the run id; the last one the outcome.
    let ev = e.events.0.lock().unwrap();
    assert!(matches!(&ev[0], Event::RunStarted { run_id, .. } if run_id == "r1"));
    assert!(matches!(
        ev.last().unwrap(),
        Event::RunFinished { exit_code: 0, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_recipe_exits_1_reports_and_tears_down() {
    let e = env(FakeDriver::instant());
    let text = THREE_TIER.replace("echo testing $urls", "echo testing; FAIL");
    let l = launch_of(&e, &text, Some(KeepRunning::OnSuccess), vec![]);
    let out = launch(&e.ctx, l, CancellationToken::new()).await;
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.state, RunState::Aborted);
    assert!(out.error.unwrap().contains("test.1"));
    assert!(!out.kept);
    assert!(e.fake.live.lock().unwrap().is_empty());
    // The reporting recipe of the failed instance still ran.
    let started = e.fake.started.lock().unwrap().clone();
    assert!(started
        .iter()
        .any(|(i, s, _)| i == "test.1" && s == "reporting"));
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    let test = detail
        .instances
        .iter()
        .find(|i| i.name == "test.1")
        .unwrap();
    assert!(test
        .reason
        .as_deref()
        .unwrap()
        .contains("exited with status 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_always_leaves_instances_until_terminate() {
    let e = env(FakeDriver::instant());
    let l = launch_of(&e, THREE_TIER, Some(KeepRunning::Always), vec![]);
    let out = launch(&e.ctx, l, CancellationToken::new()).await;
    assert_eq!(
        (out.exit_code, out.state, out.kept),
        (0, RunState::Ready, true)
    );
    assert_eq!(e.fake.live.lock().unwrap().len(), 4);
    let end = terminate_run(&e.ctx, "r1", &e.run_dir).await.unwrap();
    assert_eq!(end, RunState::Done);
    assert!(e.fake.live.lock().unwrap().is_empty());
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert_eq!(detail.run.state, RunState::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_on_error_keeps_a_failed_run() {
    let e = env(FakeDriver::instant());
    let text = THREE_TIER.replace("echo testing $urls", "FAIL");
    let out = launch(
        &e.ctx,
        launch_of(&e, &text, Some(KeepRunning::OnError), vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!((out.exit_code, out.kept), (1, true));
    assert_eq!(e.fake.live.lock().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_steps_and_tears_down() {
    let fake = FakeDriver::new(|inst, step| {
        if inst == "db.1" && step == "deployment" {
            Duration::from_secs(600)
        } else {
            Duration::ZERO
        }
    });
    let e = env(fake);
    let cancel = CancellationToken::new();
    let hooks_cancel = cancel.clone();
    // Cancel as soon as the long step has started (driven by the event, not a timer).
    struct CancelOnStart(CancellationToken, Arc<Collect>);
    impl Hooks for CancelOnStart {
        fn on_event(&self, ev: &Event) {
            self.1.on_event(ev);
            if let Event::StepStarted { instance, step, .. } = ev {
                if instance == "db.1" && step == "deployment" {
                    self.0.cancel();
                }
            }
        }
    }
    let mut ctx = e.ctx.clone();
    ctx.hooks = Arc::new(CancelOnStart(hooks_cancel, e.events.clone()));
    let out = launch(
        &ctx,
        launch_of(&e, THREE_TIER, Some(KeepRunning::OnSuccess), vec![]),
        cancel,
    )
    .await;
    assert_eq!((out.exit_code, out.state), (130, RunState::Cancelled));
    assert!(e.fake.live.lock().unwrap().is_empty());
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    let db = detail
        .steps
        .iter()
        .find(|s| s.instance == "db.1" && s.kind.as_str() == "deployment")
        .unwrap();
    assert_eq!(db.state, StepState::Cancelled);
    assert!(detail
        .steps
        .iter()
        .filter(|s| s.instance == "test.1" && s.kind.as_str() == "deployment")
        .all(|s| s.state == StepState::Skipped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_node_does_not_hold_back_an_unrelated_chain() {
    // `slow` takes long to install; `quick` → `after` must finish meanwhile (no phase barrier).
    let text = r#"
slipway: 1
name: nobarrier
images:
  base: { recipes: { pre_install: echo install } }
components:
  c:
    image: base
    inputs: { x: {} }
    outputs: { o: {} }
    recipes: { deployment: output o=1 }
deployment:
  keep_running: never
  nodes:
    slow: { component: c }
    quick: { component: c }
    after: { component: c, inputs: { x: { from: quick.o } } }
"#;
    let fake = FakeDriver::new(|inst, step| {
        if inst == "slow.1" && step == "pre_install" {
            Duration::from_millis(400)
        } else {
            Duration::ZERO
        }
    });
    let e = env(fake);
    let out = launch(
        &e.ctx,
        launch_of(&e, text, None, vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    let ev = e.events.0.lock().unwrap();
    let pos = |inst: &str, step: &str| {
        ev.iter()
            .position(|x| matches!(x, Event::StepFinished { instance, step: s, .. } if instance == inst && s == step))
            .unwrap()
    };
    assert!(pos("after.1", "deployment") < pos("slow.1", "pre_install"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_is_batched_per_cloud() {
    let fake = FakeDriver::instant();
    fake.max_batch
        .store(10, std::sync::atomic::Ordering::Relaxed);
    let e = env(fake);
    let text = THREE_TIER.replace("multiplicity: 2", "multiplicity: 100");
    let out = launch(
        &e.ctx,
        launch_of(&e, &text, None, vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    let batches = e.fake.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 102);
    assert_eq!(batches.len(), 11, "{batches:?}");
    assert!(batches.iter().all(|&b| b <= 10), "{batches:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_provisioning_error_is_retried() {
    let fake = FakeDriver::instant();
    fake.provision_errors.lock().unwrap().insert(
        "web.2".into(),
        vec![slipway_driver::DriverError::transient("API throttled")],
    );
    let e = env(fake);
    let out = launch(
        &e.ctx,
        launch_of(&e, THREE_TIER, None, vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    assert!(
        e.fake.provision_errors.lock().unwrap()["web.2"].is_empty(),
        "the error was consumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_failure_is_an_infrastructure_error_and_nothing_is_left() {
    let fake = FakeDriver::instant();
    fake.provision_errors.lock().unwrap().insert(
        "web.2".into(),
        vec![slipway_driver::DriverError::quota("instance limit reached")],
    );
    let e = env(fake);
    let out = launch(
        &e.ctx,
        launch_of(&e, THREE_TIER, Some(KeepRunning::OnError), vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 3);
    assert_eq!(out.state, RunState::Aborted);
    assert!(out.error.unwrap().contains("instance limit reached"));
    // on-error keeps the others for debugging; web.2 never existed.
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    let web2 = detail.instances.iter().find(|i| i.name == "web.2").unwrap();
    assert_eq!(web2.state, InstanceState::Failed);
    assert_eq!(web2.failed_step.map(|s| s.as_str()), Some("provision"));
    let end = terminate_run(&e.ctx, "r1", &e.run_dir).await.unwrap();
    assert_eq!(end, RunState::Aborted, "a final state stays as it was");
    assert!(e.fake.live.lock().unwrap().is_empty());
}

/// Makes the run's database refuse a write, as a full disk or a broken file would.
fn inject_store_failure(e: &Env, trigger: &str) {
    let path = e.ctx.store.lock().unwrap().path().to_path_buf();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(trigger).unwrap();
}

fn log_lines(e: &Env) -> Vec<String> {
    e.ctx
        .store
        .lock()
        .unwrap()
        .logs("r1", None, 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_cannot_be_recorded_is_never_announced() {
    let e = env(FakeDriver::instant());
    inject_store_failure(
        &e,
        "CREATE TRIGGER refuse BEFORE INSERT ON instances
         BEGIN SELECT RAISE(ABORT, 'injected: disk full'); END;",
    );
    let out = launch(
        &e.ctx,
        launch_of(&e, THREE_TIER, None, vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 3, "{:?}", out.error);
    assert!(
        out.error.as_deref().unwrap().contains("disk full"),
        "{out:?}"
    );
    let events = e.events.0.lock().unwrap();
    assert!(
        !events
            .iter()
            .any(|ev| matches!(ev, Event::RunStarted { .. })),
        "announced a start that was never committed: {events:?}"
    );
    assert!(e.fake.started.lock().unwrap().is_empty());
    assert!(e.fake.live.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminate_that_panics_is_a_failure_and_nothing_is_marked_terminated() {
    let fake = FakeDriver::instant();
    fake.terminate_panics
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 3, "{:?}", out.error);
    assert!(
        out.error.as_deref().unwrap().contains("terminate failed"),
        "{out:?}"
    );
    assert_eq!(e.fake.live.lock().unwrap().len(), 4, "nothing was stopped");
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert!(
        detail
            .instances
            .iter()
            .all(|i| i.state != InstanceState::Terminated),
        "{:?}",
        detail.instances
    );
    // Once the driver works again, terminate finishes the job.
    e.fake
        .terminate_panics
        .store(false, std::sync::atomic::Ordering::Relaxed);
    terminate_run(&e.ctx, "r1", &e.run_dir).await.unwrap();
    assert!(e.fake.live.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_during_teardown_are_reported_not_dropped() {
    let e = env(FakeDriver::instant());
    inject_store_failure(
        &e,
        "CREATE TRIGGER refuse BEFORE UPDATE OF state ON instances
         WHEN NEW.state = 'terminated'
         BEGIN SELECT RAISE(ABORT, 'injected: disk full'); END;",
    );
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 3, "{:?}", out.error);
    assert!(
        out.error.as_deref().unwrap().contains("disk full"),
        "{out:?}"
    );
    let events = e.events.0.lock().unwrap();
    assert!(
        !events.iter().any(|ev| matches!(
            ev,
            Event::InstanceState {
                state: InstanceState::Terminated,
                ..
            }
        )),
        "announced a state that was never committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipe_fault_reported_by_the_driver_is_a_deployment_failure() {
    let fake = FakeDriver::instant();
    fake.step_errors.lock().unwrap().insert(
        ("test.1".into(), "deployment".into()),
        vec![slipway_driver::DriverError::recipe(
            "the deployment recipe on test.1 wrote a malformed SLIPWAY_OUTPUT: line 2: `oops`",
        )],
    );
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 1, "{:?}", out.error);
    assert_eq!(out.state, RunState::Aborted);
    assert!(out.error.as_deref().unwrap().contains("line 2"), "{out:?}");
    assert!(e.fake.live.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_output_is_stored_with_a_warning_naming_the_declared_ones() {
    let e = env(FakeDriver::instant());
    let text = THREE_TIER.replace(
        "output port=5432",
        "output port=5432\n        output prot=5432",
    );
    let out = launch(
        &e.ctx,
        launch_of(&e, &text, Some(KeepRunning::Never), vec![]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    let warning = log_lines(&e)
        .into_iter()
        .find(|l| l.starts_with("warning") && l.contains("`prot`"))
        .expect("a warning about the undeclared output");
    assert!(warning.contains("component `db`"), "{warning}");
    assert!(warning.contains("declared: port"), "{warning}");
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert!(detail
        .params
        .iter()
        .any(|p| p.instance == "db.1" && p.name == "prot" && p.value == "5432"));
    // Declared outputs draw no warning.
    assert!(!log_lines(&e)
        .iter()
        .any(|l| l.starts_with("warning") && l.contains("`port`")));
}

// What remote drivers need from the engine: driver state that survives a restart, boots with a
// timeout, a limit on steps at once, and retries of steps whose script never started.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_state_is_stored_and_handed_back_to_a_later_process() {
    let e = env(FakeDriver::instant());
    let l = launch_of(&e, THREE_TIER, Some(KeepRunning::Always), vec![]);
    let out = launch(&e.ctx, l, CancellationToken::new()).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    // Every step got the state its instance was provisioned with.
    for p in e.fake.step_instances.lock().unwrap().iter() {
        let index: u32 = p.name.rsplit('.').next().unwrap().parse().unwrap();
        assert_eq!(p.state, serde_json::json!({ "fake": index }), "{}", p.name);
    }
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert!(detail.instances.iter().all(|i| i.driver_state.is_some()));

    // Another process (a fresh driver that only knows what exists) terminates the kept run.
    let later = FakeDriver::instant();
    *later.live.lock().unwrap() = e.fake.live.lock().unwrap().clone();
    let mut drivers = Drivers::new();
    drivers.insert("local".into(), later.clone());
    let ctx = Context {
        drivers,
        ..e.ctx.clone()
    };
    terminate_run(&ctx, "r1", &e.run_dir).await.unwrap();
    let terminated = later.terminated.lock().unwrap().clone();
    assert_eq!(terminated.len(), 4, "{terminated:?}");
    for p in &terminated {
        let index: u32 = p.name.rsplit('.').next().unwrap().parse().unwrap();
        assert_eq!(p.state, serde_json::json!({ "fake": index }), "{}", p.name);
    }
    assert!(later.live.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_on_a_cloud_never_run_more_at_once_than_it_allows() {
    let fake = FakeDriver::new(|_, step| match step {
        "pre_install" => Duration::from_millis(300),
        _ => Duration::ZERO,
    });
    fake.max_parallel_steps
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    // Four instances want to run pre_install at once; two may.
    let most = e
        .fake
        .most_running
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(most, 2, "steps running at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_script_never_started_is_run_again() {
    let fake = FakeDriver::instant();
    fake.step_errors.lock().unwrap().insert(
        ("db.1".into(), "deployment".into()),
        vec![
            slipway_driver::DriverError::transient("channel refused"),
            slipway_driver::DriverError::transient("channel refused"),
        ],
    );
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    let attempts = e
        .fake
        .started
        .lock()
        .unwrap()
        .iter()
        .filter(|(i, s, _)| i == "db.1" && s == "deployment")
        .count();
    assert_eq!(attempts, 3);
    let logs = log_lines(&e);
    assert!(
        logs.iter()
            .any(|l| l.contains("did not start (channel refused); trying again (attempt 3 of 3)")),
        "{logs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_never_starts_three_times_is_an_infrastructure_error() {
    let fake = FakeDriver::instant();
    fake.step_errors.lock().unwrap().insert(
        ("db.1".into(), "deployment".into()),
        (0..3)
            .map(|_| slipway_driver::DriverError::transient("channel refused"))
            .collect(),
    );
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 3, "{:?}", out.error);
    assert!(out.error.unwrap().contains("channel refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_boots_before_its_first_step_and_a_slow_boot_times_out() {
    let fake = FakeDriver::instant();
    fake.boot
        .lock()
        .unwrap()
        .insert("web.1".into(), (Duration::from_millis(50), None));
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);
    let events = e.events.0.lock().unwrap().clone();
    let booting = events.iter().position(|ev| {
        matches!(ev, Event::InstanceState { instance, state: InstanceState::Booting, .. } if instance == "web.1")
    });
    let first_step = events.iter().position(|ev| {
        matches!(ev, Event::StepStarted { instance, step, .. } if instance == "web.1" && step == "pre_install")
    });
    assert!(booting.unwrap() < first_step.unwrap());

    let fake = FakeDriver::instant();
    fake.boot
        .lock()
        .unwrap()
        .insert("web.2".into(), (Duration::from_secs(60), None));
    *fake.boot_timeout.lock().unwrap() = Duration::from_millis(100);
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!((out.exit_code, out.state), (3, RunState::Aborted));
    let error = out.error.unwrap();
    assert!(
        error.contains("web.2: booting failed (other): web.2 did not become ready within 100 ms"),
        "{error}"
    );
    // The instance that never booted was still torn down.
    assert!(e.fake.live.lock().unwrap().is_empty());
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    let web2 = detail.instances.iter().find(|i| i.name == "web.2").unwrap();
    assert_eq!(web2.state, InstanceState::Terminated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_that_takes_longer_than_the_clouds_timeout_fails() {
    let fake = FakeDriver::new(|inst, step| {
        if inst == "db.1" && step == "provision" {
            Duration::from_secs(60)
        } else {
            Duration::ZERO
        }
    });
    *fake.provision_timeout.lock().unwrap() = Duration::from_millis(100);
    let e = env(fake);
    let out = run_three_tier(&e).await;
    assert_eq!(out.exit_code, 3, "{:?}", out.error);
    assert!(
        out.error
            .as_deref()
            .unwrap()
            .contains("did not finish creating the instance within 100 ms"),
        "{:?}",
        out.error
    );
}

/// A store call that blocks (a commit waiting for another process's lock) must not stall the
/// runtime: with one worker thread, another task still runs while the call waits.
#[test]
fn a_blocking_store_call_leaves_the_runtime_free() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let e = env(FakeDriver::instant());
    let ctx = e.ctx.clone();
    let got_through = rt.block_on(async move {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        // It can only run once the store call has begun.
        let other = tokio::spawn(async move {
            started_rx.await.unwrap();
            tx.send(()).unwrap();
        });
        let blocked = tokio::spawn(async move {
            ctx.with_store(|_store| {
                started_tx.send(()).unwrap();
                rx.recv_timeout(Duration::from_secs(10)).is_ok()
            })
        });
        let got_through = blocked.await.unwrap();
        other.await.unwrap();
        got_through
    });
    assert!(
        got_through,
        "the other task could not run while the store call blocked the only worker"
    );
}
