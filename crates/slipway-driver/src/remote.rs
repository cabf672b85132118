//! Running recipes on a machine reached over a transport (ssh, docker exec, ec2 over ssh): the
//! one implementation of SPEC §3 that every remote driver shares, so that a recipe behaves the
//! same on all of them.
//!
//! A driver implements [`Transport`] (run a shell command on the instance, with stdin and
//! streamed output; optionally faster file copies) and calls [`prepare`], [`run_step`],
//! [`fetch_reports`] and [`clean_up`] from its `Driver` methods. Layout of an instance's
//! directory ([`RemoteDir`], private to the login user, mode 0700):
//!
//! ```text
//! ROOT/work/               the working directory of every step
//! ROOT/report/             SLIPWAY_REPORT_DIR (created with the time REPORT_STAMP: see fetch_reports)
//! ROOT/steps/STEM.sh       the recipe
//! ROOT/steps/STEM.env      its inputs and the recipe (mode 0600; deleted once read)
//! ROOT/steps/STEM.output   SLIPWAY_OUTPUT (deleted once read back)
//! ROOT/steps/STEM.pid      the step's process group, for cancelling it
//! ```
//!
//! A step is one command (one round trip): its wrapper takes the inputs file on stdin, writes
//! the script, runs it, and prints `SLIPWAY_OUTPUT` after the step's own output, each line
//! behind a random boundary that [`run_step`] strips (those lines are never log lines).
//!
//! Never: puts a value on a command line (inputs travel in the inputs file, written through
//! stdin), or leaves `SLIPWAY_OUTPUT` behind. Every process a step starts carries
//! [`INSTANCE_MARKER`] in its environment, so that [`clean_up`] finds daemons that left the
//! step's process group (`nohup`, `setsid`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{parse_outputs, DriverError, OutputLine, StepRequest, StepResult};

/// The variable that marks every process of an instance, valued `RUN_ID/INSTANCE`.
pub const INSTANCE_MARKER: &str = "SLIPWAY_INSTANCE_TAG";

/// How a command run through a [`Transport`] ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exec {
    /// Its exit status (128 + N when killed by signal N).
    pub exit_code: i32,
    /// Its standard output, when it was not streamed.
    pub stdout: Vec<u8>,
    /// Its standard error, when it was not streamed.
    pub stderr: Vec<u8>,
}

/// What a [`Transport`] can tell of a path without running a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStat {
    /// The transport cannot tell cheaply (the default).
    Unknown,
    /// Nothing is there.
    Missing,
    /// It exists, last modified at this time (seconds since the Unix epoch).
    Modified(i64),
}

/// The modification time (`touch -t`, in the machine's time zone: 2000-01-01 00:00) that the
/// helper gives `ROOT/report` when it creates it. Anything added to the folder moves its time to
/// the present, so a folder whose time is still before [`REPORT_UNTOUCHED_BEFORE`] is empty.
const REPORT_STAMP: &str = "200001010000";

/// 2000-01-03T00:00:00Z, in seconds since the Unix epoch: later than [`REPORT_STAMP`] in every
/// time zone, and long before any folder is really written.
pub const REPORT_UNTOUCHED_BEFORE: i64 = 946_857_600;

