//! Resuming an interrupted run (SPEC §4): a run whose owning process died is taken over by this
//! process and continued from what the store says. Instances that still exist are checked with
//! their driver, steps that finished stay finished, a step that was running when the owner died
//! runs again, a machine that is gone is provisioned again, and the keep-running policy applies
//! at the end, exactly as for a launch (the coordinator in `run.rs` does the work).
//!
//! Owns: the checks before a resume and the launch it becomes. Never: resumes a run whose owner
//! is alive, or a final or kept (`ready`) run.

use std::collections::HashMap;
use std::path::PathBuf;

use slipway_recipe::{SetValue, ValidateOptions};
use tokio_util::sync::CancellationToken;

use crate::kept::KeptSecrets;
use crate::operation::{take_lock, OperationError};
use crate::run::{launch, Context, Launch, Outcome};

/// A resume refused before anything changed.
pub type ResumeError = OperationError;

/// Takes over the interrupted run `run_id` and drives it to its end.
pub async fn resume_run(
    ctx: &Context,
    run_id: &str,
    run_dir: PathBuf,
    cancel: CancellationToken,
) -> Result<Outcome, ResumeError> {
    let owner = slipway_store::current_process_identity();
    take_lock(ctx, run_id, "resume", owner)?;
    let result = match prepare(ctx, run_id, run_dir) {
        Ok(l) => Ok(launch(ctx, l, cancel).await),
        Err(e) => Err(e),
    };
    let _ = ctx.with_store(|s| s.unlock_run(run_id, owner));
    result
}

/// The launch a resume of `run_id` is, once the run is known to be interrupted.
fn prepare(ctx: &Context, run_id: &str, run_dir: PathBuf) -> Result<Launch, ResumeError> {
    let infra = |e: slipway_store::StoreError| ResumeError::Infrastructure(e.to_string());
    let detail = ctx
        .with_store(|s| s.run(run_id))
        .map_err(infra)?
        .ok_or_else(|| ResumeError::Refused(format!("there is no run `{run_id}`")))?;
    if !detail.run.interrupted {
        let why =
            if detail.run.state.is_final() || detail.run.state == slipway_store::RunState::Ready {
                "only a run whose process died before it finished can be resumed"
            } else {
                "its process is still running it"
            };
        return Err(ResumeError::Refused(format!(
            "run {run_id} is {}: {why}",
            detail.run.display_state()
        )));
    }
    let recipe = slipway_recipe::parse(&detail.recipe_text)
        .recipe
        .ok_or_else(|| {
            ResumeError::Infrastructure(format!(
                "the recipe stored with run {run_id} cannot be read"
            ))
        })?;
    let generates = recipe.deployment.nodes.values().any(|n| {
        recipe
            .components
            .get(&n.component)
            .is_some_and(|c| c.inputs.values().any(|i| i.generate.is_some()))
    });
    let recalled = match &ctx.keeper {
        Some(k) => k.recall(run_id),
        None => Err("no keychain is configured".to_string()),
    };
    let kept: KeptSecrets = match recalled {
        Ok(Some(json)) => serde_json::from_str(&json).map_err(|e| {
            ResumeError::Infrastructure(format!(
                "the secret values of run {run_id} in the OS keychain are unreadable ({e})"
            ))
        })?,
        Ok(None) if generates => {
            return Err(ResumeError::Infrastructure(format!(
                "the secret values of run {run_id} are not in the OS keychain (its log says why), so its generated inputs cannot be resolved again; terminate it"
            )))
        }
        Err(e) if generates => {
            return Err(ResumeError::Infrastructure(format!(
                "the secret values of run {run_id} cannot be read from the OS keychain: {e}"
            )))
        }
        _ => KeptSecrets::default(),
    };
    // Each node stays on the cloud its instances were created on.
    let node_clouds: HashMap<String, String> = detail
        .instances
        .iter()
        .map(|i| (i.node.clone(), i.cloud.clone()))
        .collect();
    let mut sets: Vec<SetValue> = ctx
        .with_store(|s| s.launch_sets(run_id))
        .map_err(infra)?
        .into_iter()
        .map(|l| SetValue {
            node: l.node,
            input: l.input,
            value: l.value,
        })
        .collect();
    sets.extend(kept.set_values());
    Ok(Launch {
        run_id: run_id.to_string(),
        recipe,
        recipe_text: detail.recipe_text.clone(),
        opts: ValidateOptions {
            default_cloud: Some(detail.run.default_cloud.clone()),
            node_clouds,
            clouds: None,
            sets,
        },
        keep: detail.run.keep_running,
        run_dir,
        already_created: true,
        resume: Some(kept),
    })
}
