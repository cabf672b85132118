//! `slipway resume` on the real `local` cloud: the CLI is killed with SIGKILL in the middle of a
//! run, and another process continues it (real processes, a real SQLite store, the real binary).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{slipway_in as slipway, text};

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
                .any(|kv| kv == format!("SLIPWAY_RUN_ID={run_id}"))
            {
                found.push(pid);
            }
        }
    }
    found
}

fn runs(home: &Path) -> serde_json::Value {
    serde_json::from_slice(&slipway(home, &["runs", "--json"]).stdout).unwrap()
}

/// Five nodes: `a`, `b` and `c` deploy at once; `slow` waits until the gate file exists; `after`
/// reads `slow`'s output. Every deployment appends its instance's name to `marks`.
fn recipe(marks: &Path, gate: &Path) -> String {
    format!(
        r#"
slipway: 1
name: five
images:
  base: {{}}
components:
  worker:
    image: base
    inputs:
      up: {{ default: "-" }}
      marks: {{ default: "{marks}" }}
      gate: {{ default: "{gate}" }}
    outputs:
      x: {{}}
    recipes:
      deployment: |
        echo "$SLIPWAY_INSTANCE" >> "$marks"
        echo "deploying $SLIPWAY_INSTANCE after $up"
        if [ "$SLIPWAY_NODE" = slow ]; then
          echo "waiting for the gate"
          while [ ! -e "$gate" ]; do sleep 0.05; done
        fi
        echo "x=from-$SLIPWAY_INSTANCE" >> "$SLIPWAY_OUTPUT"
deployment:
  keep_running: on-success
  nodes:
    a: {{ component: worker }}
    b: {{ component: worker }}
    c: {{ component: worker }}
    slow: {{ component: worker }}
    after:
      component: worker
      inputs:
        up: {{ from: slow.x }}
"#,
        marks = marks.display(),
        gate = gate.display()
    )
}

#[test]
fn a_run_killed_during_deployment_is_resumed_to_ready() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (marks, gate) = (h.join("marks"), h.join("gate"));
    let file = h.join("five.slipway.yaml");
    std::fs::write(&file, recipe(&marks, &gate)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", file.to_str().unwrap(), "--json"])
        .env("SLIPWAY_HOME", h)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // On the event stream: `slow` is blocked on the gate and a, b and c have finished.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run_id = String::new();
    let (mut waiting, mut finished) = (false, 0);
    while !(waiting && finished == 3) {
        let line = lines.next().expect("the run ended early").unwrap();
        let e: serde_json::Value = serde_json::from_str(&line).unwrap();
        if e["event"] == "run_started" {
            run_id = e["run_id"].as_str().unwrap().to_string();
        }
        if e["event"] == "log" && e["line"] == "waiting for the gate" {
            waiting = true;
        }
        if e["event"] == "step_finished" && e["step"] == "deployment" {
            assert_eq!(e["state"], "succeeded", "{e}");
            finished += 1;
        }
    }
    child.kill().unwrap(); // SIGKILL: the CLI records nothing more
    child.wait().unwrap();
    assert_eq!(runs(h)[0]["state"], "interrupted");
    let before = std::fs::read_to_string(&marks).unwrap();
    assert_eq!(before.lines().count(), 4, "{before}");

    // Resume: the blocked step runs again (and passes the open gate), `after` follows.
    std::fs::write(&gate, "").unwrap();
    let out = slipway(h, &["resume", "last"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status: serde_json::Value =
        serde_json::from_slice(&slipway(h, &["status", &run_id, "--json"]).stdout).unwrap();
    assert_eq!(status["state"], "ready", "{status}");
    assert!(status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["state"] == "ready"));
    assert!(status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["state"] == "succeeded"));
    // Finished steps did not run again; the interrupted one did.
    let mut deployed: Vec<String> = std::fs::read_to_string(&marks)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    deployed.sort();
    assert_eq!(
        deployed,
        ["a.1", "after.1", "b.1", "c.1", "slow.1", "slow.1"],
        "deployments run"
    );
    let logs = text(&slipway(h, &["logs", &run_id]).stdout);
    for name in ["a.1", "b.1", "c.1"] {
        let line = format!("{name} deployment | deploying {name} after -");
        assert_eq!(logs.matches(&line).count(), 1, "{line}\n{logs}");
    }
    assert!(
        logs.contains("after.1 deployment | deploying after.1 after from-slow.1"),
        "{logs}"
    );
    assert!(logs.contains("resumed by process"), "{logs}");

    // Only an interrupted run can be resumed.
    let again = slipway(h, &["resume", &run_id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("is ready"),
        "{}",
        text(&again.stderr)
    );
    let none = slipway(h, &["resume", "r-20000101-000000-0000"]);
    assert_eq!(none.status.code(), Some(2));

    let t = slipway(h, &["terminate", &run_id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(
        processes_of(&run_id).is_empty(),
        "left: {:?}",
        processes_of(&run_id)
    );
    assert_eq!(runs(h)[0]["state"], "done");
}