/// A way to run commands on one instance.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Runs `command` with `/bin/sh -c` on the instance as the login user, writes `stdin` to it
    /// and closes it. With `lines`, every output line is sent there as it comes (and
    /// [`Exec::stdout`]/[`Exec::stderr`] stay empty); without, output is collected.
    ///
    /// Error kinds matter: [`crate::ErrorKind::Transient`] promises the command never started
    /// (no connection, no channel); once it may have started, a lost connection is
    /// [`crate::ErrorKind::Other`]. Dropping the future must not leave the transport broken.
    async fn exec(
        &self,
        command: &str,
        stdin: Vec<u8>,
        lines: Option<mpsc::Sender<OutputLine>>,
    ) -> Result<Exec, DriverError>;

    /// Writes a file (replacing it) with `mode`. The default goes through [`Transport::exec`];
    /// a transport with a file API (docker's archive endpoint, SFTP) may do better.
    async fn put_file(&self, path: &str, contents: Vec<u8>, mode: u32) -> Result<(), DriverError> {
        let command = format!(
            "umask 077 && cat > {p}.tmp && chmod {mode:o} {p}.tmp && mv -f {p}.tmp {p}",
            p = quote(path)
        );
        let done = self.exec(&command, contents, None).await?;
        check(&done, format_args!("cannot write {path}"))
    }

    /// The directory `dir` as one tar archive (an empty archive when the directory is empty).
    async fn get_tar(&self, dir: &str) -> Result<Vec<u8>, DriverError> {
        let command = format!("cd {} && tar -cf - .", quote(dir));
        let done = self.exec(&command, Vec::new(), None).await?;
        check(&done, format_args!("cannot pack {dir}"))?;
        Ok(done.stdout)
    }

    /// Whether `path` exists and when it was last modified, if the transport can tell without
    /// a command (docker's archive endpoint answers a `HEAD` in a millisecond, where any
    /// command costs a process in the container). [`fetch_reports`] uses it to skip the
    /// archive of a report folder that was never written.
    async fn stat(&self, _path: &str) -> PathStat {
        PathStat::Unknown
    }
}

fn check(done: &Exec, what: std::fmt::Arguments<'_>) -> Result<(), DriverError> {
    if done.exit_code == 0 {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&done.stderr);
    let stderr = stderr.trim();
    Err(DriverError::other(if stderr.is_empty() {
        format!("{what} (exit status {})", done.exit_code)
    } else {
        format!("{what}: {stderr}")
    }))
}

/// An instance's directory on the machine: an absolute path chosen by the driver (for ssh,
/// `~/.slipway/runs/RUN/NODE.INDEX` resolved against the login user's home).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDir {
    root: String,
    /// Every step creates the directory when it is missing ([`RemoteDir::made_by_steps`]).
    made_by_steps: bool,
}

impl RemoteDir {
    /// `root` must be absolute and free of `..`; quoting is handled here.
    pub fn new(root: impl Into<String>) -> Result<RemoteDir, DriverError> {
        let root = root.into().trim_end_matches('/').to_string();
        if !root.starts_with('/') || root.split('/').any(|c| c == "..") || root.contains('\0') {
            return Err(DriverError::other(format!(
                "the instance directory `{root}` is not an absolute path"
            )));
        }
        Ok(RemoteDir {
            root,
            made_by_steps: false,
        })
    }

