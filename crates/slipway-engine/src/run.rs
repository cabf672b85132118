//! One run, from launch to teardown.
//!
//! Owns: the coordinator. A single task owns all run state and the store handle; provisioning
//! batches, steps and report fetches run as spawned tasks that talk back over one channel, so
//! state changes happen in one place, in order, and are committed before they are announced.
//! Never: waits for a phase to finish before starting unrelated work (no global barriers).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use indexmap::IndexMap;
use slipway_driver::{
    Driver, DriverError, ErrorKind, InstanceSpec, OutputLine, ProvisionProgress, ProvisionRequest,
    Provisioned, StepRequest, StepResult, Stream,
};
use slipway_plan::{Plan, StepId, StepKind};
use slipway_recipe::{split_image_ref, KeepRunning, Recipe, ValidateOptions};
use slipway_store::{
    InstanceState, LogStream, NewInstance, NewLogLine, NewParam, NewRun, ParamKind, RunState,
    StepState, Store, StoreError,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{Event, Hooks};
use crate::exit;
use crate::kept::{is_secret_input, KeptSecrets, SecretKeeper};
use crate::mask::Masker;
use crate::resolve::{builtin_env, generate_secret, resolve_inputs, InstanceValues};
use crate::teardown::{teardown, TeardownTarget};

/// How many times a step whose script never started (the transport dropped first) is tried.
const STEP_ATTEMPTS: u32 = 3;

/// Drivers by cloud name (`local`, `my-ec2`, …).
pub type Drivers = HashMap<String, Arc<dyn Driver>>;

/// What the engine needs from its host.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<Mutex<Store>>,
    pub drivers: Drivers,
    pub hooks: Arc<dyn Hooks>,
    pub clock: Arc<dyn Clock>,
    /// Keeps the secret values of a run while it has instances (the OS keychain); `None` keeps
    /// nothing, and a run that would need them says so in its log.
    pub keeper: Option<Arc<dyn SecretKeeper>>,
}

impl Context {
    /// Calls the store. SQLite blocks (a commit, another process's lock for up to the busy
    /// timeout), so on a multi-threaded runtime the call tells tokio first
    /// (`block_in_place`): the runtime moves its other tasks (steps, log forwarding) to another
    /// worker, and only the caller, which must wait for the commit anyway, waits.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let call = || {
            let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut store)
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
            _ => call(),
        }
    }
}

/// One launch of a validated recipe.
pub struct Launch {
    pub run_id: String,
    pub recipe: Recipe,
    pub recipe_text: String,
    /// Clouds and `--set` values; the recipe must validate with these.
    pub opts: ValidateOptions,
    pub keep: KeepRunning,
    /// The run's folder: reports, and whatever the drivers keep (local sandboxes).
    pub run_dir: PathBuf,
    /// The run record exists already (a parent process created it for `--detach`).
    pub already_created: bool,
    /// `slipway resume`: the run, its instances and steps exist in the store; this process
    /// takes it over and continues from what the store says, with the kept secret values.
    pub resume: Option<KeptSecrets>,
}

/// How a run ended, for the exit code.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub run_id: String,
    pub state: RunState,
    pub exit_code: i32,
    pub error: Option<String>,
    /// Instances were left running by the keep-running policy.
    pub kept: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureKind {
    Recipe,
    Infrastructure,
    Cancelled,
}

#[derive(Clone, Debug)]
struct Failure {
    kind: FailureKind,
    message: String,
}

enum Msg {
    Provisioned(Vec<(usize, Result<Provisioned, DriverError>)>),
    Log {
        step: StepId,
        stream: LogStream,
        line: String,
        at: i64,
    },
    StepDone {
        step: StepId,
        result: Result<StepResult, DriverError>,
    },
    Booted {
        instance: usize,
        result: Result<(), DriverError>,
    },
    Reports {
        instance: usize,
        result: Result<Vec<(String, u64)>, DriverError>,
    },
    /// A driver's line about an instance being provisioned (`Progress`).
    ProvisionProgress {
        instance: usize,
        line: String,
    },
}

/// Runs `launch` to its end: provisions, walks the step graph, applies the keep-running policy.
/// `cancel` stops it (Ctrl-C, `slipway terminate`).
pub async fn launch(ctx: &Context, launch: Launch, cancel: CancellationToken) -> Outcome {
    let plan = match Plan::build(&launch.recipe, &launch.opts) {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                run_id: launch.run_id.clone(),
                state: RunState::Aborted,
                exit_code: exit::BAD_INPUT,
                error: Some(e.to_string()),
                kept: false,
            }
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let dependents = plan.dependents();
    let steps = plan
        .steps
        .iter()
        .zip(dependents)
        .map(|(s, dependents)| StepRun {
            state: StepState::Pending,
            started_at: 0,
            waiting_on: s.after.len(),
            dependents,
        })
        .collect();
    let inst = plan
        .instances
        .iter()
        .map(|i| InstanceRun {
            values: InstanceValues {
                node: i.node.clone(),
                index: i.index,
                cloud: i.cloud.clone(),
                ..InstanceValues::default()
            },
            provisioned: None,
            state: InstanceState::Pending,
            reports_fetched: false,
            inputs_recorded: false,
            usable: false,
        })
        .collect();
    let non_reporting = plan
        .steps
        .iter()
        .filter(|s| s.kind != StepKind::Reporting)
        .count();
    let progress = Progress {
        provisions_left: plan.instances.len(),
        non_reporting_left: non_reporting,
        any_reporting: non_reporting < plan.steps.len(),
        in_flight: 0,
    };
    let run = Run {
        ctx,
        l: &launch,
        plan,
        inst,
        steps,
        progress,
        run_state: RunState::Initializing,
        failure: None,
        store_error: None,
        secrets: Secrets::default(),
        logs: PendingLogs::default(),
        tx,
        rx,
        cancel: Cancels {
            steps: cancel.child_token(),
            user: cancel,
        },
        step_slots: HashMap::new(),
        absent: Vec::new(),
    };
    // Checkpoints of the WAL happen on a thread of their own, never in a commit of the run.
    let checkpointer = ctx.with_store(|s| {
        let c = slipway_store::Checkpointer::start(s).ok()?;
        s.set_auto_checkpoint(0).ok()?;
        Some(c)
    });
    let outcome = run.go().await;
    if checkpointer.is_some() {
        ctx.with_store(|s| s.set_auto_checkpoint(1000)).ok();
    }
    drop(checkpointer);
    outcome
}

/// The coordinator's state of a run: the plan, and one record per instance and per step
/// (indexed like `plan.instances` and `plan.steps`).
struct Run<'a> {
    ctx: &'a Context,
    l: &'a Launch,
    plan: Plan,
    inst: Vec<InstanceRun>,
    steps: Vec<StepRun>,
    progress: Progress,
    run_state: RunState,
    failure: Option<Failure>,
    store_error: Option<String>,
    secrets: Secrets,
    logs: PendingLogs,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    cancel: Cancels,
    /// Per cloud: a permit for each step allowed to run at once (`Driver::max_parallel_steps`).
    step_slots: HashMap<String, Arc<Semaphore>>,
    /// On resume: planned instances the store has no record of (the owner died before it
    /// recorded them); they are recorded when this process takes the run over.
    absent: Vec<String>,
}

