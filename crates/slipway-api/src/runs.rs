//! Launching and following runs from the desktop (SPEC §4, §7): the launch dialog's plan, Launch
//! (a background owner started by `slipway_engine::start_detached`, exactly as `slipway run
//! --detach` does), the runs history, one run with its logs, Terminate and Delete, and following
//! a run or the history live.
//!
//! Owns: turning the dialog's choices into validation options and a run. Never: run the engine
//! in this process (a run must outlive the window), keep a secret input (it goes down a pipe to
//! the owner and nowhere else), or follow a run any other way than through the store (the app
//! and the CLI see the same thing).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use slipway_recipe::{
    to_yaml, validate, Code, DiagnosticView, KeepRunning, Recipe, SetValue, Severity, SourceMap,
    ValidateOptions,
};
use slipway_store::{LogLine, RunDetail, RunHistoryEntry, Store};
use ts_rs::TS;

use crate::args::*;
use crate::error::{CommandError, ErrorCode};
use crate::stream_args::*;
use crate::Context;

/// Where the launch dialog puts the deployment.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(optional_fields)]
pub struct Placement {
    /// The cloud of every node without an override (`local` when absent).
    pub cloud: Option<String>,
    /// Per-node overrides: node → cloud.
    pub node_clouds: Vec<(String, String)>,
    /// Input overrides: node, input, value. Secret values are used and forgotten.
    pub inputs: Vec<(String, String, String)>,
}

/// A cloud a node cannot use, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct UnusableCloud {
    pub cloud: String,
    pub reason: String,
}

/// One node as the launch dialog shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct LaunchNode {
    pub node: String,
    pub component: String,
    pub multiplicity: u32,
    /// The cloud it would run on with the chosen placement.
    pub cloud: String,
    /// Known clouds its image has no mapping for.
    pub unusable: Vec<UnusableCloud>,
}

/// An input the user may override at launch (it is not wired).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct LaunchInput {
    pub node: String,
    pub input: String,
    pub secret: bool,
    pub required: bool,
    /// Generated at launch when nothing is given.
    pub generated: bool,
    /// The node's value or the component's default; never a secret's value.
    pub value: Option<String>,
}

/// Instances on one cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct CloudCount {
    pub cloud: String,
    pub instances: u32,
}

/// What the launch dialog shows: the problems with this placement, the clouds, the nodes, the
/// inputs and the plan preview from `slipway-plan`.
#[derive(Clone, Debug, Serialize, TS)]
pub struct LaunchPlan {
    pub problems: Vec<DiagnosticView>,
    /// Every known cloud (built in and configured): name, kind.
    pub clouds: Vec<(String, String)>,
    pub nodes: Vec<LaunchNode>,
    pub inputs: Vec<LaunchInput>,
    pub keep_running: KeepRunning,
    pub per_cloud: Vec<CloudCount>,
    pub steps: u32,
    /// The names (`web.1/deployment`) of the steps on the critical path.
    pub critical_path: Vec<String>,
    /// Its length in steps (each estimated at one unit).
    pub lower_bound: f64,
}

/// One live update of a followed run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunUpdate {
    /// Everything but the logs (without the recipe text and transitions: `Store::run_live`), sent
    /// first and whenever anything recorded changed.
    Detail { detail: Box<RunDetail> },
    /// New log lines, oldest first.
    Logs { lines: Vec<LogLine> },
    /// The run reached a final state and every line has been sent; nothing follows.
    End,
}

fn options(store: &Store, p: &Placement) -> Result<ValidateOptions, CommandError> {
    let clouds = slipway_clouds::known_clouds(store)?;
    Ok(ValidateOptions {
        default_cloud: p.cloud.clone(),
        node_clouds: p.node_clouds.iter().cloned().collect(),
        clouds: Some(clouds.into_iter().collect()),
        sets: p
            .inputs
            .iter()
            .map(|(node, input, value)| SetValue {
                node: node.clone(),
                input: input.clone(),
                value: value.clone(),
            })
            .collect(),
    })
}

