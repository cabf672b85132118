//! What the engine announces, after it is committed to the store. The CLI's terminal view, its
//! `--json` stream and the desktop app are different [`Hooks`] over the same events.

use serde::Serialize;
use slipway_store::{InstanceState, LogStream, RunState, StepState};

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Always the first event of a run.
    RunStarted {
        run_id: String,
        name: String,
        instances: Vec<String>,
        at: i64,
    },
    RunState {
        run_id: String,
        state: RunState,
        at: i64,
    },
    InstanceState {
        run_id: String,
        instance: String,
        state: InstanceState,
        detail: Option<String>,
        at: i64,
    },
    StepStarted {
        run_id: String,
        instance: String,
        step: String,
        at: i64,
    },
    StepFinished {
        run_id: String,
        instance: String,
        step: String,
        state: StepState,
        exit_code: Option<i32>,
        duration_ms: i64,
        at: i64,
    },
    Log {
        run_id: String,
        instance: Option<String>,
        step: Option<String>,
        stream: LogStream,
        line: String,
        at: i64,
    },
    Output {
        run_id: String,
        instance: String,
        name: String,
        value: String,
    },
    Report {
        run_id: String,
        instance: String,
        path: String,
        size: u64,
    },
    /// Always the last event of a run.
    RunFinished {
        run_id: String,
        state: RunState,
        exit_code: i32,
        error: Option<String>,
        /// Instances were left running (keep-running policy).
        kept: bool,
        at: i64,
    },
}

/// Receives every event, in order. Must not block for long: it is called by the engine's
/// coordinator.
pub trait Hooks: Send + Sync {
    fn on_event(&self, event: &Event);
}

pub struct NoHooks;

impl Hooks for NoHooks {
    fn on_event(&self, _: &Event) {}
}
