//! Day-2 operations on the real `local` cloud: `slipway scale` of a kept run (real processes, a
//! real SQLite store, the real binary, the real keychain when one answers).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, slipway_in as slipway, text};

/// Processes on this machine started by instance `instance` (`web.3`) of `run_id`, or by any
/// instance of it when `instance` is `None`.
fn processes_of(run_id: &str, instance: Option<&str>) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            let env = String::from_utf8_lossy(&env);
            let vars: Vec<&str> = env.split('\0').collect();
            let of_run = vars.contains(&format!("SLIPWAY_RUN_ID={run_id}").as_str());
            let of_instance =
                instance.is_none_or(|i| vars.contains(&format!("SLIPWAY_INSTANCE={i}").as_str()));
            if of_run && of_instance {
                found.push(pid);
            }
        }
    }
    found
}

/// Polls `cond` (a condition, not a duration, decides when to go on).
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn last_run_id(home: &Path) -> String {
    let out = slipway(home, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    runs[0]["id"].as_str().unwrap().to_string()
}

fn status(home: &Path, run: &str) -> serde_json::Value {
    let out = slipway(home, &["status", run, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn instance_states(s: &serde_json::Value) -> Vec<(String, String)> {
    s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn param(s: &serde_json::Value, instance: &str, name: &str) -> String {
    s["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["instance"] == instance && p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {instance}.{name}"))["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Log lines of one instance's step.
fn step_lines(home: &Path, run: &str, instance: &str, step: &str) -> Vec<String> {
    let out = slipway(home, &["logs", run, instance, "--json"]);
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["step"] == step && l["stream"] != "system")
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect()
}

/// The body of `GET url` (plain HTTP/1.0 over a socket).
fn get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200"), "{response}");
    body.trim().to_string()
}

/// The distinct pages `n` requests through the balancer got, sorted.
fn served_by(lb_url: &str, n: usize) -> Vec<String> {
    let mut pages: Vec<String> = (0..n).map(|_| get(lb_url)).collect();
    pages.sort();
    pages.dedup();
    pages
}

fn urls_in(line: &str) -> usize {
    line.split("balancing over ").nth(1).map_or(0, |list| {
        list.split(',').filter(|u| u.starts_with("http://")).count()
    })
}

#[test]
fn the_balancer_follows_scale_up_and_down() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = repo("assets/examples/web-with-lb.slipway.yaml");
    let out = slipway(h, &["run", file.to_str().unwrap(), "--keep", "always"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = last_run_id(h);
    let s = status(h, &id);
    assert_eq!(s["state"], "ready");
    let lb = param(&s, "lb.1", "url");
    assert_eq!(
        served_by(&lb, 4),
        ["served by web.1", "served by web.2"],
        "before scaling"
    );

    // +2: two new web servers, the balancer's hook sees four URLs and serves through all four.
    let up = slipway(h, &["scale", "last", "web", "+2"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert!(
        text(&up.stdout).contains("added web.3, web.4"),
        "{}",
        text(&up.stdout)
    );
    let s = status(h, &id);
    assert_eq!(s["state"], "ready");
    let states = instance_states(&s);
    for n in 1..=4 {
        assert!(
            states.contains(&(format!("web.{n}"), "ready".into())),
            "{states:?}"
        );
    }
    let added = step_lines(h, &id, "lb.1", "on_node_add");
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("web.3,web.4 joined web;"), "{added:?}");
    assert_eq!(urls_in(&added[0]), 4, "{added:?}");
    assert_eq!(param(&s, "lb.1", "backends").split(',').count(), 4);
    assert_eq!(
        served_by(&lb, 8),
        [
            "served by web.1",
            "served by web.2",
            "served by web.3",
            "served by web.4"
        ]
    );
    for n in 2..=4 {
        assert!(
            !processes_of(&id, Some(&format!("web.{n}"))).is_empty(),
            "web.{n} serves"
        );
    }

    // -3: the hook runs first with the shrunk list, then web.4, web.3 and web.2 go.
    let down = slipway(h, &["scale", &id, "web", "-3"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    let removed = step_lines(h, &id, "lb.1", "on_node_remove");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(
        removed[0].starts_with("web.4,web.3,web.2 leave web;"),
        "{removed:?}"
    );
    assert_eq!(urls_in(&removed[0]), 1, "{removed:?}");
    let s = status(h, &id);
    assert_eq!(s["state"], "ready");
    let states = instance_states(&s);
    assert!(
        states.contains(&("web.1".into(), "ready".into())),
        "{states:?}"
    );
    for n in 2..=4 {
        let name = format!("web.{n}");
        assert!(
            states.contains(&(name.clone(), "terminated".into())),
            "{states:?}"
        );
        assert!(
            processes_of(&id, Some(&name)).is_empty(),
            "{name} still runs"
        );
    }
    assert_eq!(served_by(&lb, 4), ["served by web.1"]);
    // The record shows every step of both scales.
    let steps: Vec<(String, String, String)> = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["instance"].as_str().unwrap().into(),
                st["kind"].as_str().unwrap().into(),
                st["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (i, k) in [
        ("web.3", "deployment"),
        ("lb.1", "on_node_add"),
        ("lb.1", "on_node_remove"),
    ] {
        assert!(
            steps.contains(&(i.into(), k.into(), "succeeded".into())),
            "{steps:?}"
        );
    }
    let log = text(&slipway(h, &["logs", &id]).stdout);
    assert!(
        log.contains("scale web +2: done (added web.3, web.4)"),
        "{log}"
    );
    assert!(
        log.contains("scale web -3: done (removed web.4, web.3, web.2)"),
        "{log}"
    );

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
