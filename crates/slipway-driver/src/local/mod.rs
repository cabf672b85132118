//! The built-in `local` driver (SPEC §5): an instance is a sandbox directory
//! `<run_dir>/instances/<name>/` plus a loopback address of its own; recipes run as processes of
//! this machine's user.
//!
//! Sandbox layout: `instance.json` (who it is), `work/` (the recipes' working directory),
//! `report/` (`SLIPWAY_REPORT_DIR`), `steps/NNN-<step>.sh` and `.output` (each step's script and
//! `SLIPWAY_OUTPUT`), and `terminated` once it was terminated. Terminating kills processes and
//! gives the address back but keeps the directory: it belongs to the run's records.
//!
//! Never: install packages on the developer's machine, or hand out 127.0.0.1. Linux only for
//! now: finding a recipe's processes reads `/proc`, and other systems route only 127.0.0.1.

mod addresses;
mod process;
mod procs;

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    parse_outputs, Driver, DriverError, InstanceSpec, OutputLine, ProvisionRequest, Provisioned,
    StepRequest, StepResult,
};
use addresses::{Holder, Leases};
use procs::{kill_marked, processes_with, INSTANCE_MARKER, STEP_MARKER};

/// Marks a sandbox whose instance was terminated.
const TERMINATED_FILE: &str = "terminated";
const INSTANCE_FILE: &str = "instance.json";

/// The `local` driver. Cheap to create; every instance of it that shares a `state_dir` (in this
/// process or another) shares the pool of loopback addresses.
pub struct LocalDriver {
    state_dir: PathBuf,
}

/// What `instance.json` in a sandbox records.
#[derive(Debug, Serialize, Deserialize)]
struct InstanceRecord {
    run_id: String,
    name: String,
    node: String,
    index: u32,
    hostname: String,
    /// The value of `SLIPWAY_LOCAL_TAG` in every process of this instance; also its resource id.
    tag: String,
}

impl LocalDriver {
    pub const KIND: &'static str = "local";

    /// `state_dir` holds the leases of loopback addresses; every Slipway process on this machine
    /// should pass the same one (e.g. `<data dir>/local`).
    pub fn new(state_dir: PathBuf) -> LocalDriver {
        LocalDriver { state_dir }
    }
}

/// The tag of an instance, which is also its resource id: `<run_id>/<name>`.
fn tag(run_id: &str, name: &str) -> String {
    format!("{run_id}/{name}")
}

fn sandbox(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join("instances").join(name)
}

/// Recipes run with other working directories, so every path handed to them is absolute.
fn absolute(path: &Path) -> Result<PathBuf, DriverError> {
    std::path::absolute(path)
        .map_err(|e| DriverError::bad_settings(format!("bad run directory {path:?}: {e}")))
}

fn check_run_id(run_id: &str) -> Result<(), DriverError> {
    if run_id.is_empty() || run_id.contains(['/', '\0', '\n']) {
        return Err(DriverError::bad_settings(format!(
            "run id {run_id:?} cannot be used by the local driver"
        )));
    }
    Ok(())
}

/// Instance names become directory names: `web.1`, never `..` or `a/b`.
fn check_name(what: &str, name: &str) -> Result<(), DriverError> {
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(DriverError::bad_settings(format!(
            "{what} name {name:?} cannot be used by the local driver"
        )))
    }
}

fn io_error(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> DriverError {
    move |e| DriverError::other(format!("{context}: {e}"))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DriverError> + Send + 'static,
) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DriverError::other(format!("internal task failed: {e}")))?
}

