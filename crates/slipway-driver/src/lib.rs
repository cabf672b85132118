//! The driver interface every cloud implements (SPEC §5), the `SLIPWAY_OUTPUT` format shared by
//! all drivers (SPEC §3), and the built-in `local` driver.
//!
//! Architecture invariant: no Tauri, no database, no knowledge of the step graph. A driver only
//! creates machines, runs one script at a time on one of them, copies reports and tears machines
//! down; the engine decides what runs when. Secrets are plain environment values here: masking
//! them is the caller's job, so a driver never writes step output to disk itself.

mod driver;
mod error;
pub mod local;
mod outputs;
pub mod remote;

pub use driver::{
    Driver, InstanceSpec, OutputLine, ProvisionProgress, ProvisionRequest, Provisioned,
    StepRequest, StepResult, Stream,
};
pub use error::{DriverError, ErrorKind};
pub use local::LocalDriver;
pub use outputs::parse_outputs;
