//! `slipway clouds list | add | remove | test NAME`. Non-secret settings live in the database;
//! secrets will live in the OS keychain only (`slipway secret set`).

use std::path::Path;

use slipway_engine::Clock;

use crate::exit;
use crate::run_cmd::{bad_input, drivers_for, infra, open_store};

/// Clouds every installation has, whatever is configured.
pub const BUILT_IN: &[(&str, &str)] = &[("local", "local")];

/// Driver kinds this build can run.
pub const RUNNABLE_KINDS: &[&str] = &["local"];

/// Configured clouds plus the built-ins, name → kind.
pub fn known_clouds(home: &Path) -> Result<Vec<(String, String)>, String> {
    let store = open_store(home)?;
    let mut all: Vec<(String, String)> = BUILT_IN
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    for c in store.list_clouds().map_err(|e| e.to_string())? {
        if !all.iter().any(|(n, _)| n == &c.name) {
            all.push((c.name, c.kind));
        }
    }
    Ok(all)
}

pub fn list(json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let configured = match store.list_clouds() {
        Ok(c) => c,
        Err(e) => return infra(json, &e.to_string()),
    };
    if json {
        let mut rows: Vec<serde_json::Value> = BUILT_IN
            .iter()
            .map(|(n, k)| serde_json::json!({ "name": n, "kind": k, "built_in": true, "settings": {} }))
            .collect();
        rows.extend(configured.iter().map(|c| {
            serde_json::json!({ "name": c.name, "kind": c.kind, "built_in": false, "settings": c.settings })
        }));
        println!("{}", serde_json::Value::Array(rows));
        return exit::SUCCESS;
    }
    println!("{:<20} {:<10} SETTINGS", "NAME", "KIND");
    for (n, k) in BUILT_IN {
        println!("{n:<20} {k:<10} (built in)");
    }
    for c in configured {
        let settings: Vec<String> = c
            .settings
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        println!("{:<20} {:<10} {}", c.name, c.kind, settings.join(" "));
    }
    exit::SUCCESS
}

pub fn add(name: &str, kind: &str, settings: &[String], json: bool) -> i32 {
    if BUILT_IN.iter().any(|(n, _)| *n == name) {
        return bad_input(json, &format!("`{name}` is a built-in cloud"));
    }
    let mut map = serde_json::Map::new();
    for s in settings {
        let Some((k, v)) = s.split_once('=') else {
            return bad_input(json, &format!("--setting `{s}` is not `KEY=VALUE`"));
        };
        map.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let mut store = match open_store(&slipway_store::data_dir()) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let at = slipway_engine::SystemClock.now_ms();
    match store.add_cloud(name, kind, &map, at) {
        Ok(c) => {
            if json {
                println!("{}", serde_json::json!({ "name": c.name, "kind": c.kind }));
            } else {
                println!("added cloud `{}` ({})", c.name, c.kind);
                if !RUNNABLE_KINDS.contains(&kind) {
                    eprintln!("note: this build cannot run `{kind}` clouds yet; runs on it will fail with exit 3");
                }
            }
            exit::SUCCESS
        }
        Err(e)
            if matches!(
                e.kind(),
                slipway_store::ErrorKind::Invalid | slipway_store::ErrorKind::AlreadyExists
            ) =>
        {
            bad_input(json, &e.to_string())
        }
        Err(e) => infra(json, &e.to_string()),
    }
}

pub fn remove(name: &str, json: bool) -> i32 {
    let mut store = match open_store(&slipway_store::data_dir()) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    match store.remove_cloud(name) {
        Ok(true) => {
            if !json {
                println!("removed cloud `{name}`");
            }
            exit::SUCCESS
        }
        Ok(false) => bad_input(json, &format!("there is no configured cloud `{name}`")),
        Err(e) => infra(json, &e.to_string()),
    }
}

/// Checks a cloud's settings and credentials without creating anything.
pub fn test(name: &str, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let clouds = match known_clouds(&home) {
        Ok(c) => c,
        Err(e) => return infra(json, &e),
    };
    if !clouds.iter().any(|(n, _)| n == name) {
        return bad_input(
            json,
            &format!("there is no cloud `{name}` (see `slipway clouds list`)"),
        );
    }
    let drivers = match drivers_for(&home, [name]) {
        Ok(d) => d,
        Err(e) => return e.report(json),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(drivers[name].check());
    match result {
        Ok(()) => {
            if json {
                println!("{}", serde_json::json!({ "cloud": name, "ok": true }));
            } else {
                println!("cloud `{name}`: ok");
            }
            exit::SUCCESS
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "cloud": name, "ok": false, "kind": e.kind.as_str(), "message": e.message })
                );
            } else {
                eprintln!("cloud `{name}`: {} ({})", e.message, e.kind.as_str());
            }
            exit::INFRASTRUCTURE
        }
    }
}
