//! What the desktop tells the user when a run launched from it ends while they look elsewhere:
//! [`watch_run_ends`] follows those runs through the store (as every follower does) and hands
//! each one's end to the shell once, as a ready-made [`RunEnded`] notice; the shell decides
//! whether to show it (only when its window is not focused) with `tauri-plugin-notification`.
//!
//! Never: notifies twice for a run, or about runs this app did not launch (a CI job on the same
//! machine must not spam the desktop).

use std::collections::HashSet;
use std::time::Duration;

use slipway_store::{RunState, RunSummary, Store};

use crate::{CommandError, Context};

/// A run's end, worded for a desktop notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEnded {
    pub run_id: String,
    pub title: String,
    pub body: String,
}

/// How often the launched runs are looked at: a notice a second late is still on time.
const EVERY: Duration = Duration::from_millis(500);

/// The notice for a run that has ended (final, kept `ready`, or interrupted); `None` while it
/// is still going.
pub fn run_end_notice(run: &RunSummary) -> Option<RunEnded> {
    // The owner records the final state, then how it ended: wait for both.
    if run.state.is_final() && run.exit_code.is_none() {
        return None;
    }
    let title = if run.interrupted {
        format!("Run {} was interrupted", run.name)
    } else {
        match run.state {
            RunState::Done if run.exit_code.unwrap_or(0) == 0 => {
                format!("Run {} succeeded", run.name)
            }
            RunState::Done | RunState::Aborted => format!("Run {} failed", run.name),
            RunState::Cancelled => format!("Run {} was cancelled", run.name),
            RunState::Ready => format!("Run {} is ready", run.name),
            _ => return None,
        }
    };
    let mut body = run.id.clone();
    if let (Some(start), Some(end)) = (run.started_at.or(Some(run.created_at)), run.ended_at) {
        body.push_str(&format!(" · {}", duration((end - start).max(0))));
    }
    if run.state == RunState::Ready && !run.interrupted {
        body.push_str(" · kept running: terminate it from the run view when done");
    } else if run.interrupted {
        body.push_str(" · its process died: terminate it from the runs history");
    } else if let Some(e) = &run.error {
        body.push_str(&format!(" · {e}"));
    } else if let Some(code) = run.exit_code.filter(|c| *c != 0) {
        body.push_str(&format!(" · exit code {code}"));
    }
    Some(RunEnded {
        run_id: run.id.clone(),
        title,
        body,
    })
}

fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Follows the runs `launched()` names (read anew at every look) until `stop()`, calling
/// `ended` once for each that ends (they are launched from this app while it watches, so every
/// end is news, however fast the run was).
pub fn watch_run_ends(
    ctx: &Context,
    launched: &dyn Fn() -> Vec<String>,
    stop: &dyn Fn() -> bool,
    ended: &mut dyn FnMut(RunEnded),
) -> Result<(), CommandError> {
    let store = Store::open(&ctx.home)?;
    let mut told: HashSet<String> = HashSet::new();
    while !stop() {
        for id in launched() {
            if told.contains(&id) {
                continue;
            }
            let Some(detail) = store.run(&id)? else {
                continue;
            };
            if let Some(notice) = run_end_notice(&detail.run) {
                told.insert(id);
                ended(notice);
            }
        }
        std::thread::sleep(EVERY);
    }
    Ok(())
}
