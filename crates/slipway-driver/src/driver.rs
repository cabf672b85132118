//! The interface between the engine and a cloud: request and result types, and the [`Driver`]
//! trait. The engine keeps drivers as `Arc<dyn Driver>` and calls them from many tasks at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use slipway_recipe::CloudImage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::DriverError;

/// One machine to create.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSpec {
    /// `web.1`
    pub name: String,
    pub node: String,
    /// 1-based.
    pub index: u32,
    /// The image as mapped for this cloud; `None` for drivers that need none (`local`, `ssh`).
    pub image: Option<CloudImage>,
    pub login_user: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProvisionRequest {
    pub run_id: String,
    /// The run's folder under the data directory; drivers may keep files there.
    pub run_dir: PathBuf,
    pub instances: Vec<InstanceSpec>,
    /// Where to say how long work is going (an image pull), per instance.
    pub progress: ProvisionProgress,
}

/// Lines for people about provisioning in progress (an image being pulled), each for one
/// instance of the request: the engine stores them in that instance's provisioning log and
/// shows them live. The default drops them. Not part of what is asked: every two are equal.
#[derive(Clone, Default)]
pub struct ProvisionProgress(Option<Arc<ProgressSink>>);

/// What receives a [`ProvisionProgress`] line: the instance's name and the line.
type ProgressSink = dyn Fn(&str, &str) + Send + Sync;

impl ProvisionProgress {
    /// Calls `sink(instance name, line)` for every line.
    pub fn new(sink: impl Fn(&str, &str) + Send + Sync + 'static) -> Self {
        ProvisionProgress(Some(Arc::new(sink)))
    }

    /// One line about `instance` (`web.1`). Never a secret.
    pub fn line(&self, instance: &str, text: &str) {
        if let Some(sink) = &self.0 {
            sink(instance, text);
        }
    }
}

impl std::fmt::Debug for ProvisionProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProvisionProgress"
        } else {
            "ProvisionProgress(none)"
        })
    }
}

impl PartialEq for ProvisionProgress {
    fn eq(&self, _: &ProvisionProgress) -> bool {
        true
    }
}

/// A created machine, as the engine stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioned {
    /// `web.1`
    pub name: String,
    /// The driver's id for the machine, used by `terminate` and returned by `list_tagged`.
    pub resource_id: String,
    /// The address other instances reach this one at (the `hostname` built-in parameter).
    pub hostname: String,
    /// What the driver needs to find and reach this machine again from another process, after
    /// a restart (login user, port, pinned host key, cloud resource ids, …). Opaque to the
    /// engine, which stores it with the instance (as JSON) and hands it back unchanged to
    /// `run_step`, `fetch_reports` and `terminate`. Never a secret: it is stored in plain text.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub state: serde_json::Value,
}

impl Provisioned {
    /// A machine with no driver state.
    pub fn new(
        name: impl Into<String>,
        resource_id: impl Into<String>,
        hostname: impl Into<String>,
    ) -> Self {
        Provisioned {
            name: name.into(),
            resource_id: resource_id.into(),
            hostname: hostname.into(),
            state: serde_json::Value::Null,
        }
    }

    /// The driver state, read back as the driver's own type.
    pub fn state_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, DriverError> {
        serde_json::from_value(self.state.clone()).map_err(|e| {
            DriverError::other(format!(
                "the stored driver state of {} cannot be read: {e}",
                self.name
            ))
        })
    }
}

/// One recipe step to run on one instance.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRequest {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub instance: Provisioned,
    /// `pre_install`, `packages`, `post_install`, `deployment`, `reporting`, `on_node_add`, …
    pub step: String,
    /// The recipe text; empty for the `packages` step.
    pub script: String,
    /// Inputs and `SLIPWAY_*` variables; the driver adds `SLIPWAY_OUTPUT` and
    /// `SLIPWAY_REPORT_DIR` itself.
    pub env: Vec<(String, String)>,
    /// Only for the `packages` step (the script is empty then).
    pub packages: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a step's output, without its line ending. Bytes that are not UTF-8 are replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
}

impl OutputLine {
    pub fn stdout(text: impl Into<String>) -> Self {
        OutputLine {
            stream: Stream::Stdout,
            text: text.into(),
        }
    }

