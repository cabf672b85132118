//! What every command module shares: opening the store and the keychain, building drivers, and
//! reporting an error with its exit code (SPEC §6). Command modules use this, never each other.

use std::path::Path;
use std::sync::{Arc, Mutex};

use slipway_clouds::CloudError;
use slipway_engine::{exit, Context, Drivers, Hooks, SecretKeeper, SystemClock};
use slipway_secrets::{Keychain, Secret};
use slipway_store::Store;
use tokio_util::sync::CancellationToken;

use crate::hooks::{JsonHooks, TerminalHooks};

pub fn open_store(home: &Path) -> Result<Store, String> {
    Store::open(home).map_err(|e| e.to_string())
}

/// The keychain entries of the data directory `home`.
pub fn keychain(home: &Path) -> Keychain {
    Keychain::for_home(home)
}

/// The drivers for the clouds a run, a terminate or a test uses (built by `slipway-clouds`).
pub fn drivers_for<'a>(
    home: &Path,
    store: &Store,
    clouds: impl IntoIterator<Item = &'a str>,
) -> Result<Drivers, CloudError> {
    slipway_clouds::drivers_for(store, &keychain(home), clouds)
}

/// The engine's view of this process: the store, the drivers, and how events are shown.
pub fn engine_context(home: &Path, store: Store, drivers: Drivers, json: bool) -> Context {
    let hooks: Arc<dyn Hooks> = if json {
        Arc::new(JsonHooks)
    } else {
        Arc::new(TerminalHooks::new())
    };
    Context {
        store: Arc::new(Mutex::new(store)),
        drivers,
        hooks,
        clock: Arc::new(SystemClock),
        keeper: Some(Arc::new(KeychainKeeper(keychain(home)))),
    }
}

/// The secret values of runs, in the OS keychain entry `run/RUN_ID` of the data directory.
struct KeychainKeeper(Keychain);

impl SecretKeeper for KeychainKeeper {
    fn keep(&self, run_id: &str, values: &str) -> Result<(), String> {
        self.0
            .set_run(run_id, &Secret::new(values))
            .map_err(|e| e.to_string())
    }

    fn recall(&self, run_id: &str) -> Result<Option<String>, String> {
        self.0
            .get_run(run_id)
            .map(|v| v.map(|s| s.expose().to_string()))
            .map_err(|e| e.to_string())
    }

    fn forget(&self, run_id: &str) -> Result<(), String> {
        self.0
            .remove_run(run_id)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Prints a clouds error and gives its exit code.
pub fn cloud_error(json: bool, e: &CloudError) -> i32 {
    match e {
        CloudError::BadInput(m) => bad_input(json, m),
        CloudError::Infrastructure(m) | CloudError::KeychainUnavailable(m) => infra(json, m),
    }
}

pub fn bad_input(json: bool, msg: &str) -> i32 {
    report(json, msg);
    exit::BAD_INPUT
}

pub fn infra(json: bool, msg: &str) -> i32 {
    report(json, msg);
    exit::INFRASTRUCTURE
}

fn report(json: bool, msg: &str) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "error", "message": msg })
        );
    } else {
        // Several problems come one a line, each marked.
        for line in msg.lines() {
            eprintln!("error: {line}");
        }
    }
}

/// Ctrl-C, or SIGTERM from `slipway terminate`, cancels the run (or the scale).
pub async fn cancel_on_signals(cancel: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        _ = async { match hup.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
    cancel.cancel();
}
