//! The `ec2` driver: per run a key pair and a security group, one RunInstances per node (batched
//! by the engine up to `max_batch`), one DescribeInstances per poll for all of a run's instances,
//! and a teardown that leaves no instance, group or key pair of the run.
//!
//! Recipes run over SSH with the `ssh` driver's transport (one session per instance, through
//! `slipway_driver::remote`), as the image's `login_user`, with the run's own key. The private
//! half of that key lives in memory and in a [`KeyVault`] (the OS keychain), so that another
//! process (resume, scale) can reach a kept run's instances; it is never written to disk.
//! Host keys are trusted on first use and remembered for the process (an instance is a new
//! machine; its address is reused by other runs with other keys).
//!
//! SSH readiness: `wait_ready` waits for EC2's `running`; the first step on an instance then
//! waits (within `ssh_wait`) until its SSH port answers and accepts the key, so that an
//! instance whose node has no recipes is never contacted over SSH at all.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use slipway_driver::{
    Driver, DriverError, OutputLine, ProvisionRequest, Provisioned, StepRequest, StepResult,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use slipway_driver::remote::{self, RemoteDir};
use slipway_driver_ssh::{Connector, Host, Key, KnownHosts, Pinning, Target};

use crate::api::{Credentials, Ec2Api};
use crate::calls::{Ec2Instance, RunRequest, TAG_INDEX};

/// Where each run's private SSH key is kept between processes: the OS keychain in the product
/// ([`MemoryVault`] in tests). Called on a blocking thread.
pub trait KeyVault: Send + Sync {
    fn save(&self, run_id: &str, private_key: &str) -> Result<(), DriverError>;
    fn load(&self, run_id: &str) -> Result<Option<String>, DriverError>;
    /// Removing a key that is not there is fine.
    fn remove(&self, run_id: &str) -> Result<(), DriverError>;
}

/// A [`KeyVault`] in this process's memory only.
#[derive(Default)]
pub struct MemoryVault(Mutex<HashMap<String, String>>);

impl KeyVault for MemoryVault {
    fn save(&self, run_id: &str, private_key: &str) -> Result<(), DriverError> {
        self.0
            .lock()
            .unwrap()
            .insert(run_id.to_string(), private_key.to_string());
        Ok(())
    }
    fn load(&self, run_id: &str) -> Result<Option<String>, DriverError> {
        Ok(self.0.lock().unwrap().get(run_id).cloned())
    }
    fn remove(&self, run_id: &str) -> Result<(), DriverError> {
        self.0.lock().unwrap().remove(run_id);
        Ok(())
    }
}

/// Which address and port an instance is reached at over SSH.
pub type SshAddress = dyn Fn(&Ec2Instance) -> Option<(String, u16)> + Send + Sync;

/// The default: the public address when there is one, else the private one; port 22.
pub fn default_ssh_address(i: &Ec2Instance) -> Option<(String, u16)> {
    i.public_ip
        .clone()
        .or_else(|| i.private_ip.clone())
        .map(|a| (a, 22))
}

/// One instance reached over SSH: its session, and its directory once prepared.
struct Remote {
    host: Host,
    dir: tokio::sync::OnceCell<RemoteDir>,
}

/// The settings of an `ec2` cloud (secrets from the keychain).
#[derive(Clone, Debug)]
pub struct Ec2Settings {
    pub region: String,
    pub endpoint: Option<String>,
    pub credentials: Credentials,
    pub subnet_id: Option<String>,
    /// Who may reach port 22; `0.0.0.0/0` when unset (`check` warns).
    pub ssh_cidr: Option<String>,
}

/// What the engine keeps of an instance (`Provisioned::state`): enough to reach and terminate
/// it from another process. Its addresses are not kept: they are asked of DescribeInstances
/// when needed (a public address comes only once the instance runs). Never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceState {
    pub instance_id: String,
    pub region: String,
    pub key_name: String,
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
}

