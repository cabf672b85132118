//! What the day-2 operations on a run (`scale`, `resume`) share: how they are refused, and the
//! run's lock that keeps two of them (or one and another process) apart.

use crate::run::Context;

/// A day-2 operation refused before anything changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationError {
    /// Not possible on this run or node (exit 2): the message says why.
    Refused(String),
    /// The store or the keychain failed (exit 3).
    Infrastructure(String),
}

impl std::fmt::Display for OperationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OperationError::Refused(m) | OperationError::Infrastructure(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for OperationError {}

/// Takes the lock of `run_id` for `operation` in this process: refused while another live
/// process holds it, or when there is no such run.
pub(crate) fn take_lock(
    ctx: &Context,
    run_id: &str,
    operation: &str,
    owner: (u32, u64),
) -> Result<(), OperationError> {
    let at = ctx.clock.now_ms();
    ctx.with_store(|s| s.lock_run(run_id, operation, owner, at))
        .map_err(|e| match e.kind() {
            slipway_store::ErrorKind::Conflict => OperationError::Refused(e.to_string()),
            slipway_store::ErrorKind::NotFound => {
                OperationError::Refused(format!("there is no run `{run_id}` (see `slipway runs`)"))
            }
            _ => OperationError::Infrastructure(e.to_string()),
        })
}
