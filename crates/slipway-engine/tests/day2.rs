//! Day-2 operations with the in-memory fake driver and a real SQLite store: scaling a kept run
//! and resuming an interrupted one, with the run's secret values in a keeper.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use slipway_engine::fake::{FakeDriver, StartedStep};
use slipway_engine::{
    launch, plan_scale, resume_run, scale_run, Context, Drivers, Launch, NoHooks, Scale,
    SecretKeeper, SystemClock,
};
use slipway_recipe::{check, KeepRunning, SetValue, ValidateOptions};
use slipway_store::{InstanceState, RunState, StepKind, StepState, Store};
use tokio_util::sync::CancellationToken;

/// A keeper in memory, standing in for the OS keychain.
#[derive(Default)]
struct MemoryKeeper(Mutex<HashMap<String, String>>);

impl SecretKeeper for MemoryKeeper {
    fn keep(&self, run_id: &str, values: &str) -> Result<(), String> {
        self.0.lock().unwrap().insert(run_id.into(), values.into());
        Ok(())
    }
    fn recall(&self, run_id: &str) -> Result<Option<String>, String> {
        Ok(self.0.lock().unwrap().get(run_id).cloned())
    }
    fn forget(&self, run_id: &str) -> Result<(), String> {
        self.0.lock().unwrap().remove(run_id);
        Ok(())
    }
}

const RECIPE: &str = r#"
slipway: 1
name: tiers
images:
  base: {}
components:
  db:
    image: base
    inputs:
      password: { secret: true, generate: 12 }
    outputs: { port: {} }
    recipes:
      deployment: |
        output port=5432
  web:
    image: base
    inputs:
      db_port: {}
      token: { secret: true }
    outputs: { url: {} }
    recipes:
      deployment: |
        output url=http://$SLIPWAY_HOSTNAME/
  lb:
    image: base
    inputs: { backends: {} }
    recipes:
      deployment: echo balancing
      on_node_add: echo added
      on_node_remove: echo removed
deployment:
  keep_running: always
  nodes:
    db: { component: db }
    web:
      component: web
      multiplicity: 2
      inputs:
        db_port: { from: db.port }
    lb:
      component: lb
      inputs:
        backends: { from: web.url }
"#;

struct Env {
    _dir: tempfile::TempDir,
    ctx: Context,
    fake: Arc<FakeDriver>,
    keeper: Arc<MemoryKeeper>,
    run_dir: std::path::PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDriver::instant();
    let mut drivers = Drivers::new();
    drivers.insert("local".into(), fake.clone());
    let keeper = Arc::new(MemoryKeeper::default());
    let run_dir = dir.path().join("runs/r1");
    Env {
        ctx: Context {
            store: Arc::new(Mutex::new(Store::open(dir.path()).unwrap())),
            drivers,
            hooks: Arc::new(NoHooks),
            clock: Arc::new(SystemClock),
            keeper: Some(keeper.clone()),
        },
        fake,
        keeper,
        run_dir,
        _dir: dir,
    }
}

async fn launch_kept(e: &Env) {
    let opts = ValidateOptions {
        sets: vec![SetValue::parse("web.token=tok-CANARY").unwrap()],
        ..Default::default()
    };
    let recipe = check(RECIPE, &opts).recipe.unwrap();
    let outcome = launch(
        &e.ctx,
        Launch {
            run_id: "r1".into(),
            recipe,
            recipe_text: RECIPE.into(),
            opts,
            keep: KeepRunning::Always,
            run_dir: e.run_dir.clone(),
            already_created: false,
            resume: None,
        },
        CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.state, RunState::Ready, "{outcome:?}");
}

fn env_of<'a>(started: &'a [StartedStep], instance: &str, step: &str) -> &'a [(String, String)] {
    &started
        .iter()
        .rev()
        .find(|(i, s, _)| i == instance && s == step)
        .unwrap_or_else(|| panic!("{instance} never ran {step}"))
        .2
}

