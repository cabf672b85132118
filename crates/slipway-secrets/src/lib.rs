//! Cloud secrets (SPEC §5) in the OS keychain: Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows.
//!
//! Owns: the keychain entries of one data directory. Never: write a secret anywhere else (no
//! file, no database, no log, no fallback when the keychain is unreachable), or print one (a
//! [`Secret`]'s `Debug` is `***`).
//!
//! Namespacing: every entry's service is `slipway:<16 hex digits>`, the FNV-1a 64-bit hash of the
//! canonical data directory (`SLIPWAY_HOME`), and its user is `CLOUD/KEY` for a cloud's secret, or
//! `run/RUN_ID` for the secret values of a run that still has instances (see [`Keychain::set_run`]). Two data directories on
//! one machine therefore never see each other's secrets. On Linux the entry carries the Secret
//! Service attributes `service` and `username`, so `secret-tool search service slipway:…` lists it.
//!
//! The platform store is named explicitly below (`keyring::secret_service`, `keyring::macos`,
//! `keyring::windows`): those modules exist only when the crate's platform features are on, so a
//! build that would fall back to keyring's in-memory mock does not compile.

use std::fmt;
use std::path::Path;

use keyring::Entry;

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that hands it to a driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why the keychain could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// No keychain is reachable or it is locked; the message says how to fix that.
    Unavailable(String),
    /// The keychain answered with an error.
    Failed(String),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Unavailable(m) | SecretError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SecretError {}

/// What to do when no keychain answers, per platform.
pub const HOW_TO_FIX: &str = if cfg!(target_os = "linux") {
    "start a Secret Service on the session bus and unlock it (GNOME Keyring: `gnome-keyring-daemon --start --components=secrets`, or KeePassXC with Secret Service integration); a headless session needs `dbus-run-session` with `echo PASSWORD | gnome-keyring-daemon --unlock --components=secrets`"
} else if cfg!(target_os = "macos") {
    "unlock the login keychain (Keychain Access)"
} else {
    "make sure Windows Credential Manager is available to this user"
};

/// The keychain entries of one data directory.
#[derive(Clone, Debug)]
pub struct Keychain {
    service: String,
}

impl Keychain {
    /// The entries of the data directory `home` (canonicalised when it exists).
    pub fn for_home(home: &Path) -> Keychain {
        let canonical = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
        Keychain {
            service: format!(
                "slipway:{:016x}",
                fnv1a64(canonical.to_string_lossy().as_bytes())
            ),
        }
    }

    /// The keychain service every entry of this data directory uses.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, cloud: &str, key: &str) -> Result<Entry, SecretError> {
        let user = format!("{cloud}/{key}");
        let credential = platform::builder()
            .build(None, &self.service, &user)
            .map_err(|e| classify(e, cloud, key))?;
        Ok(Entry::new_with_credential(credential))
    }

    /// Stores `value` as `key` of `cloud`, replacing any earlier value.
    pub fn set(&self, cloud: &str, key: &str, value: &Secret) -> Result<(), SecretError> {
        self.entry(cloud, key)?
            .set_password(value.expose())
            .map_err(|e| classify(e, cloud, key))
    }

    /// The stored value, `None` when there is none.
    pub fn get(&self, cloud: &str, key: &str) -> Result<Option<Secret>, SecretError> {
        match self.entry(cloud, key)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e, cloud, key)),
        }
    }

    /// Whether a value is stored, without keeping it.
    pub fn is_set(&self, cloud: &str, key: &str) -> Result<bool, SecretError> {
        self.get(cloud, key).map(|v| v.is_some())
    }

    /// Deletes the value; `false` when there was none.
    pub fn remove(&self, cloud: &str, key: &str) -> Result<bool, SecretError> {
        match self.entry(cloud, key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify(e, cloud, key)),
        }
    }

    /// The entry that holds the secret values of one run (generated values and `--set` values of
    /// secret inputs, as the engine serialises them), under the user `run/RUN_ID`. It exists
    /// while the run has instances: `slipway scale` and `slipway resume` need the values again.
    fn run_entry(&self, run_id: &str) -> Result<Entry, SecretError> {
        self.entry(RUN_PREFIX, run_id)
    }

    /// Stores the secret values of a run, replacing any stored before.
    pub fn set_run(&self, run_id: &str, values: &Secret) -> Result<(), SecretError> {
        self.run_entry(run_id)?
            .set_password(values.expose())
            .map_err(|e| classify_run(e, run_id))
    }

    /// The secret values of a run, `None` when none are kept.
    pub fn get_run(&self, run_id: &str) -> Result<Option<Secret>, SecretError> {
        match self.run_entry(run_id)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify_run(e, run_id)),
        }
    }

    /// Deletes the secret values of a run; `false` when there were none.
    pub fn remove_run(&self, run_id: &str) -> Result<bool, SecretError> {
        match self.run_entry(run_id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify_run(e, run_id)),
        }
    }

    /// Whether the keychain answers at all (reads an entry that is never written).
    pub fn probe(&self) -> Result<(), SecretError> {
        self.get("-", "probe").map(|_| ())
    }
}

/// The user part of run entries: `run/RUN_ID` (run ids start with `r-`, so no cloud's secret
/// setting is ever named like one).
pub const RUN_PREFIX: &str = "run";

fn classify_run(e: keyring::Error, run_id: &str) -> SecretError {
    match classify(e, RUN_PREFIX, run_id) {
        SecretError::Failed(_) => SecretError::Failed(format!(
            "the OS keychain refused the secret values of run `{run_id}`"
        )),
        unavailable => unavailable,
    }
}

fn classify(e: keyring::Error, cloud: &str, key: &str) -> SecretError {
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => {
            SecretError::Unavailable(format!(
                "no OS keychain is available ({inner}); secrets are only ever kept there, never on disk. To fix: {HOW_TO_FIX}"
            ))
        }
        other => SecretError::Failed(format!(
            "the OS keychain refused secret `{key}` of cloud `{cloud}`: {other}"
        )),
    }
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
mod platform {
    pub fn builder() -> Box<keyring::CredentialBuilder> {
        keyring::secret_service::default_credential_builder()
    }
}

#[cfg(target_os = "macos")]
mod platform {
    pub fn builder() -> Box<keyring::CredentialBuilder> {
        keyring::macos::default_credential_builder()
    }
}

#[cfg(target_os = "windows")]
mod platform {
    pub fn builder() -> Box<keyring::CredentialBuilder> {
        keyring::windows::default_credential_builder()
    }
}

/// Whether the store persists secrets beyond the process (the in-memory mock does not).
pub fn backend_persists() -> bool {
    matches!(
        platform::builder().persistence(),
        keyring::credential::CredentialPersistence::UntilDelete
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_differ_per_data_directory_and_are_stable() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ka = Keychain::for_home(a.path());
        assert_ne!(ka.service(), Keychain::for_home(b.path()).service());
        assert_eq!(ka.service(), Keychain::for_home(a.path()).service());
        // A different spelling of the same directory is the same namespace.
        let dotted = a.path().join(".");
        assert_eq!(ka.service(), Keychain::for_home(&dotted).service());
        assert!(ka.service().starts_with("slipway:") && ka.service().len() == 24);
    }

    #[test]
    fn fnv_is_the_published_function() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_backend_is_a_real_store() {
        assert!(
            backend_persists(),
            "keyring would keep secrets in memory only"
        );
    }

    #[test]
    fn a_secret_never_debug_prints() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}
