//! The scale scenario of issue 13, shared by the clouds it runs on (`scale_local`, `scale_clouds`):
//! the web-with-lb example's balancer follows `slipway scale web +2` and `-3`.
#![allow(dead_code)] // not every test file uses every helper

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{slipway_in as slipway, text};

/// Processes on this machine started by instance `instance` (`web.3`) of `run_id`, or by any
/// instance of it when `instance` is `None`.
pub fn processes_of(run_id: &str, instance: Option<&str>) -> Vec<u32> {
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
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

pub fn last_run_id(home: &Path) -> String {
    let out = slipway(home, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    runs[0]["id"].as_str().unwrap().to_string()
}

pub fn status(home: &Path, run: &str) -> serde_json::Value {
    let out = slipway(home, &["status", run, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn instance_states(s: &serde_json::Value) -> Vec<(String, String)> {
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

pub fn param(s: &serde_json::Value, instance: &str, name: &str) -> String {
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
pub fn step_lines(home: &Path, run: &str, instance: &str, step: &str) -> Vec<String> {
    let out = slipway(home, &["logs", run, instance, "--json"]);
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["step"] == step && l["stream"] != "system")
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect()
}

/// The body of `GET url` (plain HTTP/1.0 over a socket).
pub fn get(url: &str) -> String {
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
pub fn served_by(lb_url: &str, n: usize) -> Vec<String> {
    let mut pages: Vec<String> = (0..n).map(|_| get(lb_url)).collect();
    pages.sort();
    pages.dedup();
    pages
}

pub fn urls_in(line: &str) -> usize {
    line.split("balancing over ").nth(1).map_or(0, |list| {
        list.split(',').filter(|u| u.starts_with("http://")).count()
    })
}

/// The web-with-lb example kept on the cloud `run_args` choose (none: `local`), scaled `web +2`
/// then `web -3`: the balancer's hooks see the new lists and it serves through exactly the
/// instances there are. `processes` says whether the instances' processes are this machine's
/// (local, ssh on loopback), so that the removed ones can be seen gone. The run id, still
/// `ready` with web.1 and lb.1.
pub fn scale_the_balancer(h: &Path, file: &Path, run_args: &[&str], processes: bool) -> String {
    let mut args = vec!["run", file.to_str().unwrap(), "--keep", "always"];
    args.extend(run_args);
    let out = slipway(h, &args);
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

    // The plan first, changing nothing.
    let plan = slipway(h, &["scale", &id, "web", "+2", "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let said = text(&plan.stdout);
    assert!(
        said.contains("add web.3, web.4 on cloud")
            && said.contains("(2 → 4 instances)")
            && said.contains("then on_node_add on lb.1"),
        "{said}"
    );
    assert_eq!(
        instance_states(&status(h, &id)).len(),
        3,
        "a dry run adds nothing"
    );

    // +2: two new web servers, the balancer's hook sees four URLs and serves through all four.
    let up = slipway(h, &["scale", "last", "web", "+2"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert!(
        text(&up.stdout).contains("then on_node_add on lb.1"),
        "the plan is printed before the scale: {}",
        text(&up.stdout)
    );
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
            !processes || !processes_of(&id, Some(&format!("web.{n}"))).is_empty(),
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
            !processes || processes_of(&id, Some(&name)).is_empty(),
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
    id
}
