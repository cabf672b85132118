//! Tearing instances down, at the end of a run and for `slipway terminate`.
//!
//! Owns: terminating recorded instances per cloud (bounded by each cloud's concurrency), then
//! sweeping every resource still tagged with the run id, so a crash between creating a resource
//! and recording it still leaves nothing running. Never: changes a run's state that is final.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use slipway_driver::{Driver, DriverError, Provisioned};
use slipway_store::{InstanceState, RunState, StepState};

use crate::events::Event;
use crate::run::Context;

/// An instance to terminate: its provisioned handle when the run knows it.
pub struct TeardownTarget {
    pub name: String,
    pub cloud: String,
    pub provisioned: Option<Provisioned>,
}

/// Terminates `targets` and sweeps every cloud they used for leftovers tagged with `run_id`.
pub(crate) async fn teardown(
    ctx: &Context,
    run_id: &str,
    run_dir: &Path,
    targets: Vec<TeardownTarget>,
) -> Result<(), String> {
    let mut by_cloud: BTreeMap<String, Vec<TeardownTarget>> = BTreeMap::new();
    for t in targets {
        by_cloud.entry(t.cloud.clone()).or_default().push(t);
    }
    let mut errors = Vec::new();
    for (cloud, targets) in by_cloud {
        let Some(driver) = ctx.drivers.get(&cloud).cloned() else {
            errors.push(format!(
                "cloud `{cloud}` is not configured here; its instances could not be terminated"
            ));
            continue;
        };
        let live: Vec<&TeardownTarget> =
            targets.iter().filter(|t| t.provisioned.is_some()).collect();
        if let Err(e) = set_states(
            ctx,
            run_id,
            live.iter().map(|t| t.name.as_str()),
            InstanceState::Terminating,
        ) {
            errors.push(e);
        }
        let handles: Vec<Provisioned> = live.iter().filter_map(|t| t.provisioned.clone()).collect();
        let batches = driver.concurrency().clamp(1, handles.len().max(1));
        let size = handles.len().div_ceil(batches).max(1);
        let tasks: Vec<_> = handles
            .chunks(size)
            .map(|chunk| spawn_terminate(driver.clone(), run_id, run_dir, chunk.to_vec()))
            .collect();
        let mut failed = false;
        for task in tasks {
            if let Err(e) = task.await {
                failed = true;
                errors.push(format!("{cloud}: {}", e.message));
            }
        }
        // Instances never provisioned have nothing to stop.
        let done = targets
            .iter()
            .filter(|t| !failed || t.provisioned.is_none());
        if let Err(e) = set_states(
            ctx,
            run_id,
            done.map(|t| t.name.as_str()),
            InstanceState::Terminated,
        ) {
            errors.push(e);
        }
        // The sweep: anything still tagged with the run (for example a resource whose creation
        // was never recorded because the process died right then).
        match driver.list_tagged(run_id, run_dir).await {
            Ok(left) if !left.is_empty() => {
                let orphans: Vec<Provisioned> = left
                    .iter()
                    .map(|rid| {
                        let name = targets
                            .iter()
                            .find(|t| {
                                t.provisioned
                                    .as_ref()
                                    .is_some_and(|p| &p.resource_id == rid)
                            })
                            .map(|t| t.name.clone())
                            .or_else(|| rid.rsplit('/').next().map(str::to_string))
                            .unwrap_or_else(|| rid.clone());
                        // Found by tag alone: drivers terminate these from the id.
                        Provisioned::new(name, rid.clone(), "")
                    })
                    .collect();
                let swept = spawn_terminate(driver.clone(), run_id, run_dir, orphans).await;
                if let Err(e) = swept {
                    errors.push(format!(
                        "{cloud}: sweeping {} leftover resource(s): {}",
                        left.len(),
                        e.message
                    ));
                } else if let Ok(still) = driver.list_tagged(run_id, run_dir).await {
                    if !still.is_empty() {
                        errors.push(format!(
                            "{cloud}: still running after terminate: {}",
                            still.join(", ")
                        ));
                    }
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{cloud}: listing leftovers failed: {}", e.message)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Starts `driver.terminate` in a task of its own, at once; the result, where a panic of the
/// driver is a failure (`terminate failed: …`), never a success.
fn spawn_terminate(
    driver: Arc<dyn Driver>,
    run_id: &str,
    run_dir: &Path,
    instances: Vec<Provisioned>,
) -> impl std::future::Future<Output = Result<(), DriverError>> {
    let (run_id, run_dir) = (run_id.to_string(), run_dir.to_path_buf());
    let task = tokio::spawn(async move { driver.terminate(&run_id, &run_dir, &instances).await });
    async move {
        task.await
            .unwrap_or_else(|panic| Err(DriverError::other(format!("terminate failed: {panic}"))))
    }
}

/// Instances change state in one transaction; the events follow the commit. A store failure is
/// returned (and nothing announced), never dropped.
fn set_states<'a>(
    ctx: &Context,
    run_id: &str,
    instances: impl Iterator<Item = &'a str>,
    state: InstanceState,
) -> Result<(), String> {
    let names: Vec<&str> = instances.collect();
    if names.is_empty() {
        return Ok(());
    }
    let at = ctx.clock.now_ms();
    let changes: Vec<(&str, InstanceState)> = names.iter().map(|n| (*n, state)).collect();
    ctx.with_store(|s| s.set_instance_states(run_id, &changes, at))
        .map_err(|e| format!("the run store failed: {e}"))?;
    for name in names {
        ctx.hooks.on_event(&Event::InstanceState {
            run_id: run_id.to_string(),
            instance: name.to_string(),
            state,
            detail: None,
            at,
        });
    }
    Ok(())
}

#[derive(Debug)]
pub enum TerminateError {
    /// No run with that id.
    NotFound(String),
    /// The store could not be read or written.
    Store(String),
    /// A cloud could not terminate everything.
    Cloud(String),
}

impl std::fmt::Display for TerminateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TerminateError::NotFound(id) => {
                write!(f, "there is no run `{id}` (see `slipway runs`)")
            }
            TerminateError::Store(e) => write!(f, "{e}"),
            TerminateError::Cloud(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TerminateError {}

/// Terminates every instance of a run that is not running in a live process any more: a kept
/// run, a finished one with instances left, or one whose process died (interrupted). The caller
/// stops a live owner first. Final states stay as they are; a `ready` or interrupted run ends
/// `done` or `cancelled`.
pub async fn terminate_run(
    ctx: &Context,
    run_id: &str,
    run_dir: &Path,
) -> Result<RunState, TerminateError> {
    let detail = ctx
        .with_store(|s| s.run(run_id))
        .map_err(|e| TerminateError::Store(e.to_string()))?
        .ok_or_else(|| TerminateError::NotFound(run_id.to_string()))?;
    let state = detail.run.state;
    // Store failures are collected, never dropped: the caller hears of the first one.
    let mut store_errors: Vec<String> = Vec::new();
    let change = |s: RunState, detail: Option<&str>, errors: &mut Vec<String>| {
        let at = ctx.clock.now_ms();
        let result = ctx.with_store(|store| store.set_run_state(run_id, s, at, detail));
        match result {
            Ok(()) => ctx.hooks.on_event(&Event::RunState {
                run_id: run_id.to_string(),
                state: s,
                at,
            }),
            Err(e) => errors.push(e.to_string()),
        }
    };
    if !state.is_final() {
        // This process drives the run now: while it tears down, the run is not interrupted
        // (and is again if this process dies before the end).
        let (pid, start) = slipway_store::current_process_identity();
        if let Err(e) = ctx.with_store(|store| store.claim_run(run_id, pid, start)) {
            store_errors.push(e.to_string());
        }
        change(
            RunState::Finalizing,
            Some("terminate requested"),
            &mut store_errors,
        );
        // Steps an interrupted process left running or pending will never finish now.
        let at = ctx.clock.now_ms();
        ctx.with_store(|store| {
            for s in &detail.steps {
                let end = match s.state {
                    StepState::Running => StepState::Cancelled,
                    StepState::Pending => StepState::Skipped,
                    _ => continue,
                };
                if let Err(e) = store.set_step_state(run_id, &s.instance, s.kind, end, at, None) {
                    store_errors.push(e.to_string());
                }
            }
        });
    }
    let targets = detail
        .instances
        .iter()
        .filter(|i| i.state != InstanceState::Terminated)
        .map(|i| TeardownTarget {
            name: i.name.clone(),
            cloud: i.cloud.clone(),
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
        })
        .collect::<Vec<_>>();
    // Clouds of terminated instances are swept too: a crash may have left something untracked.
    let mut all_targets = targets;
    for i in detail
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Terminated)
    {
        if !all_targets.iter().any(|t| t.cloud == i.cloud) {
            all_targets.push(TeardownTarget {
                name: i.name.clone(),
                cloud: i.cloud.clone(),
                provisioned: None,
            });
        }
    }
    let result = teardown(ctx, run_id, run_dir, all_targets).await;
    let end = if state.is_final() {
        state
    } else if state == RunState::Ready {
        RunState::Done
    } else {
        RunState::Cancelled
    };
    if !state.is_final() {
        let note = if state == RunState::Ready {
            "terminated after being kept"
        } else {
            "terminated by the user"
        };
        change(end, Some(note), &mut store_errors);
        let at = ctx.clock.now_ms();
        let code = if end == RunState::Done {
            0
        } else {
            crate::exit::CANCELLED
        };
        if let Err(e) = ctx.with_store(|s| {
            s.finish_run(run_id, code, result.as_ref().err().map(String::as_str), at)
        }) {
            store_errors.push(e.to_string());
        }
    }
    // The run has no instances any more: its secret values are not needed again.
    // Without a reachable keychain nothing was kept through it either.
    if let Some(k) = &ctx.keeper {
        let _ = k.forget(run_id);
    }
    result.map_err(TerminateError::Cloud)?;
    match store_errors.into_iter().next() {
        Some(e) => Err(TerminateError::Store(format!("the run store failed: {e}"))),
        None => Ok(end),
    }
}
