//! `slipway runs`, `status RUN`, `logs RUN [INSTANCE] [--follow]`, `terminate RUN`,
//! `scale RUN NODE +N|-N`, `resume RUN`.

use std::time::Duration;

use slipway_engine::{
    parse_delta, plan_scale, resume_run, scale_run, terminate_run, ResumeError, Scale, ScaleError,
    TerminateError,
};
use slipway_store::{rfc3339, RunSummary, Store};

use crate::common::{
    bad_input, cancel_on_signals, cloud_error, drivers_for, engine_context, infra, open_store,
};
use slipway_engine::exit;

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(rfc3339)
}

fn duration(r: &RunSummary) -> String {
    match (r.started_at, r.ended_at) {
        (Some(a), Some(b)) => format!("{:.1}s", (b - a) as f64 / 1000.0),
        (Some(_), None) if !r.interrupted => "running".into(),
        _ => "-".into(),
    }
}

fn summary_json(r: &RunSummary) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "name": r.name,
        "state": r.display_state(),
        "started_at": time(r.started_at.or(Some(r.created_at))),
        "ended_at": time(r.ended_at),
        "created_at": time(Some(r.created_at)),
        "keep_running": r.keep_running,
        "exit_code": r.exit_code,
        "error": r.error,
        "interrupted": r.interrupted,
    })
}

