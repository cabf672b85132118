//! The `local` driver against real processes: no mocks, and every wait is on a condition, bounded.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway_driver::{
    Driver, DriverError, ErrorKind, InstanceSpec, LocalDriver, OutputLine, ProvisionRequest,
    Provisioned, StepRequest, StepResult, Stream,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Generous bound for conditions that normally hold within milliseconds.
const PATIENCE: Duration = Duration::from_secs(30);

struct Fixture {
    _tmp: tempfile::TempDir,
    run_id: String,
    run_dir: PathBuf,
    driver: LocalDriver,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    fixture_sharing(tmp, state_dir)
}

fn fixture_sharing(tmp: tempfile::TempDir, state_dir: PathBuf) -> Fixture {
    // Markers are seen machine-wide, so every test's run id is unique.
    let run_id = format!(
        "test-{}",
        tmp.path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_start_matches('.')
    );
    let run_dir = tmp.path().join("run");
    Fixture {
        run_id,
        run_dir,
        driver: LocalDriver::new(state_dir),
        _tmp: tmp,
    }
}

impl Fixture {
    async fn provision(&self, names: &[&str]) -> Vec<Provisioned> {
        let instances = names
            .iter()
            .map(|name| {
                let (node, index) = name.split_once('.').unwrap();
                InstanceSpec {
                    name: name.to_string(),
                    node: node.to_string(),
                    index: index.parse().unwrap(),
                    image: None,
                    login_user: None,
                }
            })
            .collect();
        self.driver
            .provision(ProvisionRequest {
                progress: Default::default(),
                run_id: self.run_id.clone(),
                run_dir: self.run_dir.clone(),
                instances,
            })
            .await
            .into_iter()
            .map(|r| r.expect("provisioned"))
            .collect()
    }

    fn request(&self, instance: &Provisioned, script: &str, env: &[(&str, &str)]) -> StepRequest {
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("SLIPWAY_RUN_ID".into(), self.run_id.clone()));
        env.push(("SLIPWAY_HOSTNAME".into(), instance.hostname.clone()));
        StepRequest {
            run_id: self.run_id.clone(),
            run_dir: self.run_dir.clone(),
            instance: instance.clone(),
            step: "deployment".into(),
            script: script.into(),
            env,
            packages: Vec::new(),
        }
    }

    /// Runs a step to its end, collecting every line it printed.
    async fn run(
        &self,
        instance: &Provisioned,
        script: &str,
        env: &[(&str, &str)],
    ) -> (Result<StepResult, DriverError>, Vec<OutputLine>) {
        self.run_request(self.request(instance, script, env)).await
    }

    async fn run_request(
        &self,
        request: StepRequest,
    ) -> (Result<StepResult, DriverError>, Vec<OutputLine>) {
        let (tx, mut rx) = mpsc::channel(16);
        let collector = tokio::spawn(async move {
            let mut lines = Vec::new();
            while let Some(line) = rx.recv().await {
                lines.push(line);
            }
            lines
        });
        let step = self.driver.run_step(request, tx, CancellationToken::new());
        let result = tokio::time::timeout(PATIENCE, step)
            .await
            .expect("the step returns");
        // Every sender is gone once run_step returned, so the collector ends.
        let lines = tokio::time::timeout(PATIENCE, collector)
            .await
            .expect("run_step dropped every sender")
            .unwrap();
        (result, lines)
    }

    fn sandbox(&self, instance: &Provisioned) -> PathBuf {
        self.run_dir.join("instances").join(&instance.name)
    }

    async fn terminate(&self, instances: &[Provisioned]) {
        self.driver
            .terminate(&self.run_id, &self.run_dir, instances)
            .await
            .expect("terminated");
    }

    async fn tagged(&self) -> Vec<String> {
        self.driver
            .list_tagged(&self.run_id, &self.run_dir)
            .await
            .unwrap()
    }

    fn marked(&self, instance: &Provisioned) -> Vec<i32> {
        processes_marked(&format!(
            "SLIPWAY_LOCAL_TAG={}/{}",
            self.run_id, instance.name
        ))
    }
}

