//! Clouds (SPEC §5): what each driver kind can be configured with ([`settings`]), and the one
//! place a configured cloud (settings from the store, secrets from the keychain) becomes a ready
//! [`slipway_driver::Driver`]. The CLI and the desktop both build their drivers here.
//!
//! Architecture invariants: no Tauri and no terminal code; secrets come from
//! [`slipway_secrets::Keychain`] only and are handed to a driver, never stored or printed.
//! A new driver goes in a module of its own behind a cargo feature of this crate (`ssh`,
//! `docker`, `ec2`), so that a build for `local` only pulls in none of their dependencies; it
//! implements `slipway_driver::Driver` and is added to [`build_driver`] and [`RUNNABLE_KINDS`].

#[cfg(feature = "ec2")]
mod ec2;
pub mod settings;
#[cfg(feature = "ssh")]
mod ssh;

#[cfg(feature = "ec2")]
pub use ec2::run_key_entry;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use slipway_driver::Driver;
use slipway_secrets::{Keychain, SecretError};
use slipway_store::{Cloud, Store};
use ts_rs::TS;

pub use settings::{check_settings, did_you_mean, kind, kind_infos, KindInfo, SettingInfo, KINDS};

/// Clouds every installation has, whatever is configured: name, kind.
pub const BUILT_IN: &[(&str, &str)] = &[("local", "local")];

/// Driver kinds this build can run.
pub const RUNNABLE_KINDS: &[&str] = &[
    "local",
    #[cfg(feature = "ssh")]
    "ssh",
    #[cfg(feature = "docker")]
    "docker",
    #[cfg(feature = "ec2")]
    "ec2",
];

/// Why a cloud's driver, or its configuration, could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudError {
    /// The user named a cloud that is not configured, or gave bad settings: bad input (exit 2).
    BadInput(String),
    /// A kind this build cannot run, an unreadable store, or a keychain that does not answer:
    /// an infrastructure error (exit 3).
    Infrastructure(String),
    /// No keychain answered, or it is locked (exit 3); the message says how to fix it.
    KeychainUnavailable(String),
}

impl CloudError {
    pub fn message(&self) -> &str {
        match self {
            CloudError::BadInput(m)
            | CloudError::Infrastructure(m)
            | CloudError::KeychainUnavailable(m) => m,
        }
    }
}

impl std::fmt::Display for CloudError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<SecretError> for CloudError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Unavailable(m) => CloudError::KeychainUnavailable(m),
            SecretError::Failed(m) => CloudError::Infrastructure(m),
        }
    }
}

fn infra(e: impl std::fmt::Display) -> CloudError {
    CloudError::Infrastructure(e.to_string())
}

/// The state of one secret setting, as `clouds list` and the desktop show it (never its value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    StoredInKeychain,
    Missing,
    /// No keychain answered, so nobody knows.
    KeychainUnavailable,
}

impl SecretState {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::StoredInKeychain => "stored in keychain",
            SecretState::Missing => "missing",
            SecretState::KeychainUnavailable => "keychain unavailable",
        }
    }
}

/// One cloud as listed: built in or configured, its plain settings and its secrets' states.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct CloudView {
    pub name: String,
    pub kind: String,
    pub built_in: bool,
    /// Whether this build can run it.
    pub runnable: bool,
    #[ts(type = "Record<string, unknown>")]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Every secret setting of the kind, in declaration order.
    pub secrets: Vec<SecretView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct SecretView {
    pub name: String,
    pub state: SecretState,
}

/// Configured clouds plus the built-ins, name → kind.
pub fn known_clouds(store: &Store) -> Result<Vec<(String, String)>, CloudError> {
    let mut all: Vec<(String, String)> = BUILT_IN
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    for c in store.list_clouds().map_err(infra)? {
        if !all.iter().any(|(n, _)| n == &c.name) {
            all.push((c.name, c.kind));
        }
    }
    Ok(all)
}

/// Every cloud with its secrets' states. A keychain that does not answer gives
/// [`SecretState::KeychainUnavailable`] rather than an error, with the reason returned beside.
pub fn list_clouds(
    store: &Store,
    keychain: &Keychain,
) -> Result<(Vec<CloudView>, Option<String>), CloudError> {
    let mut out: Vec<CloudView> = BUILT_IN
        .iter()
        .map(|(n, k)| CloudView {
            name: n.to_string(),
            kind: k.to_string(),
            built_in: true,
            runnable: RUNNABLE_KINDS.contains(k),
            settings: serde_json::Map::new(),
            secrets: Vec::new(),
        })
        .collect();
    let mut unavailable = None;
    for c in store.list_clouds().map_err(infra)? {
        let mut secrets = Vec::new();
        for s in kind(&c.kind).into_iter().flat_map(|k| k.secrets()) {
            let state = if unavailable.is_some() {
                SecretState::KeychainUnavailable
            } else {
                match keychain.is_set(&c.name, s.name) {
                    Ok(true) => SecretState::StoredInKeychain,
                    Ok(false) => SecretState::Missing,
                    Err(e) => {
                        unavailable = Some(e.to_string());
                        SecretState::KeychainUnavailable
                    }
                }
            };
            secrets.push(SecretView {
                name: s.name.to_string(),
                state,
            });
        }
        out.push(CloudView {
            runnable: RUNNABLE_KINDS.contains(&c.kind.as_str()),
            name: c.name,
            kind: c.kind,
            built_in: false,
            settings: c.settings,
            secrets,
        });
    }
    Ok((out, unavailable))
}

