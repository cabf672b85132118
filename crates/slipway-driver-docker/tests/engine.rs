//! The `docker` driver against a real Docker Engine and the image `scripts/docker-test-env.sh`
//! imports (`SLIPWAY_TEST_DOCKER_IMAGE`). Skips without an engine unless
//! `SLIPWAY_REQUIRE_DOCKER=1`, which makes that a failure.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use bollard::Docker;
use slipway_driver::remote::{self, PathStat, Transport};
use slipway_driver::{
    Driver, ErrorKind, InstanceSpec, OutputLine, ProvisionRequest, Provisioned, StepRequest, Stream,
};
use slipway_driver_docker::{Container, DockerDriver, DockerSettings};
use slipway_recipe::CloudImage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn image() -> Option<String> {
    let image =
        std::env::var("SLIPWAY_TEST_DOCKER_IMAGE").unwrap_or_else(|_| "slipway-test-base".into());
    let ok = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(image);
    }
    assert!(
        std::env::var("SLIPWAY_REQUIRE_DOCKER").as_deref() != Ok("1"),
        "SLIPWAY_REQUIRE_DOCKER=1 but no Docker Engine with `{image}` answers"
    );
    eprintln!("skipped: no Docker Engine with the image `{image}`");
    None
}

fn run_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "r-drivertest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn one_instance(driver: &DockerDriver, run_id: &str, image: &str) -> Provisioned {
    let mut done = driver
        .provision(ProvisionRequest {
            progress: Default::default(),
            run_id: run_id.into(),
            run_dir: "/nonexistent".into(),
            instances: vec![InstanceSpec {
                name: "t.1".into(),
                node: "t".into(),
                index: 1,
                image: Some(CloudImage {
                    image: Some(image.into()),
                    size: None,
                }),
                login_user: None,
            }],
        })
        .await;
    let p = done.remove(0).unwrap();
    driver
        .wait_ready(run_id, &p, CancellationToken::new())
        .await
        .unwrap();
    p
}

fn step(run_id: &str, p: &Provisioned, script: &str) -> StepRequest {
    StepRequest {
        run_id: run_id.into(),
        run_dir: "/nonexistent".into(),
        instance: p.clone(),
        step: "deployment".into(),
        script: script.into(),
        env: vec![("GREETING".into(), "it's a \"value\"\nover lines".into())],
        packages: vec![],
    }
}

