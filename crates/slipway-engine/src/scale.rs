//! Scaling a kept run (SPEC §4): `+N` adds instances to a node (next indexes, the node's cloud,
//! the same inputs) and then runs `on_node_add` on the existing instances of that node and of
//! every node that reads one of its outputs; `-N` runs `on_node_remove` on that same set first,
//! then terminates the highest indexes. Wired inputs of the hooks are resolved again over the new
//! set of instances.
//!
//! Owns: the order of a scale and its record (every step in the run's steps and log). The run
//! stays `ready` throughout (SPEC §4 lists no other state for it); the scale in progress is the
//! run's lock in the store, which refuses a second one. A failure marks the failed instances and
//! leaves the run `ready`. Never: sweeps the run's cloud (the run's other instances are tagged
//! with the same id and must stay).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use slipway_driver::{
    DriverError, ErrorKind, OutputLine, Provisioned, StepRequest, StepResult, Stream,
};
use slipway_plan::Plan;
use slipway_recipe::{InputValue, Recipe, SetValue, ValidateOptions, WireRef};
use slipway_store::{
    InstanceState, LogStream, NewInstance, NewLogLine, NewParam, ParamKind, RunDetail, RunState,
    StepKind, StepState,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::events::Event;
use crate::exit;
use crate::kept::{is_secret_input, KeptSecrets};
use crate::mask::{Masker, MASK};
use crate::operation::{take_lock, OperationError};
use crate::resolve::{builtin_env, resolve_inputs, InstanceValues};
use crate::run::{human_duration, instance_spec, provision_with_retries, step_script, Context};

/// One `slipway scale RUN NODE +N|-N`.
#[derive(Clone, Debug)]
pub struct Scale {
    pub run_id: String,
    pub node: String,
    /// `+N` adds, `-N` removes; never 0.
    pub delta: i64,
    /// The run's folder (`$SLIPWAY_HOME/runs/ID`).
    pub run_dir: PathBuf,
}

/// How a scale ended.
#[derive(Clone, Debug)]
pub struct ScaleOutcome {
    /// `0`, `1` when a recipe failed, `3` when the cloud failed, `130` when cancelled.
    pub exit_code: i32,
    /// Instances added and ready.
    pub added: Vec<String>,
    /// Instances terminated.
    pub removed: Vec<String>,
    /// Instances marked `failed` by this scale.
    pub failed: Vec<String>,
    pub error: Option<String>,
}

/// A scale refused before anything changed.
pub type ScaleError = OperationError;

/// `+2` / `-3` as a signed count; `0`, a missing sign or anything else is refused.
pub fn parse_delta(text: &str) -> Result<i64, String> {
    let bad =
        || format!("`{text}` is not a change of instances: write +N to add N or -N to remove N");
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(format!(
            "`{text}` changes nothing: give +N or -N with N at least 1"
        ));
    }
    Ok(sign * n)
}

/// What a scale will do, worked out from the store's record before anything changes. The scale
/// itself follows it (`scale_run` plans again under the run's lock); `slipway scale --dry-run`
/// prints it, `slipway scale` prints it first, and the run view shows it before the user confirms.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ScalePlan {
    pub run_id: String,
    pub node: String,
    /// `+N` / `-N`.
    pub delta: i64,
    /// The node's cloud: where its instances are, so where new ones go.
    pub cloud: String,
    /// Instances the node has now (not terminated).
    pub live: u32,
    /// New instances, in index order (indexes are never reused within a run).
    pub add: Vec<String>,
    /// The steps each new instance runs, in order, as a launch runs them.
    pub steps: Vec<StepKind>,
    /// Instances terminated (the highest indexes), after the hook.
    pub remove: Vec<String>,
    /// `on_node_add` for `+N`, `on_node_remove` for `-N`.
    pub hook: StepKind,
    /// The instances that run the hook: the ready instances of the node and of every node that
    /// reads one of its outputs, whose component has that recipe (not the ones removed).
    pub hook_on: Vec<String>,
    /// The nodes the hook concerns (the node and its readers) whose component has no such
    /// recipe: nothing runs there.
    pub hook_missing: Vec<String>,
}

/// Plans `node` of a run by `delta`: refused (nothing changes) when the run is not `ready`, has
/// no such node, or would go below multiplicity 1.
pub fn plan_scale(detail: &RunDetail, node: &str, delta: i64) -> Result<ScalePlan, ScaleError> {
    plan_with_recipe(detail, node, delta).map(|(plan, _)| plan)
}