/// The launch dialog's content for `recipe` placed as `placement`.
pub fn launch_plan(ctx: &Context, args: LaunchPlanArgs) -> Result<LaunchPlan, CommandError> {
    let (recipe, placement) = (&args.recipe, &args.placement);
    let store = ctx.store();
    let opts = options(&store, placement)?;
    let clouds = slipway_clouds::known_clouds(&store)?;
    drop(store);
    let map = SourceMap::default();
    let problems: Vec<DiagnosticView> = validate(recipe, &map, &opts)
        .iter()
        .map(DiagnosticView::from)
        .collect();
    // A cloud is unusable for a node when placing the whole deployment there makes the node's
    // image miss a mapping.
    let mut unusable: HashMap<String, Vec<UnusableCloud>> = HashMap::new();
    for (cloud, _) in &clouds {
        let on = ValidateOptions {
            default_cloud: Some(cloud.clone()),
            node_clouds: HashMap::new(),
            clouds: opts.clouds.clone(),
            sets: Vec::new(),
        };
        for d in validate(recipe, &map, &on) {
            if d.code != Code::MissingCloudMapping {
                continue;
            }
            if let Some(node) = recipe
                .deployment
                .nodes
                .keys()
                .find(|n| d.message.starts_with(&format!("node `{n}` ")))
            {
                unusable
                    .entry(node.clone())
                    .or_default()
                    .push(UnusableCloud {
                        cloud: cloud.clone(),
                        reason: d.message.clone(),
                    });
            }
        }
    }
    let nodes = recipe
        .deployment
        .nodes
        .iter()
        .map(|(name, node)| LaunchNode {
            node: name.clone(),
            component: node.component.clone(),
            multiplicity: node.multiplicity,
            cloud: opts.cloud_of(name, node).to_string(),
            unusable: unusable.remove(name).unwrap_or_default(),
        })
        .collect();
    let mut inputs = Vec::new();
    for (name, node) in &recipe.deployment.nodes {
        let Some(component) = recipe.components.get(&node.component) else {
            continue;
        };
        for (input, spec) in &component.inputs {
            let given = node.inputs.get(input);
            if matches!(given, Some(slipway_recipe::InputValue::Wire { .. })) {
                continue;
            }
            let value = match given {
                Some(slipway_recipe::InputValue::Value(v)) => Some(v.clone()),
                _ => spec.default.clone(),
            };
            inputs.push(LaunchInput {
                node: name.clone(),
                input: input.clone(),
                secret: spec.secret,
                required: spec.required,
                generated: spec.generate.is_some(),
                value: if spec.secret { None } else { value },
            });
        }
    }
    let mut plan = LaunchPlan {
        problems,
        clouds,
        nodes,
        inputs,
        keep_running: recipe.deployment.keep_running,
        per_cloud: Vec::new(),
        steps: 0,
        critical_path: Vec::new(),
        lower_bound: 0.0,
    };
    if plan.problems.iter().any(|d| d.severity == Severity::Error) {
        return Ok(plan);
    }
    if let Ok(p) = slipway_plan::Plan::build(recipe, &opts) {
        for i in &p.instances {
            match plan.per_cloud.iter_mut().find(|c| c.cloud == i.cloud) {
                Some(c) => c.instances += 1,
                None => plan.per_cloud.push(CloudCount {
                    cloud: i.cloud.clone(),
                    instances: 1,
                }),
            }
        }
        plan.steps = u32::try_from(p.steps.len()).unwrap_or(u32::MAX);
        plan.critical_path = p.critical_path.iter().map(|&s| p.step_name(s)).collect();
        plan.lower_bound = p.lower_bound;
    }
    Ok(plan)
}