/// Creates (or revives) the sandboxes and leases their addresses, all in one locked pass.
fn provision_blocking(
    leases: &Leases,
    run_id: &str,
    run_dir: &Path,
    instances: &[InstanceSpec],
) -> Vec<Result<Provisioned, DriverError>> {
    let mut results: Vec<Result<Provisioned, DriverError>> = Vec::new();
    let mut waiting = Vec::new(); // (result slot, holder)
    for spec in instances {
        let prepared = check_name("instance", &spec.name).and_then(|()| {
            let dir = sandbox(run_dir, &spec.name);
            for sub in ["work", "report", "steps"] {
                fs::create_dir_all(dir.join(sub))
                    .map_err(io_error(format_args!("cannot create {}", dir.display())))?;
            }
            match fs::remove_file(dir.join(TERMINATED_FILE)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("cannot revive the sandbox")(e))
                }
                _ => {}
            }
            Ok(Holder {
                tag: tag(run_id, &spec.name),
                sandbox: dir,
            })
        });
        match prepared {
            Ok(holder) => {
                waiting.push((results.len(), holder));
                results.push(Err(DriverError::other("not provisioned")));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if waiting.is_empty() {
        return results;
    }
    let holders: Vec<Holder> = waiting.iter().map(|(_, h)| h.clone()).collect();
    match leases.allocate(&holders) {
        Ok(addresses) => {
            for ((slot, holder), address) in waiting.into_iter().zip(addresses) {
                let spec = &instances[slot];
                let record = InstanceRecord {
                    run_id: run_id.to_string(),
                    name: spec.name.clone(),
                    node: spec.node.clone(),
                    index: spec.index,
                    hostname: address.to_string(),
                    tag: holder.tag.clone(),
                };
                let json = serde_json::to_string_pretty(&record).unwrap_or_default();
                results[slot] = fs::write(holder.sandbox.join(INSTANCE_FILE), json)
                    .map_err(io_error("cannot write instance.json"))
                    .map(|()| Provisioned::new(spec.name.clone(), holder.tag, address.to_string()));
            }
        }
        Err(e) => {
            let message = format!("cannot lease a loopback address: {e}");
            for (slot, _) in waiting {
                results[slot] = Err(DriverError::other(message.clone()));
            }
        }
    }
    results
}

/// The sandbox of a live instance, or why there is none.
fn live_sandbox(run_dir: &Path, name: &str) -> Result<PathBuf, DriverError> {
    check_name("instance", name)?;
    let dir = sandbox(run_dir, name);
    if !dir.join(INSTANCE_FILE).is_file() {
        return Err(DriverError::not_found(format!(
            "instance {name} has no sandbox in {}",
            run_dir.display()
        )));
    }
    if dir.join(TERMINATED_FILE).exists() {
        return Err(DriverError::not_found(format!(
            "instance {name} was terminated"
        )));
    }
    Ok(dir)
}

/// Creates `steps/NNN-<step>.sh` with the script and an empty `NNN-<step>.output`; returns both
/// paths and the `NNN-<step>` stem.
fn new_step_files(dir: &Path, step: &str, script: &str) -> io::Result<(PathBuf, PathBuf, String)> {
    let steps = dir.join("steps");
    fs::create_dir_all(&steps)?;
    let mut number = fs::read_dir(&steps)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            name.split('-').next()?.parse::<u32>().ok()
        })
        .max()
        .unwrap_or(0);
    loop {
        number += 1;
        let stem = format!("{number:03}-{step}");
        let script_path = steps.join(format!("{stem}.sh"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&script_path)
        {
            Ok(mut file) => {
                io::Write::write_all(&mut file, script.as_bytes())?;
                let output_path = steps.join(format!("{stem}.output"));
                fs::write(&output_path, "")?;
                return Ok((script_path, output_path, stem));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The program and arguments that run `script_path`: the `#!` line's interpreter (with its one
/// optional argument, as Linux does) or `/bin/sh -e`.
fn interpreter(script: &str, script_path: &Path) -> (OsString, Vec<OsString>) {
    let first = script.lines().next().unwrap_or("");
    if let Some(shebang) = first.strip_prefix("#!") {
        let shebang = shebang.trim();
        if !shebang.is_empty() {
            let (program, argument) = match shebang.split_once([' ', '\t']) {
                Some((program, argument)) => (program, Some(argument.trim())),
                None => (shebang, None),
            };
            let mut args: Vec<OsString> = argument
                .filter(|a| !a.is_empty())
                .map(OsString::from)
                .into_iter()
                .collect();
            args.push(script_path.into());
            return (program.into(), args);
        }
    }
    ("/bin/sh".into(), vec!["-e".into(), script_path.into()])
}

/// The base environment of every step on `local` (documented in docs/recipe-format.md): `PATH`,
/// `HOME`, `LANG`, `TERM`, `USER` and `SHELL`, from this process where set, else a default.
/// Nothing else of the user's environment is passed on.
pub(crate) fn base_env() -> Vec<(&'static str, OsString)> {
    let defaults: [(&str, &str); 6] = [
        (
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
        ),
        ("HOME", "/"),
        ("LANG", "C.UTF-8"),
        ("TERM", "dumb"),
        ("USER", ""),
        ("SHELL", "/bin/sh"),
    ];
    defaults
        .into_iter()
        .filter_map(|(name, default)| {
            let value = std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .or_else(|| (!default.is_empty()).then(|| default.into()))?;
            Some((name, value))
        })
        .collect()
}

/// Whether a package is on this machine: installed for dpkg, or a command on the PATH.
async fn package_available(package: &str) -> bool {
    // apt syntax may pin a version (`curl=7.88.1-10`) or a release (`curl/bookworm`).
    let name = package.split(['=', '/']).next().unwrap_or(package);
    if name.is_empty() {
        return false;
    }
    let dpkg = tokio::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "--", name])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await;
    if let Ok(out) = dpkg {
        if out.status.success() && String::from_utf8_lossy(&out.stdout).ends_with(" installed") {
            return true;
        }
    }
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Copies regular files under `from` into `to`, keeping the tree; follows links to files, skips
/// links to directories (no cycles) and anything else.
fn copy_tree(
    from: &Path,
    to: &Path,
    prefix: &str,
    copied: &mut Vec<(String, u64)>,
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let relative = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir_all(to.join(&*name))?;
            copy_tree(&entry.path(), &to.join(&*name), &relative, copied)?;
        } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
            let size = fs::copy(entry.path(), to.join(&*name))?;
            copied.push((relative, size));
        }
    }
    Ok(())
}

