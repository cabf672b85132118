//! The `docker` cloud (SPEC §5): an instance is a container on a Docker Engine (or Podman's
//! Docker-compatible API), reached through the engine's API with `bollard`; recipes run through
//! the exec API by the shared remote-step helper ([`slipway_driver::remote`]).
//!
//! Owns: connecting to the engine (the `endpoint` setting, else `DOCKER_HOST`, else the local
//! socket; TLS with Docker's `ca.pem`, `cert.pem`, `key.pem` from `cert_path` or, as the docker
//! CLI does, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), pulling missing images, one network per run (unless the `network` setting names
//! one), containers that stay up under a small init as PID 1, and finding all of them again by
//! label (`slipway.run`, `slipway.node`, `slipway.index`). Never: shells out to the `docker`
//! CLI, or bind-mounts host paths (files move through the archive endpoints, so a remote engine
//! works the same).

mod transport;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    RemoveContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use slipway_driver::remote::{self, RemoteDir};
use slipway_driver::{
    Driver, DriverError, ErrorKind, InstanceSpec, OutputLine, ProvisionProgress, ProvisionRequest,
    Provisioned, StepRequest, StepResult,
};
use tokio::sync::{mpsc, Mutex, OnceCell};
use tokio_util::sync::CancellationToken;

pub use transport::Container;

/// Labels on every container and network the driver creates.
pub const LABEL_RUN: &str = "slipway.run";
pub const LABEL_NODE: &str = "slipway.node";
pub const LABEL_INDEX: &str = "slipway.index";

/// Where an instance's directory (`remote::RemoteDir`) lives inside its container: writable by
/// whatever user the image runs as.
const INSTANCE_ROOT: &str = "/tmp/slipway";

/// Resource ids of networks, as `list_tagged` returns them beside container ids.
const NETWORK_PREFIX: &str = "network/";

/// The settings of one `docker` cloud (declared in `slipway-clouds`' `settings.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerSettings {
    /// `unix:///…`, `tcp://…`, `http://…`; `None`: `DOCKER_HOST`, then the local socket.
    pub endpoint: Option<String>,
    /// An existing network every container joins; `None`: a network per run.
    pub network: Option<String>,
    /// `linux/amd64`, …: the platform images are pulled and containers created for.
    pub platform: Option<String>,
    /// A directory with `ca.pem`, `cert.pem` and `key.pem` (Docker's `DOCKER_CERT_PATH`):
    /// the engine is reached over TLS, verified against `ca.pem`, with `cert.pem` as the
    /// client's certificate. `None`: TLS only when the endpoint is `https://` or comes from
    /// `DOCKER_HOST` with `DOCKER_TLS_VERIFY` set.
    pub cert_path: Option<String>,
}

/// How long one API request may take, in seconds (bollard's default).
const REQUEST_TIMEOUT: u64 = 120;

/// What the driver keeps per instance (`Provisioned.state`): enough to reach the container
/// from another process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub container: String,
    pub network: String,
    pub root: String,
}

pub struct DockerDriver {
    settings: DockerSettings,
    client: OnceCell<Docker>,
    /// Run id → the run's network, once made (or found) by this process.
    networks: Mutex<HashMap<String, String>>,
    /// Image → set once it is known to be on the engine: one look-up (and at most one pull at
    /// a time) per image, however many containers of a batch use it.
    images: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

/// A bollard error as a person reads it: the engine's own message when it sent one, else the
/// error with its causes (a failed TLS handshake is only named in a cause).
pub(crate) fn api_error(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => {
            let mut text = other.to_string();
            let mut cause = std::error::Error::source(other);
            while let Some(c) = cause {
                let part = c.to_string();
                if !text.contains(&part) {
                    text.push_str(": ");
                    text.push_str(&part);
                }
                cause = c.source();
            }
            text
        }
    }
}