/// Live processes whose environment holds `entry`, read from /proc independently of the driver.
fn processes_marked(entry: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for proc_entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = proc_entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(environ) = fs::read(proc_entry.path().join("environ")) {
            if environ.split(|b| *b == 0).any(|e| e == entry.as_bytes()) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Polls `condition` until it holds; panics after [`PATIENCE`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn texts(lines: &[OutputLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

fn http_get(host: &str, port: u16) -> Option<String> {
    let mut stream = TcpStream::connect((host, port)).ok()?;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_this_machine() {
    let fx = fixture();
    fx.driver.check().await.unwrap();
    assert_eq!(fx.driver.kind(), "local");
    assert!(fx.driver.concurrency() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_gives_each_instance_a_sandbox_and_its_own_loopback_address() {
    let fx = fixture();
    let instances = fx.provision(&["web.1", "web.2", "db.1"]).await;
    assert_eq!(
        instances
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["web.1", "web.2", "db.1"]
    );
    let addresses: HashSet<Ipv4Addr> = instances
        .iter()
        .map(|i| i.hostname.parse().unwrap())
        .collect();
    assert_eq!(addresses.len(), 3, "{instances:?}");
    for address in &addresses {
        assert!(address.is_loopback(), "{address}");
        assert_ne!(*address, Ipv4Addr::LOCALHOST);
    }
    for instance in &instances {
        let dir = fx.sandbox(instance);
        assert!(dir.join("work").is_dir());
        assert!(dir.join("report").is_dir());
        assert_eq!(
            instance.resource_id,
            format!("{}/{}", fx.run_id, instance.name)
        );
    }
    let mut ids: Vec<String> = instances.iter().map(|i| i.resource_id.clone()).collect();
    ids.sort();
    assert_eq!(fx.tagged().await, ids);
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_bound_on_the_instance_hostname_is_reachable_there_until_terminate() {
    let fx = fixture();
    let instances = fx.provision(&["web.1"]).await;
    let web = &instances[0];
    // A free port on this instance's own address.
    let port = TcpListener::bind((web.hostname.as_str(), 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    fs::write(fx.sandbox(web).join("work/index.html"), "hello from web.1").unwrap();
    let script = r#"
nohup python3 -m http.server --bind "$SLIPWAY_HOSTNAME" "$port" >/dev/null 2>&1 &
echo "url=http://$SLIPWAY_HOSTNAME:$port/" >> "$SLIPWAY_OUTPUT"
"#;
    let (result, _) = fx.run(web, script, &[("port", &port)]).await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 0);
    let port: u16 = port.parse().unwrap();
    assert_eq!(
        result.outputs["url"],
        format!("http://{}:{port}/", web.hostname)
    );

    let mut response = None;
    wait_until("the server answers", || {
        response = http_get(&web.hostname, port);
        response.is_some()
    })
    .await;
    assert!(
        response.unwrap().contains("hello from web.1"),
        "served from the instance's work directory"
    );

    fx.terminate(&instances).await;
    assert!(fx.marked(web).is_empty());
    assert!(TcpStream::connect((web.hostname.as_str(), port)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_stream_live_in_order_across_stdout_and_stderr() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    // Each line waits for the test to acknowledge the one before, so the order is the order they
    // were written, and each line provably arrives while the step still runs.
    let script = r#"
say() {
  if [ "$1" = out ]; then echo "$2"; else echo "$2" >&2; fi
  while [ ! -e "ack-$2" ]; do sleep 0.01; done
}
say out one
say err two
say err three
say out four
say err five
"#;
    let work = fx.sandbox(app).join("work");
    let (tx, mut rx) = mpsc::channel::<OutputLine>(4);
    let acknowledger = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            fs::write(work.join(format!("ack-{}", line.text)), "").unwrap();
            lines.push(line);
        }
        lines
    });
    let result = tokio::time::timeout(
        PATIENCE,
        fx.driver
            .run_step(fx.request(app, script, &[]), tx, CancellationToken::new()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(result.exit_code, 0);
    let lines = acknowledger.await.unwrap();
    let expected = [
        (Stream::Stdout, "one"),
        (Stream::Stderr, "two"),
        (Stream::Stderr, "three"),
        (Stream::Stdout, "four"),
        (Stream::Stderr, "five"),
    ];
    let got: Vec<(Stream, &str)> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
    assert_eq!(got, expected);
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_step_returns_every_line_the_exit_code_and_outputs() {
    let fx = fixture();
    let instances = fx.provision(&["db.1"]).await;
    let db = &instances[0];
    let script = r#"
seq 1 2000
seq 1 300 >&2
printf 'crlf line\r\n'
echo "port=5432" >> "$SLIPWAY_OUTPUT"
echo "dsn=postgres://u@h/db?sslmode=disable&x=y" >> "$SLIPWAY_OUTPUT"
cat >> "$SLIPWAY_OUTPUT" <<'EOF'
banner<<END
first line
  second line

END
EOF
printf 'no newline at the end'
"#;
    let (result, lines) = fx.run(db, script, &[]).await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 0);
    let stdout: Vec<&str> = lines
        .iter()
        .filter(|l| l.stream == Stream::Stdout)
        .map(|l| l.text.as_str())
        .collect();
    let stderr: Vec<&str> = lines
        .iter()
        .filter(|l| l.stream == Stream::Stderr)
        .map(|l| l.text.as_str())
        .collect();
    let mut expected: Vec<String> = (1..=2000).map(|n| n.to_string()).collect();
    expected.push("crlf line".into());
    expected.push("no newline at the end".into());
    assert_eq!(stdout, expected);
    let expected: Vec<String> = (1..=300).map(|n| n.to_string()).collect();
    assert_eq!(stderr, expected);
    assert_eq!(
        result.outputs.into_iter().collect::<Vec<_>>(),
        [
            ("port".to_string(), "5432".to_string()),
            (
                "dsn".to_string(),
                "postgres://u@h/db?sslmode=disable&x=y".to_string()
            ),
            (
                "banner".to_string(),
                "first line\n  second line\n".to_string()
            ),
        ]
    );
    // The script stays in the sandbox; its outputs, which may hold secrets, do not.
    let steps = fx.sandbox(db).join("steps");
    assert!(steps.join("001-deployment.sh").is_file());
    assert!(!steps.join("001-deployment.output").exists());
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_script_returns_its_exit_code() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];

    let (result, lines) = fx
        .run(
            app,
            "echo before\necho partial=1 >> \"$SLIPWAY_OUTPUT\"\nexit 7\n",
            &[],
        )
        .await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 7);
    assert_eq!(result.outputs["partial"], "1");
    assert_eq!(texts(&lines), ["before"]);

    // `sh -e`: the first failing command ends the recipe.
    let (result, lines) = fx.run(app, "echo a\nfalse\necho never\n", &[]).await;
    assert_eq!(result.unwrap().exit_code, 1);
    assert_eq!(texts(&lines), ["a"]);

    // Killed by a signal: 128 + the signal, as shells report it.
    let (result, _) = fx.run(app, "kill -9 $$\n", &[]).await;
    assert_eq!(result.unwrap().exit_code, 128 + 9);

    // A bad SLIPWAY_OUTPUT fails a step that otherwise succeeded, naming the line.
    let (result, _) = fx
        .run(
            app,
            "echo 'ok=1' >> \"$SLIPWAY_OUTPUT\"\necho 'oops' >> \"$SLIPWAY_OUTPUT\"\n",
            &[],
        )
        .await;
    let error = result.unwrap_err();
    // The recipe's fault, not the cloud's: the run fails as a deployment failure (exit 1).
    assert_eq!(error.kind, ErrorKind::Recipe);
    assert!(error.message.contains("line 2"), "{error}");
    assert!(error.message.contains("SLIPWAY_OUTPUT"), "{error}");
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_values_arrive_verbatim() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    let tricky =
        "it's \"quoted\" $(touch pwned) `touch pwned2` $HOME ${x:-y} \\ ; | & *\nsecond line\n";
    let script = r#"
printf '%s' "$tricky" > value.txt
printf 'tricky<<EOF_VALUE\n%s\nEOF_VALUE\n' "$tricky" >> "$SLIPWAY_OUTPUT"
echo "cwd=$(pwd)" >> "$SLIPWAY_OUTPUT"
echo "report=$SLIPWAY_REPORT_DIR" >> "$SLIPWAY_OUTPUT"
"#;
    let (result, _) = fx.run(app, script, &[("tricky", tricky)]).await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 0);
    let work = fx.sandbox(app).join("work");
    assert_eq!(fs::read_to_string(work.join("value.txt")).unwrap(), tricky);
    assert_eq!(result.outputs["tricky"], tricky);
    assert!(!work.join("pwned").exists() && !work.join("pwned2").exists());
    assert_eq!(
        Path::new(&result.outputs["cwd"]).canonicalize().unwrap(),
        work.canonicalize().unwrap()
    );
    assert_eq!(
        Path::new(&result.outputs["report"]).canonicalize().unwrap(),
        fx.sandbox(app).join("report").canonicalize().unwrap()
    );
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shebang_line_picks_the_interpreter() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    let script = r#"#!/usr/bin/env python3
import os, sys
print("python", sys.version_info[0])
print("to stderr", file=sys.stderr)
with open(os.environ["SLIPWAY_OUTPUT"], "a") as out:
    out.write("greeting=" + os.environ["greeting"] + "\n")
sys.exit(3)
"#;
    let (result, lines) = fx.run(app, script, &[("greeting", "hi $(x)")]).await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 3);
    assert_eq!(result.outputs["greeting"], "hi $(x)");
    let mut lines = lines;
    lines.sort_by_key(|l| l.stream == Stream::Stderr);
    assert_eq!(
        lines,
        [
            OutputLine::stdout("python 3"),
            OutputLine::stderr("to stderr")
        ]
    );
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_step_kills_it_and_everything_it_started() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    // The main shell ignores SIGTERM, so the grace period and SIGKILL are exercised too.
    let script = r#"
nohup sleep 1000 >/dev/null 2>&1 &
setsid sleep 1000 >/dev/null 2>&1 &
trap '' TERM
echo started
sleep 1000
"#;
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let step = {
        let driver = LocalDriver::new(fx._tmp.path().join("state"));
        let request = fx.request(app, script, &[]);
        let cancel = cancel.clone();
        tokio::spawn(async move { driver.run_step(request, tx, cancel).await })
    };
    let first = tokio::time::timeout(PATIENCE, rx.recv()).await.unwrap();
    assert_eq!(first, Some(OutputLine::stdout("started")));
    wait_until("the step and its sleeps run", || fx.marked(app).len() >= 4).await;

    let cancelled_at = Instant::now();
    cancel.cancel();
    let result = tokio::time::timeout(PATIENCE, step).await.unwrap().unwrap();
    assert_eq!(result.unwrap_err().kind, ErrorKind::Cancelled);
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(10),
        "cancelled in {:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(
        fx.marked(app),
        Vec::<i32>::new(),
        "nothing of the step is left"
    );
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_token_stops_a_step_before_it_starts() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let (tx, _rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let request = fx.request(&instances[0], "touch ran\n", &[]);
    let error = fx.driver.run_step(request, tx, cancel).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Cancelled);
    assert!(!fx.sandbox(&instances[0]).join("work/ran").exists());
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_processes_outlive_their_step_and_die_on_terminate() {
    let fx = fixture();
    let instances = fx.provision(&["app.1", "app.2"]).await;
    let (app, other) = (&instances[0], &instances[1]);
    let script = r#"
nohup sleep 1000 >/dev/null 2>&1 &
setsid sh -c 'sleep 1000 & sleep 1000' >/dev/null 2>&1 < /dev/null &
echo done
"#;
    let (result, lines) = fx.run(app, script, &[]).await;
    assert_eq!(result.unwrap().exit_code, 0);
    assert_eq!(texts(&lines), ["done"]);
    let (result, _) = fx
        .run(other, "nohup sleep 1000 >/dev/null 2>&1 &\n", &[])
        .await;
    assert_eq!(result.unwrap().exit_code, 0);

    wait_until("the background processes run", || fx.marked(app).len() >= 3).await;
    wait_until("the other's process runs", || !fx.marked(other).is_empty()).await;

    // Terminating one instance leaves the other alone.
    fx.terminate(&instances[..1]).await;
    assert_eq!(fx.marked(app), Vec::<i32>::new());
    wait_until("the other's process still runs", || {
        !fx.marked(other).is_empty()
    })
    .await;
    assert_eq!(fx.tagged().await, vec![other.resource_id.clone()]);

    fx.terminate(&instances).await;
    assert_eq!(fx.marked(other), Vec::<i32>::new());
    assert!(fx.tagged().await.is_empty());
    // The sandboxes stay with the run's records.
    assert!(fx.sandbox(app).join("steps/001-deployment.sh").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_child_holding_stdout_open_does_not_hold_up_the_step() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    // The first child keeps the pipes open and silent; the second keeps writing to them.
    let script = r#"
sleep 1000 &
(n=0; while :; do n=$((n+1)); echo "tick $n"; echo "$n" > heartbeat; sleep 0.05; done) &
echo done
"#;
    let (result, lines) = fx.run(app, script, &[]).await;
    assert_eq!(result.unwrap().exit_code, 0);
    assert!(texts(&lines).contains(&"done"));

    // The writer lives on after the step returned: its output is drained, so no SIGPIPE.
    let heartbeat = fx.sandbox(app).join("work/heartbeat");
    let read = || fs::read_to_string(&heartbeat).unwrap_or_default();
    wait_until("the writer has written", || !read().trim().is_empty()).await;
    let seen = read();
    wait_until("the writer writes on", || {
        let now = read();
        !now.trim().is_empty() && now != seen
    })
    .await;

    fx.terminate(&instances).await;
    assert_eq!(fx.marked(app), Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reports_copies_the_report_tree() {
    let fx = fixture();
    let instances = fx.provision(&["test.1"]).await;
    let test = &instances[0];
    let script = r#"
printf 'all passed\n' > "$SLIPWAY_REPORT_DIR/summary.txt"
mkdir -p "$SLIPWAY_REPORT_DIR/logs/deep"
printf '12345' > "$SLIPWAY_REPORT_DIR/logs/deep/app.log"
printf '' > "$SLIPWAY_REPORT_DIR/logs/empty"
"#;
    let (result, _) = fx.run(test, script, &[]).await;
    assert_eq!(result.unwrap().exit_code, 0);

    let dest = fx._tmp.path().join("reports/test.1");
    let copied = fx
        .driver
        .fetch_reports(&fx.run_id, &fx.run_dir, test, &dest)
        .await
        .unwrap();
    assert_eq!(
        copied,
        [
            ("logs/deep/app.log".to_string(), 5),
            ("logs/empty".to_string(), 0),
            ("summary.txt".to_string(), 11),
        ]
    );
    assert_eq!(
        fs::read_to_string(dest.join("summary.txt")).unwrap(),
        "all passed\n"
    );
    assert_eq!(
        fs::read_to_string(dest.join("logs/deep/app.log")).unwrap(),
        "12345"
    );

    // Reports can still be fetched after terminate: the sandbox stays.
    fx.terminate(&instances).await;
    let again = fx
        .driver
        .fetch_reports(&fx.run_id, &fx.run_dir, test, &fx._tmp.path().join("again"))
        .await
        .unwrap();
    assert_eq!(again, copied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_is_idempotent_and_list_tagged_follows_it() {
    let fx = fixture();
    assert!(fx.tagged().await.is_empty());
    let instances = fx.provision(&["a.1", "b.1"]).await;
    assert_eq!(fx.tagged().await.len(), 2);

    fx.terminate(&instances).await;
    assert!(fx.tagged().await.is_empty());
    fx.terminate(&instances).await;

    // One that never existed is already gone.
    let ghost = Provisioned::new("ghost.1", format!("{}/ghost.1", fx.run_id), "127.9.9.9");
    fx.terminate(&[ghost]).await;

    // A terminated instance runs nothing more.
    let (result, _) = fx.run(&instances[0], "echo hi\n", &[]).await;
    assert_eq!(result.unwrap_err().kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drivers_never_hand_out_the_same_address() {
    let shared = tempfile::tempdir().unwrap();
    let state_dir = shared.path().join("state");
    let one = fixture_sharing(tempfile::tempdir().unwrap(), state_dir.clone());
    let two = fixture_sharing(tempfile::tempdir().unwrap(), state_dir.clone());
    let names: Vec<String> = (1..=20).map(|i| format!("n.{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();

    let mut rounds = Vec::new();
    for _round in 0..3 {
        let (a, b, c) = tokio::join!(
            one.provision(&names[..10]),
            two.provision(&names[..10]),
            two.provision(&names[10..]),
        );
        let mut seen = HashSet::new();
        for instance in a.iter().chain(&b).chain(&c) {
            assert!(
                seen.insert(instance.hostname.clone()),
                "{} given twice",
                instance.hostname
            );
        }
        assert_eq!(seen.len(), 30);
        // Provisioning again returns the same addresses: they are already leased to them.
        assert_eq!(one.provision(&names[..10]).await, a);
        one.terminate(&a).await;
        two.terminate(&b).await;
        two.terminate(&c).await;
        rounds.push(seen);
    }
    assert!(one.tagged().await.is_empty() && two.tagged().await.is_empty());
    // Freed addresses are handed out again.
    assert_eq!(rounds[0], rounds[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packages_step_checks_but_never_installs() {
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    let mut request = fx.request(app, "", &[]);
    request.step = "packages".into();
    request.packages = vec!["coreutils".into(), "sh".into()];
    let (result, lines) = fx.run_request(request.clone()).await;
    assert_eq!(result.unwrap().exit_code, 0);
    assert_eq!(texts(&lines), ["coreutils: installed", "sh: installed"]);

    request.packages = vec![
        "coreutils".into(),
        "no-such-package-slipway-a".into(),
        "no-such-package-slipway-b".into(),
    ];
    let (result, lines) = fx.run_request(request).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Recipe, "{error}");
    assert!(
        error
            .message
            .contains("no-such-package-slipway-a, no-such-package-slipway-b"),
        "{error}"
    );
    assert_eq!(
        lines[1],
        OutputLine::stderr("no-such-package-slipway-a: not installed")
    );
    fx.terminate(&instances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipes_get_a_clean_environment_not_the_users() {
    // The test process has variables of its own (cargo sets CARGO_*; a developer's shell has
    // AWS_* and the like): none of them may reach a recipe.
    let ours: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    assert!(
        ours.iter().any(|k| k.starts_with("CARGO")),
        "the test needs a variable of its own process to look for: {ours:?}"
    );
    let fx = fixture();
    let instances = fx.provision(&["app.1"]).await;
    let app = &instances[0];
    let (result, _) = fx
        .run(
            app,
            "env -0 > env.bin\necho \"path=$PATH\" >> \"$SLIPWAY_OUTPUT\"\n",
            &[("db_host", "h")],
        )
        .await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 0);
    let text = fs::read(fx.sandbox(app).join("work/env.bin")).unwrap();
    let names: Vec<String> = text
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| {
            String::from_utf8_lossy(e)
                .split('=')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    // The shell itself may add PWD, SHLVL, OLDPWD and `_`.
    let allowed = |n: &str| {
        matches!(
            n,
            "PATH"
                | "HOME"
                | "LANG"
                | "TERM"
                | "USER"
                | "SHELL"
                | "db_host"
                | "PWD"
                | "SHLVL"
                | "OLDPWD"
                | "_"
        ) || n.starts_with("SLIPWAY_")
    };
    let leaked: Vec<&String> = names.iter().filter(|n| !allowed(n)).collect();
    assert!(leaked.is_empty(), "leaked into the recipe: {leaked:?}");
    for base in ["PATH", "LANG", "TERM", "SHELL", "db_host", "SLIPWAY_OUTPUT"] {
        assert!(names.iter().any(|n| n == base), "{base} missing: {names:?}");
    }
    assert!(!result.outputs["path"].is_empty());
    fx.terminate(&instances).await;
}
