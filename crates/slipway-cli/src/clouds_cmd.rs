//! `slipway clouds list | add | remove | test NAME | sweep NAME [--yes]`, over `slipway-clouds`. Non-secret settings
//! live in the database; secrets only in the OS keychain (`slipway secret set`).

use slipway_engine::{exit, Clock};

use crate::common::{bad_input, cloud_error, drivers_for, infra, keychain, open_store};

pub fn list(json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let (clouds, unavailable) = match slipway_clouds::list_clouds(&store, &keychain(&home)) {
        Ok(c) => c,
        Err(e) => return cloud_error(json, &e),
    };
    if json {
        println!("{}", serde_json::json!(clouds));
    } else {
        println!("{:<20} {:<10} SETTINGS", "NAME", "KIND");
        for c in &clouds {
            let mut shown: Vec<String> = c
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
            shown.extend(
                c.secrets
                    .iter()
                    .map(|s| format!("{}: {}", s.name, s.state.as_str())),
            );
            if c.built_in {
                shown.push("(built in)".into());
            }
            if !c.runnable {
                shown.push("(this build cannot run it yet)".into());
            }
            println!("{:<20} {:<10} {}", c.name, c.kind, shown.join("  "));
        }
    }
    if let Some(why) = unavailable {
        eprintln!("note: {why}");
    }
    exit::SUCCESS
}

pub fn add(name: &str, kind: &str, settings: &[String], json: bool) -> i32 {
    let mut given = Vec::new();
    for s in settings {
        let Some((k, v)) = s.split_once('=') else {
            return bad_input(json, &format!("--setting `{s}` is not `KEY=VALUE`"));
        };
        given.push((k.to_string(), v.to_string()));
    }
    let mut store = match open_store(&slipway_store::data_dir()) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let at = slipway_engine::SystemClock.now_ms();
    match slipway_clouds::configure_cloud(&mut store, name, kind, &given, false, at) {
        Ok(c) => {
            if json {
                println!("{}", serde_json::json!({ "name": c.name, "kind": c.kind }));
            } else {
                println!("added cloud `{}` ({})", c.name, c.kind);
                let secrets: Vec<&str> = slipway_clouds::kind(kind)
                    .into_iter()
                    .flat_map(|k| k.secrets())
                    .map(|s| s.name)
                    .collect();
                for s in secrets {
                    eprintln!(
                        "secret `{s}`: set it with `slipway secret set {name} {s}` if needed"
                    );
                }
                if !slipway_clouds::RUNNABLE_KINDS.contains(&kind) {
                    eprintln!("note: this build cannot run `{kind}` clouds yet; runs on it will fail with exit 3");
                }
            }
            exit::SUCCESS
        }
        Err(e) => cloud_error(json, &e),
    }
}

pub fn remove(name: &str, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let mut store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    match slipway_clouds::remove_cloud(&mut store, &keychain(&home), name) {
        Ok(()) => {
            if json {
                println!("{}", serde_json::json!({ "removed": name }));
            } else {
                println!("removed cloud `{name}` and its keychain entries");
            }
            exit::SUCCESS
        }
        Err(e) => cloud_error(json, &e),
    }
}

/// Forgets the host key pinned for `host` (`HOST:PORT`, `[user@]` and `:22` optional) of a cloud.
pub fn forget_host(name: &str, host: &str, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let mut store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.ends_with(']') || !host.contains(':') {
        format!("{host}:22")
    } else {
        host.to_string()
    };
    match store.forget_host_key(name, &host) {
        Ok(forgot) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "cloud": name, "host": host, "forgotten": forgot })
                );
            } else if forgot {
                println!("forgot the host key of {host} for cloud `{name}`: the next connection pins the key it sees");
            } else {
                println!("no host key of {host} was pinned for cloud `{name}`");
            }
            exit::SUCCESS
        }
        Err(e) => infra(json, &e.to_string()),
    }
}

/// Checks a cloud's settings and credentials without creating anything.
pub fn test(name: &str, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let drivers = match drivers_for(&home, &store, [name]) {
        Ok(d) => d,
        Err(e) => return cloud_error(json, &e),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(drivers[name].check_details());
    match result {
        Ok(details) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "cloud": name, "ok": true, "message": details })
                );
            } else {
                match details {
                    Some(d) => println!("cloud `{name}`: ok: {d}"),
                    None => println!("cloud `{name}`: ok"),
                }
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

/// Resources on cloud `name` tagged with runs the store does not know or that have ended:
/// listed, and with `yes` removed (through the driver's `terminate`, so the same way a run's
/// teardown sweep removes them). Runs still going are left alone.
pub fn sweep(name: &str, yes: bool, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let drivers = match drivers_for(&home, &store, [name]) {
        Ok(d) => d,
        Err(e) => return cloud_error(json, &e),
    };
    let driver = drivers[name].clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runs = match runtime.block_on(driver.tagged_runs()) {
        Ok(r) => r,
        Err(e) => return infra(json, &format!("cloud `{name}`: {}", e.message)),
    };
    let mut failed = Vec::new();
    for run_id in runs {
        let why = match store.run(&run_id) {
            Ok(None) => "unknown run",
            Ok(Some(d)) if d.run.state.is_final() => "ended",
            Ok(Some(_)) => continue,
            Err(e) => return infra(json, &e.to_string()),
        };
        let run_dir = home.join("runs").join(&run_id);
        let left = match runtime.block_on(driver.list_tagged(&run_id, &run_dir)) {
            Ok(l) => l,
            Err(e) => return infra(json, &format!("cloud `{name}`: {}", e.message)),
        };
        if left.is_empty() {
            continue;
        }
        let removed = yes.then(|| {
            let orphans: Vec<slipway_driver::Provisioned> = left
                .iter()
                .map(|id| slipway_driver::Provisioned::new(id.clone(), id.clone(), ""))
                .collect();
            runtime.block_on(driver.terminate(&run_id, &run_dir, &orphans))
        });
        if let Some(Err(e)) = &removed {
            failed.push(format!("{run_id}: {}", e.message));
        }
        let removed = matches!(removed, Some(Ok(())));
        if json {
            println!(
                "{}",
                serde_json::json!({ "run_id": run_id, "why": why, "resources": left, "removed": removed })
            );
        } else {
            for id in &left {
                let verb = if removed { "removed " } else { "" };
                println!("{verb}{run_id} ({why}) {id}");
            }
        }
    }
    if !failed.is_empty() {
        return infra(json, &format!("sweeping failed: {}", failed.join("; ")));
    }
    if !yes && !json {
        eprintln!("(listed only: `slipway clouds sweep {name} --yes` removes them)");
    }
    exit::SUCCESS
}