fn plan_with_recipe(
    detail: &RunDetail,
    node: &str,
    delta: i64,
) -> Result<(ScalePlan, Recipe), ScaleError> {
    let run_id = &detail.run.id;
    if delta == 0 {
        return Err(ScaleError::Refused(
            "a scale of 0 changes nothing: give +N or -N with N at least 1".into(),
        ));
    }
    if detail.run.state != RunState::Ready {
        return Err(ScaleError::Refused(format!(
            "run {run_id} is {}: only a kept run in state `ready` can be scaled",
            detail.run.display_state()
        )));
    }
    let recipe = slipway_recipe::parse(&detail.recipe_text)
        .recipe
        .ok_or_else(|| {
            ScaleError::Infrastructure(format!(
                "the recipe stored with run {run_id} cannot be read"
            ))
        })?;
    if !recipe.deployment.nodes.contains_key(node) {
        let names: Vec<&str> = recipe.deployment.nodes.keys().map(String::as_str).collect();
        return Err(ScaleError::Refused(format!(
            "run {run_id} has no node `{node}` (nodes: {})",
            names.join(", ")
        )));
    }
    let known = known_instances(detail);
    let of_node: Vec<&Known> = known.iter().filter(|k| k.values.node == node).collect();
    let mut live: Vec<&Known> = of_node.iter().copied().filter(|k| !gone(k.state)).collect();
    let count = live.len() as i64;
    if count + delta < 1 {
        return Err(ScaleError::Refused(format!(
            "node `{node}` of run {run_id} has {count} instance{}: removing {} would leave it below multiplicity 1",
            if count == 1 { "" } else { "s" },
            -delta
        )));
    }
    let cloud = live
        .first()
        .or(of_node.first())
        .map(|k| k.values.cloud.clone())
        .unwrap_or_else(|| "local".into());
    let (mut add, mut steps, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    if delta > 0 {
        let next = of_node.iter().map(|k| k.values.index).max().unwrap_or(0) + 1;
        add = (next..next + delta as u32)
            .map(|index| format!("{node}.{index}"))
            .collect();
        let mut opts = ValidateOptions::default();
        opts.node_clouds.insert(node.to_string(), cloud.clone());
        let plan = Plan::build(&recipe, &opts).map_err(|e| ScaleError::Refused(e.to_string()))?;
        steps = plan.instances[plan.by_node[node][0]]
            .steps
            .iter()
            .map(|&sid| crate::run::store_kind(plan.steps[sid].kind))
            .collect();
    } else {
        live.sort_by_key(|k| std::cmp::Reverse(k.values.index));
        remove = live
            .iter()
            .take((-delta) as usize)
            .map(|k| k.values.name())
            .collect();
    }
    let hook = if delta > 0 {
        StepKind::OnNodeAdd
    } else {
        StepKind::OnNodeRemove
    };
    let nodes = hook_nodes(&recipe, node);
    let has_hook = |n: &str| {
        let c = &recipe.components[&recipe.deployment.nodes[n].component];
        match hook {
            StepKind::OnNodeAdd => c.recipes.on_node_add.is_some(),
            _ => c.recipes.on_node_remove.is_some(),
        }
    };
    let hook_on = known
        .iter()
        .filter(|k| {
            nodes.contains(&k.values.node)
                && k.state == InstanceState::Ready
                && k.provisioned.is_some()
                && !remove.contains(&k.values.name())
                && has_hook(&k.values.node)
        })
        .map(|k| k.values.name())
        .collect();
    let hook_missing = nodes.iter().filter(|n| !has_hook(n)).cloned().collect();
    let plan = ScalePlan {
        run_id: run_id.clone(),
        node: node.to_string(),
        delta,
        cloud,
        live: count as u32,
        add,
        steps,
        remove,
        hook,
        hook_on,
        hook_missing,
    };
    Ok((plan, recipe))
}

impl ScalePlan {
    /// The plan as lines a person reads before (or instead of) the scale.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let hook = self.hook.as_str();
        if self.delta > 0 {
            let steps: Vec<&str> = self.steps.iter().map(|k| k.as_str()).collect();
            lines.push(format!(
                "add {} on cloud `{}`: {} ({} → {} instances)",
                self.add.join(", "),
                self.cloud,
                steps.join(" → "),
                self.live,
                self.live + self.add.len() as u32
            ));
        }
        if self.hook_on.is_empty() {
            lines.push(format!(
                "{} {hook} runs nowhere: no component of {} has that recipe",
                if self.delta > 0 { "then" } else { "first," },
                self.hook_missing.join(", ")
            ));
        } else {
            lines.push(format!(
                "{} {hook} on {}",
                if self.delta > 0 { "then" } else { "first," },
                self.hook_on.join(", ")
            ));
        }
        if self.delta < 0 {
            lines.push(format!(
                "then terminate {} ({} → {} instances)",
                self.remove.join(", "),
                self.live,
                self.live - self.remove.len() as u32
            ));
        }
        lines
    }
}

