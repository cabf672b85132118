//! `slipway run --cloud <docker cloud>` against a real Docker Engine: the real binary, a real
//! store, real containers of the image `scripts/docker-test-env.sh` builds without a registry
//! (`SLIPWAY_TEST_DOCKER_IMAGE`). Without an engine these tests skip, unless
//! `SLIPWAY_REQUIRE_DOCKER=1` (as `scripts/test-all.sh` sets), which makes that a failure.
//! Leftovers are checked with the `docker` CLI, by the labels the driver puts on everything.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{repo, slipway_in as slipway, text};

/// [`common::FAILING`] on the docker cloud's image (`@IMAGE@`, filled in by `write`).
fn failing() -> String {
    common::FAILING.replace(
        "  base: {}\n",
        "  base:\n    clouds: { docker: { image: \"@IMAGE@\" } }\n",
    )
}

/// `clouds sweep` removes what every run its data directory does not know left, which includes
/// the other tests' runs: it runs alone (write), the others together (read).
static ENGINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    ENGINE.read().unwrap_or_else(|e| e.into_inner())
}

/// The test image, once the engine answers; `None` (skip) when it does not and docker is not
/// required.
fn docker_image() -> Option<String> {
    let image =
        std::env::var("SLIPWAY_TEST_DOCKER_IMAGE").unwrap_or_else(|_| "slipway-test-base".into());
    let required = std::env::var("SLIPWAY_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let ok = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(image);
    }
    assert!(
        !required,
        "SLIPWAY_REQUIRE_DOCKER=1 but no Docker Engine with the image `{image}` answers: run scripts/docker-test-env.sh"
    );
    eprintln!("skipped: no Docker Engine with the image `{image}` (scripts/docker-test-env.sh)");
    None
}

/// A data directory with a `docker` cloud named `d` on the default endpoint.
fn home_with_cloud() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let out = slipway(home.path(), &["clouds", "add", "d", "docker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    home
}

/// Ids of containers and networks labelled with `run_id` (any state).
fn labelled(run_id: &str) -> Vec<String> {
    let filter = format!("label=slipway.run={run_id}");
    let mut found = Vec::new();
    for args in [
        vec!["ps", "-aq", "--filter", &filter],
        vec!["network", "ls", "-q", "--filter", &filter],
    ] {
        let out = Command::new("docker").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            text(&out.stderr)
        );
        found.extend(text(&out.stdout).lines().map(str::to_string));
    }
    found
}