fn var<'a>(env: &'a [(String, String)], name: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {env:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_up_and_down_runs_the_hooks_with_wires_resolved_again() {
    let e = env();
    launch_kept(&e).await;
    let kept = e.keeper.recall("r1").unwrap().expect("secrets kept");
    assert!(kept.contains("tok-CANARY"));
    let first_password = var(
        env_of(&e.fake.started.lock().unwrap(), "db.1", "deployment"),
        "password",
    )
    .to_string();

    let scale = |delta| Scale {
        run_id: "r1".into(),
        node: "web".into(),
        delta,
        run_dir: e.run_dir.clone(),
    };
    let up = scale_run(&e.ctx, scale(1), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(up.exit_code, 0, "{up:?}");
    assert_eq!(up.added, ["web.3"]);
    {
        let started = e.fake.started.lock().unwrap();
        let new = env_of(&started, "web.3", "deployment");
        assert_eq!(var(new, "token"), "tok-CANARY", "the kept --set value");
        assert_eq!(var(new, "db_port"), "5432");
        let hook = env_of(&started, "lb.1", "on_node_add");
        assert_eq!(var(hook, "SLIPWAY_SCALED_NODE"), "web");
        assert_eq!(var(hook, "SLIPWAY_ADDED"), "web.3");
        assert_eq!(
            var(hook, "backends"),
            "http://web.1.fake/,http://web.2.fake/,http://web.3.fake/"
        );
        // The web servers have no on_node_add; the database reads nothing from them.
        assert!(!started
            .iter()
            .any(|(i, s, _)| s == "on_node_add" && i != "lb.1"));
        assert!(!started
            .iter()
            .any(|(i, s, _)| i == "db.1" && s != "deployment"));
    }

    let down = scale_run(&e.ctx, scale(-2), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(down.removed, ["web.3", "web.2"], "{down:?}");
    {
        let started = e.fake.started.lock().unwrap();
        let hook = env_of(&started, "lb.1", "on_node_remove");
        assert_eq!(var(hook, "SLIPWAY_REMOVED"), "web.3,web.2");
        assert_eq!(var(hook, "backends"), "http://web.1.fake/");
    }
    let live = e.fake.live.lock().unwrap().clone();
    assert!(
        live.contains("r1/web.1") && !live.contains("r1/web.2") && !live.contains("r1/web.3"),
        "{live:?}"
    );
    assert!(
        live.contains("r1/db.1") && live.contains("r1/lb.1"),
        "no sweep took the others: {live:?}"
    );
    let refused = scale_run(&e.ctx, scale(-1), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("below multiplicity 1"),
        "{refused}"
    );

    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert_eq!(detail.run.state, RunState::Ready);
    let state = |n: &str| detail.instances.iter().find(|i| i.name == n).unwrap().state;
    assert_eq!(state("web.2"), InstanceState::Terminated);
    assert_eq!(state("lb.1"), InstanceState::Ready);
    assert!(
        e.ctx
            .store
            .lock()
            .unwrap()
            .run_lock("r1")
            .unwrap()
            .is_none(),
        "lock released"
    );
    // The database's generated password never changed (it was never generated again).
    assert_eq!(
        var(
            env_of(&e.fake.started.lock().unwrap(), "db.1", "deployment"),
            "password"
        ),
        first_password
    );

    slipway_engine::terminate_run(&e.ctx, "r1", &e.run_dir)
        .await
        .unwrap();
    assert_eq!(
        e.keeper.recall("r1").unwrap(),
        None,
        "forgotten with the run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_keeps_finished_steps_and_provisions_a_gone_instance_again() {
    let e = env();
    launch_kept(&e).await;
    // Make it look interrupted: lb.1's deployment was running when the owner (a dead process)
    // went, and web.2's machine has disappeared meanwhile.
    {
        let mut st = e.ctx.store.lock().unwrap();
        st.set_run_state("r1", RunState::Executing, 1, None)
            .unwrap();
        st.claim_run("r1", u32::MAX - 1, 1).unwrap();
        st.set_step_state(
            "r1",
            "lb.1",
            StepKind::Deployment,
            StepState::Running,
            2,
            None,
        )
        .unwrap();
        assert!(st.run("r1").unwrap().unwrap().run.interrupted);
    }
    e.fake.live.lock().unwrap().remove("r1/web.2");
    let before = e.fake.started.lock().unwrap().len();
    let outcome = resume_run(&e.ctx, "r1", e.run_dir.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.state, RunState::Ready, "{outcome:?}");
    let rerun: Vec<(String, String)> = e.fake.started.lock().unwrap()[before..]
        .iter()
        .map(|(i, s, _)| (i.clone(), s.clone()))
        .collect();
    assert_eq!(
        rerun,
        [
            ("web.2".to_string(), "deployment".to_string()),
            ("lb.1".to_string(), "deployment".to_string())
        ],
        "only the gone instance and the interrupted step ran"
    );
    assert!(
        e.fake.live.lock().unwrap().contains("r1/web.2"),
        "provisioned again"
    );
    {
        let started = e.fake.started.lock().unwrap();
        assert_eq!(
            var(env_of(&started, "web.2", "deployment"), "token"),
            "tok-CANARY"
        );
    }
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    assert_eq!(detail.run.owner_pid, Some(std::process::id()));
    assert!(detail.steps.iter().all(|s| s.state == StepState::Succeeded));
    // A run that is not interrupted is refused.
    let again = resume_run(&e.ctx, "r1", e.run_dir.clone(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(again.to_string().contains("is ready"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_owner_died_before_recording_anything_is_resumed_from_its_recipe() {
    let e = env();
    let text = r#"
slipway: 1
name: early
images:
  base: {}
components:
  app:
    image: base
    outputs: { x: {} }
    recipes:
      deployment: output x=1
deployment:
  keep_running: never
  nodes:
    app: { component: app, multiplicity: 2 }
"#;
    // What a `--detach` parent records before its background owner starts, with an owner
    // that is gone.
    e.ctx
        .store
        .lock()
        .unwrap()
        .create_run(&slipway_store::NewRun {
            id: "r1".into(),
            name: "early".into(),
            keep_running: KeepRunning::Never,
            recipe_text: text.into(),
            default_cloud: "local".into(),
            created_at: 1,
            owner_pid: u32::MAX - 1,
            owner_start_time: 1,
        })
        .unwrap();
    let outcome = resume_run(&e.ctx, "r1", e.run_dir.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.state, RunState::Done, "{outcome:?}");
    let detail = e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();
    let names: Vec<&str> = detail.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["app.1", "app.2"]);
    assert!(detail
        .instances
        .iter()
        .all(|i| i.state == InstanceState::Terminated));
    assert!(e.fake.live.lock().unwrap().is_empty());
}

/// Sees, at the moment a run starts finalizing, whether the store calls it interrupted.
struct FinalizingWatch {
    store: Arc<Mutex<Store>>,
    seen: Mutex<Vec<bool>>,
}

impl slipway_engine::Hooks for FinalizingWatch {
    fn on_event(&self, event: &slipway_engine::Event) {
        if let slipway_engine::Event::RunState { run_id, state, .. } = event {
            if *state == RunState::Finalizing {
                let run = self.store.lock().unwrap().run(run_id).unwrap().unwrap().run;
                self.seen.lock().unwrap().push(run.interrupted);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_run_being_terminated_by_another_process_is_not_interrupted() {
    let mut e = env();
    let watch = Arc::new(FinalizingWatch {
        store: e.ctx.store.clone(),
        seen: Mutex::new(Vec::new()),
    });
    e.ctx.hooks = watch.clone();
    launch_kept(&e).await;
    // The `slipway run` that kept it has exited: its owner is a dead process.
    e.ctx
        .store
        .lock()
        .unwrap()
        .claim_run("r1", u32::MAX - 1, 1)
        .unwrap();
    assert!(
        !e.ctx
            .store
            .lock()
            .unwrap()
            .run("r1")
            .unwrap()
            .unwrap()
            .run
            .interrupted
    );
    slipway_engine::terminate_run(&e.ctx, "r1", &e.run_dir)
        .await
        .unwrap();
    assert_eq!(
        *watch.seen.lock().unwrap(),
        [false],
        "the terminating process owns the run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_of_a_scale_names_what_the_scale_then_does() {
    let e = env();
    launch_kept(&e).await;
    let detail = || e.ctx.store.lock().unwrap().run("r1").unwrap().unwrap();

    let up = plan_scale(&detail(), "web", 2).unwrap();
    assert_eq!(up.cloud, "local");
    assert_eq!(up.live, 2);
    assert_eq!(up.add, ["web.3", "web.4"]);
    assert_eq!(up.steps, [StepKind::Provision, StepKind::Deployment]);
    assert_eq!(up.hook, StepKind::OnNodeAdd);
    assert_eq!(
        up.hook_on,
        ["lb.1"],
        "web has no on_node_add; db reads nothing"
    );
    assert_eq!(up.hook_missing, ["web"]);
    let lines = up.describe().join("\n");
    assert!(
        lines.contains(
            "add web.3, web.4 on cloud `local`: provision → deployment (2 → 4 instances)"
        ) && lines.contains("then on_node_add on lb.1"),
        "{lines}"
    );
    // Planning changed nothing.
    assert_eq!(detail().instances.len(), 4);

    let done = scale_run(
        &e.ctx,
        Scale {
            run_id: "r1".into(),
            node: "web".into(),
            delta: 2,
            run_dir: e.run_dir.clone(),
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(done.added, up.add);
    let log = e
        .ctx
        .store
        .lock()
        .unwrap()
        .logs("r1", None, 0, 1000)
        .unwrap();
    assert!(
        log.iter()
            .any(|l| l.line.contains("plan: then on_node_add on lb.1")),
        "the plan is in the run's log"
    );
    let ran: Vec<String> = {
        let started = e.fake.started.lock().unwrap();
        started
            .iter()
            .filter(|(_, s, _)| s == "on_node_add")
            .map(|(i, _, _)| i.clone())
            .collect()
    };
    assert_eq!(ran, up.hook_on);

    let down = plan_scale(&detail(), "web", -3).unwrap();
    assert_eq!(
        down.remove,
        ["web.4", "web.3", "web.2"],
        "highest indexes first"
    );
    assert_eq!(down.hook, StepKind::OnNodeRemove);
    assert_eq!(down.hook_on, ["lb.1"]);
    assert!(down.add.is_empty() && down.steps.is_empty());
    assert!(
        down.describe()
            .join("\n")
            .contains("then terminate web.4, web.3, web.2 (4 → 1 instances)"),
        "{:?}",
        down.describe()
    );
    let below = plan_scale(&detail(), "web", -4).unwrap_err();
    assert!(
        below.to_string().contains("below multiplicity 1"),
        "{below}"
    );
    let unknown = plan_scale(&detail(), "cache", 1).unwrap_err();
    assert!(unknown.to_string().contains("no node `cache`"), "{unknown}");
}