    /// The driver does not call [`prepare`]: each step's wrapper creates the directory (mode
    /// 0700) in the same command when it is missing. For drivers whose directory is a fixed
    /// path (docker's), this spares a round trip per instance. Without it, a step whose
    /// directory is gone cannot be set up (a transient error).
    pub fn made_by_steps(mut self) -> Self {
        self.made_by_steps = true;
        self
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    fn join(&self, rest: &str) -> String {
        format!("{}/{rest}", self.root)
    }
}

/// `'text'`, with every `'` closed, escaped and reopened: safe in any POSIX shell.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Creates the instance's directory (mode 0700). Idempotent.
pub async fn prepare(t: &dyn Transport, dir: &RemoteDir) -> Result<(), DriverError> {
    let command = format!(
        "umask 077 && mkdir -p {} {} && chmod 700 {} && {}",
        quote(&dir.join("work")),
        quote(&dir.join("steps")),
        quote(dir.root()),
        make_report_dir(&quote(&dir.join("report"))),
    );
    let done = t.exec(&command, Vec::new(), None).await?;
    check(
        &done,
        format_args!("cannot create the instance directory {}", dir.root()),
    )
}

/// Shell that creates the report folder `word` (a quoted path) when it is missing, stamped
/// with [`REPORT_STAMP`] (a `touch` without `-t` only costs the shortcut, never the folder).
fn make_report_dir(word: &str) -> String {
    format!("{{ [ -d {word} ] || {{ mkdir {word} && {{ touch -t {REPORT_STAMP} {word} 2>/dev/null || :; }}; }}; }}")
}

/// [`prepare`] for a driver that knows the instance's directory only relative to the login
/// user's home (`rel`, such as `.slipway/runs/RUN/web.1`): one command creates it and tells
/// the home directory, returned with the directory.
pub async fn prepare_in_home(
    t: &dyn Transport,
    rel: &str,
) -> Result<(String, RemoteDir), DriverError> {
    if rel.starts_with('/') || rel.split('/').any(|c| c == "..") || rel.contains('\0') {
        return Err(DriverError::other(format!(
            "the instance directory `{rel}` is not a path inside the home directory"
        )));
    }
    let command = format!(
        "case \"$HOME\" in /*) ;; *) exit 3 ;; esac\n\
         d=\"$HOME\"/{rel}\n\
         umask 077 && mkdir -p \"$d/work\" \"$d/steps\" && chmod 700 \"$d\" && {report} || exit 1\n\
         printf '%s' \"$HOME\"\n",
        rel = quote(rel.trim_end_matches('/')),
        report = make_report_dir("\"$d/report\""),
    );
    let done = t.exec(&command, Vec::new(), None).await?;
    if done.exit_code == 3 {
        return Err(DriverError::other(
            "the login user has no home directory ($HOME is not an absolute path)",
        ));
    }
    check(
        &done,
        format_args!("cannot create the instance directory ~/{rel}"),
    )?;
    let home = String::from_utf8_lossy(&done.stdout).to_string();
    let dir = RemoteDir::new(format!("{}/{rel}", home.trim_end_matches('/')))?;
    Ok((home, dir))
}

/// A name for a step's files that no other step of the instance uses, even from another
/// process (a resumed run).
fn step_stem(step: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{step}-{:x}{seq:x}{:x}", nanos, std::process::id())
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The env file: one `export NAME='value'` line per variable.
fn env_file(env: &[(String, String)]) -> Result<Vec<u8>, DriverError> {
    let mut text = String::new();
    for (name, value) in env {
        if !valid_env_name(name) {
            return Err(DriverError::other(format!(
                "`{name}` cannot be an environment variable name"
            )));
        }
        text.push_str(&format!("export {name}={}\n", quote(value)));
    }
    Ok(text.into_bytes())
}

/// The program and argument of a `#!` line (as Linux reads it), else `/bin/sh -e`.
fn interpreter(script: &str) -> Vec<String> {
    let first = script.lines().next().unwrap_or("");
    if let Some(shebang) = first.strip_prefix("#!") {
        let shebang = shebang.trim();
        if !shebang.is_empty() {
            return match shebang.split_once([' ', '\t']) {
                Some((program, argument)) if !argument.trim().is_empty() => {
                    vec![program.to_string(), argument.trim().to_string()]
                }
                Some((program, _)) => vec![program.to_string()],
                None => vec![shebang.to_string()],
            };
        }
    }
    vec!["/bin/sh".into(), "-e".into()]
}

/// The recipe of the `packages` step: installs `$SLIPWAY_PACKAGES` with the machine's package
/// manager (apt-get, dnf, yum, apk, zypper), as root or through password-less `sudo`.
pub const PACKAGES_SCRIPT: &str = r#"set -e
set -- $SLIPWAY_PACKAGES
if [ "$(id -u)" = 0 ]; then
  SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "slipway: installing packages needs root or password-less sudo, and $(id -un) has neither" >&2
  exit 100
fi
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "$@"
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y "$@"
elif command -v yum >/dev/null 2>&1; then
  $SUDO yum install -y "$@"
elif command -v apk >/dev/null 2>&1; then
  $SUDO apk add --no-cache "$@"
elif command -v zypper >/dev/null 2>&1; then
  $SUDO zypper --non-interactive install "$@"
else
  echo "slipway: no package manager found (apt-get, dnf, yum, apk, zypper)" >&2
  exit 100
fi
"#;

/// A boundary no recipe prints by accident: random, and never in a step's environment.
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut words = [0u64; 2];
    for (i, w) in words.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        *w = h.finish();
    }
    format!("slipway-output-{:016x}{:016x}", words[0], words[1])
}