/// Launches `recipe` placed as `placement`: saves it as a new library version when it changed,
/// records the module versions, and starts the run's background owner. The run's id.
pub fn run_launch(ctx: &Context, args: RunLaunchArgs) -> Result<String, CommandError> {
    let (recipe, placement, keep) = (&args.recipe, &args.placement, args.keep);
    let mut store = ctx.store();
    let opts = options(&store, placement)?;
    let errors: Vec<_> = validate(recipe, &SourceMap::default(), &opts)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if let Some(first) = errors.first() {
        return Err(CommandError::new(
            ErrorCode::RecipeInvalid,
            format!("the deployment cannot be launched: {}", first.message),
        ));
    }
    let now = ctx.now();
    let saved = store.import_recipe(recipe, Some("launched"), now)?;
    let version = saved
        .iter()
        .find(|m| m.kind == slipway_store::ModuleKind::Deployment)
        .map(|m| m.version);
    let (_, modules) = store.export_recipe_versions(&recipe.name, version)?;
    let text = to_yaml(recipe);
    let nonce = u16::try_from(now.rem_euclid(65_521)).unwrap_or(0) ^ (std::process::id() as u16);
    let run_id = slipway_store::new_run_id(now, nonce);
    let run_dir = ctx.home.join("runs").join(&run_id);
    std::fs::create_dir_all(&run_dir).map_err(|e| {
        CommandError::new(ErrorCode::FileWrite, format!("{}: {e}", run_dir.display()))
    })?;
    let file = run_dir.join("recipe.slipway.yaml");
    std::fs::write(&file, &text)
        .map_err(|e| CommandError::new(ErrorCode::FileWrite, format!("{}: {e}", file.display())))?;
    let node_clouds: Vec<String> = placement
        .node_clouds
        .iter()
        .map(|(n, c)| format!("{n}={c}"))
        .collect();
    let sets: Vec<String> = placement
        .inputs
        .iter()
        .map(|(n, i, v)| format!("{n}.{i}={v}"))
        .collect();
    let exe = ctx.cli.clone();
    let child = slipway_engine::start_detached(
        &mut store,
        &slipway_engine::Detach {
            exe: &exe,
            file: &file,
            run_id: &run_id,
            name: &recipe.name,
            recipe_text: &text,
            keep: keep.unwrap_or(recipe.deployment.keep_running),
            cloud: placement.cloud.as_deref(),
            node_clouds: &node_clouds,
            sets: &sets,
            run_dir: &run_dir,
            modules: &modules,
            now,
        },
    )
    .map_err(|e| CommandError::new(ErrorCode::CloudUnavailable, e))?;
    reap(child);
    drop(store);
    ctx.remember_launch(&run_id);
    Ok(run_id)
}

/// Waits for a background process in a thread of its own, so that it leaves no zombie while the
/// app is open; the process itself is not tied to this one.
fn reap(mut child: std::process::Child) {
    std::thread::spawn(move || {
        let _ = child.wait();
    });
}

pub fn runs_list(ctx: &Context, _args: RunsListArgs) -> Result<Vec<RunHistoryEntry>, CommandError> {
    Ok(ctx.store().run_history()?)
}

pub fn run_get(ctx: &Context, args: RunGetArgs) -> Result<RunDetail, CommandError> {
    ctx.store()
        .run(&args.id)?
        .ok_or_else(|| not_found(&args.id))
}

pub fn run_recipe(ctx: &Context, args: RunRecipeArgs) -> Result<Recipe, CommandError> {
    let detail = ctx
        .store()
        .run(&args.id)?
        .ok_or_else(|| not_found(&args.id))?;
    let checked = slipway_recipe::check(&detail.recipe_text, &ValidateOptions::default());
    match checked.recipe {
        Some(recipe) => Ok(recipe),
        None => Err(CommandError::new(
            ErrorCode::RecipeInvalid,
            format!("the recipe of run `{}` cannot be read back", args.id),
        )),
    }
}

fn not_found(id: &str) -> CommandError {
    CommandError::new(ErrorCode::StoreNotFound, format!("there is no run `{id}`"))
}