/// Scales `s.node` of a kept run by `s.delta`, holding the run's lock meanwhile.
pub async fn scale_run(
    ctx: &Context,
    s: Scale,
    cancel: CancellationToken,
) -> Result<ScaleOutcome, ScaleError> {
    let owner = slipway_store::current_process_identity();
    let store_err = |e: slipway_store::StoreError| ScaleError::Infrastructure(e.to_string());
    let operation = format!("scale {} {:+}", s.node, s.delta);
    take_lock(ctx, &s.run_id, &operation, owner)?;
    let result = scale_locked(ctx, &s, &operation, cancel).await;
    let unlocked = ctx.with_store(|st| st.unlock_run(&s.run_id, owner));
    match (result, unlocked) {
        (Ok(o), Err(e)) if o.exit_code == exit::SUCCESS => Err(store_err(e)),
        (r, _) => r,
    }
}

/// What every step of one scale shares.
struct Env {
    ctx: Context,
    run_id: String,
    run_dir: PathBuf,
    recipe: Recipe,
    sets: Vec<SetValue>,
    generated: IndexMap<(String, String), String>,
    masker: Masker,
    cancel: CancellationToken,
}

/// One instance of the run as the scale sees it.
#[derive(Clone)]
struct Known {
    values: InstanceValues,
    state: InstanceState,
    provisioned: Option<Provisioned>,
}

async fn scale_locked(
    ctx: &Context,
    s: &Scale,
    operation: &str,
    cancel: CancellationToken,
) -> Result<ScaleOutcome, ScaleError> {
    let infra = |e: slipway_store::StoreError| ScaleError::Infrastructure(e.to_string());
    // Read again under the lock: the state cannot change under a scale now.
    let detail = ctx
        .with_store(|st| st.run(&s.run_id))
        .map_err(infra)?
        .ok_or_else(|| ScaleError::Refused(format!("there is no run `{}`", s.run_id)))?;
    let (plan, recipe) = plan_with_recipe(&detail, &s.node, s.delta)?;
    let known = known_instances(&detail);
    let kept = recall_secrets(ctx, &s.run_id, &recipe)?;
    let mut sets: Vec<SetValue> = ctx
        .with_store(|st| st.launch_sets(&s.run_id))
        .map_err(infra)?
        .into_iter()
        .map(|l| SetValue {
            node: l.node,
            input: l.input,
            value: l.value,
        })
        .collect();
    sets.extend(kept.set_values());
    let masker = Masker::default();
    for v in kept.sets.values() {
        masker.add(v);
    }
    for ((node, input), v) in kept.generated_map() {
        if is_secret_input(&recipe, &node, &input) {
            masker.add(&v);
        }
    }
    let env = Arc::new(Env {
        ctx: ctx.clone(),
        run_id: s.run_id.clone(),
        run_dir: s.run_dir.clone(),
        generated: kept.generated_map(),
        recipe,
        sets,
        masker,
        cancel,
    });
    env.system_log(None, None, format!("{operation}: started"));
    for line in plan.describe() {
        env.system_log(None, None, format!("{operation}: plan: {line}"));
    }
    let outcome = if s.delta > 0 {
        scale_up(&env, s, &known, &plan).await
    } else {
        scale_down(&env, s, &known, &plan).await
    };
    let summary = match &outcome.error {
        None => format!(
            "{operation}: done{}{}",
            list(" (added ", &outcome.added, ")"),
            list(" (removed ", &outcome.removed, ")")
        ),
        Some(e) => format!("{operation}: failed: {e}; the run stays ready"),
    };
    env.system_log(None, None, summary);
    Ok(outcome)
}

fn list(before: &str, names: &[String], after: &str) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("{before}{}{after}", names.join(", "))
    }
}

fn gone(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Terminating | InstanceState::Terminated
    )
}

/// Every instance of the run with its built-in parameters and outputs from the store.
fn known_instances(detail: &RunDetail) -> Vec<Known> {
    detail
        .instances
        .iter()
        .map(|i| {
            let outputs = detail
                .params
                .iter()
                .filter(|p| p.instance == i.name && p.kind == ParamKind::Output)
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect();
            Known {
                values: InstanceValues {
                    node: i.node.clone(),
                    index: i.index,
                    cloud: i.cloud.clone(),
                    hostname: i.hostname.clone(),
                    instance_id: i.resource_id.clone(),
                    outputs,
                },
                state: i.state,
                provisioned: i.resource_id.as_ref().map(|rid| Provisioned {
                    name: i.name.clone(),
                    resource_id: rid.clone(),
                    hostname: i.hostname.clone().unwrap_or_default(),
                    state: i
                        .driver_state
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_default(),
                }),
            }
        })
        .collect()
}