pub(crate) fn status_of(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Which lines of an image pull's progress are worth a person's attention: every change of a
/// layer's status, and its download or extraction at each quarter, not every chunk.
#[derive(Default)]
struct PullProgress {
    /// Layer id → the last status and quarter shown.
    layers: HashMap<String, (String, i64)>,
}

impl PullProgress {
    fn line(&mut self, p: &bollard::models::CreateImageInfo) -> Option<String> {
        let status = p.status.clone().filter(|s| !s.is_empty())?;
        let Some(id) = p.id.clone().filter(|i| !i.is_empty()) else {
            return Some(status);
        };
        let detail = p.progress_detail.as_ref();
        let (current, total) = (
            detail.and_then(|d| d.current).unwrap_or(0),
            detail.and_then(|d| d.total).unwrap_or(0),
        );
        let quarter = if total > 0 { current * 4 / total } else { 0 };
        let last = self.layers.get(&id);
        if last.is_some_and(|(s, q)| *s == status && *q == quarter) {
            return None;
        }
        self.layers.insert(id.clone(), (status.clone(), quarter));
        Some(if total > 0 {
            format!(
                "{id}: {status} {} of {}",
                megabytes(current),
                megabytes(total)
            )
        } else {
            format!("{id}: {status}")
        })
    }
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// `DOCKER_HOST`, when set.
fn docker_host() -> Option<String> {
    std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty())
}

/// `~/x` as a path under the home directory.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// `[a-zA-Z0-9_.-]` only, as container and network names allow.
fn name_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn label_filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    )])
}

impl DockerDriver {
    pub const KIND: &'static str = "docker";

    pub fn new(settings: DockerSettings) -> Self {
        DockerDriver {
            settings,
            client: OnceCell::new(),
            networks: Mutex::new(HashMap::new()),
            images: Mutex::new(HashMap::new()),
        }
    }

    fn endpoint(&self) -> String {
        self.settings
            .endpoint
            .clone()
            .or_else(docker_host)
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
    }

    /// The directory of TLS files, when the engine is reached over TLS: `cert_path`; else, for
    /// an `https://` endpoint or one from `DOCKER_HOST` with `DOCKER_TLS_VERIFY` set (Docker's
    /// convention), `DOCKER_CERT_PATH`, then `~/.docker`. The `why` says where it came from.
    fn tls(&self, endpoint: &str) -> Option<(PathBuf, &'static str)> {
        if let Some(dir) = &self.settings.cert_path {
            return Some((expand_home(dir), "the setting `cert_path`"));
        }
        let from_env = self.settings.endpoint.is_none() && docker_host().is_some();
        let verify =
            from_env && std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
        if !verify && !endpoint.starts_with("https://") {
            return None;
        }
        match std::env::var("DOCKER_CERT_PATH") {
            Ok(dir) if !dir.is_empty() => Some((expand_home(&dir), "DOCKER_CERT_PATH")),
            _ => Some((expand_home("~/.docker"), "the default ~/.docker")),
        }
    }

    /// The client, connected and at an API version the engine speaks.
    async fn docker(&self) -> Result<&Docker, DriverError> {
        self.client
            .get_or_try_init(|| async {
                let endpoint = self.endpoint();
                let tls = self.tls(&endpoint);
                let docker = self.connect(&endpoint, tls.as_ref())?;
                docker.negotiate_version().await.map_err(|e| match &tls {
                    Some((dir, _)) => DriverError::transient(format!(
                        "the Docker Engine at {endpoint} does not answer over TLS (certificates in {}): {}",
                        dir.display(),
                        api_error(&e)
                    )),
                    None => DriverError::transient(format!(
                        "the Docker Engine at {endpoint} does not answer: {}",
                        api_error(&e)
                    )),
                })
            })
            .await
    }

