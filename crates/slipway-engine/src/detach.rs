//! A run owned by a background process: the one mechanism behind `slipway run --detach` and the
//! desktop's Launch. The run is recorded first (so `slipway status RUN` and the app see it at
//! once), then a `slipway run FILE --internal-run-id ID` process is started in its own process
//! group, given the `--set` values through a pipe (never on a command line, which every user of
//! the machine can read), and made the run's owner. The caller may exit or close its window: the
//! run goes on, and everyone follows it through the store.
//!
//! Never: pass a value of an input on the command line, or wait for the run.

use std::path::{Path, PathBuf};

use slipway_recipe::KeepRunning;
use slipway_store::{ModuleRef, NewRun, Store};

/// What a background owner needs to start a run.
#[derive(Clone, Debug)]
pub struct Detach<'a> {
    /// The `slipway` binary that becomes the owner.
    pub exe: &'a Path,
    /// The recipe file it runs (read again by the owner; its text is `recipe_text`).
    pub file: &'a Path,
    pub run_id: &'a str,
    /// The deployment's name.
    pub name: &'a str,
    pub recipe_text: &'a str,
    pub keep: KeepRunning,
    /// `--cloud`, when given.
    pub cloud: Option<&'a str>,
    /// `--node-cloud node=C` values.
    pub node_clouds: &'a [String],
    /// `--set node.input=value` values; may hold secrets.
    pub sets: &'a [String],
    /// The run's directory (`$SLIPWAY_HOME/runs/ID`); the owner's output goes to `engine.log`.
    pub run_dir: &'a Path,
    /// The library module versions the run uses; empty for a run of a file.
    pub modules: &'a [ModuleRef],
    pub now: i64,
}

/// Records the run and starts its background owner; the owner's process (its caller may wait
/// for it to reap it, or drop it). `Err` is a message about the store, the run directory or the
/// process, and the run is then not started.
pub fn start_detached(store: &mut Store, d: &Detach<'_>) -> Result<std::process::Child, String> {
    let (pid, start) = slipway_store::current_process_identity();
    store
        .create_run(&NewRun {
            id: d.run_id.to_string(),
            name: d.name.to_string(),
            keep_running: d.keep,
            recipe_text: d.recipe_text.to_string(),
            default_cloud: d.cloud.unwrap_or("local").to_string(),
            created_at: d.now,
            owner_pid: pid,
            owner_start_time: start,
        })
        .map_err(|e| e.to_string())?;
    if !d.modules.is_empty() {
        store
            .set_run_modules(d.run_id, d.modules)
            .map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(d.run_dir).map_err(|e| format!("{}: {e}", d.run_dir.display()))?;
    let log = std::fs::File::create(d.run_dir.join("engine.log"))
        .map_err(|e| format!("{}: {e}", d.run_dir.display()))?;
    let mut cmd = std::process::Command::new(d.exe);
    cmd.arg("run").arg(d.file);
    if let Some(c) = d.cloud {
        cmd.args(["--cloud", c]);
    }
    for nc in d.node_clouds {
        cmd.args(["--node-cloud", nc]);
    }
    cmd.args(["--keep", d.keep.as_str(), "--internal-run-id", d.run_id]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(
            log.try_clone()
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
        )
        .stderr(std::process::Stdio::from(log));
    // Its own process group: a Ctrl-C in the caller's terminal, or the app's window closing,
    // does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "could not start the background run ({}): {e}",
            d.exe.display()
        )
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let sets = serde_json::to_vec(d.sets).unwrap_or_default();
        stdin
            .write_all(&sets)
            .map_err(|e| format!("could not hand the run its values: {e}"))?;
    }
    // The background process owns the run from now on (it claims it again itself).
    if let Some((pid, start)) = slipway_store::process_identity(child.id()) {
        let _ = store.claim_run(d.run_id, pid, start);
    }
    Ok(child)
}

/// The `slipway` binary for a host other than the CLI: `$SLIPWAY_CLI`, else `slipway` next to
/// the running executable (as installed and as built by cargo), else `slipway` on the `PATH`.
pub fn cli_executable() -> PathBuf {
    if let Some(p) = std::env::var_os("SLIPWAY_CLI") {
        return PathBuf::from(p);
    }
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("slipway")))
        .filter(|p| p.is_file())
    {
        return sibling;
    }
    PathBuf::from("slipway")
}