/// The run's kept secret values; refused when the recipe needs some and none can be read.
fn recall_secrets(ctx: &Context, run_id: &str, recipe: &Recipe) -> Result<KeptSecrets, ScaleError> {
    let needs_generated = recipe.deployment.nodes.values().any(|n| {
        recipe
            .components
            .get(&n.component)
            .is_some_and(|c| c.inputs.values().any(|i| i.generate.is_some()))
    });
    let recalled = match &ctx.keeper {
        Some(k) => k.recall(run_id),
        None => Err("no keychain is configured".to_string()),
    };
    match recalled {
        Ok(Some(json)) => serde_json::from_str(&json).map_err(|e| {
            ScaleError::Infrastructure(format!(
                "the secret values of run {run_id} in the OS keychain are unreadable ({e})"
            ))
        }),
        Ok(None) if needs_generated => Err(ScaleError::Infrastructure(format!(
            "the secret values of run {run_id} are not in the OS keychain (its log says why), so its generated inputs cannot be resolved again; terminate it and launch it anew"
        ))),
        Err(e) if needs_generated => Err(ScaleError::Infrastructure(format!(
            "the secret values of run {run_id} cannot be read from the OS keychain: {e}"
        ))),
        _ => Ok(KeptSecrets::default()),
    }
}

/// The nodes whose instances run the hooks: `node` and every node with a wire from it.
fn hook_nodes(recipe: &Recipe, node: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::from([node.to_string()]);
    for (name, n) in &recipe.deployment.nodes {
        let reads = n.inputs.values().any(|v| match v {
            InputValue::Wire { from } => WireRef::parse(from).is_some_and(|w| w.node == node),
            _ => false,
        });
        if reads {
            out.insert(name.clone());
        }
    }
    out
}

async fn scale_up(env: &Arc<Env>, s: &Scale, known: &[Known], plan: &ScalePlan) -> ScaleOutcome {
    let mut outcome = ScaleOutcome {
        exit_code: exit::SUCCESS,
        added: Vec::new(),
        removed: Vec::new(),
        failed: Vec::new(),
        error: None,
    };
    let cloud = plan.cloud.clone();
    let new: Vec<InstanceValues> = plan
        .add
        .iter()
        .filter_map(|name| name.rsplit_once('.'))
        .filter_map(|(_, index)| index.parse().ok())
        .map(|index| InstanceValues {
            node: s.node.clone(),
            index,
            cloud: cloud.clone(),
            ..InstanceValues::default()
        })
        .collect();
    let names: Vec<String> = new.iter().map(InstanceValues::name).collect();
    let kinds: Vec<slipway_plan::StepKind> = plan
        .steps
        .iter()
        .filter_map(|k| {
            slipway_plan::StepKind::ALL
                .into_iter()
                .find(|p| p.as_str() == k.as_str())
        })
        .collect();
    let Some(driver) = env.ctx.drivers.get(&cloud).cloned() else {
        outcome.exit_code = exit::INFRASTRUCTURE;
        outcome.error = Some(format!("cloud `{cloud}` is not configured on this machine"));
        return outcome;
    };
    env.system_log(
        None,
        None,
        format!("adding {} on cloud `{cloud}`", names.join(", ")),
    );
    let at = env.ctx.clock.now_ms();
    let new_rows: Vec<NewInstance> = new
        .iter()
        .map(|v| NewInstance {
            name: v.name(),
            node: v.node.clone(),
            index: v.index,
            cloud: cloud.clone(),
        })
        .collect();
    let steps: Vec<(String, StepKind)> = names
        .iter()
        .flat_map(|name| plan.steps.iter().map(move |k| (name.clone(), *k)))
        .collect();
    let recorded = env.record(|st| {
        st.add_instances(&env.run_id, &new_rows, at)?;
        let refs: Vec<(&str, StepKind)> = steps.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        st.add_steps(&env.run_id, &refs)
    });
    if let Err(e) = recorded {
        outcome.exit_code = exit::INFRASTRUCTURE;
        outcome.error = Some(e);
        return outcome;
    }
    let mut provision_started = at;
    for name in &names {
        env.instance_state(name, InstanceState::Provisioning);
        provision_started = env.step_started(name, StepKind::Provision);
    }
    let specs = new
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                i,
                instance_spec(&env.recipe, &v.node, &v.name(), v.index, &cloud, &*driver),
            )
        })
        .collect();
    let results = provision_with_retries(
        &*driver,
        (env.run_id.clone(), env.run_dir.clone()),
        specs,
        slipway_driver::ProvisionProgress::default(),
        env.cancel.clone(),
    )
    .await;
    // The instances that were ready before: what the new ones' wires read.
    let ready: Vec<InstanceValues> = known
        .iter()
        .filter(|k| k.state == InstanceState::Ready)
        .map(|k| k.values.clone())
        .collect();
    let mut tasks = Vec::new();
    for (i, result) in results {
        let mut values = new[i].clone();
        let name = values.name();
        match result {
            Ok(p) => {
                let at = env.ctx.clock.now_ms();
                let state = (!p.state.is_null()).then(|| p.state.to_string());
                let _ = env.record(|st| {
                    st.set_instance_resource(
                        &env.run_id,
                        &name,
                        &p.resource_id,
                        Some(&p.hostname),
                        state.as_deref(),
                        at,
                    )
                });
                values.hostname = Some(p.hostname.clone());
                values.instance_id = Some(p.resource_id.clone());
                let params: Vec<NewParam> = ["hostname", "instance_id", "index", "node", "cloud"]
                    .iter()
                    .map(|n| NewParam {
                        instance: name.clone(),
                        name: n.to_string(),
                        kind: ParamKind::Builtin,
                        value: values.param(n).unwrap_or_default(),
                        secret: false,
                    })
                    .collect();
                let _ = env.record(|st| st.set_params(&env.run_id, &params, at));
                env.system_log(
                    Some(&name),
                    Some(StepKind::Provision),
                    format!("provisioned: hostname {}, id {}", p.hostname, p.resource_id),
                );
                env.instance_state(&name, InstanceState::Booting);
                let (env2, driver, kinds, ready) =
                    (env.clone(), driver.clone(), kinds.clone(), ready.clone());
                tasks.push(tokio::spawn(async move {
                    deploy_new(
                        &env2,
                        &*driver,
                        (values, p, provision_started),
                        &kinds,
                        &ready,
                    )
                    .await
                }));
            }
            Err(e) => {
                let started = provision_started;
                env.step_finished(&name, StepKind::Provision, StepState::Failed, None, started);
                let reason = format!("provisioning failed ({}): {}", e.kind.as_str(), e.message);
                env.fail_instance(&name, StepKind::Provision, &reason);
                outcome.failed.push(name.clone());
                outcome.exit_code = worst(outcome.exit_code, exit_of(&e));
                outcome.error.get_or_insert(format!("{name}: {reason}"));
            }
        }
    }
    let mut added_values = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(values)) => {
                outcome.added.push(values.name());
                added_values.push(values);
            }
            Ok(Err((name, code, reason))) => {
                outcome.failed.push(name.clone());
                outcome.exit_code = worst(outcome.exit_code, code);
                outcome.error.get_or_insert(format!("{name}: {reason}"));
            }
            Err(panic) => {
                outcome.exit_code = worst(outcome.exit_code, exit::INFRASTRUCTURE);
                outcome
                    .error
                    .get_or_insert(format!("a step task failed: {panic}"));
            }
        }
    }
    if outcome.added.is_empty() {
        return outcome;
    }
    // `on_node_add` on the instances that were there, with the new set wired in.
    let mut after = ready.clone();
    after.extend(added_values);
    let targets = targets_of(known, plan);
    let extra = vec![
        ("SLIPWAY_SCALED_NODE".to_string(), s.node.clone()),
        ("SLIPWAY_ADDED".to_string(), outcome.added.join(",")),
    ];
    run_hooks(
        env,
        StepKind::OnNodeAdd,
        &targets,
        &after,
        &extra,
        &mut outcome,
    )
    .await;
    outcome
}