/// The inputs file a step's wrapper reads from stdin: the recipe as `slipway_script`, and a
/// function `slipway_env` that exports its variables (so that they reach the step alone, not
/// the wrapper that writes files and reads `SLIPWAY_OUTPUT` back).
fn inputs_file(script: &str, env: &[(String, String)]) -> Result<Vec<u8>, DriverError> {
    let mut text = String::from("slipway_env() {\n:\n");
    text.push_str(&String::from_utf8(env_file(env)?).expect("quoted text"));
    text.push_str("}\n");
    text.push_str(&format!("slipway_script={}\n", quote(script)));
    Ok(text.into_bytes())
}

/// Runs one step on the instance (SPEC §3) in one command: its wrapper writes the script and
/// an inputs file (mode 0600, deleted once read) from stdin, runs the script in a process group
/// of its own in `ROOT/work` with output streamed line by line, then prints `SLIPWAY_OUTPUT`
/// after a random boundary (stripped here, never a log line) and deletes it. `instance_tag`
/// (`RUN/INSTANCE`) marks every process it starts. On `cancel`, the step's process group is
/// killed (TERM, then KILL after 2 s) and the result is [`crate::ErrorKind::Cancelled`].
pub async fn run_step(
    t: &dyn Transport,
    dir: &RemoteDir,
    instance_tag: &str,
    req: &StepRequest,
    lines: mpsc::Sender<OutputLine>,
    cancel: CancellationToken,
) -> Result<StepResult, DriverError> {
    let mut env = req.env.clone();
    let script = if req.step == "packages" {
        if req.packages.is_empty() {
            return Ok(StepResult::default());
        }
        env.push(("SLIPWAY_PACKAGES".into(), req.packages.join(" ")));
        PACKAGES_SCRIPT.to_string()
    } else {
        req.script.clone()
    };
    if cancel.is_cancelled() {
        return Err(DriverError::cancelled(
            "the step was cancelled before it started",
        ));
    }
    let stem = step_stem(&req.step);
    let steps = dir.join("steps");
    let script_path = format!("{steps}/{stem}.sh");
    let env_path = format!("{steps}/{stem}.env");
    let output_path = format!("{steps}/{stem}.output");
    let pid_path = format!("{steps}/{stem}.pid");
    let inputs = inputs_file(&script, &env)?;
    let boundary = boundary();

    let program: Vec<String> = interpreter(&script)
        .into_iter()
        .chain([script_path.clone()])
        .map(|a| quote(&a))
        .collect();
    let program = program.join(" ");
    // `BOUNDARY!`: the wrapper could not set the step up, and nothing of the recipe ran. Stdin
    // is read first, whatever happens next, so that the transport can always write it.
    let make_dir = if dir.made_by_steps {
        format!(
            "[ -d {steps} ] || (umask 077 && mkdir -p {work} {steps} && chmod 700 {root} && {report}) || {{ cat > /dev/null; slipway_fail; }}\n",
            steps = quote(&steps),
            work = quote(&dir.join("work")),
            root = quote(dir.root()),
            report = make_report_dir(&quote(&dir.join("report"))),
        )
    } else {
        String::new()
    };
    let wrapper = format!(
        "slipway_fail() {{ rm -f {env}; printf '%s!\\n' {boundary}; exit 125; }}\n\
         {make_dir}\
         (umask 077 && exec cat > {env}) || {{ cat > /dev/null; slipway_fail; }}\n\
         cd {work} || slipway_fail\n\
         . {env} || slipway_fail\n\
         rm -f {env}\n\
         (umask 077 && printf '%s' \"$slipway_script\" > {script} && chmod 700 {script}) || slipway_fail\n\
         unset slipway_script\n\
         : > {output} || slipway_fail\n\
         {{\n\
           slipway_env\n\
           SLIPWAY_OUTPUT={output}; SLIPWAY_REPORT_DIR={report}; {marker}={tag}\n\
           export SLIPWAY_OUTPUT SLIPWAY_REPORT_DIR {marker}\n\
           if command -v setsid >/dev/null 2>&1; then\n\
             exec setsid /bin/sh -c 'echo $$ > \"$0\"; exec \"$@\"' {pid} {program}\n\
           fi\n\
           exec /bin/sh -c 'echo $$ > \"$0\"; exec \"$@\"' {pid} {program}\n\
         }} </dev/null &\n\
         wait $!\n\
         slipway_status=$?\n\
         if [ -s {output} ]; then\n\
           while IFS= read -r slipway_line || [ -n \"$slipway_line\" ]; do\n\
             printf '%s %s\\n' {boundary} \"$slipway_line\"\n\
           done < {output}\n\
         fi\n\
         rm -f {output} {pid}\n\
         exit $slipway_status\n",
        work = quote(&dir.join("work")),
        env = quote(&env_path),
        script = quote(&script_path),
        output = quote(&output_path),
        report = quote(&dir.join("report")),
        marker = INSTANCE_MARKER,
        tag = quote(instance_tag),
        pid = quote(&pid_path),
        boundary = boundary,
    );

    // Log lines go on to `lines`; what follows the boundary is SLIPWAY_OUTPUT.
    let (tx, mut rx) = mpsc::channel::<OutputLine>(256);
    let sort = async {
        let (mut output, mut set_up, mut last_error) = (String::new(), true, None);
        while let Some(line) = rx.recv().await {
            if line.stream == crate::Stream::Stdout {
                if let Some(at) = line.text.find(&boundary) {
                    // A last line of the step without a newline runs into the boundary.
                    if at > 0 {
                        let _ = lines.send(OutputLine::stdout(&line.text[..at])).await;
                    }
                    match &line.text[at + boundary.len()..] {
                        "!" => set_up = false,
                        rest => {
                            output.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                            output.push('\n');
                        }
                    }
                    continue;
                }
            } else {
                last_error = Some(line.text.clone());
            }
            let _ = lines.send(line).await;
        }
        (output, set_up, last_error)
    };
    let running = async {
        tokio::select! {
            r = t.exec(&wrapper, inputs, Some(tx)) => Some(r),
            _ = cancel.cancelled() => None,
        }
    };
    let (ran, (output, set_up, last_error)) = tokio::join!(running, sort);
    let exit_code = match ran {
        None => {
            let kill = format!(
                "pg=$(cat {pid} 2>/dev/null) || exit 0\n\
                 kill -TERM \"-$pg\" 2>/dev/null || kill -TERM \"$pg\" 2>/dev/null\n\
                 i=0\n\
                 while kill -0 \"-$pg\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done\n\
                 kill -KILL \"-$pg\" 2>/dev/null\n\
                 rm -f {env} {output}\n\
                 exit 0\n",
                pid = quote(&pid_path),
                env = quote(&env_path),
                output = quote(&output_path),
            );
            let killed = t.exec(&kill, Vec::new(), None).await;
            return Err(DriverError::cancelled(match killed {
                Ok(_) => "the step was cancelled".to_string(),
                Err(e) => format!(
                    "the step was cancelled, but stopping it failed ({}); terminating the \
                     instance stops it",
                    e.message
                ),
            }));
        }
        Some(Ok(_)) if !set_up => {
            return Err(DriverError::transient(format!(
                "could not start the step: its files could not be written in {} on the machine{}",
                dir.root(),
                last_error.map(|e| format!(" ({e})")).unwrap_or_default()
            )))
        }
        Some(Ok(done)) => done.exit_code,
        // A transport that promises the command never started: nothing ran, try again.
        Some(Err(e)) if e.kind == crate::ErrorKind::Transient => {
            return Err(DriverError::transient(format!(
                "could not start the step: {}",
                e.message
            )))
        }
        Some(Err(e)) if e.kind == crate::ErrorKind::Cancelled => return Err(e),
        // The script may have started: never a transient error from here on.
        Some(Err(e)) => {
            return Err(DriverError::other(format!(
                "the connection was lost while the {} recipe ran: {}",
                req.step, e.message
            )))
        }
    };
    match parse_outputs(&output) {
        Ok(outputs) => Ok(StepResult { exit_code, outputs }),
        Err(_) if exit_code != 0 => Ok(StepResult {
            exit_code,
            outputs: Default::default(),
        }),
        Err(e) => Err(DriverError::recipe(format!(
            "the {} recipe on {} wrote a malformed SLIPWAY_OUTPUT: {e}",
            req.step, req.instance.name
        ))),
    }
}