/// Runs a step to its end, with every line it printed.
async fn run(
    driver: &DockerDriver,
    req: StepRequest,
) -> (
    Result<slipway_driver::StepResult, slipway_driver::DriverError>,
    Vec<OutputLine>,
) {
    let (tx, mut rx) = mpsc::channel(1024);
    let result = driver.run_step(req, tx, CancellationToken::new()).await;
    let mut lines = Vec::new();
    while let Some(l) = rx.recv().await {
        lines.push(l);
    }
    (result, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_stream_both_streams_keep_daemons_and_cancel_kills_the_group() {
    let Some(image) = image() else { return };
    let driver = DockerDriver::new(DockerSettings::default());
    let run_id = run_id();
    let p = one_instance(&driver, &run_id, &image).await;

    let (result, lines) = run(
        &driver,
        step(
            &run_id,
            &p,
            "printf '%s\\n' \"$GREETING\"\necho to-stderr >&2\n\
             sh -c 'echo $$ > /tmp/daemon.pid; exec sleep 1000' >/dev/null 2>&1 &\n\
             echo \"out=$SLIPWAY_REPORT_DIR\" >> \"$SLIPWAY_OUTPUT\"\nexit 7\n",
        ),
    )
    .await;
    let result = result.unwrap();
    assert_eq!(result.exit_code, 7);
    assert_eq!(result.outputs["out"], "/tmp/slipway/t.1/report");
    // Each stream in order (the two pipes are read apart, so not against each other).
    let of = |stream| -> Vec<&str> {
        lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect()
    };
    assert_eq!(of(Stream::Stdout), ["it's a \"value\"", "over lines"]);
    assert_eq!(of(Stream::Stderr), ["to-stderr"]);

    // The daemon outlived its step; the env file did not.
    let (result, _) = run(
        &driver,
        step(
            &run_id,
            &p,
            "kill -0 \"$(cat /tmp/daemon.pid)\"\ntest -z \"$(ls /tmp/slipway/t.1/steps/*.env 2>/dev/null)\"",
        ),
    )
    .await;
    assert_eq!(result.unwrap().exit_code, 0);

    // Cancel kills the step's process group inside the container.
    let (tx, mut rx) = mpsc::channel::<OutputLine>(16);
    let cancel = CancellationToken::new();
    let req = step(
        &run_id,
        &p,
        "sleep 1000 &\necho $! > /tmp/child.pid\necho running\nwait",
    );
    let running = {
        let cancel = cancel.clone();
        async move {
            while let Some(l) = rx.recv().await {
                if l.text == "running" {
                    cancel.cancel();
                }
            }
        }
    };
    let (result, ()) = tokio::join!(driver.run_step(req, tx, cancel), running);
    assert_eq!(result.unwrap_err().kind, ErrorKind::Cancelled);
    let (result, _) = run(
        &driver,
        step(&run_id, &p, "! kill -0 \"$(cat /tmp/child.pid)\""),
    )
    .await;
    assert_eq!(
        result.unwrap().exit_code,
        0,
        "the cancelled step's child runs"
    );

    driver
        .terminate(&run_id, Path::new("/nonexistent"), &[p])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_feeds_stdin_and_terminate_is_idempotent() {
    let Some(image) = image() else { return };
    let driver = DockerDriver::new(DockerSettings::default());
    let run_id = run_id();
    let p = one_instance(&driver, &run_id, &image).await;
    let docker = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let container = Container {
        docker: &docker,
        id: &p.resource_id,
    };
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let done = container
        .exec("wc -c; echo done >&2", big.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&done.stdout).trim(),
        big.len().to_string()
    );
    assert_eq!(done.stderr, b"done\n");
    assert_eq!(done.exit_code, 0);

    let tagged = driver
        .list_tagged(&run_id, Path::new("/nonexistent"))
        .await
        .unwrap();
    assert_eq!(
        tagged.len(),
        2,
        "the container and the run's network: {tagged:?}"
    );
    for _ in 0..2 {
        driver
            .terminate(&run_id, Path::new("/nonexistent"), std::slice::from_ref(&p))
            .await
            .unwrap();
    }
    assert_eq!(
        driver
            .list_tagged(&run_id, Path::new("/nonexistent"))
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    // A step on a container that is gone never started: the engine may retry it.
    let (result, _) = run(&driver, step(&run_id, &p, "true")).await;
    assert_eq!(result.unwrap_err().kind, ErrorKind::Transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_step_makes_the_instance_dir_and_an_unwritten_report_folder_is_not_fetched() {
    let Some(image) = image() else { return };
    let driver = DockerDriver::new(DockerSettings::default());
    let run_id = run_id();
    let p = one_instance(&driver, &run_id, &image).await;
    let docker = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let container = Container {
        docker: &docker,
        id: &p.resource_id,
    };
    let report = "/tmp/slipway/t.1/report";
    // No exec before the first step: the container is ready without one.
    assert_eq!(container.stat(report).await, PathStat::Missing);
    let (result, _) = run(
        &driver,
        step(&run_id, &p, "test \"$(stat -c %a /tmp/slipway/t.1)\" = 700"),
    )
    .await;
    assert_eq!(result.unwrap().exit_code, 0);
    // The engine's stat of the folder says it was never written.
    match container.stat(report).await {
        PathStat::Modified(at) => assert!(at < remote::REPORT_UNTOUCHED_BEFORE, "{at}"),
        other => panic!("no time for {report}: {other:?}"),
    }
    let dest = tempfile::tempdir().unwrap();
    let fetched = driver
        .fetch_reports(&run_id, Path::new("/nonexistent"), &p, dest.path())
        .await
        .unwrap();
    assert!(fetched.is_empty(), "{fetched:?}");

    let (result, _) = run(
        &driver,
        step(&run_id, &p, "echo hi > \"$SLIPWAY_REPORT_DIR/a.txt\""),
    )
    .await;
    assert_eq!(result.unwrap().exit_code, 0);
    match container.stat(report).await {
        PathStat::Modified(at) => assert!(at >= remote::REPORT_UNTOUCHED_BEFORE, "{at}"),
        other => panic!("no time for {report}: {other:?}"),
    }
    let fetched = driver
        .fetch_reports(&run_id, Path::new("/nonexistent"), &p, dest.path())
        .await
        .unwrap();
    assert_eq!(fetched, vec![("a.txt".to_string(), 3)]);

    driver
        .terminate(&run_id, Path::new("/nonexistent"), &[p])
        .await
        .unwrap();
}

/// The TLS endpoint `scripts/docker-test-env.sh` puts in front of the engine (socat verifying
/// client certificates), its client's certificate directory and one with another CA.
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
        "SLIPWAY_REQUIRE_DOCKER=1 but no TLS endpoint is set up (source scripts/docker-test-env.sh)"
    );
    eprintln!("skipped: no TLS endpoint (source scripts/docker-test-env.sh)");
    None
}

fn over_tls(endpoint: &str, certs: &str) -> DockerDriver {
    DockerDriver::new(DockerSettings {
        endpoint: Some(endpoint.into()),
        cert_path: Some(certs.into()),
        ..DockerSettings::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_endpoint_is_verified_and_runs_steps() {
    let Some(image) = image() else { return };
    let Some((endpoint, certs, wrong_ca)) = tls_endpoint() else {
        return;
    };
    let driver = over_tls(&endpoint, &certs);
    let version = driver.engine_version().await.unwrap();
    assert!(version.contains(&format!("at {endpoint}")), "{version}");
    assert!(version.contains("(API "), "{version}");

    // A step over TLS: stdin, streamed output, outputs, the exit status.
    let run_id = run_id();
    let p = one_instance(&driver, &run_id, &image).await;
    let (result, lines) = run(
        &driver,
        step(
            &run_id,
            &p,
            "printf '%s\\n' \"$GREETING\"\necho \"n=1\" >> \"$SLIPWAY_OUTPUT\"\nexit 3\n",
        ),
    )
    .await;
    let result = result.unwrap();
    assert_eq!((result.exit_code, result.outputs["n"].as_str()), (3, "1"));
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["it's a \"value\"", "over lines"]);
    driver
        .terminate(&run_id, Path::new("/nonexistent"), &[p])
        .await
        .unwrap();

    // An engine whose certificate another CA signed is refused, and the error says so.
    let e = over_tls(&endpoint, &wrong_ca).check().await.unwrap_err();
    assert!(e.message.contains(&endpoint), "{e}");
    assert!(e.message.contains("over TLS"), "{e}");
    assert!(e.message.contains(&wrong_ca), "{e}");
    assert!(e.message.to_lowercase().contains("certificate"), "{e}");

    // Without a client certificate there is no TLS, and the setting is named.
    let empty = tempfile::tempdir().unwrap();
    let e = over_tls(&endpoint, empty.path().to_str().unwrap())
        .check()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadSettings, "{e}");
    assert!(
        e.message.contains("ca.pem") && e.message.contains("`cert_path`"),
        "{e}"
    );

    // Plain HTTP to the TLS endpoint does not get an answer.
    let plain = DockerDriver::new(DockerSettings {
        endpoint: Some(endpoint.clone()),
        ..DockerSettings::default()
    });
    assert!(plain.check().await.is_err());
}
