//! The `ec2` driver: per run a key pair and a security group, one RunInstances per node (batched
//! by the engine up to `max_batch`), one DescribeInstances per poll for all of a run's instances,
//! and a teardown that leaves no instance, group or key pair of the run.
//!
//! Recipes run over SSH (the `ssh` driver's transport, through `slipway_driver::remote`); until
//! that transport is wired in, `run_step` refuses with a clear message.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use slipway_driver::{
    Driver, DriverError, OutputLine, ProvisionRequest, Provisioned, StepRequest, StepResult,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{Credentials, Ec2Api};
use crate::calls::{Ec2Instance, RunRequest, TAG_INDEX};

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
/// it from another process. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceState {
    pub instance_id: String,
    pub region: String,
    pub key_name: String,
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
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
    /// The public half of each run's key (the private half never leaves memory here).
    keys: Mutex<HashMap<String, String>>,
    /// Makes a run's key pair: (public key, private key), both in OpenSSH format.
    pub key_maker: Box<dyn Fn() -> Result<(String, String), DriverError> + Send + Sync>,
}

/// `slipway-RUN`: the name of a run's key pair and security group.
pub fn resource_name(run_id: &str) -> String {
    format!("slipway-{run_id}")
}

impl Ec2Driver {
    /// A driver whose runs get fresh ed25519 keys made in memory.
    pub fn new(settings: Ec2Settings) -> Result<Ec2Driver, DriverError> {
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
            keys: Mutex::new(HashMap::new()),
            key_maker: Box::new(|| crate::keys::new_key_pair("slipway")),
        })
    }

    pub fn api(&self) -> &Ec2Api {
        &self.api
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
            let (public, private) = (self.key_maker)()?;
            self.api.import_key_pair(&name, run_id, &public).await?;
            self.keys
                .lock()
                .unwrap()
                .insert(run_id.to_string(), private);
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
                let e = DriverError::from(e);
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
                    public_ip: instance.public_ip.clone(),
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

    fn concurrency(&self) -> usize {
        4
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
            .map_err(DriverError::from)
    }

    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        let res = match self.run_resources(&req.run_id).await {
            Ok(r) => r,
            Err(e) => return req.instances.iter().map(|_| Err(e.clone())).collect(),
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
        _lines: mpsc::Sender<OutputLine>,
        _cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        Err(DriverError::other(format!(
            "the {} recipe cannot run on {}: this build of the ec2 driver has no SSH transport yet",
            req.step, req.instance.name
        )))
    }

    async fn fetch_reports(
        &self,
        _run_id: &str,
        _run_dir: &Path,
        _instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        std::fs::create_dir_all(dest)
            .map_err(|e| DriverError::other(format!("cannot create {}: {e}", dest.display())))?;
        Ok(Vec::new())
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
                    self.keys.lock().unwrap().remove(run_id);
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
}