/// Adds (or, with `replace`, updates) a cloud after checking its settings against the kind's
/// declaration; nothing is stored when any is wrong.
pub fn configure_cloud(
    store: &mut Store,
    name: &str,
    kind_name: &str,
    given: &[(String, String)],
    replace: bool,
    at: i64,
) -> Result<Cloud, CloudError> {
    if BUILT_IN.iter().any(|(n, _)| *n == name) {
        return Err(CloudError::BadInput(format!(
            "`{name}` is a built-in cloud"
        )));
    }
    let map =
        check_settings(kind_name, given, name).map_err(|p| CloudError::BadInput(p.join("\n")))?;
    let stored = if replace {
        store.update_cloud(name, kind_name, &map, at)
    } else {
        store.add_cloud(name, kind_name, &map, at)
    };
    stored.map_err(|e| match e.kind() {
        slipway_store::ErrorKind::Invalid
        | slipway_store::ErrorKind::AlreadyExists
        | slipway_store::ErrorKind::NotFound => CloudError::BadInput(e.to_string()),
        _ => infra(e),
    })
}

/// The configured cloud `name` and its kind's declaration, for `secret set/remove`: `key` must
/// be a secret setting of that kind.
pub fn secret_setting(
    store: &Store,
    cloud: &str,
    key: &str,
) -> Result<&'static settings::Setting, CloudError> {
    let Some(c) = store.cloud(cloud).map_err(infra)? else {
        let msg = if BUILT_IN.iter().any(|(n, _)| *n == cloud) {
            format!("the built-in cloud `{cloud}` has no secrets")
        } else {
            format!("there is no configured cloud `{cloud}` (see `slipway clouds list`)")
        };
        return Err(CloudError::BadInput(msg));
    };
    let k = kind(&c.kind)
        .ok_or_else(|| infra(format!("cloud `{cloud}` has unknown kind `{}`", c.kind)))?;
    let secrets: Vec<&str> = k.secrets().map(|s| s.name).collect();
    match k.setting(key) {
        Some(s) if s.secret => Ok(s),
        Some(_) => Err(CloudError::BadInput(format!(
            "`{key}` of `{}` clouds is not a secret: set it with `slipway clouds add` (`--setting {key}=…`)",
            c.kind
        ))),
        None => Err(CloudError::BadInput(format!(
            "`{key}` is not a secret of `{}` clouds{}; its secrets: {}",
            c.kind,
            did_you_mean(key, secrets.iter().copied()),
            if secrets.is_empty() { "none".to_string() } else { secrets.join(", ") }
        ))),
    }
}

/// Runs that still need `cloud` (not final: kept `ready`, interrupted or running) and that have
/// an instance on it: removing the cloud would strand their resources.
pub fn runs_using(store: &Store, cloud: &str) -> Result<Vec<String>, CloudError> {
    let mut ids = Vec::new();
    for run in store.non_final_runs().map_err(infra)? {
        let uses = store
            .run(&run.id)
            .map_err(infra)?
            .is_some_and(|d| d.instances.iter().any(|i| i.cloud == cloud));
        if uses {
            ids.push(format!("{} ({})", run.id, run.display_state()));
        }
    }
    Ok(ids)
}

/// Removes a configured cloud and its keychain entries. Refuses while a run still uses it.
/// Secrets are deleted first: a cloud never disappears leaving secrets behind unseen.
pub fn remove_cloud(store: &mut Store, keychain: &Keychain, name: &str) -> Result<(), CloudError> {
    let Some(c) = store.cloud(name).map_err(infra)? else {
        return Err(CloudError::BadInput(format!(
            "there is no configured cloud `{name}`"
        )));
    };
    let runs = runs_using(store, name)?;
    if !runs.is_empty() {
        return Err(CloudError::BadInput(format!(
            "cloud `{name}` is still used by run(s) {}: terminate them first (`slipway terminate RUN`), or their resources would be stranded",
            runs.join(", ")
        )));
    }
    for s in kind(&c.kind).into_iter().flat_map(|k| k.secrets()) {
        keychain.remove(name, s.name)?;
    }
    store.remove_cloud(name).map_err(infra)?;
    Ok(())
}