/// A run's key pair and security group, made once per run and process.
#[derive(Clone, Debug)]
struct RunResources {
    key_name: String,
    group_id: String,
}

/// A run's last DescribeInstances answer and when it came.
type PollSlot = tokio::sync::Mutex<Option<(Instant, Vec<Ec2Instance>)>>;

pub struct Ec2Driver {
    api: Ec2Api,
    settings: Ec2Settings,
    runs: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<RunResources>>>>,
    /// Per run: the last DescribeInstances answer, shared by every instance waiting to boot.
    polls: Mutex<HashMap<String, Arc<PollSlot>>>,
    /// How often a run's instances are described while some boot.
    pub poll_interval: Duration,
    /// Makes a run's key pair: (public key, private key), both in OpenSSH format.
    pub key_maker: Box<dyn Fn() -> Result<(String, String), DriverError> + Send + Sync>,
    /// Where private keys are kept for other processes.
    vault: Arc<dyn KeyVault>,
    /// The cloud's name, for messages.
    cloud: String,
    /// Per run: how to log in to its instances (its private key).
    connectors: Mutex<HashMap<String, Arc<Connector>>>,
    /// Open sessions, by instance id.
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    /// Where an instance is reached over SSH ([`default_ssh_address`]; tests point it at a
    /// local sshd).
    pub ssh_address: Box<SshAddress>,
    /// How long one SSH connection attempt may take.
    pub ssh_timeout: Duration,
    /// How long a new instance may take until its SSH port answers and accepts the run's key.
    pub ssh_wait: Duration,
}

/// `slipway-RUN`: the name of a run's key pair and security group.
pub fn resource_name(run_id: &str) -> String {
    format!("slipway-{run_id}")
}

impl Ec2Driver {
    /// A driver whose runs get fresh ed25519 keys made in memory, kept in `vault`.
    pub fn new(
        cloud: impl Into<String>,
        settings: Ec2Settings,
        vault: Arc<dyn KeyVault>,
    ) -> Result<Ec2Driver, DriverError> {
        let api = Ec2Api::new(
            &settings.region,
            settings.endpoint.as_deref(),
            settings.credentials.clone(),
        )?;
        Ok(Ec2Driver {
            api,
            settings,
            runs: Mutex::new(HashMap::new()),
            polls: Mutex::new(HashMap::new()),
            poll_interval: Duration::from_secs(2),
            key_maker: Box::new(|| crate::keys::new_key_pair("slipway")),
            vault,
            cloud: cloud.into(),
            connectors: Mutex::new(HashMap::new()),
            remotes: Mutex::new(HashMap::new()),
            ssh_address: Box::new(default_ssh_address),
            ssh_timeout: Duration::from_secs(15),
            ssh_wait: Duration::from_secs(10 * 60),
        })
    }

    fn connector_with(&self, run_id: &str, private_key: String) -> Arc<Connector> {
        let c = Arc::new(Connector::new(
            self.cloud.clone(),
            Key::Secret(private_key),
            KnownHosts::Remember,
            PathBuf::new(),
            self.ssh_timeout,
        ));
        self.connectors
            .lock()
            .unwrap()
            .insert(run_id.to_string(), c.clone());
        c
    }

    /// How to log in to the run's instances: the key made here, else the one in the vault.
    async fn connector(&self, run_id: &str) -> Result<Arc<Connector>, DriverError> {
        if let Some(c) = self.connectors.lock().unwrap().get(run_id) {
            return Ok(c.clone());
        }
        let vault = self.vault.clone();
        let run = run_id.to_string();
        let key = blocking(move || vault.load(&run)).await?;
        let key = key.ok_or_else(|| {
            DriverError::auth(format!(
                "the SSH key of run {run_id} is not in the keychain any more, so its instances cannot be reached"
            ))
        })?;
        Ok(self.connector_with(run_id, key))
    }