/// Copies what the steps left in `SLIPWAY_REPORT_DIR` into `dest` (created), as one archive;
/// returns the files' paths relative to `dest` and their sizes, sorted. When the transport
/// tells ([`Transport::stat`]) that the folder is missing or still has the time it was created
/// with ([`REPORT_UNTOUCHED_BEFORE`]: nothing was ever written in it), there is nothing to copy
/// and no archive is asked for.
pub async fn fetch_reports(
    t: &dyn Transport,
    dir: &RemoteDir,
    dest: &Path,
) -> Result<Vec<(String, u64)>, DriverError> {
    let report = dir.join("report");
    let never_written = match t.stat(&report).await {
        PathStat::Missing => true,
        PathStat::Modified(at) => at < REPORT_UNTOUCHED_BEFORE,
        PathStat::Unknown => false,
    };
    if never_written {
        let dest = dest.to_path_buf();
        return tokio::task::spawn_blocking(move || unpack(&[], &dest))
            .await
            .map_err(|e| DriverError::other(format!("unpacking the reports failed: {e}")))?;
    }
    let archive = t.get_tar(&report).await?;
    let dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || unpack(&archive, &dest))
        .await
        .map_err(|e| DriverError::other(format!("unpacking the reports failed: {e}")))?
}

/// Unpacks regular files and directories of a tar archive under `dest`; anything that would
/// land outside it (absolute paths, `..`, links) is refused.
pub fn unpack(archive: &[u8], dest: &Path) -> Result<Vec<(String, u64)>, DriverError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| DriverError::other(format!("{what}: {e}"))
    };
    std::fs::create_dir_all(dest).map_err(io(&format!("cannot create {}", dest.display())))?;
    let mut files = Vec::new();
    let mut tar = tar::Archive::new(archive);
    for entry in tar
        .entries()
        .map_err(io("the report archive is unreadable"))?
    {
        let mut entry = entry.map_err(io("the report archive is unreadable"))?;
        let path = entry
            .path()
            .map_err(io("the report archive is unreadable"))?
            .into_owned();
        let mut rel = std::path::PathBuf::new();
        for c in path.components() {
            match c {
                std::path::Component::Normal(c) => rel.push(c),
                std::path::Component::CurDir => {}
                _ => {
                    return Err(DriverError::other(format!(
                        "the report archive holds a path outside the report folder: {}",
                        path.display()
                    )))
                }
            }
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target)
                    .map_err(io(&format!("cannot create {}", target.display())))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(io(&format!("cannot create {}", parent.display())))?;
                }
                let mut out = std::fs::File::create(&target)
                    .map_err(io(&format!("cannot write {}", target.display())))?;
                let size = std::io::copy(&mut entry, &mut out)
                    .map_err(io(&format!("cannot write {}", target.display())))?;
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((rel, size));
            }
            // Links and devices are not reports.
            _ => {}
        }
    }
    files.sort();
    Ok(files)
}