pub fn run_logs(ctx: &Context, args: RunLogsArgs) -> Result<Vec<LogLine>, CommandError> {
    let limit = args.limit.map_or(10_000, |l| l as usize);
    Ok(ctx.store().logs(
        &args.id,
        args.instance.as_deref(),
        args.after.unwrap_or(0),
        limit,
    )?)
}

/// Terminates a run the way `slipway terminate RUN` does (it is that command, in the
/// background): the owner is signalled, and an interrupted run is torn down from here. Returns
/// once the terminator has started; the run view shows the rest.
pub fn run_terminate(ctx: &Context, args: RunTerminateArgs) -> Result<(), CommandError> {
    let id = args.id.as_str();
    let run = ctx.store().run(id)?.ok_or_else(|| not_found(id))?;
    in_background(ctx, &run.run.id, "terminate", &["terminate", &run.run.id])
}

/// What a scale of a node of a kept run would do; refused (changing nothing) as the scale
/// would be: the change is malformed, the run is not `ready`, it has no such node, or the node
/// would go below one instance.
pub fn run_scale_plan(
    ctx: &Context,
    args: RunScalePlanArgs,
) -> Result<slipway_engine::ScalePlan, CommandError> {
    let delta = slipway_engine::parse_delta(&args.change)
        .map_err(|m| CommandError::new(ErrorCode::ArgsInvalid, m))?;
    let id = args.id.as_str();
    let run = ctx.store().run(id)?.ok_or_else(|| not_found(id))?;
    slipway_engine::plan_scale(&run, &args.node, delta).map_err(|e| match e {
        slipway_engine::ScaleError::Refused(m)
            if run.run.state != slipway_store::RunState::Ready =>
        {
            CommandError::new(ErrorCode::StoreConflict, m)
        }
        slipway_engine::ScaleError::Refused(m) => CommandError::new(ErrorCode::ArgsInvalid, m),
        slipway_engine::ScaleError::Infrastructure(m) => {
            CommandError::new(ErrorCode::StoreCorrupt, m)
        }
    })
}

/// Adds (`+N`) or removes (`-N`) instances of a node of a kept run: `slipway scale RUN NODE
/// CHANGE` in the background, once the change, the node and the run's state are right. The run
/// view follows the new instances and the hooks.
pub fn run_scale(ctx: &Context, args: RunScaleArgs) -> Result<(), CommandError> {
    let plan = run_scale_plan(
        ctx,
        RunScalePlanArgs {
            id: args.id.clone(),
            node: args.node.clone(),
            change: args.change.clone(),
        },
    )?;
    let run = ctx
        .store()
        .run(&plan.run_id)?
        .ok_or_else(|| not_found(&plan.run_id))?;
    in_background(
        ctx,
        &run.run.id,
        "scale",
        &["scale", &run.run.id, &args.node, &args.change],
    )
}

/// Continues an interrupted run: `slipway resume RUN` in the background, which becomes the
/// run's owner.
pub fn run_resume(ctx: &Context, args: RunResumeArgs) -> Result<(), CommandError> {
    let id = args.id.as_str();
    let run = ctx.store().run(id)?.ok_or_else(|| not_found(id))?;
    if !run.run.interrupted {
        return Err(CommandError::new(
            ErrorCode::StoreConflict,
            format!(
                "run {id} is {}: only a run whose process died before it finished can be resumed",
                run.run.display_state()
            ),
        ));
    }
    in_background(ctx, &run.run.id, "resume", &["resume", &run.run.id])
}