async fn scale_down(env: &Arc<Env>, s: &Scale, known: &[Known], plan: &ScalePlan) -> ScaleOutcome {
    let mut outcome = ScaleOutcome {
        exit_code: exit::SUCCESS,
        added: Vec::new(),
        removed: Vec::new(),
        failed: Vec::new(),
        error: None,
    };
    let victim_names = plan.remove.clone();
    let victims: Vec<&Known> = victim_names
        .iter()
        .filter_map(|name| known.iter().find(|k| k.values.name() == *name))
        .collect();
    env.system_log(None, None, format!("removing {}", victim_names.join(", ")));
    // The hooks see the set as it will be.
    let after: Vec<InstanceValues> = known
        .iter()
        .filter(|k| k.state == InstanceState::Ready && !victim_names.contains(&k.values.name()))
        .map(|k| k.values.clone())
        .collect();
    let targets = targets_of(known, plan);
    let extra = vec![
        ("SLIPWAY_SCALED_NODE".to_string(), s.node.clone()),
        ("SLIPWAY_REMOVED".to_string(), victim_names.join(",")),
    ];
    run_hooks(
        env,
        StepKind::OnNodeRemove,
        &targets,
        &after,
        &extra,
        &mut outcome,
    )
    .await;
    // Then the instances go, whatever the hooks said: the user asked for fewer machines.
    for name in &victim_names {
        env.instance_state(name, InstanceState::Terminating);
    }
    let mut by_cloud: IndexMap<String, Vec<Provisioned>> = IndexMap::new();
    for k in &victims {
        if let Some(p) = &k.provisioned {
            by_cloud
                .entry(k.values.cloud.clone())
                .or_default()
                .push(p.clone());
        }
    }
    let mut failed_clouds = BTreeSet::new();
    for (cloud, handles) in by_cloud {
        let result = match env.ctx.drivers.get(&cloud) {
            Some(d) => d.terminate(&env.run_id, &env.run_dir, &handles).await,
            None => Err(DriverError::other(format!(
                "cloud `{cloud}` is not configured on this machine"
            ))),
        };
        if let Err(e) = result {
            outcome.exit_code = worst(outcome.exit_code, exit::INFRASTRUCTURE);
            outcome
                .error
                .get_or_insert(format!("terminating on {cloud}: {}", e.message));
            failed_clouds.insert(cloud);
        }
    }
    for k in &victims {
        let name = k.values.name();
        if failed_clouds.contains(&k.values.cloud) {
            env.fail_instance(&name, StepKind::Provision, "terminate failed");
            outcome.failed.push(name);
        } else {
            env.instance_state(&name, InstanceState::Terminated);
            outcome.removed.push(name);
        }
    }
    outcome
}

