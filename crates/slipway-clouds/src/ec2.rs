//! The `ec2` cloud's settings (see `settings.rs`) turned into a
//! [`slipway_driver_ec2::Ec2Driver`]: `secret_access_key` and `session_token` from the keychain
//! (or, with no `access_key_id` setting, all three from the `AWS_*` environment variables), and
//! each run's private SSH key kept in the keychain under `CLOUD/run-key/RUN`.

use std::path::Path;
use std::sync::Arc;

use slipway_driver::{Driver, DriverError};
use slipway_driver_ec2::api::Credentials;
use slipway_driver_ec2::{Ec2Driver, Ec2Settings, KeyVault};
use slipway_secrets::{Keychain, Secret, SecretError};

use crate::CloudError;

fn text<'a>(
    settings: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The keychain entry of a run's private key.
pub fn run_key_entry(run_id: &str) -> String {
    format!("run-key/{run_id}")
}

/// Runs' private keys in the keychain, under the cloud's name.
struct KeychainVault {
    keychain: Keychain,
    cloud: String,
}

fn vault_error(e: SecretError) -> DriverError {
    DriverError::other(format!(
        "the run's SSH key cannot be kept in the keychain: {e}"
    ))
}

impl KeyVault for KeychainVault {
    fn save(&self, run_id: &str, private_key: &str) -> Result<(), DriverError> {
        self.keychain
            .set(
                &self.cloud,
                &run_key_entry(run_id),
                &Secret::new(private_key),
            )
            .map_err(vault_error)
    }
    fn load(&self, run_id: &str) -> Result<Option<String>, DriverError> {
        Ok(self
            .keychain
            .get(&self.cloud, &run_key_entry(run_id))
            .map_err(vault_error)?
            .map(|s| s.expose().to_string()))
    }
    fn remove(&self, run_id: &str) -> Result<(), DriverError> {
        self.keychain
            .remove(&self.cloud, &run_key_entry(run_id))
            .map(drop)
            .map_err(vault_error)
    }
}

pub(crate) fn build(
    cloud: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
    keychain: &Keychain,
    _data_dir: &Path,
) -> Result<Arc<dyn Driver>, CloudError> {
    let bad = |m: String| CloudError::BadInput(format!("cloud `{cloud}`: {m}"));
    let region = text(settings, "region")
        .ok_or_else(|| bad("the `region` setting is missing".into()))?
        .to_string();
    let credentials = match text(settings, "access_key_id") {
        Some(id) => {
            let secret = keychain.get(cloud, "secret_access_key")?.ok_or_else(|| {
                bad(format!(
                    "the secret access key is not in the keychain (`slipway secret set {cloud} secret_access_key`, then type or pipe it)"
                ))
            })?;
            Credentials {
                access_key_id: id.to_string(),
                secret_access_key: secret.expose().to_string(),
                session_token: keychain
                    .get(cloud, "session_token")?
                    .map(|s| s.expose().to_string()),
            }
        }
        None => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => Credentials {
                    access_key_id: id,
                    secret_access_key: secret,
                    session_token: env("AWS_SESSION_TOKEN"),
                },
                _ => {
                    return Err(bad(
                        "no credentials: set `access_key_id` (and `slipway secret set CLOUD secret_access_key`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                            .replace("CLOUD", cloud),
                    ))
                }
            }
        }
    };
    let ec2 = Ec2Settings {
        region,
        endpoint: text(settings, "endpoint").map(str::to_string),
        credentials,
        subnet_id: text(settings, "subnet_id").map(str::to_string),
        ssh_cidr: text(settings, "ssh_cidr").map(str::to_string),
    };
    let vault = Arc::new(KeychainVault {
        keychain: keychain.clone(),
        cloud: cloud.to_string(),
    });
    let driver = Ec2Driver::new(cloud, ec2, vault).map_err(|e| bad(e.message))?;
    Ok(Arc::new(driver))
}
