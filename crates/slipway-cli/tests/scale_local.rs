//! Day-2 operations on the real `local` cloud: `slipway scale` of a kept run (real processes, a
//! real SQLite store, the real binary, the real keychain when one answers).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::balancer::*;
use common::{repo, slipway_in as slipway, text};

#[test]
fn the_balancer_follows_scale_up_and_down() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = repo("assets/examples/web-with-lb.slipway.yaml");
    let id = scale_the_balancer(h, &file, &[], true);

    // Below multiplicity 1, an unknown node, a malformed change: refused, nothing changes.
    for (args, says) in [
        (vec!["scale", &id, "web", "-1"], "below multiplicity 1"),
        (vec!["scale", &id, "nope", "+1"], "no node `nope`"),
        (vec!["scale", &id, "web", "2"], "+N"),
    ] {
        let out = slipway(h, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    assert_eq!(instance_states(&status(h, &id)).len(), 5);
    // The plan as JSON: indexes are never reused, so the next web server is web.5.
    let plan = slipway(h, &["scale", &id, "web", "+1", "--dry-run", "--json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["event"], "scale_plan");
    assert_eq!(plan["add"], serde_json::json!(["web.5"]));
    assert_eq!(
        plan["steps"],
        serde_json::json!(["provision", "pre_install", "deployment"])
    );
    assert_eq!(plan["hook_on"], serde_json::json!(["lb.1"]));
    assert_eq!(instance_states(&status(h, &id)).len(), 5);

    let t = slipway(h, &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(processes_of(&id, None).is_empty());
    // A run that is not `ready` any more cannot be scaled.
    let out = slipway(h, &["scale", &id, "web", "+1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("only a kept run in state `ready` can be scaled"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_failed_run_and_a_run_that_was_never_kept_cannot_be_scaled() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let recipe = r#"
slipway: 1
name: failing
images:
  base: {}
components:
  app:
    image: base
    recipes:
      deployment: |
        exit 4
deployment:
  keep_running: on-error
  nodes:
    app: { component: app }
"#;
    let file = write(h, "failing.slipway.yaml", recipe);
    let out = slipway(h, &["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let out = slipway(h, &["scale", "last", "app", "+1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is aborted"),
        "{}",
        text(&out.stderr)
    );
    let hello = repo("assets/examples/hello.slipway.yaml");
    let out = slipway(h, &["run", hello.to_str().unwrap(), "--keep", "never"]);
    assert_eq!(out.status.code(), Some(0));
    let out = slipway(h, &["scale", "last", "hello", "+1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is done"),
        "{}",
        text(&out.stderr)
    );
    let out = slipway(h, &["scale", "r-20000101-000000-0000", "app", "+1"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `on_node_add` of the existing instance waits until the test creates the file `$gate`.
const GATED: &str = r#"
slipway: 1
name: gated
images:
  base: {}
components:
  app:
    image: base
    inputs:
      gate: { required: true }
    recipes:
      deployment: |
        echo deployed
      on_node_add: |
        echo "waiting for $gate"
        while [ ! -e "$gate" ]; do sleep 0.05; done
        echo "gate open"
deployment:
  keep_running: always
  nodes:
    app: { component: app }
"#;

/// Launches the gated recipe and starts `scale +1`, returned once its hook waits at the gate.
fn gated_scale_in_progress(h: &Path) -> (String, std::process::Child) {
    let gate = h.join("gate");
    let file = write(h, "gated.slipway.yaml", GATED);
    let set = format!("app.gate={}", gate.display());
    let out = slipway(h, &["run", file.to_str().unwrap(), "--set", &set]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_run_id(h);
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["scale", &id, "app", "+1"])
        .env("SLIPWAY_HOME", h)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the scale to reach on_node_add", || {
        step_lines(h, &id, "app.1", "on_node_add")
            .iter()
            .any(|l| l.starts_with("waiting for"))
    });
    (id, child)
}

#[test]
fn a_second_scale_is_refused_while_one_is_in_progress() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let gate = h.join("gate");
    let (id, first) = gated_scale_in_progress(h);
    let shown = text(&slipway(h, &["status", &id]).stdout);
    assert!(shown.contains("in progress: `scale app +1`"), "{shown}");
    let s = status(h, &id);
    assert_eq!(s["state"], "ready", "the run stays ready");
    assert_eq!(s["in_progress"]["operation"], "scale app +1", "{s}");
    let second = slipway(h, &["scale", &id, "app", "+1"]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("`scale app +1` is already in progress"),
        "{}",
        text(&second.stderr)
    );
    std::fs::write(&gate, "").unwrap();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let states = instance_states(&status(h, &id));
    assert_eq!(
        states,
        [
            ("app.1".to_string(), "ready".to_string()),
            ("app.2".to_string(), "ready".to_string())
        ]
    );
    // The lock is gone with the scale: the next one goes through.
    let again = slipway(h, &["scale", &id, "app", "-1"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(slipway(h, &["terminate", &id]).status.code(), Some(0));
    assert!(processes_of(&id, None).is_empty());
}

#[test]
fn terminate_stops_a_scale_in_progress_and_leaves_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (id, scale) = gated_scale_in_progress(h);
    assert!(!processes_of(&id, Some("app.1")).is_empty());
    let t = slipway(h, &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    let out = scale.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        processes_of(&id, None).is_empty(),
        "left: {:?}",
        processes_of(&id, None)
    );
    let s = status(h, &id);
    assert_eq!(s["state"], "done");
    assert!(s.get("in_progress").is_none(), "{s}");
    assert!(
        instance_states(&s).iter().all(|(_, st)| st == "terminated"),
        "{s}"
    );
}

#[test]
fn a_failing_hook_marks_its_instance_and_the_run_stays_ready() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let recipe = r#"
slipway: 1
name: picky
images:
  base: {}
components:
  app:
    image: base
    recipes:
      deployment: |
        echo deployed
      on_node_add: |
        echo "refusing $SLIPWAY_ADDED"
        exit 3
deployment:
  keep_running: always
  nodes:
    app: { component: app }
"#;
    let file = write(h, "picky.slipway.yaml", recipe);
    assert_eq!(
        slipway(h, &["run", file.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let id = last_run_id(h);
    let out = slipway(h, &["scale", &id, "app", "+1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("app.1: the on_node_add recipe exited with status 3"),
        "{}",
        text(&out.stderr)
    );
    let s = status(h, &id);
    assert_eq!(s["state"], "ready");
    assert_eq!(
        instance_states(&s),
        [
            ("app.1".to_string(), "failed".to_string()),
            ("app.2".to_string(), "ready".to_string())
        ]
    );
    assert_eq!(slipway(h, &["terminate", &id]).status.code(), Some(0));
    assert!(processes_of(&id, None).is_empty());
}

/// The real keychain, or `None` (with a note) when none answers and CI does not require one.
fn keychain_or_skip(home: &Path) -> Option<slipway_secrets::Keychain> {
    let k = slipway_secrets::Keychain::for_home(home);
    match k.probe() {
        Ok(()) => Some(k),
        Err(e) if std::env::var("SLIPWAY_REQUIRE_KEYCHAIN").as_deref() == Ok("1") => {
            panic!("SLIPWAY_REQUIRE_KEYCHAIN=1 but no keychain is reachable: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no keychain reachable ({e})");
            None
        }
    }
}

/// Every file under `dir` but `except` that holds `needle`.
fn files_holding(dir: &Path, needle: &str, except: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p != except {
                let bytes = std::fs::read(&p).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(p);
                }
            }
        }
    }
    found
}

#[test]
fn the_secrets_of_a_scaled_run_live_in_the_keychain_until_terminate() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let Some(keychain) = keychain_or_skip(h) else {
        return;
    };
    let canary = "CANARY-5c1e-SCALED-SECRET";
    let recipe = r#"
slipway: 1
name: keyed
images:
  base: {}
components:
  app:
    image: base
    inputs:
      api_key: { secret: true, required: true }
      token: { secret: true, generate: 24 }
    outputs:
      token_hash: {}
    recipes:
      deployment: |
        echo "using key $api_key"
        echo "token $token"
        test "${#api_key}" -eq 25
        echo "token_hash=$(printf %s "$token" | sha256sum | cut -c1-16)" >> "$SLIPWAY_OUTPUT"
deployment:
  keep_running: always
  nodes:
    app: { component: app }
"#;
    let file = write(h, "keyed.slipway.yaml", recipe);
    let set = format!("app.api_key={canary}");
    let out = slipway(h, &["run", file.to_str().unwrap(), "--set", &set]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_run_id(h);
    let kept = keychain
        .get_run(&id)
        .unwrap()
        .expect("kept in the keychain");
    assert!(kept.expose().contains(canary));
    let up = slipway(h, &["scale", &id, "app", "+1"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    // The new instance got the same values, masked wherever they are shown.
    let lines = step_lines(h, &id, "app.2", "deployment");
    assert_eq!(lines, ["using key ***", "token ***"]);
    let s = status(h, &id);
    assert_eq!(
        param(&s, "app.2", "token_hash"),
        param(&s, "app.1", "token_hash"),
        "the generated value was recalled, not made anew"
    );
    let mut shown = text(&up.stdout) + &text(&up.stderr);
    for args in [vec!["status", &id, "--json"], vec!["logs", &id]] {
        let o = slipway(h, &args);
        shown += &text(&o.stdout);
        shown += &text(&o.stderr);
    }
    assert!(!shown.contains(canary), "{shown}");
    let on_disk = files_holding(h, canary, &file);
    assert!(on_disk.is_empty(), "the canary is in {on_disk:?}");
    assert!(h.join("slipway.db").exists());
    let t = slipway(h, &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert_eq!(keychain.get_run(&id).unwrap(), None, "gone after terminate");
    assert!(files_holding(h, canary, &file).is_empty());
}

/// `slipway` with no Secret Service reachable (a session bus address where nothing listens).
fn slipway_without_keychain(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("SLIPWAY_HOME", home)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/slipway-test-bus",
        )
        .output()
        .unwrap()
}

#[test]
fn without_a_keychain_a_run_says_so_and_cannot_be_scaled() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let recipe = r#"
slipway: 1
name: generated
images:
  base: {}
components:
  app:
    image: base
    inputs:
      token: { secret: true, generate: 16 }
    recipes:
      deployment: |
        echo "token $token"
deployment:
  keep_running: always
  nodes:
    app: { component: app }
"#;
    let file = write(h, "generated.slipway.yaml", recipe);
    let out = slipway_without_keychain(h, &["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_run_id(h);
    let log = text(&slipway(h, &["logs", &id]).stdout);
    assert!(
        log.contains("warning: the secret values of this run cannot be kept in the OS keychain"),
        "{log}"
    );
    let up = slipway_without_keychain(h, &["scale", &id, "app", "+1"]);
    assert_eq!(up.status.code(), Some(3), "{}", text(&up.stderr));
    assert!(
        text(&up.stderr).contains("generated inputs cannot be resolved again")
            || text(&up.stderr).contains("cannot be read from the OS keychain"),
        "{}",
        text(&up.stderr)
    );
    assert_eq!(
        instance_states(&status(h, &id)).len(),
        1,
        "nothing was added"
    );
    let t = slipway_without_keychain(h, &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(processes_of(&id, None).is_empty());
}