/// Finds a run by id, unique id prefix, or `last`.
fn resolve(store: &Store, wanted: &str) -> Result<RunSummary, String> {
    let runs = store.list_runs().map_err(|e| e.to_string())?;
    if wanted == "last" {
        return runs
            .into_iter()
            .next()
            .ok_or_else(|| "there are no runs yet".to_string());
    }
    if let Some(r) = runs.iter().find(|r| r.id == wanted) {
        return Ok(r.clone());
    }
    let matches: Vec<&RunSummary> = runs.iter().filter(|r| r.id.starts_with(wanted)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("there is no run `{wanted}` (see `slipway runs`)")),
        many => Err(format!(
            "`{wanted}` matches {} runs: {}",
            many.len(),
            many.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn with_store(json: bool, f: impl FnOnce(Store) -> i32) -> i32 {
    match open_store(&slipway_store::data_dir()) {
        Ok(s) => f(s),
        Err(e) => infra(json, &e),
    }
}

pub fn runs(json: bool) -> i32 {
    with_store(json, |store| {
        let runs = match store.list_runs() {
            Ok(r) => r,
            Err(e) => return infra(json, &e.to_string()),
        };
        if json {
            let list: Vec<serde_json::Value> = runs.iter().map(summary_json).collect();
            println!("{}", serde_json::Value::Array(list));
            return exit::SUCCESS;
        }
        if runs.is_empty() {
            println!("no runs yet: start one with `slipway run FILE`");
            return exit::SUCCESS;
        }
        println!(
            "{:<24} {:<20} {:<12} {:<25} {:>9}",
            "RUN", "NAME", "STATE", "STARTED", "DURATION"
        );
        for r in &runs {
            println!(
                "{:<24} {:<20} {:<12} {:<25} {:>9}",
                r.id,
                r.name,
                r.display_state(),
                time(r.started_at.or(Some(r.created_at))).unwrap_or_default(),
                duration(r)
            );
        }
        if runs.iter().any(|r| r.interrupted) {
            println!(
                "\ninterrupted runs lost their process: continue one with `slipway resume RUN`, or clean up with `slipway terminate RUN`"
            );
        }
        exit::SUCCESS
    })
}

pub fn status(run: &str, json: bool) -> i32 {
    with_store(json, |store| {
        let summary = match resolve(&store, run) {
            Ok(r) => r,
            Err(e) => return bad_input(json, &e),
        };
        let detail = match store.run(&summary.id) {
            Ok(Some(d)) => d,
            Ok(None) => return bad_input(json, &format!("there is no run `{run}`")),
            Err(e) => return infra(json, &e.to_string()),
        };
        if json {
            let mut v = match serde_json::to_value(&detail) {
                Ok(v) => v,
                Err(e) => return infra(json, &format!("cannot show run {}: {e}", summary.id)),
            };
            if let Some(o) = v.as_object_mut() {
                o.insert("summary".into(), summary_json(&detail.run));
                // A scale or resume working on the run right now.
                if let Ok(Some(lock)) = store.run_lock(&detail.run.id) {
                    if slipway_store::process_alive(lock.owner_pid, lock.owner_start_time) {
                        o.insert(
                            "in_progress".into(),
                            serde_json::json!({ "operation": lock.operation, "pid": lock.owner_pid, "since": rfc3339(lock.at) }),
                        );
                    }
                }
                o.insert("state".into(), detail.run.display_state().into());
                o.remove("recipe_text");
            }
            // A value that is not there (a run not ended yet, a step without an exit code) is
            // left out, never printed as `null`.
            drop_nulls(&mut v);
            println!("{v}");
            return exit::SUCCESS;
        }
        let r = &detail.run;
        println!("run {}  deployment `{}`", r.id, r.name);
        println!(
            "state {}  keep_running {}  started {}  ended {}  duration {}{}",
            r.display_state(),
            r.keep_running.as_str(),
            time(r.started_at).unwrap_or("-".into()),
            time(r.ended_at).unwrap_or("-".into()),
            duration(r),
            r.exit_code
                .map(|c| format!("  exit {c}"))
                .unwrap_or_default()
        );
        if let Some(e) = &r.error {
            println!("error: {e}");
        }
        if let Ok(Some(lock)) = store.run_lock(&r.id) {
            if slipway_store::process_alive(lock.owner_pid, lock.owner_start_time) {
                println!(
                    "in progress: `{}` (process {}, since {})",
                    lock.operation,
                    lock.owner_pid,
                    rfc3339(lock.at)
                );
            }
        }
        println!("\nINSTANCE        STATE        CLOUD    HOSTNAME         STEPS");
        for i in &detail.instances {
            let steps: Vec<String> = detail
                .steps
                .iter()
                .filter(|s| s.instance == i.name)
                .map(|s| {
                    let took = match (s.started_at, s.ended_at) {
                        (Some(a), Some(b)) => format!(" {:.1}s", (b - a) as f64 / 1000.0),
                        _ => String::new(),
                    };
                    format!("{} {}{took}", s.kind.as_str(), s.state.as_str())
                })
                .collect();
            println!(
                "{:<15} {:<12} {:<8} {:<16} {}",
                i.name,
                i.state.as_str(),
                i.cloud,
                i.hostname.as_deref().unwrap_or("-"),
                steps.join(", ")
            );
            if let Some(reason) = &i.reason {
                println!(
                    "{:<15} failed in {}: {reason}",
                    "",
                    i.failed_step.map(|s| s.as_str()).unwrap_or("-")
                );
            }
        }
        let outputs: Vec<_> = detail
            .params
            .iter()
            .filter(|p| p.kind.as_str() != "builtin")
            .collect();
        if !outputs.is_empty() {
            println!("\nPARAMETERS");
            for p in outputs {
                let value = p.value.replace('\n', "\\n");
                println!(
                    "  {}.{} ({}) = {}",
                    p.instance,
                    p.name,
                    p.kind.as_str(),
                    value
                );
            }
        }
        if !detail.reports.is_empty() {
            let dir = slipway_store::data_dir().join("runs").join(&r.id);
            println!("\nREPORTS (under {})", dir.display());
            for rep in &detail.reports {
                println!("  {} ({} bytes)", rep.path, rep.size);
            }
        }
        exit::SUCCESS
    })
}

pub fn logs(run: &str, instance: Option<&str>, follow: bool, json: bool) -> i32 {
    with_store(json, |store| {
        let summary = match resolve(&store, run) {
            Ok(r) => r,
            Err(e) => return bad_input(json, &e),
        };
        if let Some(i) = instance {
            match store.run(&summary.id) {
                Ok(Some(d)) if d.instances.iter().any(|x| x.name == i) => {}
                Ok(Some(d)) => {
                    let names: Vec<&str> = d.instances.iter().map(|x| x.name.as_str()).collect();
                    return bad_input(
                        json,
                        &format!(
                            "run {} has no instance `{i}` (instances: {})",
                            summary.id,
                            names.join(", ")
                        ),
                    );
                }
                Ok(None) => return bad_input(json, &format!("there is no run `{run}`")),
                Err(e) => return infra(json, &e.to_string()),
            }
        }
        let mut after = 0i64;
        loop {
            let lines = match store.logs(&summary.id, instance, after, 5000) {
                Ok(l) => l,
                Err(e) => return infra(json, &e.to_string()),
            };
            for l in &lines {
                after = after.max(l.id);
                if json {
                    println!("{}", serde_json::to_string(l).unwrap_or_default());
                } else {
                    let who = l.instance.as_deref().unwrap_or("run");
                    let step = l
                        .step
                        .map(|s| format!(" {}", s.as_str()))
                        .unwrap_or_default();
                    let mark = match l.stream.as_str() {
                        "stderr" => "!",
                        "system" => "*",
                        _ => "|",
                    };
                    println!("{who}{step} {mark} {}", l.line);
                }
            }
            if lines.len() == 5000 {
                continue;
            }
            if !follow {
                return exit::SUCCESS;
            }
            // Following: poll the shared database until the run has stopped moving.
            let current = store
                .list_runs()
                .ok()
                .and_then(|r| r.into_iter().find(|x| x.id == summary.id));
            let moving = current.is_some_and(|r| {
                !r.state.is_final() && !r.interrupted && r.state.as_str() != "ready"
            });
            if !moving {
                // One last read for lines written just before the end.
                if let Ok(rest) = store.logs(&summary.id, instance, after, 5000) {
                    if rest.is_empty() {
                        return exit::SUCCESS;
                    }
                    continue;
                }
                return exit::SUCCESS;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

pub fn terminate(run: &str, json: bool) -> i32 {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let summary = match resolve(&store, run) {
        Ok(r) => r,
        Err(e) => return bad_input(json, &e),
    };
    // A run still driven by a live process is stopped through that process first.
    if !summary.state.is_final() && !summary.interrupted {
        if let (Some(pid), Some(start)) = (summary.owner_pid, summary.owner_start_time) {
            stop_process(pid, start);
        }
    }
    // So is a scale (or resume) in progress: it stops its steps and releases the run.
    if let Ok(Some(lock)) = store.run_lock(&summary.id) {
        stop_process(lock.owner_pid, lock.owner_start_time);
    }
    let detail = match store.run(&summary.id) {
        Ok(Some(d)) => d,
        Ok(None) => return bad_input(json, &format!("there is no run `{run}`")),
        Err(e) => return infra(json, &e.to_string()),
    };
    let clouds: Vec<String> = detail.instances.iter().map(|i| i.cloud.clone()).collect();
    let drivers = match drivers_for(&home, &store, clouds.iter().map(String::as_str)) {
        Ok(d) => d,
        Err(e) => return cloud_error(json, &e),
    };
    let ctx = engine_context(&home, store, drivers, json);
    let run_dir = home.join("runs").join(&summary.id);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(terminate_run(&ctx, &summary.id, &run_dir)) {
        Ok(state) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "terminated", "run_id": summary.id, "state": state })
                );
            } else {
                println!(
                    "run {}: terminated, nothing left running ({})",
                    summary.id,
                    state.as_str()
                );
            }
            exit::SUCCESS
        }
        Err(TerminateError::NotFound(id)) => bad_input(json, &format!("there is no run `{id}`")),
        Err(e) => infra(json, &e.to_string()),
    }
}

/// What `scale` and `resume` start from: the run, an engine context with the drivers of the
/// clouds its instances use, its folder, and a runtime.
struct Operation {
    summary: RunSummary,
    /// The run as the store had it when the operation began (before its lock).
    detail: slipway_store::RunDetail,
    ctx: slipway_engine::Context,
    run_dir: std::path::PathBuf,
    runtime: tokio::runtime::Runtime,
}

/// The [`Operation`] on `run`, or the exit code of the problem, reported already.
fn operation(run: &str, json: bool) -> Result<Operation, i32> {
    let home = slipway_store::data_dir();
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return Err(infra(json, &e)),
    };
    let summary = match resolve(&store, run) {
        Ok(r) => r,
        Err(e) => return Err(bad_input(json, &e)),
    };
    let detail = match store.run(&summary.id) {
        Ok(Some(d)) => d,
        Ok(None) => return Err(bad_input(json, &format!("there is no run `{run}`"))),
        Err(e) => return Err(infra(json, &e.to_string())),
    };
    let mut clouds: Vec<String> = detail.instances.iter().map(|i| i.cloud.clone()).collect();
    clouds.sort();
    clouds.dedup();
    let drivers = match drivers_for(&home, &store, clouds.iter().map(String::as_str)) {
        Ok(d) => d,
        Err(e) => return Err(cloud_error(json, &e)),
    };
    let ctx = engine_context(&home, store, drivers, json);
    let run_dir = home.join("runs").join(&summary.id);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    Ok(Operation {
        summary,
        detail,
        ctx,
        run_dir,
        runtime,
    })
}

pub fn scale(run: &str, node: &str, change: &str, dry_run: bool, json: bool) -> i32 {
    let delta = match parse_delta(change) {
        Ok(d) => d,
        Err(e) => return bad_input(json, &e),
    };
    let Operation {
        summary,
        detail,
        ctx,
        run_dir,
        runtime,
    } = match operation(run, json) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // The plan, from the record as it is now; the scale plans again under the run's lock.
    let plan = match plan_scale(&detail, node, delta) {
        Ok(p) => p,
        Err(ScaleError::Refused(m)) => return bad_input(json, &m),
        Err(ScaleError::Infrastructure(m)) => return infra(json, &m),
    };
    if json {
        let mut event = serde_json::to_value(&plan).expect("a plan is JSON");
        event["event"] = "scale_plan".into();
        println!("{event}");
    } else {
        println!("run {}: scale `{node}` {change}:", summary.id);
        for line in plan.describe() {
            println!("  {line}");
        }
    }
    if dry_run {
        return exit::SUCCESS;
    }
    let request = Scale {
        run_id: summary.id.clone(),
        node: node.to_string(),
        delta,
        run_dir,
    };
    let result = runtime.block_on(async {
        let cancel = tokio_util::sync::CancellationToken::new();
        let watcher = tokio::spawn(cancel_on_signals(cancel.clone()));
        let result = scale_run(&ctx, request, cancel).await;
        watcher.abort();
        result
    });
    match result {
        Ok(o) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "event": "scaled",
                        "run_id": summary.id,
                        "node": node,
                        "added": o.added,
                        "removed": o.removed,
                        "failed": o.failed,
                        "exit_code": o.exit_code,
                        "error": o.error,
                    })
                );
            } else {
                let mut parts = Vec::new();
                if !o.added.is_empty() {
                    parts.push(format!("added {}", o.added.join(", ")));
                }
                if !o.removed.is_empty() {
                    parts.push(format!("removed {}", o.removed.join(", ")));
                }
                if !o.failed.is_empty() {
                    parts.push(format!("failed {}", o.failed.join(", ")));
                }
                println!(
                    "run {}: scaled `{node}` {change}: {}; the run stays ready",
                    summary.id,
                    if parts.is_empty() {
                        "nothing changed".to_string()
                    } else {
                        parts.join("; ")
                    }
                );
                if let Some(e) = &o.error {
                    eprintln!("error: {e}");
                }
            }
            o.exit_code
        }
        Err(ScaleError::Refused(m)) => bad_input(json, &m),
        Err(ScaleError::Infrastructure(m)) => infra(json, &m),
    }
}

pub fn resume(run: &str, json: bool) -> i32 {
    let Operation {
        summary,
        ctx,
        run_dir,
        runtime,
        ..
    } = match operation(run, json) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let cancel = tokio_util::sync::CancellationToken::new();
        let watcher = tokio::spawn(cancel_on_signals(cancel.clone()));
        let result = resume_run(&ctx, &summary.id, run_dir, cancel).await;
        watcher.abort();
        result
    });
    match result {
        Ok(outcome) => outcome.exit_code,
        Err(ResumeError::Refused(m)) => bad_input(json, &m),
        Err(ResumeError::Infrastructure(m)) => infra(json, &m),
    }
}

/// Asks another live process (a run's owner, a scale) to stop with SIGTERM, and waits up to two
/// minutes for it to end.
fn stop_process(pid: u32, start: u64) {
    if pid == std::process::id() || !slipway_store::process_alive(pid, start) {
        return;
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while slipway_store::process_alive(pid, start) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes every `null` member of the objects in `v`, recursively.
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            o.retain(|_, m| !m.is_null());
            o.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