/// What the run knows of one instance.
struct InstanceRun {
    /// Its built-in parameters and outputs, as wires read them.
    values: InstanceValues,
    provisioned: Option<Provisioned>,
    state: InstanceState,
    reports_fetched: bool,
    /// Its resolved inputs are in the store (the first step that reads wires records them).
    inputs_recorded: bool,
    /// It accepts steps: booted by this process, or (on resume) found again and checked.
    usable: bool,
}

/// What the run knows of one step.
struct StepRun {
    state: StepState,
    started_at: i64,
    /// Steps it waits for that have not succeeded yet.
    waiting_on: usize,
    /// Steps that wait for it.
    dependents: Vec<StepId>,
}

/// Counters that decide the run's phase without rescanning every step.
struct Progress {
    provisions_left: usize,
    non_reporting_left: usize,
    any_reporting: bool,
    /// Spawned tasks (provisioning batches, boots, steps, report fetches) not yet reported back.
    in_flight: usize,
}

/// Values masked from everything shown or stored, and the generated ones.
#[derive(Default)]
struct Secrets {
    masker: Masker,
    generated: IndexMap<(String, String), String>,
    /// The keeper holds them (forgotten when the run ends without instances).
    kept: bool,
}

/// Log lines waiting to be committed in one transaction, and their events, announced after.
#[derive(Default)]
struct PendingLogs {
    lines: Vec<NewLogLine>,
    events: Vec<Event>,
}

struct Cancels {
    /// Stops the steps in flight: cancelled on the first failure, or by the user.
    steps: CancellationToken,
    /// The user's stop (Ctrl-C, `slipway terminate`).
    user: CancellationToken,
}

pub(crate) fn store_kind(kind: StepKind) -> slipway_store::StepKind {
    slipway_store::StepKind::parse(kind.as_str()).expect("plan and store name the same steps")
}