/// The instances the plan runs its hook on.
fn targets_of<'a>(known: &'a [Known], plan: &ScalePlan) -> Vec<&'a Known> {
    known
        .iter()
        .filter(|k| plan.hook_on.contains(&k.values.name()))
        .collect()
}

/// Runs `kind` (`on_node_add` / `on_node_remove`) on every target whose component has it, all at
/// once, with wired inputs resolved over `after` and `extra` in the environment.
async fn run_hooks(
    env: &Arc<Env>,
    kind: StepKind,
    targets: &[&Known],
    after: &[InstanceValues],
    extra: &[(String, String)],
    outcome: &mut ScaleOutcome,
) {
    let mut tasks = Vec::new();
    for k in targets {
        let component =
            &env.recipe.components[&env.recipe.deployment.nodes[&k.values.node].component];
        let script = match kind {
            StepKind::OnNodeAdd => component.recipes.on_node_add.clone(),
            _ => component.recipes.on_node_remove.clone(),
        };
        let (Some(script), Some(p)) = (script, k.provisioned.clone()) else {
            continue;
        };
        let (env2, values, after, extra) = (
            env.clone(),
            k.values.clone(),
            after.to_vec(),
            extra.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            let name = values.name();
            let inputs = match env2.inputs(&values, &after, true) {
                Ok(i) => i,
                Err(msg) => return Err((name, exit::DEPLOYMENT_FAILED, msg)),
            };
            env2.record_inputs(&name, &values, &after);
            let mut vars = builtin_env(&env2.run_id, &values);
            vars.extend(extra);
            vars.extend(inputs);
            match env2
                .exec_step(&values, &p, kind, script, vars, vec![])
                .await
            {
                Ok(_) => Ok(name),
                Err((code, reason)) => Err((name, code, reason)),
            }
        }));
    }
    for task in tasks {
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err((name, code, reason))) => {
                env.fail_instance(&name, kind, &reason);
                outcome.failed.push(name.clone());
                outcome.exit_code = worst(outcome.exit_code, code);
                outcome.error.get_or_insert(format!("{name}: {reason}"));
            }
            Err(panic) => {
                outcome.exit_code = worst(outcome.exit_code, exit::INFRASTRUCTURE);
                outcome
                    .error
                    .get_or_insert(format!("a hook task failed: {panic}"));
            }
        }
    }
}

/// Boots a new instance and runs its steps in order; its values once `ready`, or who failed,
/// the exit code and why (the instance is marked `failed` here).
async fn deploy_new(
    env: &Env,
    driver: &dyn slipway_driver::Driver,
    (mut values, p, provision_started): (InstanceValues, Provisioned, i64),
    kinds: &[slipway_plan::StepKind],
    ready: &[InstanceValues],
) -> Result<InstanceValues, (String, i32, String)> {
    let name = values.name();
    let limit = driver.boot_timeout();
    let booted = match tokio::time::timeout(
        limit,
        driver.wait_ready(&env.run_id, &p, env.cancel.clone()),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(DriverError::other(format!(
            "{name} did not become ready within {} (the cloud's boot timeout)",
            human_duration(limit)
        ))),
    };
    let at = provision_started;
    if let Err(e) = booted {
        env.step_finished(&name, StepKind::Provision, StepState::Failed, None, at);
        let reason = format!("booting failed ({}): {}", e.kind.as_str(), e.message);
        env.fail_instance(&name, StepKind::Provision, &reason);
        return Err((name, exit_of(&e), reason));
    }
    env.step_finished(&name, StepKind::Provision, StepState::Succeeded, None, at);
    let mut inputs_recorded = false;
    for &kind in kinds
        .iter()
        .filter(|k| **k != slipway_plan::StepKind::Provision)
    {
        let (script, packages) = step_script(&env.recipe, &values.node, kind);
        let inputs = match env.inputs(&values, ready, kind.reads_wires()) {
            Ok(i) => i,
            Err(msg) => {
                env.fail_instance(&name, crate::run::store_kind(kind), &msg);
                return Err((name, exit::DEPLOYMENT_FAILED, msg));
            }
        };
        if kind.reads_wires() && !inputs_recorded {
            inputs_recorded = true;
            env.record_inputs(&name, &values, ready);
        }
        let mut vars = builtin_env(&env.run_id, &values);
        vars.extend(inputs);
        env.instance_state(
            &name,
            match kind {
                slipway_plan::StepKind::Deployment => InstanceState::Deploying,
                slipway_plan::StepKind::Reporting => InstanceState::Reporting,
                _ => InstanceState::Installing,
            },
        );
        let store_kind = crate::run::store_kind(kind);
        match env
            .exec_step(&values, &p, store_kind, script, vars, packages)
            .await
        {
            Ok(outputs) => values.outputs.extend(outputs),
            Err((code, reason)) => {
                env.fail_instance(&name, store_kind, &reason);
                return Err((name, code, reason));
            }
        }
    }
    env.instance_state(&name, InstanceState::Ready);
    let dest = env.run_dir.join("reports").join(&name);
    if let Ok(files) = driver
        .fetch_reports(&env.run_id, &env.run_dir, &p, &dest)
        .await
    {
        let at = env.ctx.clock.now_ms();
        for (path, size) in files {
            let rel = format!("reports/{name}/{path}");
            let _ = env.record(|st| st.add_report(&env.run_id, &name, &rel, size, at));
        }
    }
    Ok(values)
}