fn last_run(home: &Path) -> serde_json::Value {
    let out = slipway(home, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    runs[0].clone()
}

fn status(home: &Path, run_id: &str) -> serde_json::Value {
    serde_json::from_slice(&slipway(home, &["status", run_id, "--json"]).stdout).unwrap()
}

fn param(status: &serde_json::Value, instance: &str, name: &str) -> String {
    status["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["instance"] == instance && p["name"] == name)
        .unwrap_or_else(|| panic!("no {instance} {name} in {status}"))["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A recipe with its `docker` image mapping pointed at the test image.
fn write(dir: &Path, name: &str, body: &str, image: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        body.replace("debian:12", image).replace("@IMAGE@", image),
    )
    .unwrap();
    p
}

#[test]
fn every_example_runs_on_docker_and_leaves_nothing_labelled() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    for entry in std::fs::read_dir(repo("assets/examples")).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let file = write(home.path(), name, &body, &image);
        let out = slipway(
            home.path(),
            &[
                "run",
                file.to_str().unwrap(),
                "--cloud",
                "d",
                "--keep",
                "never",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{name}\n{}", text(&out.stderr));
        let run = last_run(home.path());
        assert_eq!(run["state"], "done", "{run}");
        let id = run["id"].as_str().unwrap().to_string();
        assert_eq!(labelled(&id), Vec::<String>::new(), "{name} left resources");
        let s = status(home.path(), &id);
        let events = text(&out.stdout);
        match name {
            "web-with-db.slipway.yaml" => {
                // Wiring between containers over the run's network: both web servers answered
                // the smoke test, each naming the database's address.
                let db_host = param(&s, "db.1", "hostname");
                assert_ne!(db_host, param(&s, "web.1", "hostname"));
                let ok: Vec<&str> = events
                    .lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                    .filter(|e| e["event"] == "log" && e["instance"] == "smoke.1")
                    .filter_map(|e| e["line"].as_str().map(str::to_string))
                    .filter(|l| l.starts_with("ok http://") && l.contains(&db_host))
                    .map(|_| "ok")
                    .collect();
                assert_eq!(ok.len(), 2, "{events}");
                assert_eq!(param(&s, "db.1", "db_password"), "***");
                let report = home
                    .path()
                    .join("runs")
                    .join(&id)
                    .join("reports/smoke.1/smoke.txt");
                assert!(std::fs::read_to_string(report)
                    .unwrap()
                    .starts_with("checked: http://"));
            }
            "multiline-outputs.slipway.yaml" => {
                // Multiplicity 2, each reading a multi-line output of another container.
                assert_eq!(param(&s, "client.1", "lines"), "3");
                assert_eq!(param(&s, "client.2", "lines"), "3");
                assert!(param(&s, "client.2", "ca_cert").contains('\n'));
            }
            _ => {}
        }
    }
}

#[test]
fn a_failing_test_exits_1_with_its_reports_and_leaves_nothing() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    let file = write(home.path(), "failing.slipway.yaml", &failing(), &image);
    let out = slipway(
        home.path(),
        &["run", file.to_str().unwrap(), "--cloud", "d"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run = last_run(home.path());
    assert_eq!(run["state"], "aborted");
    let id = run["id"].as_str().unwrap();
    assert_eq!(labelled(id), Vec::<String>::new());
    let report = home
        .path()
        .join("runs")
        .join(id)
        .join("reports/test.1/junit.txt");
    assert_eq!(
        std::fs::read_to_string(report).unwrap(),
        "failure details\n"
    );
    let logs = text(&slipway(home.path(), &["logs", id, "test.1"]).stdout);
    assert!(
        logs.contains("test.1 deployment ! assertion failed"),
        "{logs}"
    );
}

#[test]
fn a_missing_image_is_named_and_exits_3() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    let missing = "slipway-test-no-such-image:never";
    let file = write(
        home.path(),
        "missing.slipway.yaml",
        &failing().replace("@IMAGE@", missing),
        &image,
    );
    let out = slipway(
        home.path(),
        &["run", file.to_str().unwrap(), "--cloud", "d"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("the image `{missing}`")),
        "{stderr}"
    );
    let id = last_run(home.path())["id"].as_str().unwrap().to_string();
    assert_eq!(labelled(&id), Vec::<String>::new());
}

#[test]
fn clouds_test_reports_the_engine_version_or_that_nothing_answers() {
    let _engine = shared();
    if docker_image().is_none() {
        return;
    }
    let home = home_with_cloud();
    let out = slipway(home.path(), &["clouds", "test", "d"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let version = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .unwrap();
    let version = text(&version.stdout).trim().to_string();
    assert!(!version.is_empty());
    assert!(
        said.contains(&format!(" {version} (API ")),
        "{said} should name {version}"
    );
    // An engine that is not running: no socket at all, or a stale one nobody listens on.
    let stale = home.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    for (cloud, socket) in [
        ("stopped", home.path().join("stopped.sock")),
        ("stale", stale),
    ] {
        let endpoint = format!("endpoint=unix://{}", socket.display());
        let add = slipway(
            home.path(),
            &["clouds", "add", cloud, "docker", "--setting", &endpoint],
        );
        assert_eq!(add.status.code(), Some(0), "{}", text(&add.stderr));
        let out = slipway(home.path(), &["clouds", "test", cloud, "--json"]);
        assert_eq!(out.status.code(), Some(3));
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["ok"], false);
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains("does not answer"), "{message}");
        assert!(message.contains(&format!("{cloud}.sock")), "{message}");
    }
}

#[test]
fn after_kill_9_terminate_finds_every_container_by_label() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    let recipe = r#"
slipway: 1
name: sleepers
images:
  base:
    clouds: { docker: { image: "@IMAGE@" } }
components:
  sleeper:
    image: base
    recipes:
      deployment: |
        nohup sleep 1000 >/dev/null 2>&1 < /dev/null &
        echo started
        sleep 1000
deployment:
  nodes:
    s: { component: sleeper, multiplicity: 3 }
"#;
    let file = write(home.path(), "sleepers.slipway.yaml", recipe, &image);
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", file.to_str().unwrap(), "--cloud", "d", "--json"])
        .env("SLIPWAY_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    // Three containers and the run's network outlive the CLI.
    assert_eq!(labelled(&run_id).len(), 4, "{:?}", labelled(&run_id));
    assert_eq!(last_run(home.path())["state"], "interrupted");
    let t = slipway(home.path(), &["terminate", &run_id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert_eq!(labelled(&run_id), Vec::<String>::new());
    let s = status(home.path(), &run_id);
    assert!(s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["state"] == "terminated"));
    // Idempotent: a second terminate has nothing left to do, and says so without failing.
    let again = slipway(home.path(), &["terminate", &run_id]);
    assert!(
        matches!(again.status.code(), Some(0) | Some(2)),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(labelled(&run_id), Vec::<String>::new());
}

#[test]
fn clouds_sweep_lists_then_removes_what_unknown_runs_left_and_spares_kept_runs() {
    let _alone = ENGINE.write().unwrap_or_else(|e| e.into_inner());
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    // A kept run: ready, so its containers are still in use.
    let file = write(
        home.path(),
        "kept.slipway.yaml",
        &failing()
            .replace("exit 3", "true")
            .replace("on-success", "always"),
        &image,
    );
    let out = slipway(
        home.path(),
        &["run", file.to_str().unwrap(), "--cloud", "d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kept = last_run(home.path())["id"].as_str().unwrap().to_string();
    assert_eq!(labelled(&kept).len(), 3, "two containers and a network");
    // Resources of a run no data directory here knows (another machine's, a lost database).
    let orphan = format!("r-sweep-test-{}", std::process::id());
    let label = format!("slipway.run={orphan}");
    for args in [
        vec!["run", "-d", "--label", &label, &image, "sleep", "1000"],
        vec!["network", "create", "--label", &label, &orphan],
    ] {
        let o = Command::new("docker").args(&args).output().unwrap();
        assert!(o.status.success(), "docker {args:?}: {}", text(&o.stderr));
    }
    assert_eq!(labelled(&orphan).len(), 2);
    let listed = slipway(home.path(), &["clouds", "sweep", "d"]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let said = text(&listed.stdout);
    assert_eq!(
        said.lines()
            .filter(|l| l.starts_with(&format!("{orphan} (unknown run) ")))
            .count(),
        2,
        "{said}"
    );
    assert!(!said.contains(&kept), "{said}");
    assert_eq!(labelled(&orphan).len(), 2, "listing removes nothing");
    let swept = slipway(home.path(), &["clouds", "sweep", "d", "--yes"]);
    assert_eq!(swept.status.code(), Some(0), "{}", text(&swept.stderr));
    assert_eq!(labelled(&orphan), Vec::<String>::new());
    assert_eq!(labelled(&kept).len(), 3, "the kept run is untouched");
    let t = slipway(home.path(), &["terminate", &kept]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert_eq!(labelled(&kept), Vec::<String>::new());
}

#[test]
fn the_balancer_follows_scale_up_and_down_in_containers() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let home = home_with_cloud();
    let h = home.path();
    let body = std::fs::read_to_string(repo("assets/examples/web-with-lb.slipway.yaml")).unwrap();
    let file = write(h, "web-with-lb.slipway.yaml", &body, &image);
    // The balancer's URL is its container's address on the run's network, which this machine
    // reaches through the engine's bridge.
    let id = common::balancer::scale_the_balancer(h, &file, &["--cloud", "d"], false);
    // The removed instances' containers are gone; web.1, lb.1 and the run's network remain.
    let containers = |filter: &str| {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label=slipway.run={id}")])
            .args(["--filter", filter])
            .output()
            .unwrap();
        text(&out.stdout).lines().count()
    };
    assert_eq!(containers("label=slipway.node=web"), 1);
    assert_eq!(containers("label=slipway.node=lb"), 1);
    let t = slipway(h, &["terminate", &id]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
    assert_eq!(labelled(&id), Vec::<String>::new());
}

/// The TLS endpoint of `scripts/docker-test-env.sh` (in front of the same engine), the client's
/// certificate directory and one whose ca.pem is another CA's.
fn tls_endpoint() -> Option<(String, String, String)> {
    let vars = [
        "SLIPWAY_TEST_DOCKER_TLS",
        "SLIPWAY_TEST_DOCKER_CERTS",
        "SLIPWAY_TEST_DOCKER_WRONG_CA",
    ]
    .map(|v| std::env::var(v).ok().filter(|v| !v.is_empty()));
    if let [Some(endpoint), Some(certs), Some(wrong)] = vars {
        return Some((endpoint, certs, wrong));
    }
    assert!(
        std::env::var("SLIPWAY_REQUIRE_DOCKER").as_deref() != Ok("1"),
        "SLIPWAY_REQUIRE_DOCKER=1 but no TLS endpoint is set up: source scripts/docker-test-env.sh"
    );
    eprintln!("skipped: no TLS endpoint (source scripts/docker-test-env.sh)");
    None
}

#[test]
fn a_tls_endpoint_is_tested_and_runs_with_cert_path_or_dockers_variables() {
    let _engine = shared();
    let Some(image) = docker_image() else { return };
    let Some((endpoint, certs, wrong_ca)) = tls_endpoint() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    for (cloud, dir) in [("tls", &certs), ("wrong", &wrong_ca)] {
        let out = slipway(
            home.path(),
            &[
                "clouds",
                "add",
                cloud,
                "docker",
                "--setting",
                &format!("endpoint={endpoint}"),
                "--setting",
                &format!("cert_path={dir}"),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = slipway(home.path(), &["clouds", "test", "tls"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("(API ") && said.contains(&endpoint), "{said}");

    // A run over TLS: a step, its output, its report; nothing left labelled.
    let file = write(
        home.path(),
        "tls.slipway.yaml",
        "slipway: 1\nname: over-tls\nimages:\n  base:\n    clouds: { docker: { image: \"@IMAGE@\" } }\n\
         components:\n  one:\n    image: base\n    outputs: { said: {} }\n    recipes:\n      deployment: |\n        echo hello over TLS\n        echo said=hi >> \"$SLIPWAY_OUTPUT\"\n        echo r > \"$SLIPWAY_REPORT_DIR/r.txt\"\n\
         deployment:\n  nodes:\n    n: { component: one }\n",
        &image,
    );
    let out = slipway(
        home.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--cloud",
            "tls",
            "--keep",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hello over TLS"),
        "{}",
        text(&out.stderr)
    );
    let run = last_run(home.path());
    let id = run["id"].as_str().unwrap().to_string();
    assert_eq!(param(&status(home.path(), &id), "n.1", "said"), "hi");
    assert!(home
        .path()
        .join("runs")
        .join(&id)
        .join("reports/n.1/r.txt")
        .is_file());
    assert_eq!(labelled(&id), Vec::<String>::new());

    // Another CA: refused, naming the endpoint, TLS and the certificates.
    let out = slipway(home.path(), &["clouds", "test", "wrong", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains(&endpoint), "{message}");
    assert!(message.contains("over TLS"), "{message}");
    assert!(message.contains(&wrong_ca), "{message}");

    // Docker's own variables: DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; without
    // DOCKER_TLS_VERIFY the same endpoint is plain HTTP, which it does not answer.
    let out = slipway(home.path(), &["clouds", "add", "env", "docker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let env_test = |verify: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
        cmd.args(["clouds", "test", "env"])
            .env("SLIPWAY_HOME", home.path())
            .env("DOCKER_HOST", &endpoint)
            .env("DOCKER_CERT_PATH", &certs);
        if verify {
            cmd.env("DOCKER_TLS_VERIFY", "1");
        } else {
            cmd.env_remove("DOCKER_TLS_VERIFY");
        }
        cmd.output().unwrap()
    };
    let out = env_test(true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&endpoint));
    assert_eq!(env_test(false).status.code(), Some(3));
}

#[test]
fn a_missing_image_is_pulled_and_the_pull_shows_in_the_instances_log() {
    let _engine = shared();
    if docker_image().is_none() {
        return;
    }
    let Some(pull) = std::env::var("SLIPWAY_TEST_PULL_IMAGE")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        assert!(
            std::env::var("SLIPWAY_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "SLIPWAY_REQUIRE_DOCKER=1 but no registry is set up: source scripts/docker-test-env.sh"
        );
        eprintln!("skipped: no registry (source scripts/docker-test-env.sh)");
        return;
    };
    // The registry is one Docker Engine trusts on loopback addresses; Podman would need it
    // configured as insecure, so this test speaks to dockerd's own socket.
    let socket = "unix:///var/run/docker.sock";
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", socket)
            .output()
            .unwrap()
    };
    docker(&["rmi", "-f", &pull]);
    let absent = docker(&["image", "inspect", &pull]);
    assert!(!absent.status.success(), "{pull} is still there");

    let home = tempfile::tempdir().unwrap();
    let add = slipway(
        home.path(),
        &[
            "clouds",
            "add",
            "d",
            "docker",
            "--setting",
            &format!("endpoint={socket}"),
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", text(&add.stderr));
    let file = write(
        home.path(),
        "pull.slipway.yaml",
        "slipway: 1\nname: pull\nimages:\n  base:\n    clouds: { docker: { image: \"@IMAGE@\" } }\n\
         components:\n  one:\n    image: base\n    recipes:\n      deployment: echo pulled\n\
         deployment:\n  nodes:\n    n: { component: one }\n",
        &pull,
    );
    let out = slipway(
        home.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--cloud",
            "d",
            "--keep",
            "never",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(docker(&["image", "inspect", &pull]).status.success());
    // Live: the pull's lines are log events of the instance, before it is provisioned.
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "log" && e["instance"] == "n.1")
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    let pulling = format!("pulling the image `{pull}`");
    let at = |want: &str| lines.iter().position(|l| l.contains(want));
    let (Some(started), Some(done), Some(provisioned)) =
        (at(&pulling), at("Status: "), at("provisioned: "))
    else {
        panic!("no pull in the log: {lines:?}");
    };
    assert!(started < done && done < provisioned, "{lines:?}");
    // Stored with the run.
    let id = last_run(home.path())["id"].as_str().unwrap().to_string();
    let logs = slipway(home.path(), &["logs", &id, "n.1"]);
    assert!(
        text(&logs.stdout).contains(&pulling),
        "{}",
        text(&logs.stdout)
    );
}
