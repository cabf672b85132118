//! The `ssh` cloud's settings (see `settings.rs`) turned into a [`slipway_driver_ssh::SshDriver`]:
//! the key from `key_file`, else from the keychain's secret `private_key`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slipway_driver::Driver;
use slipway_driver_ssh::{parse_hosts, Key, KnownHosts, SshConfig, SshDriver};
use slipway_secrets::Keychain;

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

/// `~/x` against `$HOME`.
fn expand(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|| PathBuf::from(path)),
        None => PathBuf::from(path),
    }
}

pub(crate) fn build(
    cloud: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
    keychain: &Keychain,
    data_dir: &Path,
) -> Result<Arc<dyn Driver>, CloudError> {
    let bad = |m: String| CloudError::BadInput(format!("cloud `{cloud}`: {m}"));
    let hosts =
        text(settings, "hosts").ok_or_else(|| bad("the `hosts` setting is missing".into()))?;
    let hosts = parse_hosts(hosts).map_err(|e| bad(e.message))?;
    let known_hosts = match text(settings, "known_hosts").unwrap_or("pin") {
        "pin" => KnownHosts::Pin,
        "strict" => KnownHosts::Strict,
        other => {
            return Err(bad(format!(
                "`known_hosts` is `{other}`, not `pin` or `strict`"
            )))
        }
    };
    // A key file needs no keychain: the keychain is asked only when there is none.
    let key = match text(settings, "key_file") {
        Some(file) => Key::File(expand(file)),
        None => match keychain.get(cloud, "private_key")? {
            Some(s) => Key::Secret(s.expose().to_string()),
            None => {
                return Err(bad(format!(
                    "no key to log in with: configure the cloud with `--setting key_file=PATH`, or store the key in the keychain (`slipway secret set {cloud} private_key < ~/.ssh/id_ed25519`)"
                )))
            }
        },
    };
    Ok(Arc::new(SshDriver::new(SshConfig {
        cloud: cloud.to_string(),
        hosts,
        key,
        known_hosts,
        data_dir: data_dir.to_path_buf(),
        connect_timeout: Duration::from_secs(10),
    })))
}
