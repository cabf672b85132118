//! Finding and killing the processes a recipe started, by the marker variables the local driver
//! puts in every step's environment. Children inherit the environment, so a process that was
//! backgrounded, double-forked or moved to its own session with `setsid` still carries them;
//! only a process that rebuilt its environment from scratch (`env -i`) escapes.
//!
//! Linux only: reads `/proc/<pid>/environ`. Elsewhere nothing is found.

use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::DriverError;

/// Set to `<run_id>/<instance>` for every process of an instance.
pub(crate) const INSTANCE_MARKER: &str = "SLIPWAY_LOCAL_TAG";
/// Set to `<run_id>/<instance>/<step file>` for every process of one step run.
pub(crate) const STEP_MARKER: &str = "SLIPWAY_LOCAL_STEP";

/// How long killing may take before giving up (a process stuck in the kernel ignores SIGKILL).
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Every live process (other than this one) whose environment sets `var`, with its value.
/// Zombies have no environment left and are not listed: they run nothing.
pub(crate) fn processes_with(var: &str) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id() as i32;
    let prefix = format!("{var}=");
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        // Gone or not ours to read: either way not a process we could have started.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let value = environ
            .split(|b| *b == 0)
            .find_map(|item| item.strip_prefix(prefix.as_bytes()));
        if let Some(value) = value {
            found.push((pid, String::from_utf8_lossy(value).into_owned()));
        }
    }
    found
}

/// Pids of live processes where `var` is exactly one of `values`.
pub(crate) fn pids_marked(var: &str, values: &[String]) -> Vec<i32> {
    processes_with(var)
        .into_iter()
        .filter(|(_, v)| values.contains(v))
        .map(|(pid, _)| pid)
        .collect()
}

/// Kills (SIGKILL) every process where `var` is exactly one of `values`, rescanning until none is left:
/// a process may fork between a scan and its kill, and its child is caught by the next scan.
/// Done only after two clean scans a moment apart, because a process in the middle of `execve`
/// briefly shows an empty environment. Blocking; bounded by [`KILL_TIMEOUT`].
pub(crate) fn kill_marked_blocking(var: &str, values: &[String]) -> Result<(), DriverError> {
    let deadline = Instant::now() + KILL_TIMEOUT;
    let mut clean_scans = 0;
    loop {
        let pids = pids_marked(var, values);
        if pids.is_empty() {
            clean_scans += 1;
            if clean_scans == 2 {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        clean_scans = 0;
        for pid in &pids {
            // ESRCH: it ended by itself meanwhile, which is what we want anyway.
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        if Instant::now() >= deadline {
            return Err(DriverError::other(format!(
                "processes {pids:?} of {} are still alive {}s after SIGKILL",
                values.join(", "),
                KILL_TIMEOUT.as_secs()
            )));
        }
        // Give the killed processes a moment to exit before looking again.
        thread::sleep(Duration::from_millis(10));
    }
}

/// [`kill_marked_blocking`] off the async threads.
pub(crate) async fn kill_marked(var: &'static str, values: Vec<String>) -> Result<(), DriverError> {
    tokio::task::spawn_blocking(move || kill_marked_blocking(var, &values))
        .await
        .map_err(|e| DriverError::other(format!("killing processes failed: {e}")))?
}

/// Sends `signal` to a process group, ignoring a group that no longer exists.
pub(crate) fn signal_group(pgid: i32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pgid), signal);
}