/// The ready driver of one configured (or built-in) cloud. `data_dir` is the directory of the
/// store (drivers that lease hosts or pin keys keep them there).
pub fn build_driver(
    cloud: &str,
    kind: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
    keychain: &Keychain,
    data_dir: &std::path::Path,
) -> Result<Arc<dyn Driver>, CloudError> {
    #[cfg(not(any(feature = "ssh", feature = "ec2")))]
    let _ = (settings, keychain, data_dir);
    match kind {
        "local" => {
            // Loopback addresses are shared by the whole machine, so their leases live in one
            // machine-wide place, whatever SLIPWAY_HOME each process uses.
            let leases = std::env::temp_dir().join("slipway-local");
            Ok(Arc::new(slipway_driver::LocalDriver::new(leases)))
        }
        #[cfg(feature = "ssh")]
        "ssh" => ssh::build(cloud, settings, keychain, data_dir),
        #[cfg(feature = "docker")]
        "docker" => {
            let get = |key: &str| settings.get(key).and_then(|v| v.as_str()).map(str::to_string);
            Ok(Arc::new(slipway_driver_docker::DockerDriver::new(
                slipway_driver_docker::DockerSettings {
                    endpoint: get("endpoint"),
                    network: get("network"),
                    platform: get("platform"),
                    cert_path: get("cert_path"),
                },
            )))
        }
        #[cfg(feature = "ec2")]
        "ec2" => ec2::build(cloud, settings, keychain, data_dir),
        other => Err(CloudError::Infrastructure(format!(
            "cloud `{cloud}` is of kind `{other}`: this build cannot run `{other}` clouds yet (runnable: {}); its settings and secrets can be configured already",
            RUNNABLE_KINDS.join(", ")
        ))),
    }
}

/// The drivers for the clouds a run (or a terminate, or a test) uses, by cloud name.
pub fn drivers_for<'a>(
    store: &Store,
    keychain: &Keychain,
    clouds: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, Arc<dyn Driver>>, CloudError> {
    let configured = store.list_clouds().map_err(infra)?;
    let data_dir = store.path().parent().unwrap_or(std::path::Path::new("."));
    let mut drivers: HashMap<String, Arc<dyn Driver>> = HashMap::new();
    for cloud in clouds {
        if drivers.contains_key(cloud) {
            continue;
        }
        let empty = serde_json::Map::new();
        let (kind, settings) = if let Some(c) = configured.iter().find(|c| c.name == cloud) {
            (c.kind.as_str(), &c.settings)
        } else if let Some((_, k)) = BUILT_IN.iter().find(|(n, _)| *n == cloud) {
            (*k, &empty)
        } else {
            return Err(CloudError::BadInput(format!(
                "cloud `{cloud}` is not configured (see `slipway clouds list`, `slipway clouds add`)"
            )));
        };
        drivers.insert(
            cloud.to_string(),
            build_driver(cloud, kind, settings, keychain, data_dir)?,
        );
    }
    Ok(drivers)
}

/// The keychain entries of the data directory `store` lives in.
pub fn keychain_of(store: &Store) -> Keychain {
    Keychain::for_home(store.path().parent().unwrap_or(std::path::Path::new(".")))
}

/// What "test connection" found: `ok`, or the driver's exact error.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct CloudTest {
    pub cloud: String,
    pub ok: bool,
    /// The driver's error kind (`bad_settings`, `auth`, …), or `unavailable` when no driver
    /// could be built.
    pub kind: Option<String>,
    /// The error; on success, what answered when the driver says (an engine's version).
    pub message: Option<String>,
}

/// Checks a cloud's settings and credentials without creating anything. A cloud that is not
/// configured is an error; every other failure is the test's answer.
pub fn test_cloud(
    store: &Store,
    keychain: &Keychain,
    cloud: &str,
) -> Result<CloudTest, CloudError> {
    let driver = match drivers_for(store, keychain, [cloud]) {
        Ok(mut d) => d.remove(cloud).expect("the driver asked for"),
        Err(CloudError::Infrastructure(m) | CloudError::KeychainUnavailable(m)) => {
            return Ok(CloudTest {
                cloud: cloud.to_string(),
                ok: false,
                kind: Some("unavailable".into()),
                message: Some(m),
            })
        }
        Err(e) => return Err(e),
    };
    // On a thread of its own: the caller may itself be inside an async runtime (the desktop
    // shell's), where starting and blocking on another one panics.
    let checked = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(infra)?;
                Ok::<_, CloudError>(runtime.block_on(driver.check_details()))
            })
            .join()
            .map_err(|_| infra("the cloud's check panicked"))
    })??;
    Ok(match checked {
        Ok(details) => CloudTest {
            cloud: cloud.to_string(),
            ok: true,
            kind: None,
            message: details,
        },
        Err(e) => CloudTest {
            cloud: cloud.to_string(),
            ok: false,
            kind: Some(e.kind.as_str().to_string()),
            message: Some(e.message),
        },
    })
}

/// The TypeScript declarations of the types above, for `ui/src/bindings/clouds.ts`.
pub fn typescript_bindings() -> String {
    let mut file = slipway_recipe::typescript::BindingsFile::new();
    file.add::<SettingInfo>();
    file.add::<KindInfo>();
    file.add::<SecretState>();
    file.add::<SecretView>();
    file.add::<CloudView>();
    file.add::<CloudTest>();
    file.render(
        "// Generated from the Rust types of crates/slipway-clouds by its `generated` test. Do not edit:\n// run `UPDATE_EXPECT=1 cargo test -p slipway-clouds --test generated` instead.",
        &[],
    )
}
