//! What every command module shares: opening the store and the keychain, building drivers, and
//! reporting an error with its exit code (SPEC §6). Command modules use this, never each other.

use std::path::Path;
use std::sync::{Arc, Mutex};

use slipway_clouds::CloudError;
use slipway_engine::{exit, Context, Drivers, Hooks, SystemClock};
use slipway_secrets::Keychain;
use slipway_store::Store;

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
pub fn engine_context(store: Store, drivers: Drivers, json: bool) -> Context {
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
