//! The shared remote-step helper against a real shell: a transport that runs every command with
//! `/bin/sh -c` on this machine (what sshd or `docker exec` do on theirs), recording each
//! command line so that tests can check what a remote machine would see.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_driver::remote::{self, Exec, PathStat, RemoteDir, Transport};
use slipway_driver::{DriverError, ErrorKind, OutputLine, Provisioned, StepRequest};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Shell {
    commands: Mutex<Vec<String>>,
    /// The next this many `exec` calls fail before starting anything.
    refuse: Mutex<usize>,
    /// Commands containing this text fail as if the connection dropped while they ran.
    drop_on: Mutex<Option<String>>,
    /// Answers `stat` from the file system, as docker's archive endpoint does.
    stats: bool,
}

#[async_trait::async_trait]
impl Transport for Shell {
    async fn exec(
        &self,
        command: &str,
        stdin: Vec<u8>,
        lines: Option<mpsc::Sender<OutputLine>>,
    ) -> Result<Exec, DriverError> {
        self.commands.lock().unwrap().push(command.to_string());
        {
            let mut refuse = self.refuse.lock().unwrap();
            if *refuse > 0 {
                *refuse -= 1;
                return Err(DriverError::transient("channel refused"));
            }
        }
        let drop_on = self.drop_on.lock().unwrap().clone();
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DriverError::transient(e.to_string()))?;
        let mut input = child.stdin.take().unwrap();
        input.write_all(&stdin).await.unwrap();
        drop(input);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        match lines {
            Some(lines) => {
                let l2 = lines.clone();
                let a = async move {
                    let mut r = BufReader::new(stdout).lines();
                    while let Ok(Some(l)) = r.next_line().await {
                        let _ = lines.send(OutputLine::stdout(l)).await;
                    }
                };
                let b = async move {
                    let mut r = BufReader::new(stderr).lines();
                    while let Ok(Some(l)) = r.next_line().await {
                        let _ = l2.send(OutputLine::stderr(l)).await;
                    }
                };
                tokio::join!(a, b);
            }
            None => {
                use tokio::io::AsyncReadExt;
                let (mut so, mut se) = (stdout, stderr);
                let (x, y) = tokio::join!(so.read_to_end(&mut out), se.read_to_end(&mut err));
                x.unwrap();
                y.unwrap();
            }
        }
        let status = child.wait().await.unwrap();
        if drop_on.is_some_and(|d| command.contains(&d)) {
            return Err(DriverError::other("connection reset by peer"));
        }
        Ok(Exec {
            exit_code: status.code().unwrap_or(128),
            stdout: out,
            stderr: err,
        })
    }

    async fn stat(&self, path: &str) -> PathStat {
        if !self.stats {
            return PathStat::Unknown;
        }
        match std::fs::metadata(path) {
            Ok(m) => PathStat::Modified(
                m.modified()
                    .unwrap()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64,
            ),
            Err(_) => PathStat::Missing,
        }
    }
}

struct Fx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: RemoteDir,
    shell: Arc<Shell>,
}

async fn fx() -> Fx {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs/r-1/web.1");
    let dir = RemoteDir::new(root.to_str().unwrap()).unwrap();
    let shell = Arc::new(Shell::default());
    remote::prepare(&*shell, &dir).await.unwrap();
    Fx {
        _tmp: tmp,
        root,
        dir,
        shell,
    }
}

