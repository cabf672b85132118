//! The `ssh` cloud (SPEC §5): an instance is a host taken from a configured pool of existing
//! machines, leased in the store so that two runs (or the app and the CLI) never deploy onto the
//! same host at once, and reached over SSH with `ssh2` (libssh2). Recipes run through the shared
//! remote-step helper ([`slipway_driver::remote`]) in `~/.slipway/runs/RUN/NODE.INDEX` on the
//! host, one authenticated session per host reused by every step, a channel per command.
//!
//! Architecture invariants: no Tauri, no terminal code; the private key is handed in by the
//! caller (a key file path or the keychain's secret) and never reaches the store, a message or
//! the driver state; nothing runs on a host before its key was accepted (pinned per cloud on
//! first use, or found in `~/.ssh/known_hosts` with `known_hosts=strict`).

mod addr;
mod session;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_driver::remote::{self, RemoteDir, Transport};
use slipway_driver::{
    Driver, DriverError, OutputLine, ProvisionRequest, Provisioned, StepRequest, StepResult,
};
use slipway_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use addr::{parse_hosts, HostEntry};
pub use session::{Connector, Host, Key, KnownHosts, Pinning, Target, MAX_CHANNELS};

/// A configured `ssh` cloud.
#[derive(Clone, Debug)]
pub struct SshConfig {
    /// The cloud's name (pinned keys and leases are recorded under it).
    pub cloud: String,
    /// The pool, as the `hosts` setting gives it.
    pub hosts: Vec<HostEntry>,
    pub key: Key,
    pub known_hosts: KnownHosts,
    /// The data directory whose store holds leases and pinned keys.
    pub data_dir: PathBuf,
    /// How long a TCP connection and each SSH exchange may take.
    pub connect_timeout: Duration,
}

/// What the engine stores with each instance, to reach it again from another process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct HostState {
    user: String,
    host: String,
    port: u16,
    /// The login user's home directory on the host.
    home: String,
    /// The host key accepted at provisioning (`SHA256:…`).
    host_key: String,
}

impl HostState {
    fn target(&self) -> Target {
        Target {
            user: self.user.clone(),
            host: self.host.clone(),
            port: self.port,
        }
    }
}

pub struct SshDriver {
    cfg: SshConfig,
    connector: Arc<Connector>,
    /// Open sessions, by resource id (`user@host:port`).
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn store_error(e: slipway_store::StoreError) -> DriverError {
    DriverError::other(format!("host leases: {e}"))
}

/// Runs `f` with a store of `data_dir`, on a blocking thread.
async fn with_store<T: Send + 'static>(
    data_dir: &Path,
    f: impl FnOnce(&mut Store) -> Result<T, slipway_store::StoreError> + Send + 'static,
) -> Result<T, DriverError> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&dir)?;
        f(&mut store)
    })
    .await
    .map_err(|e| DriverError::other(format!("the store call panicked: {e}")))?
    .map_err(store_error)
}

/// `user@host:port` back into a target (for instances found by tag alone).
fn parse_resource_id(rid: &str) -> Option<Target> {
    let (user, rest) = rid.split_once('@')?;
    let e = parse_hosts(rest).ok()?.pop()?;
    Some(Target {
        user: user.to_string(),
        host: e.host,
        port: e.port,
    })
}

/// `HOME/.slipway/runs/RUN/INSTANCE`: where an instance's steps run on a host.
fn instance_dir(home: &str, run_id: &str, instance: &str) -> Result<RemoteDir, DriverError> {
    RemoteDir::new(format!(
        "{}/.slipway/runs/{run_id}/{instance}",
        home.trim_end_matches('/')
    ))
}

/// [`instance_dir`] relative to the login user's home.
pub fn instance_rel(run_id: &str, instance: &str) -> String {
    format!(".slipway/runs/{run_id}/{instance}")
}

