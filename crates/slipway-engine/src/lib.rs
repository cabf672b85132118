//! The engine: takes a planned deployment and makes it real (SPEC §3, §4).
//!
//! It walks the step graph of `slipway-plan`: provisioning of every instance starts at once
//! (bounded per cloud), and a step starts the moment every step it reads from has finished; there
//! are no global barriers. Wired values are resolved just before a step starts. Every state change
//! is committed to the store before it is announced to the [`Hooks`]. Secret values are masked as
//! `***` in every log line, event, stored parameter and error message.
//!
//! Architecture invariants: no Tauri and no terminal code here (the CLI and the desktop shell are
//! two `Hooks` implementations); no clock reads outside [`Clock`]; drivers are only reached
//! through the `slipway_driver::Driver` trait.

pub mod clock;
mod detach;
pub mod events;
/// Test support (engine tests and benchmarks), not public API: behind the `fake` feature.
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod kept;
pub mod mask;
mod operation;
mod resolve;
mod resume;
mod run;
mod scale;
mod teardown;

pub use clock::{Clock, SystemClock};
pub use detach::{cli_executable, start_detached, Detach};
pub use events::{Event, Hooks, NoHooks};
pub use kept::{KeptSecrets, SecretKeeper};
pub use mask::Masker;
pub use operation::OperationError;
pub use resume::{resume_run, ResumeError};
pub use run::{launch, Context, Drivers, Launch, Outcome};
pub use scale::{parse_delta, plan_scale, scale_run, Scale, ScaleError, ScaleOutcome, ScalePlan};
pub use teardown::{terminate_run, TerminateError};

/// Exit codes of SPEC §6.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const DEPLOYMENT_FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const INFRASTRUCTURE: i32 = 3;
    pub const CANCELLED: i32 = 130;
}