impl Run<'_> {
    fn now(&self) -> i64 {
        self.ctx.clock.now_ms()
    }

    fn run_id(&self) -> &str {
        &self.l.run_id
    }

    /// Commits a change; the first store failure aborts the run as an infrastructure error.
    fn record(&mut self, f: impl FnOnce(&mut Store) -> Result<(), StoreError>) -> bool {
        let result = self.ctx.with_store(f);
        match result {
            Ok(()) => true,
            Err(e) => {
                if self.store_error.is_none() {
                    self.store_error = Some(e.to_string());
                    self.fail(
                        FailureKind::Infrastructure,
                        format!("the run store failed: {e}"),
                    );
                }
                false
            }
        }
    }

    fn announce(&self, event: Event) {
        self.ctx.hooks.on_event(&event);
    }

    fn set_run_state(&mut self, state: RunState) {
        if self.run_state == state {
            return;
        }
        let (id, at) = (self.run_id().to_string(), self.now());
        if self.record(|s| s.set_run_state(&id, state, at, None)) {
            self.run_state = state;
            self.announce(Event::RunState {
                run_id: id,
                state,
                at,
            });
        }
    }

    fn set_instance_state(&mut self, i: usize, state: InstanceState, detail: Option<String>) {
        if self.inst[i].state == state && detail.is_none() {
            return;
        }
        let (id, at) = (self.run_id().to_string(), self.now());
        let name = self.plan.instances[i].name.clone();
        let d = detail.clone();
        if self.record(|s| s.set_instance_state(&id, &name, state, at, d.as_deref())) {
            self.inst[i].state = state;
            self.announce(Event::InstanceState {
                run_id: id,
                instance: name,
                state,
                detail,
                at,
            });
        }
    }

    fn system_log(&mut self, instance: Option<usize>, step: Option<StepKind>, line: String) {
        let at = self.now();
        let line = self.secrets.masker.mask(&line);
        let instance = instance.map(|i| self.plan.instances[i].name.clone());
        self.logs.lines.push(NewLogLine {
            run_id: self.run_id().to_string(),
            instance: instance.clone(),
            step: step.map(store_kind),
            stream: LogStream::System,
            line: line.clone(),
            at,
        });
        self.logs.events.push(Event::Log {
            run_id: self.run_id().to_string(),
            instance,
            step: step.map(|k| k.as_str().to_string()),
            stream: LogStream::System,
            line,
            at,
        });
    }

    fn flush_logs(&mut self) {
        if self.logs.lines.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.logs.lines);
        let events = std::mem::take(&mut self.logs.events);
        if self.record(|s| s.append_logs(&lines)) {
            for e in events {
                self.announce(e);
            }
        }
    }

    fn fail(&mut self, kind: FailureKind, message: String) {
        let message = self.secrets.masker.mask(&message);
        if self.failure.is_none() {
            self.failure = Some(Failure { kind, message });
            self.cancel.steps.cancel();
        }
    }

    async fn go(mut self) -> Outcome {
        if self.l.resume.is_some() {
            self.load_prior().await;
        }
        self.start();
        if self.failure.is_none() {
            self.start_provisioning();
        }
        self.pump().await;

        // After a failure, reporting recipes still run where the deployment ran, so a CI job
        // gets the logs of the test that failed; then every provisioned instance's reports are
        // fetched.
        if matches!(&self.failure, Some(f) if f.kind != FailureKind::Cancelled) {
            self.cancel.steps = self.cancel.user.child_token();
            self.start_failure_reporting();
            self.pump().await;
        }
        for i in 0..self.plan.instances.len() {
            if !self.inst[i].reports_fetched && self.inst[i].provisioned.is_some() {
                self.start_report_fetch(i);
            }
        }
        self.pump().await;
        self.finish().await
    }

    fn start(&mut self) {
        let l = self.l;
        let (pid, start_time) = slipway_store::current_process_identity();
        let at = self.now();
        let instances: Vec<NewInstance> = self
            .plan
            .instances
            .iter()
            .map(|i| NewInstance {
                name: i.name.clone(),
                node: i.node.clone(),
                index: i.index,
                cloud: i.cloud.clone(),
            })
            .collect();
        let steps: Vec<(String, slipway_store::StepKind)> = self
            .plan
            .steps
            .iter()
            .map(|s| {
                (
                    self.plan.instances[s.instance].name.clone(),
                    store_kind(s.kind),
                )
            })
            .collect();
        let default_cloud = l
            .opts
            .default_cloud
            .clone()
            .unwrap_or_else(|| "local".into());
        // `scale` and `resume` resolve inputs as the launch did: the non-secret `--set` values
        // go to the store, the secret ones to the keeper (below), never to the store.
        let launch_sets: Vec<slipway_store::LaunchSet> = l
            .opts
            .sets
            .iter()
            .filter(|s| !is_secret_input(&l.recipe, &s.node, &s.input))
            .map(|s| slipway_store::LaunchSet {
                node: s.node.clone(),
                input: s.input.clone(),
                value: s.value.clone(),
            })
            .collect();
        let resuming = l.resume.is_some();
        let absent = self.absent.clone();
        let ok = self.record(|s| {
            if resuming {
                // The run is recorded already: this process becomes the owner, and records
                // what the owner that died did not get to.
                s.claim_run(&l.run_id, pid, start_time)?;
                let missing: Vec<NewInstance> = instances
                    .iter()
                    .filter(|i| absent.contains(&i.name))
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                s.add_instances(&l.run_id, &missing, at)?;
                let refs: Vec<(&str, slipway_store::StepKind)> = steps
                    .iter()
                    .filter(|(n, _)| absent.contains(n))
                    .map(|(n, k)| (n.as_str(), *k))
                    .collect();
                return s.add_steps(&l.run_id, &refs);
            }
            if l.already_created {
                s.claim_run(&l.run_id, pid, start_time)?;
            } else {
                s.create_run(&NewRun {
                    id: l.run_id.clone(),
                    name: l.recipe.name.clone(),
                    keep_running: l.keep,
                    recipe_text: l.recipe_text.clone(),
                    default_cloud,
                    created_at: at,
                    owner_pid: pid,
                    owner_start_time: start_time,
                })?;
            }
            s.set_launch_sets(&l.run_id, &launch_sets)?;
            s.add_instances(&l.run_id, &instances, at)?;
            let refs: Vec<(&str, slipway_store::StepKind)> =
                steps.iter().map(|(n, k)| (n.as_str(), *k)).collect();
            s.add_steps(&l.run_id, &refs)
        });
        // Committed before announced: a start that failed to be recorded is never announced
        // as started (the run ends with the store's error instead).
        if !ok {
            return;
        }
        self.announce(Event::RunStarted {
            run_id: l.run_id.clone(),
            name: l.recipe.name.clone(),
            instances: self.plan.instances.iter().map(|i| i.name.clone()).collect(),
            at,
        });

        if let Some(kept) = &l.resume {
            self.recall_secrets(kept);
            return;
        }
        // Secrets: `--set` values of secret inputs and generated values are masked from here on.
        for (nname, node) in &l.recipe.deployment.nodes {
            let Some(c) = l.recipe.components.get(&node.component) else {
                continue;
            };
            for (iname, spec) in &c.inputs {
                if let Some(n) = spec.generate {
                    let v = generate_secret(n);
                    if spec.secret {
                        self.secrets.masker.add(&v);
                    }
                    self.secrets
                        .generated
                        .insert((nname.clone(), iname.clone()), v);
                }
                if spec.secret {
                    for s in l
                        .opts
                        .sets
                        .iter()
                        .filter(|s| &s.node == nname && &s.input == iname)
                    {
                        self.secrets.masker.add(&s.value);
                    }
                }
            }
        }
        self.keep_secrets();
        self.set_run_state(RunState::Provisioning);
    }

    /// On resume: the generated values the launch made, from the keeper; the run fails when
    /// the recipe generates values and none were kept (new ones would not match what the
    /// finished steps used).
    fn recall_secrets(&mut self, kept: &KeptSecrets) {
        let l = self.l;
        for (nname, node) in &l.recipe.deployment.nodes {
            let Some(c) = l.recipe.components.get(&node.component) else {
                continue;
            };
            for (iname, spec) in &c.inputs {
                let key = (nname.clone(), iname.clone());
                if spec.generate.is_some() {
                    match kept.generated_map().get(&key) {
                        Some(v) => {
                            if spec.secret {
                                self.secrets.masker.add(v);
                            }
                            self.secrets.generated.insert(key, v.clone());
                        }
                        None => {
                            self.fail(
                                FailureKind::Infrastructure,
                                format!("the generated value of `{nname}.{iname}` was not kept in the OS keychain (the run's log says why when it started); the run cannot be resumed, terminate it"),
                            );
                            return;
                        }
                    }
                }
                if spec.secret {
                    for s in l
                        .opts
                        .sets
                        .iter()
                        .filter(|s| &s.node == nname && &s.input == iname)
                    {
                        self.secrets.masker.add(&s.value);
                    }
                }
            }
        }
        self.secrets.kept = !kept.is_empty();
        let done = self
            .steps
            .iter()
            .filter(|s| s.state == StepState::Succeeded)
            .count();
        let line = format!(
            "resumed by process {}: {done} of {} steps had finished and stay finished; the others run now",
            std::process::id(),
            self.steps.len()
        );
        self.system_log(None, None, line);
        self.flush_logs();
        self.set_run_state(RunState::Provisioning);
    }

    /// On resume, before anything starts: what the store knows of each instance (its machine,
    /// outputs, finished steps), checked against what the clouds still have. A machine that is
    /// gone is provisioned again and all its steps run again.
    async fn load_prior(&mut self) {
        let id = self.run_id().to_string();
        let detail = match self.ctx.with_store(|s| s.run(&id)) {
            Ok(Some(d)) => d,
            Ok(None) => {
                self.fail(
                    FailureKind::Infrastructure,
                    format!("there is no run `{id}`"),
                );
                return;
            }
            Err(e) => {
                self.fail(
                    FailureKind::Infrastructure,
                    format!("the run store failed: {e}"),
                );
                return;
            }
        };
        for (i, planned) in self.plan.instances.iter().enumerate() {
            let Some(row) = detail.instances.iter().find(|r| r.name == planned.name) else {
                self.absent.push(planned.name.clone());
                continue;
            };
            let inst = &mut self.inst[i];
            if let Some(rid) = &row.resource_id {
                inst.provisioned = Some(Provisioned {
                    name: row.name.clone(),
                    resource_id: rid.clone(),
                    hostname: row.hostname.clone().unwrap_or_default(),
                    state: row
                        .driver_state
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_default(),
                });
                inst.values.hostname = row.hostname.clone();
                inst.values.instance_id = Some(rid.clone());
            }
            inst.state = row.state;
            inst.values.outputs = detail
                .params
                .iter()
                .filter(|p| p.instance == row.name && p.kind == ParamKind::Output)
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect();
            for &sid in &planned.steps {
                let kind = store_kind(self.plan.steps[sid].kind);
                let done = detail.steps.iter().any(|s| {
                    s.instance == row.name && s.kind == kind && s.state == StepState::Succeeded
                });
                if done {
                    self.steps[sid].state = StepState::Succeeded;
                }
            }
        }
        // Which machines are still there, per cloud.
        let mut clouds: Vec<String> = self
            .plan
            .instances
            .iter()
            .map(|i| i.cloud.clone())
            .collect();
        clouds.sort();
        clouds.dedup();
        for cloud in clouds {
            let Some(driver) = self.driver_for(&cloud) else {
                self.fail(
                    FailureKind::Infrastructure,
                    format!("cloud `{cloud}` is not configured on this machine"),
                );
                return;
            };
            let live = match driver.list_tagged(&id, &self.l.run_dir).await {
                Ok(l) => l,
                Err(e) => {
                    self.fail(
                        FailureKind::Infrastructure,
                        format!(
                            "cannot check the instances on cloud `{cloud}`: {}",
                            e.message
                        ),
                    );
                    return;
                }
            };
            for i in 0..self.plan.instances.len() {
                let gone = self.plan.instances[i].cloud == cloud
                    && self.inst[i]
                        .provisioned
                        .as_ref()
                        .is_some_and(|p| !live.contains(&p.resource_id));
                if gone {
                    let name = self.plan.instances[i].name.clone();
                    self.system_log(
                        Some(i),
                        Some(StepKind::Provision),
                        format!("{name} is gone from cloud `{cloud}`: provisioning it again, and running all its steps"),
                    );
                    self.inst[i].provisioned = None;
                    self.inst[i].values.outputs.clear();
                    for &sid in &self.plan.instances[i].steps {
                        self.steps[sid].state = StepState::Pending;
                    }
                }
            }
        }
        // A step waits only for what has not finished.
        for sid in 0..self.plan.steps.len() {
            self.steps[sid].waiting_on = self.plan.steps[sid]
                .after
                .iter()
                .filter(|&&a| self.steps[a].state != StepState::Succeeded)
                .count();
        }
        self.progress.non_reporting_left = self
            .plan
            .steps
            .iter()
            .zip(&self.steps)
            .filter(|(p, s)| p.kind != StepKind::Reporting && s.state != StepState::Succeeded)
            .count();
    }

    /// Hands the run's secret values to the keeper, so `scale` and `resume` can resolve inputs
    /// again; without a keeper the run goes on, and its log says what that costs.
    fn keep_secrets(&mut self) {
        let kept =
            KeptSecrets::of_launch(&self.l.recipe, &self.l.opts.sets, &self.secrets.generated);
        if kept.is_empty() {
            return;
        }
        let json = serde_json::to_string(&kept).expect("plain strings serialise");
        let result = match &self.ctx.keeper {
            Some(k) => k.keep(self.run_id(), &json),
            None => Err("no keychain is configured".into()),
        };
        match result {
            Ok(()) => self.secrets.kept = true,
            Err(e) => {
                let line = format!(
                    "warning: the secret values of this run cannot be kept in the OS keychain ({e}); `slipway scale` and `slipway resume` will refuse this run, since they could not resolve its secret inputs again"
                );
                self.system_log(None, None, line);
                self.flush_logs();
            }
        }
    }

    fn driver_for(&self, cloud: &str) -> Option<Arc<dyn Driver>> {
        self.ctx.drivers.get(cloud).cloned()
    }

    fn start_provisioning(&mut self) {
        // Group instances by cloud; each cloud gets up to `concurrency()` batches at once.
        let mut by_cloud: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..self.plan.instances.len() {
            if self.inst[i].provisioned.is_some() {
                // Resumed and still there: checked with the driver before its steps go on.
                self.start_boot(i);
                continue;
            }
            let cloud = self.plan.instances[i].cloud.clone();
            by_cloud.entry(cloud).or_default().push(i);
        }
        for (cloud, ids) in by_cloud {
            let Some(driver) = self.driver_for(&cloud) else {
                self.fail(
                    FailureKind::Infrastructure,
                    format!("cloud `{cloud}` is not configured on this machine"),
                );
                return;
            };
            self.mark_provisioning(&ids);
            // `concurrency()` calls at once, each creating up to `max_batch()` instances.
            let permits = Arc::new(tokio::sync::Semaphore::new(driver.concurrency().max(1)));
            for chunk in ids.chunks(driver.max_batch().max(1)) {
                let specs: Vec<(usize, InstanceSpec)> = chunk
                    .iter()
                    .map(|&i| (i, self.instance_spec(i, &cloud, &*driver)))
                    .collect();
                let req_base = (self.run_id().to_string(), self.l.run_dir.clone());
                let tx = self.tx.clone();
                let driver = driver.clone();
                let cancel = self.cancel.steps.clone();
                let permits = permits.clone();
                let progress = {
                    let (tx, names) = (
                        self.tx.clone(),
                        specs
                            .iter()
                            .map(|(i, s)| (s.name.clone(), *i))
                            .collect::<Vec<_>>(),
                    );
                    ProvisionProgress::new(move |name, line| {
                        if let Some((_, i)) = names.iter().find(|(n, _)| n == name) {
                            let _ = tx.send(Msg::ProvisionProgress {
                                instance: *i,
                                line: line.to_string(),
                            });
                        }
                    })
                };
                self.progress.in_flight += 1;
                tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let results =
                        provision_with_retries(&*driver, req_base, specs, progress, cancel).await;
                    let _ = tx.send(Msg::Provisioned(results));
                });
            }
        }
    }

    /// Every instance of a cloud enters `provisioning`, in one transaction.
    fn mark_provisioning(&mut self, ids: &[usize]) {
        let (id, at) = (self.run_id().to_string(), self.now());
        let names: Vec<String> = ids
            .iter()
            .map(|&i| self.plan.instances[i].name.clone())
            .collect();
        let ok = self.record(|s| {
            let states: Vec<(&str, InstanceState)> = names
                .iter()
                .map(|n| (n.as_str(), InstanceState::Provisioning))
                .collect();
            let steps: Vec<(&str, slipway_store::StepKind, StepState)> = names
                .iter()
                .map(|n| {
                    (
                        n.as_str(),
                        slipway_store::StepKind::Provision,
                        StepState::Running,
                    )
                })
                .collect();
            s.set_instance_states(&id, &states, at)?;
            s.set_step_states(&id, &steps, at)
        });
        if !ok {
            return;
        }
        for (&i, name) in ids.iter().zip(names) {
            let sid = self.plan.instances[i].steps[0];
            self.inst[i].state = InstanceState::Provisioning;
            self.steps[sid].state = StepState::Running;
            self.steps[sid].started_at = at;
            self.announce(Event::InstanceState {
                run_id: id.clone(),
                instance: name.clone(),
                state: InstanceState::Provisioning,
                detail: None,
                at,
            });
            self.announce(Event::StepStarted {
                run_id: id.clone(),
                instance: name,
                step: StepKind::Provision.as_str().to_string(),
                at,
            });
        }
    }

    fn instance_spec(&self, i: usize, cloud: &str, driver: &dyn Driver) -> InstanceSpec {
        let inst = &self.plan.instances[i];
        instance_spec(
            &self.l.recipe,
            &inst.node,
            &inst.name,
            inst.index,
            cloud,
            driver,
        )
    }

    fn mark_step_running(&mut self, sid: StepId) {
        let at = self.now();
        let (id, name, kind) = self.step_names(sid);
        if self.record(|s| {
            s.set_step_state(&id, &name, store_kind(kind), StepState::Running, at, None)
        }) {
            self.steps[sid].state = StepState::Running;
            self.steps[sid].started_at = at;
            self.announce(Event::StepStarted {
                run_id: id,
                instance: name,
                step: kind.as_str().to_string(),
                at,
            });
        }
    }

    fn step_names(&self, sid: StepId) -> (String, String, StepKind) {
        let s = &self.plan.steps[sid];
        (
            self.run_id().to_string(),
            self.plan.instances[s.instance].name.clone(),
            s.kind,
        )
    }

    fn finish_step(&mut self, sid: StepId, state: StepState, exit_code: Option<i32>) {
        let at = self.now();
        let (id, name, kind) = self.step_names(sid);
        if self.record(|s| s.set_step_state(&id, &name, store_kind(kind), state, at, exit_code)) {
            self.steps[sid].state = state;
            self.announce(Event::StepFinished {
                run_id: id,
                instance: name,
                step: kind.as_str().to_string(),
                state,
                exit_code,
                duration_ms: at - self.steps[sid].started_at,
                at,
            });
        }
    }

    /// Processes messages until no task is in flight.
    async fn pump(&mut self) {
        while self.progress.in_flight > 0 {
            let msg = tokio::select! {
                m = self.rx.recv() => m,
                _ = self.cancel.user.cancelled(), if self.failure.is_none() => {
                    self.system_log(None, None, "cancelled: stopping every step".into());
                    self.fail(FailureKind::Cancelled, "the run was cancelled".into());
                    continue;
                }
            };
            let Some(msg) = msg else { break };
            self.handle(msg);
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            self.flush_logs();
        }
        self.flush_logs();
        if self.cancel.user.is_cancelled() && self.failure.is_none() {
            self.fail(FailureKind::Cancelled, "the run was cancelled".into());
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Log {
                step,
                stream,
                line,
                at,
            } => {
                let s = &self.plan.steps[step];
                let instance = self.plan.instances[s.instance].name.clone();
                self.logs.lines.push(NewLogLine {
                    run_id: self.run_id().to_string(),
                    instance: Some(instance.clone()),
                    step: Some(store_kind(s.kind)),
                    stream,
                    line: line.clone(),
                    at,
                });
                self.logs.events.push(Event::Log {
                    run_id: self.run_id().to_string(),
                    instance: Some(instance),
                    step: Some(s.kind.as_str().to_string()),
                    stream,
                    line,
                    at,
                });
            }
            Msg::Provisioned(results) => {
                self.flush_logs();
                self.progress.in_flight -= 1;
                for (i, result) in results {
                    self.on_provisioned(i, result);
                }
            }
            Msg::StepDone { step, result } => {
                self.flush_logs();
                self.progress.in_flight -= 1;
                self.on_step_done(step, result);
            }
            Msg::Booted { instance, result } => {
                self.flush_logs();
                self.progress.in_flight -= 1;
                self.on_booted(instance, result);
            }
            Msg::Reports { instance, result } => {
                self.flush_logs();
                self.progress.in_flight -= 1;
                self.on_reports(instance, result);
            }
            Msg::ProvisionProgress { instance, line } => {
                self.system_log(Some(instance), Some(StepKind::Provision), line);
            }
        }
    }

    fn on_provisioned(&mut self, i: usize, result: Result<Provisioned, DriverError>) {
        match result {
            Ok(p) => {
                let (id, at) = (self.run_id().to_string(), self.now());
                let name = self.plan.instances[i].name.clone();
                let (rid, host) = (p.resource_id.clone(), p.hostname.clone());
                // The resource is recorded first, so a crash from here on cannot forget it.
                let state = (!p.state.is_null()).then(|| p.state.to_string());
                self.record(|s| {
                    s.set_instance_resource(&id, &name, &rid, Some(&host), state.as_deref(), at)
                });
                self.inst[i].values.hostname = Some(p.hostname.clone());
                self.inst[i].values.instance_id = Some(p.resource_id.clone());
                self.inst[i].provisioned = Some(p);
                let v = &self.inst[i].values;
                let params: Vec<NewParam> = ["hostname", "instance_id", "index", "node", "cloud"]
                    .iter()
                    .map(|n| NewParam {
                        instance: name.clone(),
                        name: n.to_string(),
                        kind: ParamKind::Builtin,
                        value: v.param(n).unwrap_or_default(),
                        secret: false,
                    })
                    .collect();
                self.record(|s| s.set_params(&id, &params, at));
                self.system_log(
                    Some(i),
                    Some(StepKind::Provision),
                    format!("provisioned: hostname {host}, id {rid}"),
                );
                self.flush_logs();
                self.set_instance_state(i, InstanceState::Booting, None);
                self.start_boot(i);
            }
            Err(e) => self.provision_failed(i, "provisioning", e),
        }
    }

    /// Waits, off the coordinator, for a provisioned instance to accept steps.
    fn start_boot(&mut self, i: usize) {
        let (Some(p), Some(driver)) = (
            self.inst[i].provisioned.clone(),
            self.driver_for(&self.plan.instances[i].cloud),
        ) else {
            return;
        };
        let (run_id, tx, cancel) = (
            self.run_id().to_string(),
            self.tx.clone(),
            self.cancel.steps.clone(),
        );
        self.progress.in_flight += 1;
        tokio::spawn(async move {
            let limit = driver.boot_timeout();
            let result =
                match tokio::time::timeout(limit, driver.wait_ready(&run_id, &p, cancel)).await {
                    Ok(r) => r,
                    Err(_) => Err(DriverError::other(format!(
                        "{} did not become ready within {} (the cloud's boot timeout)",
                        p.name,
                        human_duration(limit)
                    ))),
                };
            let _ = tx.send(Msg::Booted {
                instance: i,
                result,
            });
        });
    }

    fn on_booted(&mut self, i: usize, result: Result<(), DriverError>) {
        match result {
            Ok(()) => {
                self.inst[i].usable = true;
                let sid = self.plan.instances[i].steps[0];
                if self.steps[sid].state == StepState::Succeeded {
                    // A resumed instance: its steps that can run now start.
                    let ready: Vec<StepId> = self.plan.instances[i]
                        .steps
                        .iter()
                        .copied()
                        .filter(|&s| {
                            self.steps[s].state == StepState::Pending
                                && self.steps[s].waiting_on == 0
                        })
                        .collect();
                    if self.failure.is_none() {
                        for s in ready {
                            self.start_step(s);
                        }
                    }
                    let all_done = self.plan.instances[i]
                        .steps
                        .iter()
                        .all(|&s| self.steps[s].state == StepState::Succeeded);
                    if all_done {
                        self.set_instance_state(i, InstanceState::Ready, None);
                    }
                } else {
                    self.finish_step(sid, StepState::Succeeded, None);
                    self.step_succeeded(sid);
                }
                self.provision_finished();
            }
            Err(e) => self.provision_failed(i, "booting", e),
        }
    }

    /// Provisioning or booting an instance failed (or was cancelled).
    fn provision_failed(&mut self, i: usize, what: &str, e: DriverError) {
        let sid = self.plan.instances[i].steps[0];
        if e.kind == ErrorKind::Cancelled {
            self.fail(FailureKind::Cancelled, "the run was cancelled".into());
        }
        let kind = if e.kind == ErrorKind::Cancelled {
            StepState::Cancelled
        } else {
            StepState::Failed
        };
        self.finish_step(sid, kind, None);
        if kind == StepState::Failed {
            let reason = self.secrets.masker.mask(&format!(
                "{what} failed ({}): {}",
                e.kind.as_str(),
                e.message
            ));
            self.fail_instance(i, StepKind::Provision, &reason);
            self.fail(
                FailureKind::Infrastructure,
                format!("{}: {reason}", self.plan.instances[i].name),
            );
        }
        self.provision_finished();
    }

    fn provision_finished(&mut self) {
        self.progress.provisions_left -= 1;
        if self.run_state == RunState::Provisioning
            && self.failure.is_none()
            && self.progress.provisions_left == 0
        {
            self.set_run_state(RunState::Executing);
        }
    }

    fn fail_instance(&mut self, i: usize, step: StepKind, reason: &str) {
        let (id, at) = (self.run_id().to_string(), self.now());
        let name = self.plan.instances[i].name.clone();
        let reason = self.secrets.masker.mask(reason);
        if self.record(|s| s.fail_instance(&id, &name, Some(store_kind(step)), &reason, at)) {
            self.inst[i].state = InstanceState::Failed;
            self.announce(Event::InstanceState {
                run_id: id,
                instance: name,
                state: InstanceState::Failed,
                detail: Some(format!("{}: {reason}", step.as_str())),
                at,
            });
        }
        self.system_log(Some(i), Some(step), format!("failed: {reason}"));
    }

    /// Counts down the dependents of a finished step and starts those that became ready.
    fn step_succeeded(&mut self, sid: StepId) {
        let inst = self.plan.steps[sid].instance;
        if self.plan.steps[sid].kind != StepKind::Reporting {
            self.progress.non_reporting_left -= 1;
        }
        if self.plan.instances[inst].steps.last() == Some(&sid) {
            self.set_instance_state(inst, InstanceState::Ready, None);
            self.start_report_fetch(inst);
        }
        let deps = std::mem::take(&mut self.steps[sid].dependents);
        for &d in &deps {
            self.steps[d].waiting_on = self.steps[d].waiting_on.saturating_sub(1);
            let startable = self.steps[d].state == StepState::Pending
                && self.inst[self.plan.steps[d].instance].usable;
            if self.steps[d].waiting_on == 0 && self.failure.is_none() && startable {
                self.start_step(d);
            }
        }
        self.steps[sid].dependents = deps;
        self.update_phase();
    }

    fn update_phase(&mut self) {
        if self.failure.is_some() || self.run_state != RunState::Executing {
            return;
        }
        if self.progress.non_reporting_left == 0 && self.progress.any_reporting {
            self.set_run_state(RunState::Reporting);
        }
    }

    fn start_step(&mut self, sid: StepId) {
        let step = &self.plan.steps[sid];
        let (i, kind) = (step.instance, step.kind);
        let recipe = &self.l.recipe;
        let inst = &self.plan.instances[i];
        let (script, packages) = step_script(recipe, &inst.node, kind);

        // Inputs are resolved now, just before the step starts.
        let by_node = &self.plan.by_node;
        let inst_runs = &self.inst;
        let inputs = resolve_inputs(
            recipe,
            &inst.node,
            &self.l.opts.sets,
            &self.secrets.generated,
            kind.reads_wires(),
            |n: &str| {
                by_node
                    .get(n)
                    .map(|ids| ids.iter().map(|&id| &inst_runs[id].values).collect())
                    .unwrap_or_default()
            },
        );
        let inputs = match inputs {
            Ok(v) => v,
            Err(msg) => {
                self.mark_step_running(sid);
                self.finish_step(sid, StepState::Failed, None);
                self.fail_instance(i, kind, &msg);
                self.fail(
                    FailureKind::Recipe,
                    format!("{}: {msg}", self.plan.instances[i].name),
                );
                return;
            }
        };
        for input in inputs.iter().filter(|x| x.secret) {
            self.secrets.masker.add(&input.value);
        }
        if kind.reads_wires() && !self.inst[i].inputs_recorded {
            self.inst[i].inputs_recorded = true;
            let (id, at) = (self.run_id().to_string(), self.now());
            let name = inst.name.clone();
            let params: Vec<NewParam> = inputs
                .iter()
                .map(|x| NewParam {
                    instance: name.clone(),
                    name: x.name.clone(),
                    kind: ParamKind::Input,
                    value: if x.secret {
                        crate::mask::MASK.to_string()
                    } else {
                        self.secrets.masker.mask(&x.value)
                    },
                    secret: x.secret,
                })
                .collect();
            self.record(|s| s.set_params(&id, &params, at));
        }
        let mut env = builtin_env(self.run_id(), &self.inst[i].values);
        env.extend(inputs.into_iter().map(|x| (x.name, x.value)));

        let Some(provisioned) = self.inst[i].provisioned.clone() else {
            return;
        };
        let Some(driver) = self.driver_for(&self.plan.instances[i].cloud) else {
            return;
        };
        let state = match kind {
            StepKind::PreInstall | StepKind::Packages | StepKind::PostInstall => {
                InstanceState::Installing
            }
            StepKind::Deployment => InstanceState::Deploying,
            _ => InstanceState::Reporting,
        };
        self.set_instance_state(i, state, None);
        self.mark_step_running(sid);
        let req = StepRequest {
            run_id: self.run_id().to_string(),
            run_dir: self.l.run_dir.clone(),
            instance: provisioned,
            step: kind.as_str().to_string(),
            script,
            env,
            packages,
        };
        let tx = self.tx.clone();
        let masker = self.secrets.masker.clone();
        let clock = self.ctx.clock.clone();
        let cancel = self.cancel.steps.child_token();
        let slots = self.step_slots(&self.plan.instances[i].cloud.clone(), &*driver);
        self.progress.in_flight += 1;
        tokio::spawn(async move {
            // The cloud's limit on steps at once: a step queued here has not started yet.
            let _slot = tokio::select! {
                permit = slots.acquire_owned() => permit.ok(),
                _ = cancel.cancelled() => {
                    let result = Err(DriverError::cancelled("cancelled before the step started"));
                    let _ = tx.send(Msg::StepDone { step: sid, result });
                    return;
                }
            };
            let mut attempt = 1;
            let result = loop {
                let (ltx, mut lrx) = mpsc::channel::<OutputLine>(1024);
                let forward = async {
                    while let Some(line) = lrx.recv().await {
                        let stream = match line.stream {
                            Stream::Stdout => LogStream::Stdout,
                            Stream::Stderr => LogStream::Stderr,
                        };
                        let _ = tx.send(Msg::Log {
                            step: sid,
                            stream,
                            line: masker.mask(&line.text),
                            at: clock.now_ms(),
                        });
                    }
                };
                let (result, ()) =
                    tokio::join!(driver.run_step(req.clone(), ltx, cancel.clone()), forward);
                // A transient error promises the script never started: run it again.
                match result {
                    Err(e) if e.is_retryable() && attempt < STEP_ATTEMPTS => {
                        let _ = tx.send(Msg::Log {
                            step: sid,
                            stream: LogStream::System,
                            line: masker.mask(&format!(
                                "the {} recipe did not start ({}); trying again (attempt {} of {STEP_ATTEMPTS})",
                                req.step,
                                e.message,
                                attempt + 1
                            )),
                            at: clock.now_ms(),
                        });
                        let pause = std::time::Duration::from_millis(500 * u64::from(attempt));
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = cancel.cancelled() => break Err(DriverError::cancelled("cancelled")),
                        }
                        attempt += 1;
                    }
                    other => break other,
                }
            };
            let _ = tx.send(Msg::StepDone { step: sid, result });
        });
    }

    /// The semaphore that bounds the steps running at once on `cloud`.
    fn step_slots(&mut self, cloud: &str, driver: &dyn Driver) -> Arc<Semaphore> {
        self.step_slots
            .entry(cloud.to_string())
            .or_insert_with(|| {
                let n = driver.max_parallel_steps().clamp(1, Semaphore::MAX_PERMITS);
                Arc::new(Semaphore::new(n))
            })
            .clone()
    }

    fn on_step_done(&mut self, sid: StepId, result: Result<StepResult, DriverError>) {
        let (i, kind) = (self.plan.steps[sid].instance, self.plan.steps[sid].kind);
        match result {
            Ok(r) if r.exit_code == 0 => {
                self.warn_undeclared_outputs(i, kind, &r.outputs);
                if !r.outputs.is_empty() {
                    let (id, at) = (self.run_id().to_string(), self.now());
                    let name = self.plan.instances[i].name.clone();
                    let params: Vec<NewParam> = r
                        .outputs
                        .iter()
                        .map(|(k, v)| NewParam {
                            instance: name.clone(),
                            name: k.clone(),
                            kind: ParamKind::Output,
                            value: self.secrets.masker.mask(v),
                            secret: false,
                        })
                        .collect();
                    if self.record(|s| s.set_params(&id, &params, at)) {
                        for p in params {
                            self.announce(Event::Output {
                                run_id: id.clone(),
                                instance: name.clone(),
                                name: p.name,
                                value: p.value,
                            });
                        }
                    }
                    self.inst[i].values.outputs.extend(r.outputs);
                }
                self.finish_step(sid, StepState::Succeeded, Some(0));
                self.step_succeeded(sid);
            }
            Ok(r) => {
                self.finish_step(sid, StepState::Failed, Some(r.exit_code));
                let reason = format!(
                    "the {} recipe exited with status {}",
                    kind.as_str(),
                    r.exit_code
                );
                self.fail_instance(i, kind, &reason);
                self.fail(
                    FailureKind::Recipe,
                    format!("{}: {reason}", self.plan.instances[i].name),
                );
            }
            Err(e) if e.kind == ErrorKind::Cancelled => {
                self.finish_step(sid, StepState::Cancelled, None);
                // Only a stop of the run cancels steps; make sure the run knows, whichever
                // message the coordinator saw first.
                self.fail(FailureKind::Cancelled, "the run was cancelled".into());
            }
            Err(e) => {
                self.finish_step(sid, StepState::Failed, None);
                // The recipe's own fault (a malformed `SLIPWAY_OUTPUT`, missing packages) is a
                // failure of the deployment; anything else is the cloud's.
                let (failure, reason) = if e.kind == ErrorKind::Recipe {
                    (FailureKind::Recipe, e.message.clone())
                } else {
                    (
                        FailureKind::Infrastructure,
                        format!(
                            "{} failed ({}): {}",
                            kind.as_str(),
                            e.kind.as_str(),
                            e.message
                        ),
                    )
                };
                self.fail_instance(i, kind, &reason);
                self.fail(
                    failure,
                    format!("{}: {reason}", self.plan.instances[i].name),
                );
            }
        }
    }

    /// An output the component does not declare is kept, but a typo in `SLIPWAY_OUTPUT` would
    /// otherwise fail silently downstream: the run's log says so, naming what is declared.
    fn warn_undeclared_outputs(
        &mut self,
        i: usize,
        kind: StepKind,
        outputs: &IndexMap<String, String>,
    ) {
        let recipe = &self.l.recipe;
        let component_name = &recipe.deployment.nodes[&self.plan.instances[i].node].component;
        let Some(component) = recipe.components.get(component_name) else {
            return;
        };
        let undeclared: Vec<&str> = outputs
            .keys()
            .filter(|k| !component.outputs.contains_key(k.as_str()))
            .map(String::as_str)
            .collect();
        if undeclared.is_empty() {
            return;
        }
        let declared: Vec<&str> = component.outputs.keys().map(String::as_str).collect();
        let line = format!(
            "warning: the {} recipe set output{} {} that component `{component_name}` does not declare (declared: {}); stored anyway",
            kind.as_str(),
            if undeclared.len() == 1 { "" } else { "s" },
            undeclared.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            if declared.is_empty() { "none".to_string() } else { declared.join(", ") },
        );
        self.system_log(Some(i), Some(kind), line);
    }

    /// After a failure: the reporting recipe of every instance whose deployment ran.
    fn start_failure_reporting(&mut self) {
        for sid in 0..self.plan.steps.len() {
            let s = &self.plan.steps[sid];
            if s.kind != StepKind::Reporting || self.steps[sid].state != StepState::Pending {
                continue;
            }
            let inst = &self.plan.instances[s.instance];
            let deployed = inst.steps.iter().any(|&d| {
                self.plan.steps[d].kind == StepKind::Deployment
                    && matches!(
                        self.steps[d].state,
                        StepState::Succeeded | StepState::Failed
                    )
            });
            if deployed && self.inst[s.instance].provisioned.is_some() {
                self.start_step(sid);
            }
        }
    }

    fn start_report_fetch(&mut self, i: usize) {
        if self.inst[i].reports_fetched {
            return;
        }
        self.inst[i].reports_fetched = true;
        // An instance where no recipe ran has no reports (and its driver is not asked to reach
        // it only for that).
        let ran_nothing = self.plan.instances[i]
            .steps
            .iter()
            .all(|&s| self.plan.steps[s].kind == StepKind::Provision);
        if ran_nothing {
            return;
        }
        let (Some(p), Some(driver)) = (
            self.inst[i].provisioned.clone(),
            self.driver_for(&self.plan.instances[i].cloud),
        ) else {
            return;
        };
        let dest = self
            .l
            .run_dir
            .join("reports")
            .join(&self.plan.instances[i].name);
        let (run_id, run_dir, tx) = (
            self.run_id().to_string(),
            self.l.run_dir.clone(),
            self.tx.clone(),
        );
        self.progress.in_flight += 1;
        tokio::spawn(async move {
            let result = driver.fetch_reports(&run_id, &run_dir, &p, &dest).await;
            let _ = tx.send(Msg::Reports {
                instance: i,
                result,
            });
        });
    }

    fn on_reports(&mut self, i: usize, result: Result<Vec<(String, u64)>, DriverError>) {
        match result {
            Ok(files) => {
                let (id, at) = (self.run_id().to_string(), self.now());
                let name = self.plan.instances[i].name.clone();
                for (path, size) in files {
                    let rel = format!("reports/{name}/{path}");
                    if self.record(|s| s.add_report(&id, &name, &rel, size, at)) {
                        self.announce(Event::Report {
                            run_id: id.clone(),
                            instance: name.clone(),
                            path: rel,
                            size,
                        });
                    }
                }
            }
            Err(e) => self.system_log(
                Some(i),
                None,
                format!("could not fetch reports: {}", e.message),
            ),
        }
    }

    async fn finish(mut self) -> Outcome {
        // Steps that never ran are marked skipped, so the record has no dangling `pending`.
        for sid in 0..self.plan.steps.len() {
            if self.steps[sid].state == StepState::Pending {
                let at = self.now();
                let (id, name, kind) = self.step_names(sid);
                if self.record(|s| {
                    s.set_step_state(&id, &name, store_kind(kind), StepState::Skipped, at, None)
                }) {
                    self.steps[sid].state = StepState::Skipped;
                }
            }
        }
        // A run succeeds only when every step did.
        if self.failure.is_none() && self.steps.iter().any(|s| s.state != StepState::Succeeded) {
            self.fail(FailureKind::Infrastructure, "some steps never ran".into());
        }
        let failure = self.failure.clone();
        let succeeded = failure.is_none();
        let kept = match &failure {
            None => self.l.keep.keeps(true),
            Some(f) if f.kind == FailureKind::Cancelled => self.l.keep == KeepRunning::Always,
            Some(_) => self.l.keep.keeps(false),
        };
        if succeeded {
            self.set_run_state(RunState::Ready);
        }
        let mut teardown_error = None;
        if !kept {
            self.set_run_state(RunState::Finalizing);
            let targets: Vec<TeardownTarget> = self
                .plan
                .instances
                .iter()
                .enumerate()
                .map(|(i, inst)| TeardownTarget {
                    name: inst.name.clone(),
                    cloud: inst.cloud.clone(),
                    provisioned: self.inst[i].provisioned.clone(),
                })
                .collect();
            if let Err(e) = teardown(self.ctx, self.run_id(), &self.l.run_dir, targets).await {
                teardown_error = Some(e);
            }
            if self.secrets.kept {
                if let Some(k) = &self.ctx.keeper {
                    if let Err(e) = k.forget(self.run_id()) {
                        let line = format!("warning: could not delete this run's secret values from the OS keychain: {e}");
                        self.system_log(None, None, line);
                        self.flush_logs();
                    }
                }
            }
        } else {
            let msg = format!(
                "keeping the instances running (keep_running: {}); stop them with `slipway terminate {}`",
                self.l.keep.as_str(),
                self.run_id()
            );
            self.system_log(None, None, msg);
            self.flush_logs();
        }
        let (state, mut exit_code, mut error) = match &failure {
            None => (
                if kept {
                    RunState::Ready
                } else {
                    RunState::Done
                },
                exit::SUCCESS,
                None,
            ),
            Some(f) => match f.kind {
                FailureKind::Recipe => (
                    RunState::Aborted,
                    exit::DEPLOYMENT_FAILED,
                    Some(f.message.clone()),
                ),
                FailureKind::Infrastructure => (
                    RunState::Aborted,
                    exit::INFRASTRUCTURE,
                    Some(f.message.clone()),
                ),
                FailureKind::Cancelled => (
                    RunState::Cancelled,
                    exit::CANCELLED,
                    Some(f.message.clone()),
                ),
            },
        };
        if let Some(e) = teardown_error {
            if exit_code == exit::SUCCESS {
                exit_code = exit::INFRASTRUCTURE;
            }
            let e = self.secrets.masker.mask(&e);
            error = Some(match error {
                Some(prev) => format!("{prev}; teardown: {e}"),
                None => format!("teardown: {e}"),
            });
        }
        if let Some(e) = &self.store_error {
            exit_code = exit::INFRASTRUCTURE;
            error.get_or_insert_with(|| e.clone());
        }
        let final_state = if exit_code == exit::INFRASTRUCTURE && state == RunState::Done {
            RunState::Aborted
        } else {
            state
        };
        self.set_run_state(final_state);
        let (id, at) = (self.run_id().to_string(), self.now());
        let err = error.clone();
        self.record(|s| s.finish_run(&id, exit_code, err.as_deref(), at));
        self.announce(Event::RunFinished {
            run_id: id.clone(),
            state: final_state,
            exit_code,
            error: error.clone(),
            kept,
            at,
        });
        Outcome {
            run_id: id,
            state: final_state,
            exit_code,
            error,
            kept,
        }
    }
}