    /// The run's instance `id`, described (again, when the last answer lacks its address).
    async fn instance(&self, run_id: &str, id: &str) -> Result<Ec2Instance, DriverError> {
        let found = |all: Vec<Ec2Instance>| all.into_iter().find(|i| i.id == id);
        if let Some(i) =
            found(self.described(run_id).await?).filter(|i| (self.ssh_address)(i).is_some())
        {
            return Ok(i);
        }
        let fresh = self.api.run_instances_of(run_id).await?;
        found(fresh).ok_or_else(|| {
            DriverError::not_found(format!("instance {id} of run {run_id} does not exist"))
        })
    }

    /// The instance's session and prepared directory: on first use, waits until its SSH port
    /// answers and takes the run's key (a new instance boots sshd after EC2 says `running`).
    async fn remote(
        &self,
        run_id: &str,
        p: &Provisioned,
    ) -> Result<(Arc<Remote>, RemoteDir), DriverError> {
        let existing = self.remotes.lock().unwrap().get(&p.resource_id).cloned();
        let remote = match existing {
            Some(r) => r,
            None => {
                let state: InstanceState = p.state_as()?;
                let described = self.instance(run_id, &state.instance_id).await?;
                let (host, port) = (self.ssh_address)(&described).ok_or_else(|| {
                    DriverError::other(format!(
                        "{} ({}) has no address to reach it over SSH",
                        p.name, state.instance_id
                    ))
                })?;
                let target = Target {
                    user: state.login_user.clone().unwrap_or_else(|| "root".into()),
                    host,
                    port,
                };
                let connector = self.connector(run_id).await?;
                let r = Arc::new(Remote {
                    host: Host::new(connector, target),
                    dir: tokio::sync::OnceCell::new(),
                });
                self.remotes
                    .lock()
                    .unwrap()
                    .entry(p.resource_id.clone())
                    .or_insert(r)
                    .clone()
            }
        };
        let dir = remote
            .dir
            .get_or_try_init(|| async {
                self.wait_for_ssh(&remote.host, p).await?;
                let rel = slipway_driver_ssh::instance_rel(run_id, &p.name);
                let (_home, dir) = remote::prepare_in_home(&remote.host, &rel).await?;
                Ok::<_, DriverError>(dir)
            })
            .await?
            .clone();
        Ok((remote, dir))
    }