#[async_trait]
impl Driver for LocalDriver {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn concurrency(&self) -> usize {
        64
    }

    async fn check(&self) -> Result<(), DriverError> {
        let state_dir = self.state_dir.clone();
        blocking(move || {
            if !Path::new("/bin/sh").is_file() {
                return Err(DriverError::bad_settings(
                    "/bin/sh is missing: the local driver runs recipes with it",
                ));
            }
            fs::create_dir_all(&state_dir).map_err(|e| {
                DriverError::bad_settings(format!(
                    "cannot use {} for local driver state: {e}",
                    state_dir.display()
                ))
            })?;
            // Instances listen on 127.x.y.z addresses; some systems only route 127.0.0.1.
            std::net::TcpListener::bind(("127.254.255.254", 0)).map_err(|e| {
                DriverError::bad_settings(format!(
                    "this machine does not let programs listen on loopback addresses other than \
                     127.0.0.1 ({e}); the local driver gives each instance one"
                ))
            })?;
            Ok(())
        })
        .await
    }

    async fn provision(&self, req: ProvisionRequest) -> Vec<Result<Provisioned, DriverError>> {
        let setup = check_run_id(&req.run_id).and_then(|()| absolute(&req.run_dir));
        let run_dir = match setup {
            Ok(run_dir) => run_dir,
            Err(e) => return req.instances.iter().map(|_| Err(e.clone())).collect(),
        };
        let leases = Leases::new(&self.state_dir);
        let count = req.instances.len();
        let work = tokio::task::spawn_blocking(move || {
            provision_blocking(&leases, &req.run_id, &run_dir, &req.instances)
        });
        match work.await {
            Ok(results) => results,
            Err(e) => {
                let e = DriverError::other(format!("provisioning failed: {e}"));
                (0..count).map(|_| Err(e.clone())).collect()
            }
        }
    }