fn exit_of(e: &DriverError) -> i32 {
    match e.kind {
        ErrorKind::Cancelled => exit::CANCELLED,
        ErrorKind::Recipe => exit::DEPLOYMENT_FAILED,
        _ => exit::INFRASTRUCTURE,
    }
}

/// The exit code that says most: cancelled over the cloud's failure over a recipe's.
fn worst(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        exit::SUCCESS => 0,
        exit::DEPLOYMENT_FAILED => 1,
        exit::INFRASTRUCTURE => 2,
        _ => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

impl Env {
    fn record(
        &self,
        f: impl FnOnce(&mut slipway_store::Store) -> Result<(), slipway_store::StoreError>,
    ) -> Result<(), String> {
        self.ctx
            .with_store(f)
            .map_err(|e| format!("the run store failed: {e}"))
    }

    fn system_log(&self, instance: Option<&str>, step: Option<StepKind>, line: String) {
        self.log(instance, step, LogStream::System, line);
    }

    fn log(&self, instance: Option<&str>, step: Option<StepKind>, stream: LogStream, line: String) {
        let at = self.ctx.clock.now_ms();
        let line = self.masker.mask(&line);
        let row = NewLogLine {
            run_id: self.run_id.clone(),
            instance: instance.map(str::to_string),
            step,
            stream,
            line: line.clone(),
            at,
        };
        if self.record(|st| st.append_logs(&[row])).is_ok() {
            self.ctx.hooks.on_event(&Event::Log {
                run_id: self.run_id.clone(),
                instance: instance.map(str::to_string),
                step: step.map(|s| s.as_str().to_string()),
                stream,
                line,
                at,
            });
        }
    }

    fn instance_state(&self, name: &str, state: InstanceState) {
        let at = self.ctx.clock.now_ms();
        if self
            .record(|st| st.set_instance_state(&self.run_id, name, state, at, None))
            .is_ok()
        {
            self.ctx.hooks.on_event(&Event::InstanceState {
                run_id: self.run_id.clone(),
                instance: name.to_string(),
                state,
                detail: None,
                at,
            });
        }
    }

    fn fail_instance(&self, name: &str, step: StepKind, reason: &str) {
        let at = self.ctx.clock.now_ms();
        let reason = self.masker.mask(reason);
        if self
            .record(|st| st.fail_instance(&self.run_id, name, Some(step), &reason, at))
            .is_ok()
        {
            self.ctx.hooks.on_event(&Event::InstanceState {
                run_id: self.run_id.clone(),
                instance: name.to_string(),
                state: InstanceState::Failed,
                detail: Some(format!("{}: {reason}", step.as_str())),
                at,
            });
        }
        self.system_log(Some(name), Some(step), format!("failed: {reason}"));
    }

    fn step_started(&self, name: &str, kind: StepKind) -> i64 {
        let at = self.ctx.clock.now_ms();
        if self
            .record(|st| st.set_step_state(&self.run_id, name, kind, StepState::Running, at, None))
            .is_ok()
        {
            self.ctx.hooks.on_event(&Event::StepStarted {
                run_id: self.run_id.clone(),
                instance: name.to_string(),
                step: kind.as_str().to_string(),
                at,
            });
        }
        at
    }

    fn step_finished(
        &self,
        name: &str,
        kind: StepKind,
        state: StepState,
        exit_code: Option<i32>,
        started: i64,
    ) {
        let at = self.ctx.clock.now_ms();
        if self
            .record(|st| st.set_step_state(&self.run_id, name, kind, state, at, exit_code))
            .is_ok()
        {
            self.ctx.hooks.on_event(&Event::StepFinished {
                run_id: self.run_id.clone(),
                instance: name.to_string(),
                step: kind.as_str().to_string(),
                state,
                exit_code,
                duration_ms: at - started,
                at,
            });
        }
    }

    /// The environment entries of the inputs of `values`' node, wires resolved over `over`.
    fn inputs(
        &self,
        values: &InstanceValues,
        over: &[InstanceValues],
        with_wires: bool,
    ) -> Result<Vec<(String, String)>, String> {
        let resolved = resolve_inputs(
            &self.recipe,
            &values.node,
            &self.sets,
            &self.generated,
            with_wires,
            |n: &str| {
                let mut of: Vec<&InstanceValues> = over.iter().filter(|v| v.node == n).collect();
                of.sort_by_key(|v| v.index);
                of
            },
        )?;
        for r in resolved.iter().filter(|r| r.secret) {
            self.masker.add(&r.value);
        }
        Ok(resolved.into_iter().map(|r| (r.name, r.value)).collect())
    }

    /// Records the resolved inputs of an instance (secret ones as `***`), as `status` shows them.
    fn record_inputs(&self, name: &str, values: &InstanceValues, over: &[InstanceValues]) {
        let Ok(resolved) = resolve_inputs(
            &self.recipe,
            &values.node,
            &self.sets,
            &self.generated,
            true,
            |n: &str| {
                let mut of: Vec<&InstanceValues> = over.iter().filter(|v| v.node == n).collect();
                of.sort_by_key(|v| v.index);
                of
            },
        ) else {
            return;
        };
        let at = self.ctx.clock.now_ms();
        let params: Vec<NewParam> = resolved
            .iter()
            .map(|x| NewParam {
                instance: name.to_string(),
                name: x.name.clone(),
                kind: ParamKind::Input,
                value: if x.secret {
                    MASK.to_string()
                } else {
                    self.masker.mask(&x.value)
                },
                secret: x.secret,
            })
            .collect();
        let _ = self.record(|st| st.set_params(&self.run_id, &params, at));
    }

    /// Runs one step on an instance: recorded `running`, every line logged (masked), then its
    /// final state; the outputs it set, or the exit code and reason of its failure.
    async fn exec_step(
        &self,
        values: &InstanceValues,
        p: &Provisioned,
        kind: StepKind,
        script: String,
        vars: Vec<(String, String)>,
        packages: Vec<String>,
    ) -> Result<IndexMap<String, String>, (i32, String)> {
        let name = values.name();
        let Some(driver) = self.ctx.drivers.get(&values.cloud).cloned() else {
            return Err((
                exit::INFRASTRUCTURE,
                format!("cloud `{}` is not configured on this machine", values.cloud),
            ));
        };
        let started = self.step_started(&name, kind);
        let req = StepRequest {
            run_id: self.run_id.clone(),
            run_dir: self.run_dir.clone(),
            instance: p.clone(),
            step: kind.as_str().to_string(),
            script,
            env: vars,
            packages,
        };
        let (ltx, mut lrx) = mpsc::channel::<OutputLine>(1024);
        let forward = async {
            while let Some(line) = lrx.recv().await {
                let stream = match line.stream {
                    Stream::Stdout => LogStream::Stdout,
                    Stream::Stderr => LogStream::Stderr,
                };
                self.log(Some(&name), Some(kind), stream, line.text);
            }
        };
        let (result, ()): (Result<StepResult, DriverError>, ()) = tokio::join!(
            driver.run_step(req, ltx, self.cancel.child_token()),
            forward
        );
        match result {
            Ok(r) if r.exit_code == 0 => {
                if !r.outputs.is_empty() {
                    let at = self.ctx.clock.now_ms();
                    let params: Vec<NewParam> = r
                        .outputs
                        .iter()
                        .map(|(k, v)| NewParam {
                            instance: name.clone(),
                            name: k.clone(),
                            kind: ParamKind::Output,
                            value: self.masker.mask(v),
                            secret: false,
                        })
                        .collect();
                    let _ = self.record(|st| st.set_params(&self.run_id, &params, at));
                }
                self.step_finished(&name, kind, StepState::Succeeded, Some(0), started);
                Ok(r.outputs)
            }
            Ok(r) => {
                self.step_finished(&name, kind, StepState::Failed, Some(r.exit_code), started);
                Err((
                    exit::DEPLOYMENT_FAILED,
                    format!(
                        "the {} recipe exited with status {}",
                        kind.as_str(),
                        r.exit_code
                    ),
                ))
            }
            Err(e) => {
                let state = if e.kind == ErrorKind::Cancelled {
                    StepState::Cancelled
                } else {
                    StepState::Failed
                };
                self.step_finished(&name, kind, state, None, started);
                Err((
                    exit_of(&e),
                    self.masker.mask(&format!(
                        "{} failed ({}): {}",
                        kind.as_str(),
                        e.kind.as_str(),
                        e.message
                    )),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_need_a_sign_and_a_count() {
        assert_eq!(parse_delta("+2"), Ok(2));
        assert_eq!(parse_delta("-3"), Ok(-3));
        for bad in ["2", "+0", "-0", "+", "", "+x", "--1", "+1.5"] {
            assert!(parse_delta(bad).is_err(), "{bad}");
        }
    }
}
