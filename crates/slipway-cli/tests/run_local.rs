//! `slipway run` on the real `local` cloud: real processes, a real SQLite store, the real binary.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, slipway_in as slipway, text, FAILING};

/// Processes on this machine that a local instance of `run_id` started.
fn processes_of(run_id: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            let env = String::from_utf8_lossy(&env);
            if env
                .split('\0')
                .any(|kv| kv.starts_with("SLIPWAY_RUN_ID=") && kv.ends_with(run_id))
            {
                found.push(pid);
            }
        }
    }
    found
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn last_run(home: &Path) -> serde_json::Value {
    let out = slipway(home, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    runs[0].clone()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn every_example_runs_to_completion_on_local() {
    let home = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("assets/examples")).unwrap() {
        let path = entry.unwrap().path();
        let out = slipway(
            home.path(),
            &["run", path.to_str().unwrap(), "--keep", "never"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            path.display(),
            text(&out.stderr)
        );
        let run = last_run(home.path());
        assert_eq!(run["state"], "done", "{run}");
        assert!(processes_of(run["id"].as_str().unwrap()).is_empty());
    }
}

#[test]
fn web_with_db_wires_values_and_fetches_reports() {
    let home = tempfile::tempdir().unwrap();
    let file = repo("assets/examples/web-with-db.slipway.yaml");
    let out = slipway(
        home.path(),
        &["run", file.to_str().unwrap(), "--keep", "never", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "run_started");
    let run_id = events[0]["run_id"].as_str().unwrap().to_string();
    assert!(events.iter().all(|e| e["run_id"] == run_id.as_str()));
    // The smoke test saw both web servers, each naming the database host it was wired to.
    let smoke: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "log" && e["instance"] == "smoke.1")
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert_eq!(
        smoke.iter().filter(|l| l.starts_with("ok http://")).count(),
        2,
        "{smoke:?}"
    );
    let status = slipway(home.path(), &["status", &run_id, "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let param = |inst: &str, name: &str| {
        s["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["instance"] == inst && p["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    let db_host = param("db.1", "hostname");
    assert_eq!(param("web.2", "db_host"), db_host);
    assert_eq!(param("web.1", "db_port"), "5432");
    let urls = param("smoke.1", "urls");
    assert_eq!(
        urls,
        format!(
            "{},{}",
            param("web.1", "url").as_str().unwrap(),
            param("web.2", "url").as_str().unwrap()
        )
    );
    assert_eq!(param("db.1", "db_password"), "***");
    let report = home
        .path()
        .join("runs")
        .join(&run_id)
        .join("reports/smoke.1/smoke.txt");
    assert!(std::fs::read_to_string(report)
        .unwrap()
        .starts_with("checked: http://"));
}

#[test]
fn a_failing_test_exits_1_and_tears_down() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "failing.slipway.yaml", FAILING);
    let out = slipway(home.path(), &["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run = last_run(home.path());
    assert_eq!(run["state"], "aborted");
    let id = run["id"].as_str().unwrap();
    assert!(
        processes_of(id).is_empty(),
        "left running: {:?}",
        processes_of(id)
    );
    let status = text(&slipway(home.path(), &["status", id]).stdout);
    assert!(
        status.contains("failed in deployment: the deployment recipe exited with status 3"),
        "{status}"
    );
    // Reporting still ran for the failed test, and its report was fetched.
    assert!(home
        .path()
        .join("runs")
        .join(id)
        .join("reports/test.1/junit.txt")
        .exists());
    let logs = text(&slipway(home.path(), &["logs", id, "test.1"]).stdout);
    assert!(
        logs.contains("test.1 deployment ! assertion failed"),
        "{logs}"
    );
}

#[test]
fn keep_always_stays_until_terminate() {
    let home = tempfile::tempdir().unwrap();
    let file = write(
        home.path(),
        "kept.slipway.yaml",
        &FAILING
            .replace("exit 3", "true")
            .replace("on-success", "always"),
    );
    let out = slipway(home.path(), &["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = last_run(home.path());
    assert_eq!(run["state"], "ready");
    let id = run["id"].as_str().unwrap().to_string();
    assert!(
        !processes_of(&id).is_empty(),
        "the kept server should still run"
    );
    let t = slipway(home.path(), &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(processes_of(&id).is_empty());
    assert_eq!(last_run(home.path())["state"], "done");
}

const SECRETS: &str = r#"
slipway: 1
name: secrets
images:
  base: {}
components:
  app:
    image: base
    inputs:
      api_key: { secret: true, required: true }
      generated: { secret: true, generate: 24 }
    outputs: { echoed: {} }
    recipes:
      deployment: |
        echo "using key $api_key"
        echo "to stderr: $api_key" >&2
        echo "echoed=prefix-$api_key" >> "$SLIPWAY_OUTPUT"
        echo "generated is $generated"
        test "${#api_key}" -eq 20
deployment:
  keep_running: never
  nodes:
    app: { component: app }
"#;

#[test]
fn a_secret_canary_never_leaves_the_process() {
    let canary = "CANARY-7f3a9c-SECRET";
    let home = tempfile::tempdir().unwrap();
    let recipe = SECRETS;
    let file = write(home.path(), "secrets.slipway.yaml", recipe);
    let set = format!("app.api_key={canary}");
    let out = slipway(home.path(), &["run", file.to_str().unwrap(), "--set", &set]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = slipway(
        home.path(),
        &["run", file.to_str().unwrap(), "--set", &set, "--json"],
    );
    assert_eq!(json.status.code(), Some(0));
    let id = last_run(home.path())["id"].as_str().unwrap().to_string();
    let mut shown =
        text(&out.stdout) + &text(&out.stderr) + &text(&json.stdout) + &text(&json.stderr);
    for args in [
        vec!["status", &id],
        vec!["status", &id, "--json"],
        vec!["logs", &id],
        vec!["runs", "--json"],
    ] {
        let o = slipway(home.path(), &args);
        shown += &text(&o.stdout);
        shown += &text(&o.stderr);
    }
    assert!(shown.contains("using key ***"), "{shown}");
    assert!(shown.contains("to stderr: ***"), "{shown}");
    assert!(shown.contains("prefix-***"), "{shown}");
    assert!(!shown.contains(canary));
    // Nothing under the data directory holds it either (database, WAL, logs, sandboxes).
    let mut stack = vec![home.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "secrets.slipway.yaml" {
                let bytes = std::fs::read(&p).unwrap_or_default();
                assert!(
                    !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                    "the canary is in {}",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn after_kill_9_the_run_is_interrupted_and_terminate_cleans_up() {
    let home = tempfile::tempdir().unwrap();
    let recipe = r#"
slipway: 1
name: sleepers
images:
  base: {}
components:
  sleeper:
    image: base
    recipes:
      deployment: |
        setsid sleep 1000 >/dev/null 2>&1 < /dev/null &
        echo started
        sleep 1000
deployment:
  nodes:
    s: { component: sleeper, multiplicity: 3 }
"#;
    let file = write(home.path(), "sleepers.slipway.yaml", recipe);
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", file.to_str().unwrap(), "--json"])
        .env("SLIPWAY_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (on the event stream) until every instance printed `started`.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run_id = String::new();
    let mut started = 0;
    while started < 3 {
        let line = lines.next().expect("the run ended early").unwrap();
        let e: serde_json::Value = serde_json::from_str(&line).unwrap();
        if e["event"] == "run_started" {
            run_id = e["run_id"].as_str().unwrap().to_string();
        }
        if e["event"] == "log" && e["line"] == "started" {
            started += 1;
        }
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs in the CLI
    child.wait().unwrap();
    assert!(
        !processes_of(&run_id).is_empty(),
        "recipes outlive a killed CLI"
    );
    let run = last_run(home.path());
    assert_eq!(run["id"], run_id.as_str());
    assert_eq!(run["state"], "interrupted");
    let t = slipway(home.path(), &["terminate", &run_id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(
        processes_of(&run_id).is_empty(),
        "left: {:?}",
        processes_of(&run_id)
    );
    let status: serde_json::Value =
        serde_json::from_slice(&slipway(home.path(), &["status", &run_id, "--json"]).stdout)
            .unwrap();
    assert_eq!(status["state"], "cancelled");
    assert!(status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["state"] == "terminated"));
}

#[test]
fn detach_returns_at_once_and_logs_follow_to_the_end() {
    let home = tempfile::tempdir().unwrap();
    let file = repo("assets/examples/multiline-outputs.slipway.yaml");
    let out = slipway(home.path(), &["run", file.to_str().unwrap(), "--detach"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert!(id.starts_with("r-"), "{id}");
    let follow = slipway(home.path(), &["logs", &id, "--follow"]);
    assert_eq!(follow.status.code(), Some(0));
    assert!(text(&follow.stdout).contains("trusting sha256:5a:1f:0e"));
    wait_until("the detached run to finish", || {
        last_run(home.path())["state"] == "done"
    });
}

#[test]
fn unknown_run_and_bad_keep_are_bad_input() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(
        slipway(home.path(), &["status", "r-nope"]).status.code(),
        Some(2)
    );
    assert_eq!(
        slipway(home.path(), &["terminate", "r-nope"]).status.code(),
        Some(2)
    );
    let file = repo("assets/examples/hello.slipway.yaml");
    assert_eq!(
        slipway(
            home.path(),
            &["run", file.to_str().unwrap(), "--keep", "sometimes"]
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        slipway(
            home.path(),
            &["run", file.to_str().unwrap(), "--cloud", "ec2"]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn detach_hands_set_values_to_the_background_run() {
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), "secrets.slipway.yaml", SECRETS);
    let out = slipway(
        home.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--detach",
            "--set",
            "app.api_key=CANARY-7f3a9c-SECRET",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    wait_until("the detached run to end", || {
        let state = last_run(home.path())["state"]
            .as_str()
            .unwrap_or("")
            .to_string();
        state == "done" || state == "aborted"
    });
    // The recipe checks the value arrived (its length); it fails the run otherwise.
    let status: serde_json::Value =
        serde_json::from_slice(&slipway(home.path(), &["status", &id, "--json"]).stdout).unwrap();
    assert_eq!(status["state"], "done", "{status}");
}