/// What the driver is asked to create for instance `name` of `node`.
pub(crate) fn instance_spec(
    recipe: &Recipe,
    node: &str,
    name: &str,
    index: u32,
    cloud: &str,
    driver: &dyn Driver,
) -> InstanceSpec {
    let image = recipe
        .components
        .get(&recipe.deployment.nodes[node].component)
        .and_then(|c| recipe.images.get(split_image_ref(&c.image).0));
    InstanceSpec {
        name: name.to_string(),
        node: node.to_string(),
        index,
        image: image.and_then(|img| {
            img.clouds
                .get(cloud)
                .or_else(|| img.clouds.get(driver.kind()))
                .cloned()
        }),
        login_user: image.and_then(|img| img.login_user.clone()),
    }
}

/// The script (and, for `packages`, the package list) of a step of `node`.
pub(crate) fn step_script(recipe: &Recipe, node: &str, kind: StepKind) -> (String, Vec<String>) {
    let component = &recipe.components[&recipe.deployment.nodes[node].component];
    let image = recipe.images.get(split_image_ref(&component.image).0);
    let (script, packages) = match kind {
        StepKind::PreInstall => (image.and_then(|m| m.recipes.pre_install.clone()), vec![]),
        StepKind::Packages => (
            Some(String::new()),
            image
                .map(|m| m.recipes.packages.clone())
                .unwrap_or_default(),
        ),
        StepKind::PostInstall => (image.and_then(|m| m.recipes.post_install.clone()), vec![]),
        StepKind::Deployment => (component.recipes.deployment.clone(), vec![]),
        StepKind::Reporting => (component.recipes.reporting.clone(), vec![]),
        StepKind::Provision => unreachable!("provisioning is started in batches"),
    };
    (script.unwrap_or_default(), packages)
}