    async fn run_step(
        &self,
        req: StepRequest,
        lines: mpsc::Sender<OutputLine>,
        cancel: CancellationToken,
    ) -> Result<StepResult, DriverError> {
        check_run_id(&req.run_id)?;
        check_name("step", &req.step)?;
        let run_dir = absolute(&req.run_dir)?;
        let name = req.instance.name.clone();
        let dir = {
            let (run_dir, name) = (run_dir.clone(), name.clone());
            blocking(move || live_sandbox(&run_dir, &name)).await?
        };
        if cancel.is_cancelled() {
            return Err(DriverError::cancelled(
                "the step was cancelled before it started",
            ));
        }

        if req.step == "packages" {
            let mut missing = Vec::new();
            for package in &req.packages {
                let available = package_available(package).await;
                let line = if available {
                    OutputLine::stdout(format!("{package}: installed"))
                } else {
                    missing.push(package.as_str());
                    OutputLine::stderr(format!("{package}: not installed"))
                };
                let _ = lines.send(line).await;
            }
            if !missing.is_empty() {
                return Err(DriverError::recipe(format!(
                    "packages missing on this machine: {}. The local driver never installs packages: \
                     install them yourself, or run this node on another cloud",
                    missing.join(", ")
                )));
            }
            return Ok(StepResult::default());
        }

        let (script_path, output_path, stem) = {
            let (dir, step, script) = (dir.clone(), req.step.clone(), req.script.clone());
            blocking(move || {
                new_step_files(&dir, &step, &script)
                    .map_err(io_error("cannot write the step's script"))
            })
            .await?
        };
        let instance_tag = tag(&req.run_id, &name);
        let step_tag = format!("{instance_tag}/{stem}");
        let (program, args) = interpreter(&req.script, &script_path);
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(dir.join("work"))
            // A clean environment, as on a remote machine: the user's own variables (cloud
            // credentials in `AWS_*`, agent sockets, …) never reach a recipe.
            .env_clear()
            .envs(base_env())
            .envs(req.env.iter().map(|(k, v)| (k, v)))
            .env("SLIPWAY_OUTPUT", &output_path)
            .env("SLIPWAY_REPORT_DIR", dir.join("report"))
            .env(INSTANCE_MARKER, &instance_tag)
            .env(STEP_MARKER, &step_tag);

        let exit_code = process::run(command, step_tag, lines, cancel).await?;

        let text = blocking(move || {
            let text = fs::read(&output_path).map_err(io_error("cannot read SLIPWAY_OUTPUT"));
            // Outputs may hold secrets; once read, they live only where the engine masks them.
            let _ = fs::remove_file(&output_path);
            text
        })
        .await?;
        match parse_outputs(&String::from_utf8_lossy(&text)) {
            Ok(outputs) => Ok(StepResult { exit_code, outputs }),
            // The recipe failing is the news; its half-written outputs are not.
            Err(_) if exit_code != 0 => Ok(StepResult {
                exit_code,
                outputs: Default::default(),
            }),
            Err(e) => Err(DriverError::recipe(format!(
                "the {} recipe on {name} wrote a malformed SLIPWAY_OUTPUT: {e}",
                req.step
            ))),
        }
    }

    async fn fetch_reports(
        &self,
        run_id: &str,
        run_dir: &Path,
        instance: &Provisioned,
        dest: &Path,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        check_run_id(run_id)?;
        check_name("instance", &instance.name)?;
        let report = sandbox(&absolute(run_dir)?, &instance.name).join("report");
        let dest = dest.to_path_buf();
        let name = instance.name.clone();
        blocking(move || {
            if !report.is_dir() {
                return Err(DriverError::not_found(format!(
                    "instance {name} has no report directory"
                )));
            }
            fs::create_dir_all(&dest)
                .map_err(io_error(format_args!("cannot create {}", dest.display())))?;
            let mut copied = Vec::new();
            copy_tree(&report, &dest, "", &mut copied)
                .map_err(io_error(format_args!("cannot copy the reports of {name}")))?;
            Ok(copied)
        })
        .await
    }

