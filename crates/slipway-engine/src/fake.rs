//! A fake driver for engine logic tests and benchmarks: instances are entries in memory, a step
//! "runs" by sleeping for a duration the test chooses and printing its script, and a script
//! containing `FAIL` exits 1. The real drivers are tested for real in their own crates.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use slipway_driver::{
    Driver, DriverError, OutputLine, ProvisionRequest, Provisioned, StepRequest, StepResult,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

type Durations = dyn Fn(&str, &str) -> Duration + Send + Sync;

/// A step the fake driver ran: (instance, step, environment).
pub type StartedStep = (String, String, Vec<(String, String)>);

pub struct FakeDriver {
    /// (instance name, step) → how long the step takes.
    pub durations: Box<Durations>,
    pub concurrency: usize,
    /// Instances per provisioning call (`Driver::max_batch`); 1 unless a test batches.
    pub max_batch: AtomicUsize,
    /// Instances that exist right now, by resource id.
    pub live: Mutex<HashSet<String>>,
    /// Every step started, in order: (instance, step, env).
    pub started: Mutex<Vec<StartedStep>>,
    /// Provision calls made, by batch size.
    pub batches: Mutex<Vec<usize>>,
    /// Instance name → errors its next provisioning attempts return, in order.
    pub provision_errors: Mutex<std::collections::HashMap<String, Vec<DriverError>>>,
    /// (instance name, step) → errors its next attempts return instead of running, in order.
    pub step_errors: Mutex<std::collections::HashMap<(String, String), Vec<DriverError>>>,
    /// `terminate` panics (a driver bug), leaving everything running.
    pub terminate_panics: std::sync::atomic::AtomicBool,
    /// `Driver::max_parallel_steps`.
    pub max_parallel_steps: AtomicUsize,
    /// Steps running right now, and the most that ever ran at once.
    pub running: AtomicUsize,
    pub most_running: AtomicUsize,
    /// Instance name → how long `wait_ready` takes, and the error it then returns, if any.
    pub boot: Mutex<std::collections::HashMap<String, (Duration, Option<DriverError>)>>,
    /// `Driver::boot_timeout` and `Driver::provision_timeout`.
    pub boot_timeout: Mutex<Duration>,
    pub provision_timeout: Mutex<Duration>,
    /// Every instance handed to `terminate`, as received (driver state included).
    pub terminated: Mutex<Vec<Provisioned>>,
    /// Every instance a step ran on, as received (driver state included).
    pub step_instances: Mutex<Vec<Provisioned>>,
}

impl FakeDriver {
    pub fn new(
        durations: impl Fn(&str, &str) -> Duration + Send + Sync + 'static,
    ) -> Arc<FakeDriver> {
        Arc::new(FakeDriver {
            durations: Box::new(durations),
            concurrency: 64,
            max_batch: AtomicUsize::new(1),
            live: Mutex::new(HashSet::new()),
            started: Mutex::new(Vec::new()),
            batches: Mutex::new(Vec::new()),
            provision_errors: Mutex::new(Default::default()),
            step_errors: Mutex::new(Default::default()),
            terminate_panics: std::sync::atomic::AtomicBool::new(false),
            max_parallel_steps: AtomicUsize::new(usize::MAX),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
            boot: Mutex::new(Default::default()),
            boot_timeout: Mutex::new(Duration::from_secs(600)),
            provision_timeout: Mutex::new(Duration::from_secs(900)),
            terminated: Mutex::new(Vec::new()),
            step_instances: Mutex::new(Vec::new()),
        })
    }

    pub fn instant() -> Arc<FakeDriver> {
        FakeDriver::new(|_, _| Duration::ZERO)
    }
}