fn step(name: &str, script: &str, env: &[(&str, &str)]) -> StepRequest {
    StepRequest {
        run_id: "r-1".into(),
        run_dir: PathBuf::from("/unused"),
        instance: Provisioned::new("web.1", "host-1", "127.0.0.1"),
        step: name.into(),
        script: script.into(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        packages: vec![],
    }
}

async fn run(
    fx: &Fx,
    req: &StepRequest,
    cancel: CancellationToken,
) -> (Result<slipway_driver::StepResult, DriverError>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel::<OutputLine>(1024);
    let collect = async {
        let mut all = Vec::new();
        while let Some(l) = rx.recv().await {
            all.push(l.text);
        }
        all
    };
    let (r, lines) = tokio::join!(
        remote::run_step(&*fx.shell, &fx.dir, "r-1/web.1", req, tx, cancel),
        collect
    );
    (r, lines)
}

#[tokio::test]
async fn a_step_runs_in_the_work_dir_with_its_inputs_and_sets_outputs() {
    let fx = fx().await;
    let secret = "s3cr3t 'quoted' $(whoami)";
    let req = step(
        "deployment",
        "pwd\necho \"token=$TOKEN\"\necho \"url=http://$SLIPWAY_HOSTNAME\" >> \"$SLIPWAY_OUTPUT\"\nprintf 'big<<EOF\\nline 1\\nline 2\\nEOF\\n' >> \"$SLIPWAY_OUTPUT\"\necho report > \"$SLIPWAY_REPORT_DIR/result.txt\"\necho to-stderr >&2\n",
        &[("TOKEN", secret), ("SLIPWAY_HOSTNAME", "10.0.0.5")],
    );
    let (r, lines) = run(&fx, &req, CancellationToken::new()).await;
    let r = r.unwrap();
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.outputs["url"], "http://10.0.0.5");
    assert_eq!(r.outputs["big"], "line 1\nline 2");
    assert!(
        lines.contains(&fx.root.join("work").display().to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("token={secret}")), "{lines:?}");
    assert!(lines.contains(&"to-stderr".to_string()), "{lines:?}");

    // Values never appear on a command line, and nothing but the script is left behind.
    for c in fx.shell.commands.lock().unwrap().iter() {
        assert!(!c.contains("s3cr3t"), "a secret on a command line: {c}");
    }
    let left: Vec<String> = std::fs::read_dir(fx.root.join("steps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| n.ends_with(".sh")), "{left:?}");

    let dest = fx._tmp.path().join("fetched");
    let files = remote::fetch_reports(&*fx.shell, &fx.dir, &dest)
        .await
        .unwrap();
    assert_eq!(files, vec![("result.txt".to_string(), 7)]);
    assert_eq!(
        std::fs::read_to_string(dest.join("result.txt")).unwrap(),
        "report\n"
    );
}

#[tokio::test]
async fn a_failing_recipe_keeps_its_status_and_sh_e_stops_at_the_first_error() {
    let fx = fx().await;
    let req = step("deployment", "echo before\nfalse\necho after\n", &[]);
    let (r, lines) = run(&fx, &req, CancellationToken::new()).await;
    assert_eq!(r.unwrap().exit_code, 1);
    assert_eq!(lines, ["before"]);

    let req = step("deployment", "#!/bin/sh\nexit 7\n", &[]);
    assert_eq!(
        run(&fx, &req, CancellationToken::new())
            .await
            .0
            .unwrap()
            .exit_code,
        7
    );
}

#[tokio::test]
async fn a_malformed_output_file_is_the_recipes_fault() {
    let fx = fx().await;
    let req = step(
        "deployment",
        "echo 'no equals sign' >> \"$SLIPWAY_OUTPUT\"\n",
        &[],
    );
    let e = run(&fx, &req, CancellationToken::new())
        .await
        .0
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Recipe, "{e}");
    assert!(e.message.contains("line 1"), "{e}");
}

#[tokio::test]
async fn a_transport_that_fails_before_the_script_starts_is_transient_after_it_is_not() {
    let fx = fx().await;
    *fx.shell.refuse.lock().unwrap() = 1;
    let marker = fx.root.join("ran");
    let script = format!("touch {}\n", marker.display());
    let e = run(
        &fx,
        &step("deployment", &script, &[]),
        CancellationToken::new(),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        !marker.exists(),
        "a transient failure must mean the script never ran"
    );

    *fx.shell.drop_on.lock().unwrap() = Some("wait $!".into());
    let e = run(
        &fx,
        &step("deployment", &script, &[]),
        CancellationToken::new(),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other, "{e}");
    assert!(marker.exists());
    assert!(e.message.contains("connection was lost"), "{e}");
}

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purpose.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

async fn wait_for_file(path: &std::path::Path) -> String {
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cancel_kills_the_steps_process_group_and_clean_up_kills_its_daemons() {
    let fx = fx().await;
    let pids = fx.root.join("pids");
    let script = format!(
        "nohup setsid sleep 300 >/dev/null 2>&1 &\necho $! > {p}.daemon\nsleep 300 &\necho $! >> {p}.child\necho $$ >> {p}.child\nwait\n",
        p = pids.display()
    );
    let cancel = CancellationToken::new();
    let req = step("deployment", &script, &[]);
    let stepping = {
        let cancel = cancel.clone();
        let fx = &fx;
        async move { run(fx, &req, cancel).await.0 }
    };
    let watching = async {
        let child = pids.with_extension("child");
        loop {
            if let Ok(text) = std::fs::read_to_string(&child) {
                if text.lines().count() == 2 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cancel.cancel();
    };
    let (r, ()) = tokio::join!(stepping, watching);
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    let children: Vec<i32> = std::fs::read_to_string(pids.with_extension("child"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    // The kill waited until the group was gone (TERM, then KILL).
    for pid in &children {
        assert!(!alive(*pid), "step process {pid} survived the cancel");
    }
    let daemon: i32 = wait_for_file(&pids.with_extension("daemon"))
        .await
        .trim()
        .parse()
        .unwrap();
    assert!(
        alive(daemon),
        "the daemon left the group, so cancel does not reach it"
    );

    remote::clean_up(&*fx.shell, &fx.dir, "r-1/web.1")
        .await
        .unwrap();
    assert!(
        !alive(daemon),
        "clean_up must find the daemon by its marker"
    );
    assert!(!fx.root.exists());
    // The run's directory went with its last instance.
    assert!(!fx.root.parent().unwrap().exists());
    // Idempotent.
    remote::clean_up(&*fx.shell, &fx.dir, "r-1/web.1")
        .await
        .unwrap();
}

#[tokio::test]
async fn packages_with_nothing_to_install_run_nothing() {
    let fx = fx().await;
    let before = fx.shell.commands.lock().unwrap().len();
    let mut req = step("packages", "", &[]);
    req.packages = vec![];
    let r = run(&fx, &req, CancellationToken::new()).await.0.unwrap();
    assert_eq!(r.exit_code, 0);
    assert_eq!(fx.shell.commands.lock().unwrap().len(), before);
}

#[tokio::test]
async fn a_step_is_one_command_and_its_outputs_never_become_log_lines() {
    let fx = fx().await;
    let before = fx.shell.commands.lock().unwrap().len();
    // The last line has no newline, the output file neither; stdout lines look like outputs.
    let req = step(
        "deployment",
        "echo 'fake=from stdout'\nprintf 'url=http://x\\nnote<<END\\n  spaced \\\\ line\\nEND\\nlast=1' >> \"$SLIPWAY_OUTPUT\"\nprintf 'no newline'",
        &[],
    );
    let (r, lines) = run(&fx, &req, CancellationToken::new()).await;
    let r = r.unwrap();
    assert_eq!(r.exit_code, 0);
    assert_eq!(lines, ["fake=from stdout", "no newline"]);
    assert_eq!(r.outputs.len(), 3, "{:?}", r.outputs);
    assert_eq!(r.outputs["url"], "http://x");
    assert_eq!(r.outputs["note"], "  spaced \\ line");
    assert_eq!(r.outputs["last"], "1");
    assert_eq!(fx.shell.commands.lock().unwrap().len(), before + 1);

    // A step that writes no outputs and fails keeps its status; nothing is left behind.
    let req = step("deployment", "echo x=1\nexit 4\n", &[]);
    let (r, lines) = run(&fx, &req, CancellationToken::new()).await;
    let r = r.unwrap();
    assert_eq!((r.exit_code, r.outputs.len()), (4, 0));
    assert_eq!(lines, ["x=1"]);
    let left: Vec<String> = std::fs::read_dir(fx.root.join("steps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".sh"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_step_that_cannot_be_set_up_never_ran_and_is_transient() {
    let fx = fx().await;
    std::fs::remove_dir_all(&fx.root).unwrap();
    let marker = fx._tmp.path().join("ran");
    let script = format!("touch {}\n", marker.display());
    let (r, _) = run(
        &fx,
        &step("deployment", &script, &[("TOKEN", "s3cr3t")]),
        CancellationToken::new(),
    )
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.message.contains("could not start the step"), "{e}");
    assert!(!marker.exists());
}

#[tokio::test]
async fn a_directory_made_by_steps_is_created_by_the_first_step_in_the_same_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs/r-1/web.1");
    let dir = RemoteDir::new(root.to_str().unwrap())
        .unwrap()
        .made_by_steps();
    let fx = Fx {
        root: root.clone(),
        dir,
        shell: Arc::new(Shell {
            stats: true,
            ..Shell::default()
        }),
        _tmp: tmp,
    };
    let (r, lines) = run(
        &fx,
        &step("deployment", "pwd\n", &[]),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(r.unwrap().exit_code, 0);
    assert_eq!(lines, [root.join("work").display().to_string()]);
    assert_eq!(fx.shell.commands.lock().unwrap().len(), 1, "one command");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);

    // The report folder was never written: no archive is asked for.
    let dest = fx._tmp.path().join("fetched");
    let files = remote::fetch_reports(&*fx.shell, &fx.dir, &dest)
        .await
        .unwrap();
    assert!(files.is_empty());
    assert!(dest.is_dir());
    assert_eq!(
        fx.shell.commands.lock().unwrap().len(),
        1,
        "no command to fetch nothing"
    );

    // Once a step writes a report (even one it removes again), the folder is fetched.
    let (r, _) = run(
        &fx,
        &step(
            "reporting",
            "echo ok > \"$SLIPWAY_REPORT_DIR/r.txt\"\n",
            &[],
        ),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(r.unwrap().exit_code, 0);
    let files = remote::fetch_reports(&*fx.shell, &fx.dir, &dest)
        .await
        .unwrap();
    assert_eq!(files, vec![("r.txt".to_string(), 3)]);

    // A transport that cannot stat always asks for the archive.
    let plain = Shell::default();
    let files = remote::fetch_reports(&plain, &fx.dir, &dest).await.unwrap();
    assert_eq!(files, vec![("r.txt".to_string(), 3)]);
    assert_eq!(plain.commands.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn prepare_stamps_the_report_folder_so_an_empty_one_is_never_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("web.1");
    let dir = RemoteDir::new(root.to_str().unwrap()).unwrap();
    let shell = Shell {
        stats: true,
        ..Shell::default()
    };
    remote::prepare(&shell, &dir).await.unwrap();
    let mtime = std::fs::metadata(root.join("report"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(mtime < remote::REPORT_UNTOUCHED_BEFORE, "{mtime}");
    let files = remote::fetch_reports(&shell, &dir, &tmp.path().join("d"))
        .await
        .unwrap();
    assert!(files.is_empty());
    assert_eq!(shell.commands.lock().unwrap().len(), 1, "only prepare ran");
}