impl SshDriver {
    pub fn new(cfg: SshConfig) -> SshDriver {
        let connector = Arc::new(Connector::new(
            cfg.cloud.clone(),
            cfg.key.clone(),
            cfg.known_hosts,
            cfg.data_dir.clone(),
            cfg.connect_timeout,
        ));
        SshDriver {
            cfg,
            connector,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The host for `target`, sharing an open session.
    fn host(&self, target: &Target) -> Arc<Host> {
        self.hosts
            .lock()
            .unwrap()
            .entry(target.resource_id())
            .or_insert_with(|| Arc::new(Host::new(self.connector.clone(), target.clone())))
            .clone()
    }

    fn user_for(entry: &HostEntry, login_user: Option<&str>) -> String {
        entry
            .user
            .clone()
            .or_else(|| login_user.map(str::to_string))
            .unwrap_or_else(|| "root".to_string())
    }

    /// Connects to a leased host and prepares the instance's directory.
    async fn bring_up(
        &self,
        run_id: &str,
        name: &str,
        target: Target,
    ) -> Result<Provisioned, DriverError> {
        let host = self.host(&target);
        let fingerprint = host.open(Pinning::Pin).await?;
        // One round trip: the directory is created where `$HOME` is, and `$HOME` comes back.
        let (home, _) = remote::prepare_in_home(&*host, &instance_rel(run_id, name)).await?;
        let state = HostState {
            user: target.user.clone(),
            host: target.host.clone(),
            port: target.port,
            home,
            host_key: fingerprint,
        };
        Ok(Provisioned {
            name: name.to_string(),
            resource_id: target.resource_id(),
            hostname: target.host.clone(),
            state: serde_json::to_value(&state)
                .map_err(|e| DriverError::other(format!("driver state: {e}")))?,
        })
    }

    /// Where an instance is: its stored state, else its resource id and `$HOME` asked anew.
    fn target_of(&self, p: &Provisioned) -> Result<(Target, Option<String>), DriverError> {
        if !p.state.is_null() {
            let s: HostState = p.state_as()?;
            return Ok((s.target(), Some(s.home)));
        }
        parse_resource_id(&p.resource_id)
            .map(|t| (t, None))
            .ok_or_else(|| {
                DriverError::other(format!(
                    "`{}` is not an ssh instance id (user@host:port)",
                    p.resource_id
                ))
            })
    }

    async fn dir_of(
        &self,
        host: &Host,
        home: Option<String>,
        run_id: &str,
        name: &str,
    ) -> Result<RemoteDir, DriverError> {
        let home = match home {
            Some(h) => h,
            None => home_of(host).await?,
        };
        instance_dir(&home, run_id, name)
    }

    async fn terminate_one(&self, run_id: &str, p: &Provisioned) -> Result<(), DriverError> {
        let (target, home) = self.target_of(p)?;
        let key = target.key();
        let lease = {
            let key = key.clone();
            with_store(&self.cfg.data_dir, move |s| s.host_lease(&key)).await?
        };
        // Not leased by this run (any more): terminated already, and the host may be another
        // run's now.
        let Some(lease) = lease.filter(|l| l.run_id == run_id) else {
            return Ok(());
        };
        let host = self.host(&target);
        let dir = self.dir_of(&host, home, run_id, &lease.instance).await?;
        // Also removes the run's directory above it, which holds this instance only (one
        // instance per host and run).
        remote::clean_up(&*host, &dir, &format!("{run_id}/{}", lease.instance)).await?;
        host.close().await;
        self.hosts.lock().unwrap().remove(&target.resource_id());
        let run = run_id.to_string();
        with_store(&self.cfg.data_dir, move |s| s.release_host(&run, &key)).await?;
        Ok(())
    }
}

/// The login user's home directory on the host.
async fn home_of(host: &dyn Transport) -> Result<String, DriverError> {
    let done = host.exec("printf '%s' \"$HOME\"", Vec::new(), None).await?;
    let home = String::from_utf8_lossy(&done.stdout).trim().to_string();
    if done.exit_code != 0 || !home.starts_with('/') {
        return Err(DriverError::other(
            "the login user has no home directory ($HOME is not an absolute path)",
        ));
    }
    Ok(home)
}

#[async_trait::async_trait]
impl Driver for SshDriver {
    fn kind(&self) -> &'static str {
        "ssh"
    }

    /// One provisioning call at a time: it leases every host it needs at once.
    fn concurrency(&self) -> usize {
        1
    }

    /// All instances of a run on this cloud in one call, so that hosts are leased all or none.
    fn max_batch(&self) -> usize {
        usize::MAX
    }

    fn max_parallel_steps(&self) -> usize {
        self.cfg.hosts.len().saturating_mul(MAX_CHANNELS / 2).max(1)
    }

    fn provision_timeout(&self) -> Duration {
        Duration::from_secs(5 * 60)
    }

    /// Connects to every host of the pool (host key checked against its pin, pinning nothing)
    /// and logs in; creates nothing. The message names each host's result.
    async fn check(&self) -> Result<(), DriverError> {
        let mut tasks = Vec::new();
        for entry in &self.cfg.hosts {
            let target = Target {
                user: Self::user_for(entry, None),
                host: entry.host.clone(),
                port: entry.port,
            };
            let c = self.connector.clone();
            tasks.push((
                target.resource_id(),
                tokio::task::spawn_blocking(move || {
                    session::connect(&c, &target, Pinning::CheckOnly).map(|_| ())
                }),
            ));
        }
        let mut lines = Vec::new();
        let mut first: Option<DriverError> = None;
        let total = tasks.len();
        let mut failed = 0;
        for (rid, task) in tasks {
            let r = task
                .await
                .unwrap_or_else(|e| Err(DriverError::other(format!("panicked: {e}"))));
            match r {
                Ok(()) => lines.push(format!("{rid}: ok")),
                Err(e) => {
                    failed += 1;
                    lines.push(format!("{rid}: {}", e.message));
                    first.get_or_insert(e);
                }
            }
        }
        match first {
            None => Ok(()),
            Some(e) => Err(DriverError::new(
                e.kind,
                format!("{failed} of {total} host(s) failed:\n{}", lines.join("\n")),
            )),
        }
    }

    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        let n = req.instances.len();
        let all_fail = |e: DriverError| (0..n).map(|_| Err(e.clone())).collect::<Vec<_>>();
        let pool: Vec<(String, Option<String>)> = self
            .cfg
            .hosts
            .iter()
            .map(|h| (h.key(), h.user.clone()))
            .collect();
        let wanted: Vec<(String, String)> = req
            .instances
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.login_user.clone().unwrap_or_else(|| "root".into()),
                )
            })
            .collect();
        let (cloud, run_id) = (self.cfg.cloud.clone(), req.run_id.clone());
        let leased = with_store(&self.cfg.data_dir, move |s| {
            s.lease_hosts(&cloud, &run_id, &pool, &wanted, now_ms())
        })
        .await;
        let leases = match leased {
            Err(e) => return all_fail(e),
            Ok(Err(refused)) => {
                let others = if refused.held_by.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (the others are leased by run(s) {})",
                        refused.held_by.join(", ")
                    )
                };
                return all_fail(DriverError::quota(format!(
                    "the deployment needs {} host(s) of cloud `{}`, but only {} of its {} are free{others}; \
                     add hosts to its `hosts` setting or terminate runs that hold them",
                    refused.needed, self.cfg.cloud, refused.free, refused.pool
                )));
            }
            Ok(Ok(l)) => l,
        };
        let ups = leases.iter().map(|lease| {
            let entry = self
                .cfg
                .hosts
                .iter()
                .find(|h| h.key() == lease.host)
                .expect("leased from the pool");
            let target = Target {
                user: lease.login_user.clone(),
                host: entry.host.clone(),
                port: entry.port,
            };
            let (run_id, name) = (req.run_id.clone(), lease.instance.clone());
            async move {
                let r = self.bring_up(&run_id, &name, target.clone()).await;
                if r.is_err() {
                    // Nothing of the run is left there that matters: hand the host back.
                    let host = self.host(&target);
                    host.close().await;
                    self.hosts.lock().unwrap().remove(&target.resource_id());
                    let key = target.key();
                    let _ = with_store(&self.cfg.data_dir, move |s| s.release_host(&run_id, &key))
                        .await;
                }
                r
            }
        });
        let mut results = futures_join_all(ups).await;
        // In request order (leases are).
        results.truncate(n);
        results
    }

    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        let (target, home) = self.target_of(&req.instance)?;
        let host = self.host(&target);
        let dir = self
            .dir_of(&host, home, &req.run_id, &req.instance.name)
            .await
            .map_err(|e| DriverError::transient(e.message))?;
        let tag = format!("{}/{}", req.run_id, req.instance.name);
        remote::run_step(&*host, &dir, &tag, &req, lines, cancel).await
    }

    async fn fetch_reports(
        &self,
        run_id: &str,
        _run_dir: &Path,
        instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        let (target, home) = self.target_of(instance)?;
        let host = self.host(&target);
        let dir = self.dir_of(&host, home, run_id, &instance.name).await?;
        remote::fetch_reports(&*host, &dir, dest).await
    }

    async fn terminate(
        &self,
        run_id: &str,
        _run_dir: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError> {
        let results =
            futures_join_all(instances.iter().map(|p| self.terminate_one(run_id, p))).await;
        let errors: Vec<String> = instances
            .iter()
            .zip(results)
            .filter_map(|(p, r)| r.err().map(|e| format!("{}: {}", p.name, e.message)))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DriverError::other(errors.join("; ")))
        }
    }

    /// The hosts this run still holds, as resource ids.
    async fn list_tagged(&self, run_id: &str, _run_dir: &Path) -> Result<Vec<String>, DriverError> {
        let (run, cloud) = (run_id.to_string(), self.cfg.cloud.clone());
        let leases = with_store(&self.cfg.data_dir, move |s| s.host_leases(&run, &cloud)).await?;
        Ok(leases
            .into_iter()
            .map(|l| format!("{}@{}", l.login_user, l.host))
            .collect())
    }
}

/// Runs futures concurrently on this task, results in order.
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_round_trip() {
        let t = parse_resource_id("root@[::1]:2222").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("root", "::1", 2222)
        );
        assert_eq!(t.resource_id(), "root@[::1]:2222");
        assert!(parse_resource_id("no-user").is_none());
    }
}