    fn connect(
        &self,
        endpoint: &str,
        tls: Option<&(PathBuf, &'static str)>,
    ) -> Result<Docker, DriverError> {
        let version = bollard::API_DEFAULT_VERSION;
        let connected = match tls {
            Some((dir, why)) => {
                if !(endpoint.starts_with("tcp://") || endpoint.starts_with("https://")) {
                    return Err(DriverError::bad_settings(format!(
                        "TLS ({why}) is for tcp:// endpoints, and the Docker endpoint is {endpoint}"
                    )));
                }
                let [ca, cert, key] = ["ca.pem", "cert.pem", "key.pem"].map(|f| dir.join(f));
                for file in [&ca, &cert, &key] {
                    if !file.is_file() {
                        return Err(DriverError::bad_settings(format!(
                            "TLS to the Docker Engine at {endpoint} needs {} (certificates from {why}), and there is no such file",
                            file.display()
                        )));
                    }
                }
                // bollard asks the process for its TLS provider; this build has ring's.
                let _ = rustls::crypto::ring::default_provider().install_default();
                Docker::connect_with_ssl(endpoint, &key, &cert, &ca, REQUEST_TIMEOUT, version)
            }
            None if endpoint.starts_with("unix://") => {
                Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT, version)
            }
            None if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") => {
                Docker::connect_with_http(endpoint, REQUEST_TIMEOUT, version)
            }
            None => {
                return Err(DriverError::bad_settings(format!(
                    "the Docker endpoint {endpoint} is not one this build reaches: use unix://, tcp:// (TLS with `cert_path`) or https:// (an ssh:// engine through an ssh tunnel)"
                )))
            }
        };
        connected.map_err(|e| match e {
            bollard::errors::Error::SocketNotFoundError(path) => DriverError::transient(format!(
                "the Docker Engine at {endpoint} does not answer: there is no socket at {path} (is dockerd, or `podman system service`, running?)"
            )),
            e => DriverError::bad_settings(format!(
                "cannot use the Docker endpoint {endpoint}: {}",
                api_error(&e)
            )),
        })
    }

    /// Engine name, version and API version, for `clouds test`.
    pub async fn engine_version(&self) -> Result<String, DriverError> {
        let docker = self.docker().await?;
        let endpoint = self.endpoint();
        docker.ping().await.map_err(|e| {
            DriverError::transient(format!(
                "the Docker Engine at {endpoint} does not answer: {}",
                api_error(&e)
            ))
        })?;
        let v = docker.version().await.map_err(|e| {
            DriverError::transient(format!(
                "the Docker Engine at {endpoint} does not say its version: {}",
                api_error(&e)
            ))
        })?;
        let product = v
            .platform
            .as_ref()
            .map(|p| p.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Docker Engine".into());
        Ok(format!(
            "{product} {} (API {}) at {endpoint}",
            v.version.as_deref().unwrap_or("?"),
            v.api_version.as_deref().unwrap_or("?"),
        ))
    }

    /// Makes sure `image` is present, pulling it when it is not (saying how the pull goes in
    /// `instance`'s provisioning log); once per image and process (a failed attempt is tried
    /// again by the next container).
    async fn ensure_image(
        &self,
        image: &str,
        progress: &ProvisionProgress,
        instance: &str,
    ) -> Result<(), DriverError> {
        let known = self
            .images
            .lock()
            .await
            .entry(image.to_string())
            .or_default()
            .clone();
        known
            .get_or_try_init(|| self.look_up_or_pull(image, progress, instance))
            .await
            .map(|_| ())
    }

    async fn look_up_or_pull(
        &self,
        image: &str,
        progress: &ProvisionProgress,
        instance: &str,
    ) -> Result<(), DriverError> {
        let docker = self.docker().await?;
        match docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => {
                return Err(DriverError::transient(format!(
                    "cannot look up the image `{image}`: {}",
                    api_error(&e)
                )))
            }
        }
        progress.line(instance, &format!("pulling the image `{image}`"));
        let mut shown = PullProgress::default();
        let mut pull = docker.create_image(
            Some(CreateImageOptions {
                from_image: Some(image.to_string()),
                platform: self.settings.platform.clone().unwrap_or_default(),
                ..Default::default()
            }),
            None,
            None,
        );
        while let Some(update) = pull.next().await {
            let failed = match update {
                Ok(p) => {
                    if let Some(line) = shown.line(&p) {
                        progress.line(instance, &line);
                    }
                    p.error_detail.and_then(|d| d.message)
                }
                Err(e) => Some(api_error(&e)),
            };
            if let Some(why) = failed {
                return Err(DriverError::not_found(format!(
                    "the image `{image}` is not on the Docker Engine and cannot be pulled: {why}"
                )));
            }
        }
        // A pull that "succeeds" without the image (some registries) is still no image.
        docker.inspect_image(image).await.map(|_| ()).map_err(|e| {
            DriverError::not_found(format!(
                "the image `{image}` is not on the Docker Engine after pulling it: {}",
                api_error(&e)
            ))
        })
    }

    /// The network the run's containers join: the configured one, or the run's own (made once).
    async fn network_for(&self, run_id: &str) -> Result<String, DriverError> {
        if let Some(n) = &self.settings.network {
            return Ok(n.clone());
        }
        let docker = self.docker().await?;
        let mut networks = self.networks.lock().await;
        if let Some(n) = networks.get(run_id) {
            return Ok(n.clone());
        }
        let name = format!("slipway-{}", name_part(run_id));
        let existing = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(label_filter(&[(LABEL_RUN, run_id)])),
            }))
            .await
            .map_err(|e| {
                DriverError::transient(format!("cannot list networks: {}", api_error(&e)))
            })?;
        if !existing.iter().any(|n| n.name.as_deref() == Some(&name)) {
            docker
                .create_network(NetworkCreateRequest {
                    name: name.clone(),
                    driver: Some("bridge".into()),
                    labels: Some(HashMap::from([(LABEL_RUN.to_string(), run_id.to_string())])),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    DriverError::other(format!(
                        "cannot create the network {name}: {}",
                        api_error(&e)
                    ))
                })?;
        }
        networks.insert(run_id.to_string(), name.clone());
        Ok(name)
    }

    async fn provision_one(
        &self,
        run_id: &str,
        spec: &InstanceSpec,
        progress: &ProvisionProgress,
    ) -> Result<Provisioned, DriverError> {
        let image = spec
            .image
            .as_ref()
            .and_then(|i| i.image.clone())
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                DriverError::bad_settings(format!(
                    "{} has no Docker image: map its image with `clouds: {{ docker: {{ image: … }} }}`",
                    spec.name
                ))
            })?;
        self.ensure_image(&image, progress, &spec.name).await?;
        let network = self.network_for(run_id).await?;
        let docker = self.docker().await?;
        let name = format!(
            "slipway-{}-{}-{}",
            name_part(run_id),
            name_part(&spec.node),
            spec.index
        );
        let labels = HashMap::from([
            (LABEL_RUN.to_string(), run_id.to_string()),
            (LABEL_NODE.to_string(), spec.node.clone()),
            (LABEL_INDEX.to_string(), spec.index.to_string()),
        ]);
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            hostname: Some(format!("{}-{}", name_part(&spec.node), spec.index)),
            labels: Some(labels),
            // A machine, not a service: whatever the image would start, the container idles
            // under a small init (PID 1 reaps the daemons recipes leave behind).
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
            cmd: Some(vec![
                "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done".into(),
            ]),
            host_config: Some(HostConfig {
                init: Some(true),
                network_mode: Some(network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings::default(),
                )])),
            }),
            ..Default::default()
        };
        let options = || CreateContainerOptions {
            name: Some(name.clone()),
            platform: self.settings.platform.clone().unwrap_or_default(),
        };
        let created = match docker.create_container(Some(options()), body.clone()).await {
            // Left by an earlier attempt at this instance (a resumed run): replace it.
            Err(e) if status_of(&e) == Some(409) => {
                remove_container(docker, &name).await?;
                docker.create_container(Some(options()), body).await
            }
            other => other,
        }
        .map_err(|e| match status_of(&e) {
            Some(404) => DriverError::not_found(format!(
                "cannot create {}: the image `{image}` or the network {network} is missing: {}",
                spec.name,
                api_error(&e)
            )),
            _ => DriverError::other(format!(
                "cannot create the container {name} for {}: {}",
                spec.name,
                api_error(&e)
            )),
        })?;
        let id = created.id;
        let started = async {
            docker
                .start_container(&id, None)
                .await
                .map_err(|e| format!("cannot start it: {}", api_error(&e)))?;
            let inspected = docker
                .inspect_container(&id, None)
                .await
                .map_err(|e| format!("cannot inspect it: {}", api_error(&e)))?;
            inspected
                .network_settings
                .and_then(|s| s.networks)
                .and_then(|mut n| n.remove(&network))
                .and_then(|e| e.ip_address)
                .filter(|ip| !ip.is_empty())
                .ok_or_else(|| format!("it has no address on the network {network}"))
        }
        .await;
        match started {
            Ok(address) => {
                let state = ContainerState {
                    container: id.clone(),
                    network,
                    root: format!("{INSTANCE_ROOT}/{}", name_part(&spec.name)),
                };
                Ok(Provisioned {
                    name: spec.name.clone(),
                    resource_id: id,
                    hostname: address,
                    state: serde_json::to_value(state).expect("plain strings"),
                })
            }
            Err(why) => {
                let _ = remove_container(docker, &id).await;
                Err(DriverError::other(format!(
                    "the container {name} for {} was created, but {why}",
                    spec.name
                )))
            }
        }
    }

    fn state_of(instance: &Provisioned) -> Result<(ContainerState, RemoteDir), DriverError> {
        let state: ContainerState = instance.state_as()?;
        // A fixed path in the container: the first step creates it, in its own exec.
        let dir = RemoteDir::new(state.root.clone())?.made_by_steps();
        Ok((state, dir))
    }

    /// Every container labelled with the run, running or not.
    async fn run_containers(
        &self,
        docker: &Docker,
        run_id: &str,
    ) -> Result<Vec<bollard::models::ContainerSummary>, DriverError> {
        docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(label_filter(&[(LABEL_RUN, run_id)])),
                ..Default::default()
            }))
            .await
            .map_err(|e| DriverError::other(format!("cannot list containers: {}", api_error(&e))))
    }

    /// Removes the run's own network once no container of the run is left on the engine.
    async fn remove_run_network(&self, run_id: &str) -> Result<(), DriverError> {
        if self.settings.network.is_some() {
            return Ok(());
        }
        let docker = self.docker().await?;
        if !self.run_containers(docker, run_id).await?.is_empty() {
            return Ok(());
        }
        for id in self.networks_of(run_id).await? {
            remove_network(docker, &id).await?;
        }
        self.networks.lock().await.remove(run_id);
        Ok(())
    }

    async fn networks_of(&self, run_id: &str) -> Result<Vec<String>, DriverError> {
        let docker = self.docker().await?;
        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(label_filter(&[(LABEL_RUN, run_id)])),
            }))
            .await
            .map_err(|e| DriverError::other(format!("cannot list networks: {}", api_error(&e))))?;
        Ok(networks.into_iter().filter_map(|n| n.id).collect())
    }

    /// Every run id that labels a container or network on the engine (for `clouds sweep`).
    async fn labelled_runs(&self) -> Result<Vec<String>, DriverError> {
        let docker = self.docker().await?;
        let filter = HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])]);
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| {
                DriverError::other(format!("cannot list containers: {}", api_error(&e)))
            })?;
        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter),
            }))
            .await
            .map_err(|e| DriverError::other(format!("cannot list networks: {}", api_error(&e))))?;
        let mut runs: Vec<String> = containers
            .into_iter()
            .filter_map(|c| c.labels)
            .chain(networks.into_iter().filter_map(|n| n.labels))
            .filter_map(|mut l| l.remove(LABEL_RUN))
            .collect();
        runs.sort();
        runs.dedup();
        Ok(runs)
    }
}