/// Starts `slipway ARGS…` in a process group of its own, its output appended to
/// `runs/RUN/WHAT.log`, and returns once it started.
fn in_background(
    ctx: &Context,
    run_id: &str,
    what: &str,
    args: &[&str],
) -> Result<(), CommandError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(
            ctx.home
                .join("runs")
                .join(run_id)
                .join(format!("{what}.log")),
        )
        .ok();
    let mut cmd = std::process::Command::new(&ctx.cli);
    cmd.args(args).stdin(std::process::Stdio::null());
    match log {
        Some(f) => {
            if let Ok(out) = f.try_clone() {
                cmd.stdout(out);
            }
            cmd.stderr(f);
        }
        None => {
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|e| {
        CommandError::new(
            ErrorCode::CloudUnavailable,
            format!("could not start `{} {what}`: {e}", ctx.cli.display()),
        )
    })?;
    reap(child);
    Ok(())
}

pub fn run_delete(ctx: &Context, args: RunDeleteArgs) -> Result<bool, CommandError> {
    let id = args.id.as_str();
    let deleted = ctx.store().delete_run(id)?;
    if deleted {
        let _ = std::fs::remove_dir_all(ctx.home.join("runs").join(id));
    }
    Ok(deleted)
}

/// Opens a fetched report (or, with `folder`, its folder) with the desktop's default program.
pub fn report_open(ctx: &Context, args: ReportOpenArgs) -> Result<(), CommandError> {
    let bad =
        |what: &str| what.is_empty() || what.split('/').any(|part| part == ".." || part.is_empty());
    if bad(&args.id) || bad(&args.instance) || bad(&args.path) {
        return Err(CommandError::new(
            ErrorCode::ArgsInvalid,
            "not a report of this run",
        ));
    }
    let file: PathBuf = ctx
        .home
        .join("runs")
        .join(&args.id)
        .join("reports")
        .join(&args.instance)
        .join(&args.path);
    let target = if args.folder {
        file.parent().map(PathBuf::from).unwrap_or(file)
    } else {
        file
    };
    if !target.exists() {
        return Err(CommandError::new(
            ErrorCode::FileRead,
            format!("{} does not exist", target.display()),
        ));
    }
    let child = std::process::Command::new("xdg-open")
        .arg(&target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CommandError::new(ErrorCode::FileRead, format!("xdg-open: {e}")))?;
    reap(child);
    Ok(())
}

/// Stops the live updates started with `token` (the page left the run view).
pub fn follow_stop(ctx: &Context, args: FollowStopArgs) -> Result<(), CommandError> {
    ctx.stop_follow(&args.token);
    Ok(())
}

/// How often a follower looks for new log lines: a line reaches the page well inside the 250 ms
/// the UI promises, and a look that finds nothing costs one indexed query.
const LINES_POLL: Duration = Duration::from_millis(20);
/// How often a follower looks whether the run's detail changed.
const DETAIL_POLL: Duration = Duration::from_millis(40);
/// The shortest time between two details sent to the page (a big run's detail is large).
const DETAIL_EVERY: Duration = Duration::from_millis(120);