    async fn terminate(
        &self,
        run_id: &str,
        run_dir: &Path,
        instances: &[Provisioned],
    ) -> Result<(), DriverError> {
        check_run_id(run_id)?;
        let run_dir = absolute(run_dir)?;
        for instance in instances {
            check_name("instance", &instance.name)?;
        }
        if instances.is_empty() {
            return Ok(());
        }
        // One sweep for all of them: the sweep's cost is reading /proc, not the number of tags.
        let tags: Vec<String> = instances.iter().map(|i| tag(run_id, &i.name)).collect();
        kill_marked(INSTANCE_MARKER, tags.clone()).await?;

        let leases = Leases::new(&self.state_dir);
        let names: Vec<String> = instances.iter().map(|i| i.name.clone()).collect();
        blocking(move || {
            let mut failures = Vec::new();
            for (name, instance_tag) in names.iter().zip(&tags) {
                let dir = sandbox(&run_dir, name);
                if dir.is_dir() {
                    if let Err(e) = fs::write(dir.join(TERMINATED_FILE), "") {
                        failures.push(format!("cannot mark {name} terminated: {e}"));
                    }
                }
                if let Err(e) = leases.release(instance_tag) {
                    failures.push(format!("cannot give back the address of {name}: {e}"));
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(DriverError::other(failures.join("; ")))
            }
        })
        .await
    }

    async fn list_tagged(&self, run_id: &str, run_dir: &Path) -> Result<Vec<String>, DriverError> {
        check_run_id(run_id)?;
        let run_dir = absolute(run_dir)?;
        let leases = Leases::new(&self.state_dir);
        let run_id = run_id.to_string();
        blocking(move || {
            let prefix = format!("{run_id}/");
            let mut found: Vec<String> = processes_with(INSTANCE_MARKER)
                .into_iter()
                .map(|(_, tag)| tag)
                .filter(|tag| tag.starts_with(&prefix))
                .collect();
            found.extend(
                leases
                    .tags_with_prefix(&prefix)
                    .map_err(io_error("cannot read the address leases"))?,
            );
            if let Ok(entries) = fs::read_dir(run_dir.join("instances")) {
                for entry in entries.flatten() {
                    let dir = entry.path();
                    if dir.join(TERMINATED_FILE).exists() {
                        continue;
                    }
                    let record = fs::read(dir.join(INSTANCE_FILE))
                        .ok()
                        .and_then(|json| serde_json::from_slice::<InstanceRecord>(&json).ok());
                    if let Some(record) = record.filter(|r| r.run_id == run_id) {
                        found.push(record.tag);
                    }
                }
            }
            found.sort();
            found.dedup();
            Ok(found)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_from_the_shebang_line() {
        let path = Path::new("/s/001-deployment.sh");
        let (program, args) = interpreter("echo hi\n", path);
        assert_eq!(program, "/bin/sh");
        assert_eq!(args, [OsString::from("-e"), path.into()]);

        let (program, args) = interpreter("#!/usr/bin/env python3\nprint(1)\n", path);
        assert_eq!(program, "/usr/bin/env");
        assert_eq!(args, [OsString::from("python3"), path.into()]);

        let (program, args) = interpreter("#! /bin/bash -eu -o pipefail\r\nx\n", path);
        assert_eq!(program, "/bin/bash");
        assert_eq!(args, [OsString::from("-eu -o pipefail"), path.into()]);

        let (program, args) = interpreter("#!/bin/bash\n", path);
        assert_eq!(program, "/bin/bash");
        assert_eq!(args, [OsString::from(path)]);

        // An empty `#!` is a comment.
        assert_eq!(interpreter("#!\necho\n", path).0, "/bin/sh");
    }

    #[test]
    fn names_that_cannot_be_directories_are_refused() {
        for bad in ["", ".", "..", "a/b", "web 1", "x\0"] {
            assert!(check_name("instance", bad).is_err(), "{bad:?}");
        }
        for good in ["web.1", "db-primary.12", "a_b"] {
            assert!(check_name("instance", good).is_ok(), "{good:?}");
        }
        assert!(check_run_id("r/1").is_err());
        assert!(check_run_id("").is_err());
        assert!(check_run_id("01HZY3").is_ok());
    }
}