#[async_trait::async_trait]
impl Driver for FakeDriver {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn concurrency(&self) -> usize {
        self.concurrency
    }
    fn max_batch(&self) -> usize {
        self.max_batch.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn max_parallel_steps(&self) -> usize {
        self.max_parallel_steps.load(Ordering::Relaxed)
    }
    fn boot_timeout(&self) -> Duration {
        *self.boot_timeout.lock().unwrap()
    }
    fn provision_timeout(&self) -> Duration {
        *self.provision_timeout.lock().unwrap()
    }
    async fn check(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn wait_ready(
        &self,
        _: &str,
        instance: &Provisioned,
        cancel: CancellationToken,
    ) -> Result<(), DriverError> {
        let boot = self.boot.lock().unwrap().get(&instance.name).cloned();
        let Some((d, error)) = boot else {
            return Ok(());
        };
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = cancel.cancelled() => return Err(DriverError::cancelled("cancelled")),
        }
        error.map_or(Ok(()), Err)
    }
    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        self.batches.lock().unwrap().push(req.instances.len());
        let longest = req
            .instances
            .iter()
            .map(|i| (self.durations)(&i.name, "provision"))
            .max()
            .unwrap_or_default();
        if !longest.is_zero() {
            tokio::time::sleep(longest).await;
        }
        req.instances
            .iter()
            .map(|i| {
                if let Some(errors) = self.provision_errors.lock().unwrap().get_mut(&i.name) {
                    if !errors.is_empty() {
                        return Err(errors.remove(0));
                    }
                }
                let rid = format!("{}/{}", req.run_id, i.name);
                self.live.lock().unwrap().insert(rid.clone());
                Ok(Provisioned {
                    name: i.name.clone(),
                    resource_id: rid,
                    hostname: format!("{}.fake", i.name),
                    state: serde_json::json!({ "fake": i.index }),
                })
            })
            .collect()
    }
    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        self.started.lock().unwrap().push((
            req.instance.name.clone(),
            req.step.clone(),
            req.env.clone(),
        ));
        self.step_instances
            .lock()
            .unwrap()
            .push(req.instance.clone());
        let injected = self
            .step_errors
            .lock()
            .unwrap()
            .get_mut(&(req.instance.name.clone(), req.step.clone()))
            .and_then(|errors| (!errors.is_empty()).then(|| errors.remove(0)));
        if let Some(e) = injected {
            return Err(e);
        }
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        let d = (self.durations)(&req.instance.name, &req.step);
        let slept = if d.is_zero() {
            // Yield once, so that steps the engine started together overlap.
            tokio::task::yield_now().await;
            true
        } else {
            tokio::select! {
                _ = tokio::time::sleep(d) => true,
                _ = cancel.cancelled() => false,
            }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        if !slept {
            return Err(DriverError::cancelled("cancelled"));
        }
        let mut outputs = IndexMap::new();
        for line in req.script.lines() {
            // `echo NAME=VALUE` lines of the script become outputs, with $VARS from the env.
            let expanded = expand(line, &req.env);
            let _ = lines.send(OutputLine::stdout(expanded.clone())).await;
            if let Some(rest) = expanded.strip_prefix("output ") {
                if let Some((k, v)) = rest.split_once('=') {
                    outputs.insert(k.to_string(), v.to_string());
                }
            }
        }
        let exit_code = if req.script.contains("FAIL") { 1 } else { 0 };
        Ok(StepResult { exit_code, outputs })
    }
    async fn fetch_reports(
        &self,
        _: &str,
        _: &Path,
        _: &Provisioned,
        _: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        Ok(Vec::new())
    }
    async fn terminate(
        &self,
        _: &str,
        _: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError> {
        if self
            .terminate_panics
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            panic!("the fake driver's terminate panics, as asked");
        }
        self.terminated
            .lock()
            .unwrap()
            .extend(instances.iter().cloned());
        let mut live = self.live.lock().unwrap();
        for i in instances {
            live.remove(&i.resource_id);
        }
        Ok(())
    }
    async fn list_tagged(&self, run_id: &str, _: &Path) -> Result<Vec<String>, DriverError> {
        let prefix = format!("{run_id}/");
        Ok(self
            .live
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .cloned()
            .collect())
    }
}

fn expand(line: &str, env: &[(String, String)]) -> String {
    let mut out = line.to_string();
    let mut vars: Vec<&(String, String)> = env.iter().collect();
    vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (k, v) in vars {
        out = out.replace(&format!("${k}"), v);
    }
    out
}