/// Follows a run through the store (on connections of its own: the app's commands are not held
/// up), sending its detail whenever it changed and its new log lines, until it ends or `send`
/// says nobody listens. Lines after `after_log` only.
///
/// The first detail comes first, then the lines so far. From then on the lines and the details
/// go on two threads: a big run's detail takes a while to read and send, and lines never wait
/// for it. Once the detail says the run is final, its last lines follow, then the end.
pub fn run_follow(
    ctx: &Context,
    args: RunFollowArgs,
    send: &(dyn Fn(RunUpdate) -> bool + Sync),
) -> Result<(), CommandError> {
    let (id, after_log) = (args.id.as_str(), args.after_log.unwrap_or(0));
    let stop = || ctx.follow_stopped(&args.token);
    let store = Store::open(&ctx.home)?;
    let mark = store.run_mark(id)?.ok_or_else(|| not_found(id))?;
    let detail = store.run_live(id)?.ok_or_else(|| not_found(id))?;
    // An interrupted run is followed on too: `slipway terminate` may be tearing it down.
    let finished = detail.run.state.is_final();
    let mut last_log = after_log;
    if !send(RunUpdate::Detail {
        detail: Box::new(detail),
    }) || !send_new_lines(&store, id, &mut last_log, send)?
    {
        return Ok(());
    }
    // Set when either side is done: the run ended, nobody listens, or an error.
    let quit = std::sync::atomic::AtomicBool::new(false);
    let quit_now = || quit.load(std::sync::atomic::Ordering::SeqCst) || stop();
    let ended = finished
        || std::thread::scope(|scope| -> Result<bool, CommandError> {
            let details = scope.spawn(|| {
                let ended = follow_details(ctx, id, mark, &quit_now, send);
                quit.store(true, std::sync::atomic::Ordering::SeqCst);
                ended
            });
            let lines = (|| -> Result<bool, CommandError> {
                while !quit_now() {
                    std::thread::sleep(LINES_POLL);
                    if !send_new_lines(&store, id, &mut last_log, send)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            })();
            quit.store(true, std::sync::atomic::Ordering::SeqCst);
            let ended = details
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            Ok(lines? && ended)
        })?;
    // A final run has nothing more to say once its last lines are out (a kept `ready` run
    // may still be terminated: it is followed on).
    if ended && send_new_lines(&store, id, &mut last_log, send)? {
        let _ = send(RunUpdate::End);
    }
    Ok(())
}

/// The details side of [`run_follow`]: sends the run's detail whenever its mark moves on from
/// `mark` (at most one every DETAIL_EVERY); true once it sent a final one, false when told to quit
/// or nobody listens.
fn follow_details(
    ctx: &Context,
    id: &str,
    mut mark: (i64, i64, i64, i64),
    quit: &dyn Fn() -> bool,
    send: &(dyn Fn(RunUpdate) -> bool + Sync),
) -> Result<bool, CommandError> {
    let store = Store::open(&ctx.home)?;
    let mut last_sent = Instant::now();
    loop {
        std::thread::sleep(DETAIL_POLL.max(DETAIL_EVERY.saturating_sub(last_sent.elapsed())));
        if quit() {
            return Ok(false);
        }
        let now = store.run_mark(id)?.ok_or_else(|| not_found(id))?;
        if now == mark {
            continue;
        }
        let detail = store.run_live(id)?.ok_or_else(|| not_found(id))?;
        let finished = detail.run.state.is_final();
        (mark, last_sent) = (now, Instant::now());
        if !send(RunUpdate::Detail {
            detail: Box::new(detail),
        }) {
            return Ok(false);
        }
        if finished {
            return Ok(true);
        }
    }
}

/// Sends the run's lines after `last_log` (moving it on), in pages; false when nobody listens.
fn send_new_lines(
    store: &Store,
    id: &str,
    last_log: &mut i64,
    send: &(dyn Fn(RunUpdate) -> bool + Sync),
) -> Result<bool, CommandError> {
    const PAGE: usize = 2000;
    loop {
        let lines = store.logs(id, None, *last_log, PAGE)?;
        let Some(last) = lines.last() else {
            return Ok(true);
        };
        *last_log = last.id;
        let full = lines.len() == PAGE;
        if !send(RunUpdate::Logs { lines }) {
            return Ok(false);
        }
        if !full {
            return Ok(true);
        }
    }
}

/// Sends the runs history whenever it changed (a run started by the CLI appears at once), until
/// `stop` or nobody listens.
pub fn runs_follow(
    ctx: &Context,
    args: RunsFollowArgs,
    send: &(dyn Fn(Vec<RunHistoryEntry>) -> bool + Sync),
) -> Result<(), CommandError> {
    let stop = || ctx.follow_stopped(&args.token);
    let store = Store::open(&ctx.home)?;
    let mut last = None;
    loop {
        if stop() {
            return Ok(());
        }
        let history = store.run_history()?;
        if last.as_ref() != Some(&history) {
            if !send(history.clone()) {
                return Ok(());
            }
            last = Some(history);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}