    pub fn stderr(text: impl Into<String>) -> Self {
        OutputLine {
            stream: Stream::Stderr,
            text: text.into(),
        }
    }
}

/// How a step ended: a non-zero `exit_code` means the recipe failed (128 + N when it was killed
/// by signal N); `outputs` holds what it wrote to `SLIPWAY_OUTPUT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepResult {
    pub exit_code: i32,
    pub outputs: IndexMap<String, String>,
}

/// A kind of cloud. Every method may be called concurrently for different instances.
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    /// The driver kind (`local`, `ssh`, `docker`, `ec2`, …).
    fn kind(&self) -> &'static str;

    /// How many provisioning/terminating calls may run at once on this cloud.
    fn concurrency(&self) -> usize;

    /// How many instances one provisioning call should create. A batch returns when its slowest
    /// instance is up, so only clouds whose API creates many machines in one call (and reports
    /// them together anyway) should batch.
    fn max_batch(&self) -> usize {
        1
    }

    /// How many steps may run at once on this cloud, over all its instances (sshd refuses more
    /// than `MaxSessions` channels per connection; an API has rate limits). The engine queues
    /// the others.
    fn max_parallel_steps(&self) -> usize {
        usize::MAX
    }

    /// How long one provisioning call may take before the engine gives up on it (what it
    /// created is still tagged, so teardown's sweep finds it).
    fn provision_timeout(&self) -> Duration {
        Duration::from_secs(15 * 60)
    }

    /// How long [`Driver::wait_ready`] may take for one instance.
    fn boot_timeout(&self) -> Duration {
        Duration::from_secs(10 * 60)
    }

    /// Checks settings and credentials without creating anything.
    async fn check(&self) -> Result<(), DriverError>;

    /// [`Driver::check`], plus one line for people on what answered (`Docker Engine 24.0.7 (API
    /// 1.43) at unix:///var/run/docker.sock`), for "test connection". Never a secret.
    async fn check_details(&self) -> Result<Option<String>, DriverError> {
        self.check().await.map(|()| None)
    }

    /// Waits until a provisioned instance accepts steps (its SSH port answers, its container
    /// runs). The instance is `booting` meanwhile. Drivers whose `provision` returns ready
    /// machines keep the default.
    async fn wait_ready(
        &self,
        _run_id: &str,
        _instance: &Provisioned,
        _cancel: CancellationToken,
    ) -> Result<(), DriverError> {
        Ok(())
    }

    /// Creates the instances (batched: a cloud that can create many in one call does), each
    /// tagged with `run_id`; one result per requested instance, in order.
    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>>;

    /// Runs one step: streams every output line (as it happens, line by line) to `lines`,
    /// returns the exit status and the parsed `SLIPWAY_OUTPUT`. When `cancel` fires, kills the
    /// step (and everything it started) and returns [`crate::ErrorKind::Cancelled`].
    ///
    /// A [`crate::ErrorKind::Transient`] error promises that the script did not start (the
    /// connection dropped before it was launched): the engine runs the step again. Once the
    /// script may have started, a lost connection is [`crate::ErrorKind::Other`] and is never
    /// retried (a recipe is not assumed to be safe to run twice).
    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError>;

    /// Copies the files left in the instance's `SLIPWAY_REPORT_DIR` into `dest` (created),
    /// returning their paths relative to `dest` (with `/` separators) and sizes in bytes.
    async fn fetch_reports(
        &self,
        run_id: &str,
        run_dir: &Path,
        instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError>;

    /// Terminates instances; must leave nothing running. Idempotent: terminating an instance
    /// that is already gone is `Ok`.
    async fn terminate(
        &self,
        run_id: &str,
        run_dir: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError>;

    /// Resources tagged with this run id that still exist (for orphan sweeps after a crash), as
    /// resource ids.
    async fn list_tagged(&self, run_id: &str, run_dir: &Path) -> Result<Vec<String>, DriverError>;

    /// Every run id that tags a resource on this cloud, whichever data directory started it
    /// (for `slipway clouds sweep`). Drivers that cannot list them say so.
    async fn tagged_runs(&self) -> Result<Vec<String>, DriverError> {
        Err(DriverError::other(format!(
            "`{}` clouds cannot list tagged resources of unknown runs",
            self.kind()
        )))
    }
}