    /// Connects, retrying while the port is closed or the key not yet installed.
    async fn wait_for_ssh(&self, host: &Host, p: &Provisioned) -> Result<(), DriverError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(500);
        loop {
            let e = match host.open(Pinning::Pin).await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let waiting = matches!(
                e.kind,
                slipway_driver::ErrorKind::Transient | slipway_driver::ErrorKind::Auth
            );
            if !waiting || start.elapsed() + pause > self.ssh_wait {
                return Err(DriverError::new(
                    if waiting {
                        slipway_driver::ErrorKind::Other
                    } else {
                        e.kind
                    },
                    format!(
                        "cannot log in to {} ({}) over SSH as `{}` after {} s: {}",
                        p.name,
                        p.resource_id,
                        host.target.user,
                        start.elapsed().as_secs(),
                        e.message
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }

    pub fn api(&self) -> &Ec2Api {
        &self.api
    }

    /// An EC2 error for people: credentials refused get what to check.
    fn explain(&self, e: DriverError) -> DriverError {
        if e.kind != slipway_driver::ErrorKind::Auth {
            return e;
        }
        DriverError::new(
            e.kind,
            format!(
                "{} (check `access_key_id` of cloud `{}` and its secret: `slipway secret set {} secret_access_key`)",
                e.message, self.cloud, self.cloud
            ),
        )
    }

    async fn run_resources(&self, run_id: &str) -> Result<RunResources, DriverError> {
        let cell = self
            .runs
            .lock()
            .unwrap()
            .entry(run_id.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let name = resource_name(run_id);
            // A run that has a key already (instances added by `scale` or `resume` in another
            // process) keeps it: its instances only know that one.
            let (vault, run) = (self.vault.clone(), run_id.to_string());
            let (public, private) = match blocking(move || vault.load(&run)).await? {
                Some(private) => (crate::keys::public_of(&private)?, private),
                None => {
                    let (public, private) = (self.key_maker)()?;
                    // Kept before EC2 knows the public half: no instance can exist that nobody
                    // can log in to.
                    let (vault, run, key) =
                        (self.vault.clone(), run_id.to_string(), private.clone());
                    blocking(move || vault.save(&run, &key)).await?;
                    (public, private)
                }
            };
            self.api.import_key_pair(&name, run_id, &public).await?;
            self.connector_with(run_id, private);
            let cidr = self.settings.ssh_cidr.as_deref().unwrap_or("0.0.0.0/0");
            let group_id = self.api.ensure_security_group(&name, run_id, cidr).await?;
            Ok::<_, DriverError>(RunResources {
                key_name: name,
                group_id,
            })
        })
        .await
        .cloned()
    }

    /// The run's instances, described at most once per `poll_interval` whoever asks.
    async fn described(&self, run_id: &str) -> Result<Vec<Ec2Instance>, DriverError> {
        let slot = self
            .polls
            .lock()
            .unwrap()
            .entry(run_id.to_string())
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some((at, instances)) = cached.as_ref() {
            if at.elapsed() < self.poll_interval {
                return Ok(instances.clone());
            }
        }
        let instances = self.api.run_instances_of(run_id).await?;
        *cached = Some((Instant::now(), instances.clone()));
        Ok(instances)
    }

    async fn provision_node(
        &self,
        run_id: &str,
        res: &RunResources,
        node: &str,
        specs: &[&slipway_driver::InstanceSpec],
    ) -> Vec<Result<Provisioned, DriverError>> {
        let image = specs[0].image.clone().unwrap_or_default();
        let Some(ami) = image.image.as_deref() else {
            let e = DriverError::bad_settings(format!(
                "node {node}: its image has no `ec2` mapping with an `image:` (an AMI id)"
            ));
            return specs.iter().map(|_| Err(e.clone())).collect();
        };
        let instance_type = image.size.as_deref().unwrap_or("t3.micro");
        let first = specs.iter().map(|s| s.index).min().unwrap_or(1);
        // Derived from the run, the node and the indexes: the same call retried is the same
        // request to EC2, and never creates a second set.
        let token = format!("{run_id}-{node}-{first}-{}", specs.len());
        let token: String = token.chars().take(64).collect();
        let request = RunRequest {
            run_id,
            node,
            ami,
            instance_type,
            count: specs.len() as u32,
            key_name: &res.key_name,
            group_id: &res.group_id,
            subnet_id: self.settings.subnet_id.as_deref(),
            client_token: &token,
        };
        let made = match self.api.run_instances(&request).await {
            Ok(made) => made,
            Err(e) => {
                let e = self.explain(DriverError::from(e));
                return specs.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let mut made = made;
        made.sort_by_key(|i| i.launch_index);
        specs
            .iter()
            .enumerate()
            .map(|(n, spec)| {
                let Some(instance) = made.get(n) else {
                    return Err(DriverError::other(format!(
                        "EC2 created {} instances of {node}, not {}",
                        made.len(),
                        specs.len()
                    )));
                };
                let state = InstanceState {
                    instance_id: instance.id.clone(),
                    region: self.settings.region.clone(),
                    key_name: res.key_name.clone(),
                    group_id: res.group_id.clone(),
                    login_user: spec.login_user.clone(),
                };
                let hostname = instance
                    .private_ip
                    .clone()
                    .or_else(|| instance.public_ip.clone())
                    .unwrap_or_default();
                Ok(Provisioned {
                    name: spec.name.clone(),
                    resource_id: instance.id.clone(),
                    hostname,
                    state: serde_json::to_value(state).unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Driver for Ec2Driver {
    fn kind(&self) -> &'static str {
        "ec2"
    }

    /// One call at a time: a provisioning call already covers every node of the run (one
    /// RunInstances per node, concurrently), and one TerminateInstances takes them all.
    fn concurrency(&self) -> usize {
        1
    }

    /// One RunInstances per node: the whole run's instances come in one request, grouped here.
    fn max_batch(&self) -> usize {
        500
    }

    fn max_parallel_steps(&self) -> usize {
        64
    }

    async fn check(&self) -> Result<(), DriverError> {
        self.api
            .call("DescribeRegions", &[])
            .await
            .map(drop)
            .map_err(|e| self.explain(DriverError::from(e)))
    }

    /// Signed DescribeRegions (credentials and endpoint answer), and a warning when port 22 of
    /// every instance would be open to the whole internet.
    async fn check_details(&self) -> Result<Option<String>, DriverError> {
        self.check().await?;
        let mut line = format!(
            "region {} at {} accepts the credentials of {}",
            self.settings.region,
            self.api.endpoint(),
            self.settings.credentials.access_key_id
        );
        if self.settings.ssh_cidr.is_none() {
            line.push_str(&format!(
                "; warning: `ssh_cidr` is not set, so port 22 of every instance is open to 0.0.0.0/0 \
                 (set `ssh_cidr` of cloud `{}` to the addresses this machine connects from, such as 203.0.113.7/32)",
                self.cloud
            ));
        }
        Ok(Some(line))
    }

    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        let res = match self.run_resources(&req.run_id).await {
            Ok(r) => r,
            Err(e) => {
                let e = self.explain(e);
                return req.instances.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let mut by_node: BTreeMap<&str, Vec<(usize, &slipway_driver::InstanceSpec)>> =
            BTreeMap::new();
        for (n, spec) in req.instances.iter().enumerate() {
            by_node.entry(&spec.node).or_default().push((n, spec));
        }
        let mut out: Vec<Option<Result<Provisioned, DriverError>>> =
            (0..req.instances.len()).map(|_| None).collect();
        let calls = by_node.into_iter().map(|(node, mut specs)| {
            specs.sort_by_key(|(_, s)| s.index);
            let res = &res;
            let run_id = req.run_id.as_str();
            async move {
                let only: Vec<&slipway_driver::InstanceSpec> =
                    specs.iter().map(|(_, s)| *s).collect();
                let results = self.provision_node(run_id, res, node, &only).await;
                // The per-instance index tag, once the instances exist.
                for (r, spec) in results.iter().zip(&only) {
                    if let Ok(p) = r {
                        let index = spec.index.to_string();
                        let _ = self.api.tag(&[&p.resource_id], TAG_INDEX, &index).await;
                    }
                }
                specs
                    .into_iter()
                    .map(|(n, _)| n)
                    .zip(results)
                    .collect::<Vec<_>>()
            }
        });
        for (n, r) in futures_util::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
        {
            out[n] = Some(r);
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(DriverError::other("no result"))))
            .collect()
    }

    async fn wait_ready(
        &self,
        run_id: &str,
        instance: &Provisioned,
        cancel: CancellationToken,
    ) -> Result<(), DriverError> {
        let mut pause = self.poll_interval;
        loop {
            let all = self.described(run_id).await?;
            match all.iter().find(|i| i.id == instance.resource_id) {
                Some(i) if i.state == "running" => return Ok(()),
                Some(i)
                    if matches!(i.state.as_str(), "terminated" | "shutting-down" | "stopped") =>
                {
                    return Err(DriverError::not_found(format!(
                        "{} ({}) is {} instead of running",
                        instance.name, i.id, i.state
                    )))
                }
                _ => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => return Err(DriverError::cancelled("cancelled while booting")),
            }
            pause = (pause * 3 / 2).min(Duration::from_secs(15));
        }
    }

    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        let (remote, dir) = tokio::select! {
            r = self.remote(&req.run_id, &req.instance) => r?,
            _ = cancel.cancelled() => return Err(DriverError::cancelled("cancelled while waiting for SSH")),
        };
        let tag = format!("{}/{}", req.run_id, req.instance.name);
        remote::run_step(&remote.host, &dir, &tag, &req, lines, cancel).await
    }

    async fn fetch_reports(
        &self,
        run_id: &str,
        _run_dir: &Path,
        instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        let (remote, dir) = self.remote(run_id, instance).await?;
        remote::fetch_reports(&remote.host, &dir, dest).await
    }

    async fn terminate(
        &self,
        run_id: &str,
        _run_dir: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError> {
        let existing = self.api.run_instances_of(run_id).await?;
        let alive = |id: &str| {
            existing
                .iter()
                .any(|i| i.id == id && i.state != "terminated")
        };
        let ids: Vec<&str> = instances
            .iter()
            .map(|p| p.resource_id.as_str())
            .filter(|id| id.starts_with("i-") && alive(id))
            .collect();
        // The machines go away with everything on them: only their sessions are closed here.
        for p in instances {
            let remote = self.remotes.lock().unwrap().remove(&p.resource_id);
            if let Some(r) = remote {
                r.host.close().await;
            }
        }
        self.api.terminate_instances(&ids).await?;
        // Once none of the run's instances is left, its group and key pair go too.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let left: Vec<Ec2Instance> = self
                .api
                .run_instances_of(run_id)
                .await?
                .into_iter()
                .filter(|i| i.state != "terminated")
                .collect();
            let waiting_for_ours = left
                .iter()
                .any(|i| instances.iter().any(|p| p.resource_id == i.id));
            if !waiting_for_ours {
                if left.is_empty() {
                    let name = resource_name(run_id);
                    for id in self.api.security_groups_named(&name).await? {
                        self.api.delete_security_group(&id).await?;
                    }
                    self.api.delete_key_pair(&name).await?;
                    let (vault, run) = (self.vault.clone(), run_id.to_string());
                    blocking(move || vault.remove(&run)).await?;
                    self.connectors.lock().unwrap().remove(run_id);
                    self.runs.lock().unwrap().remove(run_id);
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DriverError::other(format!(
                    "still not terminated after 10 min: {}",
                    left.iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    async fn list_tagged(&self, run_id: &str, _run_dir: &Path) -> Result<Vec<String>, DriverError> {
        let mut found: Vec<String> = self
            .api
            .run_instances_of(run_id)
            .await?
            .into_iter()
            .filter(|i| i.state != "terminated")
            .map(|i| i.id)
            .collect();
        let name = resource_name(run_id);
        found.extend(
            self.api
                .security_groups_named(&name)
                .await?
                .into_iter()
                .map(|id| format!("security-group:{id}")),
        );
        if self.api.key_pairs(&name).await?.contains(&name) {
            found.push(format!("key-pair:{name}"));
        }
        Ok(found)
    }

    /// Runs named by an instance's `slipway:run` tag (instances not yet terminated), by a
    /// security group or by a key pair named `slipway-RUN`.
    async fn tagged_runs(&self) -> Result<Vec<String>, DriverError> {
        let mut runs = std::collections::BTreeSet::new();
        for i in self.api.tagged_instances().await? {
            if i.state != "terminated" {
                if let Some(run) = i.tag(crate::calls::TAG_RUN) {
                    runs.insert(run.to_string());
                }
            }
        }
        let prefix = resource_name("");
        for (_, name) in self.api.security_groups_with_prefix(&prefix).await? {
            runs.insert(name[prefix.len()..].to_string());
        }
        for name in self.api.key_pairs(&prefix).await? {
            runs.insert(name[prefix.len()..].to_string());
        }
        runs.remove("");
        Ok(runs.into_iter().collect())
    }
}

/// Runs `f` on a blocking thread (the keychain talks D-Bus).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DriverError> + Send + 'static,
) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DriverError::other(format!("the key vault panicked: {e}")))?
}