/// Provisions a batch, retrying retryable failures twice with a growing pause.
pub(crate) async fn provision_with_retries(
    driver: &dyn Driver,
    (run_id, run_dir): (String, PathBuf),
    specs: Vec<(usize, InstanceSpec)>,
    progress: ProvisionProgress,
    cancel: CancellationToken,
) -> Vec<(usize, Result<Provisioned, DriverError>)> {
    let mut done: Vec<(usize, Result<Provisioned, DriverError>)> = Vec::with_capacity(specs.len());
    let mut todo = specs;
    for attempt in 0..3u32 {
        if todo.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(attempt))) => {}
                _ = cancel.cancelled() => {
                    done.extend(todo.drain(..).map(|(i, _)| (i, Err(DriverError::cancelled("cancelled before provisioning")))));
                    break;
                }
            }
        }
        let req = ProvisionRequest {
            run_id: run_id.clone(),
            run_dir: run_dir.clone(),
            instances: todo.iter().map(|(_, s)| s.clone()).collect(),
            progress: progress.clone(),
        };
        let limit = driver.provision_timeout();
        let count = req.instances.len();
        let results = match tokio::time::timeout(limit, driver.provision(req)).await {
            Ok(results) => results,
            // What the call created is tagged with the run: teardown's sweep finds it.
            Err(_) => (0..count)
                .map(|_| {
                    Err(DriverError::other(format!(
                        "the cloud did not finish creating the instance within {} (its provisioning timeout)",
                        human_duration(limit)
                    )))
                })
                .collect(),
        };
        let mut retry = Vec::new();
        for ((i, spec), result) in todo.into_iter().zip(
            results
                .into_iter()
                .map(Some)
                .chain(std::iter::repeat_with(|| None)),
        ) {
            match result {
                Some(Err(e)) if e.is_retryable() && attempt < 2 => retry.push((i, spec)),
                Some(r) => done.push((i, r)),
                None => done.push((
                    i,
                    Err(DriverError::other(
                        "the driver returned no result for this instance",
                    )),
                )),
            }
        }
        todo = retry;
    }
    done
}

/// `90 s`, `15 min`.
pub(crate) fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else if secs > 0 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}