/// Kills every process of the instance (found by [`INSTANCE_MARKER`], so daemons that left
/// their step's process group too) and removes the instance's directory, and the directory
/// above it (a run's) when nothing else is left in it. Idempotent. One command.
pub async fn clean_up(
    t: &dyn Transport,
    dir: &RemoteDir,
    instance_tag: &str,
) -> Result<(), DriverError> {
    // One `grep -z` over every process's environment per round where grep has `-z` (GNU,
    // BusyBox): a loop forking `tr` and `grep` per process costs seconds on a busy host.
    let command = format!(
        "marker={marker}\n\
         if printf 'a\\000' | grep -qxzF a 2>/dev/null; then fast=1; else fast=; fi\n\
         for round in 1 2 3; do\n\
           found=\n\
           if [ -n \"$fast\" ]; then\n\
             for f in $(grep -lxzF -e \"$marker\" /proc/[0-9]*/environ 2>/dev/null); do\n\
               p=${{f#/proc/}}\n\
               kill -KILL \"${{p%/environ}}\" 2>/dev/null && found=1\n\
             done\n\
           else\n\
             for d in /proc/[0-9]*; do\n\
               if tr '\\000' '\\n' < \"$d/environ\" 2>/dev/null | grep -qxF \"$marker\"; then\n\
                 kill -KILL \"${{d#/proc/}}\" 2>/dev/null && found=1\n\
               fi\n\
             done\n\
           fi\n\
           [ -z \"$found\" ] && break\n\
         done\n\
         rm -rf {root} || exit 1\n\
         rmdir {parent} 2>/dev/null\n\
         exit 0\n",
        marker = quote(&format!("{INSTANCE_MARKER}={instance_tag}")),
        root = quote(dir.root()),
        parent = quote(dir.root().rsplit_once('/').map_or("/", |(p, _)| p)),
    );
    let done = t.exec(&command, Vec::new(), None).await?;
    check(
        &done,
        format_args!("cannot clean up {} on the machine", dir.root()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_every_quote() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn instance_directories_must_be_absolute() {
        assert!(RemoteDir::new("relative/dir").is_err());
        assert!(RemoteDir::new("/home/x/../y").is_err());
        assert_eq!(RemoteDir::new("/srv/x/").unwrap().root(), "/srv/x");
    }

    #[test]
    fn env_files_refuse_names_a_shell_would_run() {
        assert!(env_file(&[("A; rm -rf /".into(), "x".into())]).is_err());
        let text = env_file(&[("GREETING".into(), "it's\nfine".into())]).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "export GREETING='it'\\''s\nfine'\n"
        );
    }

    #[test]
    fn the_shebang_line_names_the_interpreter() {
        assert_eq!(interpreter("echo"), ["/bin/sh", "-e"]);
        assert_eq!(
            interpreter("#!/bin/bash -eu -o pipefail\n"),
            ["/bin/bash", "-eu -o pipefail"]
        );
        assert_eq!(interpreter("#!/usr/bin/python3\n"), ["/usr/bin/python3"]);
    }

    #[test]
    fn archives_cannot_write_outside_the_destination() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..`; write the name into the header directly.
        header.as_old_mut().name[..10].copy_from_slice(b"../evil.tx");
        header.set_cksum();
        builder.append(&header, &b"bad"[..]).unwrap();
        let archive = builder.into_inner().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let e = unpack(&archive, &dest.path().join("r")).unwrap_err();
        assert!(e.message.contains("outside the report folder"), "{e}");
        assert!(!dest.path().join("evil.tx").exists());
    }
}
