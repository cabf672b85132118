//! `slipway run --cloud lab` on an `ssh` cloud: real sshd servers on loopback addresses
//! (127.202.0.x, far from those `local` leases from 127.1.0.1 up; see the ssh driver's test
//! support), the real binary, a real store. Needs Debian's `openssh-server` and root. The
//! secret-key test needs a keychain (skipped with a note when none answers, unless
//! `SLIPWAY_REQUIRE_KEYCHAIN=1`).

mod common;
#[path = "../../slipway-driver-ssh/tests/support/mod.rs"]
mod sshd;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{
    files_under, keychain_answers, repo, slipway_in as slipway, slipway_with_stdin, text, FAILING,
};
use sshd::{processes_of, unprivileged_user, wait_until, Lab};

/// This binary's loopback addresses.
const BASE: u8 = 202;

impl Lab {
    fn new(n: usize) -> Lab {
        Lab::start(BASE, n)
    }

    fn hosts_setting(&self) -> String {
        format!("hosts={}", self.host_list())
    }

    /// `slipway clouds add lab ssh` with the key file.
    fn add_cloud(&self) {
        self.add_cloud_with(&self.hosts_setting());
    }

    /// `slipway clouds add lab ssh` with the key file and this `hosts=…` setting.
    fn add_cloud_with(&self, hosts: &str) {
        let key = format!("key_file={}", self.key.private.display());
        let out = slipway(
            self.home.path(),
            &[
                "clouds",
                "add",
                "lab",
                "ssh",
                "--setting",
                hosts,
                "--setting",
                &key,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    fn slipway(&self, args: &[&str]) -> Output {
        slipway(self.home.path(), args)
    }
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn leases(home: &Path, run_id: &str) -> Vec<slipway_store::HostLease> {
    slipway_store::Store::open(home)
        .unwrap()
        .host_leases(run_id, "lab")
        .unwrap()
}

#[test]
fn web_with_db_runs_on_ssh_hosts_as_on_local() {
    let lab = Lab::new(4);
    lab.add_cloud();
    let file = repo("assets/examples/web-with-db.slipway.yaml");
    let out = lab.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--cloud",
        "lab",
        "--keep",
        "never",
        "--json",
    ]);
    let all = events(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    let run_id = all[0]["run_id"].as_str().unwrap().to_string();
    let smoke: Vec<&str> = all
        .iter()
        .filter(|e| e["event"] == "log" && e["instance"] == "smoke.1")
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    let oks: Vec<&&str> = smoke
        .iter()
        .filter(|l| l.starts_with("ok http://"))
        .collect();
    assert_eq!(oks.len(), 2, "{smoke:?}");
    let status = lab.slipway(&["status", &run_id, "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let param = |inst: &str, name: &str| {
        s["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["instance"] == inst && p["name"] == name)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Every instance got a host of its own, and wires carry their addresses.
    let mut hostnames: Vec<String> = ["db.1", "web.1", "web.2", "smoke.1"]
        .iter()
        .map(|i| param(i, "hostname"))
        .collect();
    let db_host = param("db.1", "hostname");
    assert_eq!(param("web.2", "db_host"), db_host);
    assert_eq!(param("db.1", "db_password"), "***");
    assert!(
        oks[0].contains(&format!("using database {db_host}:5432")),
        "{oks:?}"
    );
    hostnames.sort();
    let mut ips: Vec<String> = lab.hosts.iter().map(|h| h.ip.clone()).collect();
    ips.sort();
    assert_eq!(hostnames, ips);
    // Reports came back as on local.
    let report = lab
        .home
        .path()
        .join("runs")
        .join(&run_id)
        .join("reports/smoke.1/smoke.txt");
    assert!(std::fs::read_to_string(report)
        .unwrap()
        .starts_with("checked: http://"));
    assert!(lab
        .home
        .path()
        .join("runs")
        .join(&run_id)
        .join("reports/db.1/kv.log")
        .exists());
    // `keep: never`: nothing left running, no directory, no lease.
    assert!(processes_of(&run_id).is_empty());
    assert!(!Path::new(&format!("/root/.slipway/runs/{run_id}")).exists());
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

#[test]
fn a_kept_run_is_terminated_and_its_hosts_released() {
    let lab = Lab::new(1);
    lab.add_cloud();
    let file = repo("assets/examples/hello.slipway.yaml");
    let out = lab.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--cloud",
        "lab",
        "--keep",
        "always",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run_id = events(&out)[0]["run_id"].as_str().unwrap().to_string();
    assert_eq!(leases(lab.home.path(), &run_id).len(), 1);
    assert!(Path::new(&format!("/root/.slipway/runs/{run_id}")).exists());
    // The host is taken: another run needing it fails before anything starts.
    let out = lab.slipway(&["run", file.to_str().unwrap(), "--cloud", "lab"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("needs 1 host(s)") && err.contains("only 0 of its 1"),
        "{err}"
    );
    assert!(err.contains(&run_id), "{err}");

    for _ in 0..2 {
        let out = lab.slipway(&["terminate", &run_id]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert!(processes_of(&run_id).is_empty());
    assert!(!Path::new(&format!("/root/.slipway/runs/{run_id}")).exists());
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

#[test]
fn clouds_test_reports_every_host() {
    let mut lab = Lab::new(2);
    lab.add_cloud();
    let out = lab.slipway(&["clouds", "test", "lab"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cloud `lab`: ok"));
    lab.hosts[1].stop();
    let out = lab.slipway(&["clouds", "test", "lab", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("{}: ok", lab.hosts[0].entry())),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{} refused the connection", lab.hosts[1].key())),
        "{msg}"
    );
}

#[test]
fn a_changed_host_key_is_refused_until_forgotten() {
    let mut lab = Lab::new(1);
    lab.add_cloud();
    let file = repo("assets/examples/hello.slipway.yaml");
    let run = |lab: &Lab| {
        lab.slipway(&[
            "run",
            file.to_str().unwrap(),
            "--cloud",
            "lab",
            "--keep",
            "never",
        ])
    };
    let out = run(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    lab.hosts[0].restart_with_new_host_key();
    let out = run(&lab);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("has changed"), "{err}");
    assert_eq!(
        err.matches("SHA256:").count() % 2,
        0,
        "both fingerprints: {err}"
    );
    let host = lab.hosts[0].key();
    let out = lab.slipway(&["clouds", "forget-host", "lab", &host]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&lab);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_private_key_from_the_keychain_logs_in() {
    let lab = Lab::new(1);
    if !keychain_answers(lab.home.path()) {
        return;
    }
    let keychain = slipway_secrets::Keychain::for_home(lab.home.path());
    let out = lab.slipway(&[
        "clouds",
        "add",
        "lab",
        "ssh",
        "--setting",
        &lab.hosts_setting(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // No key yet: says how to give one.
    let out = lab.slipway(&["clouds", "test", "lab"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("slipway secret set lab private_key"),
        "{}",
        text(&out.stderr)
    );

    let out = slipway_with_stdin(
        lab.home.path(),
        &["secret", "set", "lab", "private_key"],
        &lab.key.private_text(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let file = repo("assets/examples/hello.slipway.yaml");
    let out = lab.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--cloud",
        "lab",
        "--keep",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The key is nowhere in the data directory.
    let secret_line = lab.key.private_text().lines().nth(1).unwrap().to_string();
    for entry in files_under(lab.home.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret_line),
            "{} holds the private key",
            entry.display()
        );
    }
    keychain.remove("lab", "private_key").unwrap();
}

#[test]
fn a_failing_test_exits_1_fetches_reports_and_tears_down() {
    let lab = Lab::new(2);
    lab.add_cloud();
    let file = lab.home.path().join("failing.slipway.yaml");
    std::fs::write(&file, FAILING).unwrap();
    let out = lab.slipway(&["run", file.to_str().unwrap(), "--cloud", "lab", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run_id = events(&out)[0]["run_id"].as_str().unwrap().to_string();
    let report = lab
        .home
        .path()
        .join("runs")
        .join(&run_id)
        .join("reports/test.1/junit.txt");
    assert_eq!(
        std::fs::read_to_string(report).unwrap(),
        "failure details\n"
    );
    let logs = text(&lab.slipway(&["logs", &run_id, "test.1"]).stdout);
    assert!(logs.contains("assertion failed"), "{logs}");
    // `on-success` and it failed: everything is torn down, the daemon too.
    assert!(processes_of(&run_id).is_empty());
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

#[test]
fn multi_line_outputs_cross_the_wire() {
    let lab = Lab::new(3);
    lab.add_cloud();
    let file = repo("assets/examples/multiline-outputs.slipway.yaml");
    let local = tempfile::tempdir().unwrap();
    let on_local = slipway(
        local.path(),
        &["run", file.to_str().unwrap(), "--keep", "never", "--json"],
    );
    assert_eq!(
        on_local.status.code(),
        Some(0),
        "{}",
        text(&on_local.stderr)
    );
    let out = lab.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--cloud",
        "lab",
        "--keep",
        "never",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The same lines as on local, but for addresses.
    let lines = |o: &Output| -> Vec<String> {
        let mut v: Vec<String> = events(o)
            .iter()
            .filter(|e| e["event"] == "log" && e["stream"] == "stdout")
            .filter(|e| !e["line"].as_str().unwrap().contains("127."))
            .map(|e| format!("{} {}", e["instance"], e["line"]))
            .collect();
        v.sort();
        v
    };
    assert_eq!(lines(&out), lines(&on_local));
    let run_id = events(&out)[0]["run_id"].as_str().unwrap().to_string();
    assert!(processes_of(&run_id).is_empty());
}

#[test]
fn two_runs_at_once_never_share_a_host() {
    let lab = Lab::new(1);
    lab.add_cloud();
    let file = repo("assets/examples/hello.slipway.yaml");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args([
                "run",
                file.to_str().unwrap(),
                "--cloud",
                "lab",
                "--keep",
                "always",
                "--json",
            ])
            .env("SLIPWAY_HOME", lab.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(3)],
        "{:?}",
        outs.iter().map(|o| text(&o.stderr)).collect::<Vec<_>>()
    );
    let loser = outs.iter().find(|o| o.status.code() == Some(3)).unwrap();
    // With --json the failure is an event on stdout.
    let said = format!("{}{}", text(&loser.stdout), text(&loser.stderr));
    assert!(said.contains("only 0 of its 1"), "{said}");
    let winner = outs.iter().find(|o| o.status.code() == Some(0)).unwrap();
    let run_id = events(winner)[0]["run_id"].as_str().unwrap().to_string();
    let out = lab.slipway(&["terminate", &run_id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

/// What a run said, on stdout (JSON events) and stderr together.
fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Processes whose environment marks them as the instance `tag` (`RUN/NODE.INDEX`).
fn processes_tagged(tag: &str) -> Vec<u32> {
    let marker = format!("SLIPWAY_INSTANCE_TAG={tag}");
    processes_of(tag.split('/').next().unwrap())
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| {
                    String::from_utf8_lossy(&env)
                        .split('\0')
                        .any(|kv| kv == marker)
                })
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_host_that_refuses_the_connection_fails_the_run_with_exit_3_naming_it() {
    let mut lab = Lab::new(1);
    lab.add_cloud();
    lab.hosts[0].stop();
    let file = repo("assets/examples/hello.slipway.yaml");
    let out = lab.slipway(&["run", file.to_str().unwrap(), "--cloud", "lab"]);
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{} refused the connection", lab.hosts[0].key())),
        "{err}"
    );
    // Nothing holds the host: once it is back, a run gets it.
    lab.hosts[0].start_again();
    let out = lab.slipway(&[
        "run",
        file.to_str().unwrap(),
        "--cloud",
        "lab",
        "--keep",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

const PACKAGES: &str = r#"slipway: 1
name: pkgs
images:
  base:
    description: installs a package
    recipes:
      packages: [curl]
components:
  app:
    image: base
    recipes:
      deployment: echo "deployment ran"
deployment:
  keep_running: never
  nodes:
    app: { component: app }
"#;

#[test]
fn packages_as_a_user_without_root_or_sudo_fail_saying_so() {
    let lab = Lab::new(1);
    let user = unprivileged_user();
    lab.add_cloud_with(&format!("hosts={user}@{}", lab.hosts[0].key()));
    let file = lab.home.path().join("pkgs.slipway.yaml");
    std::fs::write(&file, PACKAGES).unwrap();
    let out = lab.slipway(&["run", file.to_str().unwrap(), "--cloud", "lab", "--json"]);
    let all = said(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!(
            "installing packages needs root or password-less sudo, and {user} has neither"
        )),
        "{all}"
    );
    assert!(!all.contains("deployment ran"), "{all}");
    let run_id = events(&out)[0]["run_id"].as_str().unwrap().to_string();
    // Torn down in the login user's home, and the host released.
    let home = format!("/home/{user}/.slipway/runs/{run_id}");
    assert!(!Path::new(&home).exists(), "{home} is left");
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

const LONG_STEP: &str = r#"slipway: 1
name: drop
images:
  base:
    description: whatever the host is
components:
  app:
    image: base
    recipes:
      deployment: |
        echo started
        echo "$SLIPWAY_HOSTNAME" > "STARTED/$SLIPWAY_INDEX.tmp"
        mv "STARTED/$SLIPWAY_INDEX.tmp" "STARTED/$SLIPWAY_INDEX"
        sleep 120
deployment:
  keep_running: never
  nodes:
    app: { component: app, multiplicity: 2 }
"#;

#[test]
fn a_host_that_dies_mid_run_fails_its_instance_and_the_others_are_torn_down() {
    let mut lab = Lab::new(2);
    lab.add_cloud();
    let started = tempfile::tempdir().unwrap();
    let file = lab.home.path().join("drop.slipway.yaml");
    std::fs::write(
        &file,
        LONG_STEP.replace("STARTED", started.path().to_str().unwrap()),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", file.to_str().unwrap(), "--cloud", "lab", "--json"])
        .env("SLIPWAY_HOME", lab.home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (one, two) = (started.path().join("1"), started.path().join("2"));
    wait_until("both steps to start", || one.exists() && two.exists());
    // app.1's host goes away: its connections die and nothing listens any more.
    let ip = std::fs::read_to_string(&one).unwrap().trim().to_string();
    let dead = lab.hosts.iter().position(|h| h.ip == ip).unwrap();
    lab.hosts[dead].drop_connections();
    lab.hosts[dead].stop();
    let out = child.wait_with_output().unwrap();
    let all = said(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("the connection was lost while the deployment recipe ran"),
        "{all}"
    );
    assert!(all.contains(&lab.hosts[dead].key()), "{all}");
    let run_id = events(&out)[0]["run_id"].as_str().unwrap().to_string();
    // The other instance was torn down: its processes, its directory and its lease are gone.
    let live = &lab.hosts[1 - dead];
    assert!(processes_tagged(&format!("{run_id}/app.2")).is_empty());
    assert!(!Path::new(&format!("/root/.slipway/runs/{run_id}/app.2")).exists());
    let held: Vec<String> = leases(lab.home.path(), &run_id)
        .into_iter()
        .map(|l| l.host)
        .collect();
    assert!(!held.contains(&live.key()), "{held:?}");
    // The dead host's lease stays until its clean-up ran: `terminate` does it once it is back.
    lab.hosts[dead].start_again();
    let out = lab.slipway(&["terminate", &run_id]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(processes_of(&run_id).is_empty());
    assert!(!Path::new(&format!("/root/.slipway/runs/{run_id}")).exists());
    assert!(leases(lab.home.path(), &run_id).is_empty());
}

#[test]
fn the_balancer_follows_scale_up_and_down_on_ssh_hosts() {
    // Two web servers and the balancer, then two more web servers: five hosts.
    let lab = Lab::new(5);
    lab.add_cloud();
    let h = lab.home.path();
    let file = repo("assets/examples/web-with-lb.slipway.yaml");
    let id = common::balancer::scale_the_balancer(h, &file, &["--cloud", "lab"], true);
    // The removed instances gave their hosts back; web.1 and lb.1 keep theirs.
    let mut held: Vec<String> = leases(h, &id).into_iter().map(|l| l.instance).collect();
    held.sort();
    assert_eq!(held, ["lb.1", "web.1"]);
    let t = lab.slipway(&["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert!(leases(h, &id).is_empty());
    assert!(common::balancer::processes_of(&id, None).is_empty());
}