async fn remove_container(docker: &Docker, id: &str) -> Result<(), DriverError> {
    match docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        // Already being removed by another call.
        Err(e) if status_of(&e) == Some(409) && api_error(&e).contains("in progress") => Ok(()),
        Err(e) => Err(DriverError::other(format!(
            "cannot remove the container {}: {}",
            transport::short(id),
            api_error(&e)
        ))),
    }
}

async fn remove_network(docker: &Docker, id: &str) -> Result<(), DriverError> {
    match docker.remove_network(id).await {
        Ok(()) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        Err(e) => Err(DriverError::other(format!(
            "cannot remove the network {}: {}",
            transport::short(id),
            api_error(&e)
        ))),
    }
}

#[async_trait::async_trait]
impl Driver for DockerDriver {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn concurrency(&self) -> usize {
        16
    }

    fn boot_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }

    async fn check(&self) -> Result<(), DriverError> {
        self.engine_version().await?;
        if let Some(network) = &self.settings.network {
            let docker = self.docker().await?;
            docker
                .inspect_network(network, None)
                .await
                .map_err(|e| match status_of(&e) {
                    Some(404) => DriverError::bad_settings(format!(
                        "the network `{network}` does not exist on the Docker Engine"
                    )),
                    _ => DriverError::transient(format!(
                        "cannot inspect the network `{network}`: {}",
                        api_error(&e)
                    )),
                })?;
        }
        Ok(())
    }

    async fn check_details(&self) -> Result<Option<String>, DriverError> {
        self.check().await?;
        self.engine_version().await.map(Some)
    }

    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        let mut out = Vec::with_capacity(req.instances.len());
        for spec in &req.instances {
            out.push(self.provision_one(&req.run_id, spec, &req.progress).await);
        }
        out
    }

    async fn wait_ready(
        &self,
        _run_id: &str,
        instance: &Provisioned,
        _cancel: CancellationToken,
    ) -> Result<(), DriverError> {
        let (state, _dir) = Self::state_of(instance)?;
        let docker = self.docker().await?;
        let inspected = docker
            .inspect_container(&state.container, None)
            .await
            .map_err(|e| {
                DriverError::other(format!(
                    "the container of {} is gone: {}",
                    instance.name,
                    api_error(&e)
                ))
            })?;
        let running = inspected.state.as_ref().and_then(|s| s.running) == Some(true);
        if !running {
            let why = inspected
                .state
                .and_then(|s| s.error.filter(|e| !e.is_empty()))
                .unwrap_or_else(|| "it exited".into());
            return Err(DriverError::other(format!(
                "the container of {} does not run: {why}",
                instance.name
            )));
        }
        Ok(())
    }

    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        let (state, dir) = Self::state_of(&req.instance)?;
        let docker = self.docker().await?;
        let container = Container {
            docker,
            id: &state.container,
        };
        let tag = format!("{}/{}", req.run_id, req.instance.name);
        remote::run_step(&container, &dir, &tag, &req, lines, cancel).await
    }

    async fn fetch_reports(
        &self,
        _run_id: &str,
        _run_dir: &Path,
        instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        let (state, dir) = Self::state_of(instance)?;
        let docker = self.docker().await?;
        let container = Container {
            docker,
            id: &state.container,
        };
        remote::fetch_reports(&container, &dir, dest).await
    }

    async fn terminate(
        &self,
        run_id: &str,
        _run_dir: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError> {
        let docker = self.docker().await?;
        let mut errors = Vec::new();
        for instance in instances {
            let removed = match instance.resource_id.strip_prefix(NETWORK_PREFIX) {
                Some(network) => remove_network(docker, network).await,
                None if instance.resource_id.is_empty() => Ok(()),
                None => remove_container(docker, &instance.resource_id).await,
            };
            if let Err(e) = removed {
                errors.push(e.message);
            }
        }
        if let Err(e) = self.remove_run_network(run_id).await {
            errors.push(e.message);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DriverError::new(ErrorKind::Other, errors.join("; ")))
        }
    }

    async fn tagged_runs(&self) -> Result<Vec<String>, DriverError> {
        self.labelled_runs().await
    }

    async fn list_tagged(&self, run_id: &str, _run_dir: &Path) -> Result<Vec<String>, DriverError> {
        let docker = self.docker().await?;
        let containers = self.run_containers(docker, run_id).await?;
        let mut found: Vec<String> = containers.into_iter().filter_map(|c| c.id).collect();
        found.extend(
            self.networks_of(run_id)
                .await?
                .into_iter()
                .map(|id| format!("{NETWORK_PREFIX}{id}")),
        );
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_shows_status_changes_and_quarters_not_every_chunk() {
        let info =
            |id: &str, status: &str, current: i64, total: i64| bollard::models::CreateImageInfo {
                id: Some(id.into()),
                status: Some(status.into()),
                progress_detail: Some(bollard::models::ProgressDetail {
                    current: Some(current),
                    total: Some(total),
                }),
                ..Default::default()
            };
        let mut shown = PullProgress::default();
        let lines: Vec<String> = [
            info("a1", "Pulling fs layer", 0, 0),
            info("a1", "Downloading", 100_000, 4_000_000),
            info("a1", "Downloading", 200_000, 4_000_000),
            info("a1", "Downloading", 1_000_000, 4_000_000),
            info("a1", "Downloading", 1_100_000, 4_000_000),
            info("a1", "Download complete", 0, 0),
        ]
        .iter()
        .filter_map(|p| shown.line(p))
        .collect();
        assert_eq!(
            lines,
            [
                "a1: Pulling fs layer",
                "a1: Downloading 0.1 MB of 4.0 MB",
                "a1: Downloading 1.0 MB of 4.0 MB",
                "a1: Download complete",
            ]
        );
        let done = bollard::models::CreateImageInfo {
            status: Some("Status: Downloaded newer image for x".into()),
            ..Default::default()
        };
        assert_eq!(
            shown.line(&done).as_deref(),
            Some("Status: Downloaded newer image for x")
        );
    }

    #[test]
    fn names_keep_only_what_docker_allows() {
        assert_eq!(name_part("r-2026/x y"), "r-2026-x-y");
        assert_eq!(name_part("web_1.a"), "web_1.a");
    }
}
