//! The `ssh` driver against real sshd servers on loopback addresses (see `support`).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use slipway_driver::{
    Driver, ErrorKind, InstanceSpec, OutputLine, ProvisionRequest, Provisioned, StepRequest,
};
use slipway_driver_ssh::{parse_hosts, Key, KnownHosts, SshConfig, SshDriver};
use support::{next_address, processes_of, ClientKey, Lab};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// This binary's loopback addresses: 127.201.0.x (far from the `local` driver's 127.1…).
const BASE: u8 = 201;

impl Lab {
    fn new(n: usize) -> Lab {
        Lab::start(BASE, n)
    }

    fn config(&self, key: Key) -> SshConfig {
        SshConfig {
            cloud: "lab".into(),
            hosts: parse_hosts(&self.host_list()).unwrap(),
            key,
            known_hosts: KnownHosts::Pin,
            data_dir: self.home.path().to_path_buf(),
            connect_timeout: Duration::from_secs(20),
        }
    }

    fn driver(&self) -> SshDriver {
        SshDriver::new(self.config(Key::File(self.key.private.clone())))
    }
}

fn request(run_id: &str, names: &[&str]) -> ProvisionRequest {
    ProvisionRequest {
        progress: Default::default(),
        run_id: run_id.into(),
        run_dir: PathBuf::from("/unused"),
        instances: names
            .iter()
            .map(|n| {
                let (node, index) = n.split_once('.').unwrap();
                InstanceSpec {
                    name: n.to_string(),
                    node: node.into(),
                    index: index.parse().unwrap(),
                    image: None,
                    login_user: None,
                }
            })
            .collect(),
    }
}

fn run_id(tag: &str) -> String {
    format!("r-{tag}-{}", std::process::id())
}

async fn step(
    d: &SshDriver,
    p: &Provisioned,
    run: &str,
    name: &str,
    script: &str,
) -> (slipway_driver::StepResult, Vec<OutputLine>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let req = StepRequest {
        run_id: run.into(),
        run_dir: PathBuf::from("/unused"),
        instance: p.clone(),
        step: name.into(),
        script: script.into(),
        env: vec![
            ("SLIPWAY_HOSTNAME".into(), p.hostname.clone()),
            ("greeting".into(), "it's\nfine".into()),
        ],
        packages: vec![],
    };
    let collect = async {
        let mut all = Vec::new();
        while let Some(l) = rx.recv().await {
            all.push(l);
        }
        all
    };
    let (r, lines) = tokio::join!(d.run_step(req, tx, CancellationToken::new()), collect);
    (r.unwrap(), lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_run_over_one_session_and_terminate_leaves_nothing() {
    let lab = Lab::new(2);
    let d = lab.driver();
    let run = run_id("steps");
    let got = d.provision(request(&run, &["web.1", "web.2"])).await;
    let got: Vec<Provisioned> = got.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(got[0].hostname, lab.hosts[0].ip);
    assert_eq!(got[1].hostname, lab.hosts[1].ip);
    assert_eq!(got[0].resource_id, lab.hosts[0].entry());
    assert!(got[0].state["host_key"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
    let dir = PathBuf::from(format!("/root/.slipway/runs/{run}/web.1"));
    assert!(dir.join("work").is_dir());

    let (r, lines) = step(
        &d,
        &got[0],
        &run,
        "deployment",
        "echo out\necho err >&2\nprintf '%s' \"$greeting\" > g.txt\n\
         echo \"host=$SLIPWAY_HOSTNAME\" >> \"$SLIPWAY_OUTPUT\"\n\
         printf 'motd<<EOF\\nline one\\nline two\\nEOF\\n' >> \"$SLIPWAY_OUTPUT\"\n\
         nohup sleep 300 >/dev/null 2>&1 &\n\
         setsid sleep 301 >/dev/null 2>&1 < /dev/null &\n\
         echo report > \"$SLIPWAY_REPORT_DIR/r.txt\"",
    )
    .await;
    assert_eq!(r.exit_code, 0, "{lines:?}");
    assert_eq!(r.outputs["host"], lab.hosts[0].ip);
    assert_eq!(r.outputs["motd"], "line one\nline two");
    assert!(lines.contains(&OutputLine::stdout("out")), "{lines:?}");
    assert!(lines.contains(&OutputLine::stderr("err")), "{lines:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("work/g.txt")).unwrap(),
        "it's\nfine"
    );
    // The env file with the inputs is gone once read, SLIPWAY_OUTPUT once read back.
    let left: Vec<_> = std::fs::read_dir(dir.join("steps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".env") || n.ends_with(".output"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let (r, _) = step(&d, &got[1], &run, "deployment", "echo failing; exit 3").await;
    assert_eq!(r.exit_code, 3);

    let dest = tempfile::tempdir().unwrap();
    let reports = d
        .fetch_reports(&run, &PathBuf::from("/unused"), &got[0], dest.path())
        .await
        .unwrap();
    assert_eq!(reports, [("r.txt".to_string(), 7)]);

    assert_eq!(processes_of(&run).len(), 2, "the two daemons run");
    let mut tagged = d.list_tagged(&run, &PathBuf::new()).await.unwrap();
    tagged.sort();
    assert_eq!(tagged, [lab.hosts[0].entry(), lab.hosts[1].entry()]);

    d.terminate(&run, &PathBuf::new(), &got).await.unwrap();
    assert!(processes_of(&run).is_empty());
    assert!(!dir.exists());
    assert!(!PathBuf::from(format!("/root/.slipway/runs/{run}")).exists());
    assert!(d
        .list_tagged(&run, &PathBuf::new())
        .await
        .unwrap()
        .is_empty());
    // Idempotent, from another driver (another process) too.
    d.terminate(&run, &PathBuf::new(), &got).await.unwrap();
    lab.driver()
        .terminate(&run, &PathBuf::new(), &got)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_are_leased_to_one_run_at_a_time() {
    let lab = Lab::new(2);
    let (a, b) = (run_id("lease-a"), run_id("lease-b"));
    let d = lab.driver();
    let first: Vec<Provisioned> = d
        .provision(request(&a, &["db.1"]))
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    // Another process (another driver over the same data directory) needs two hosts: one is free.
    let other = lab.driver();
    let refused = other.provision(request(&b, &["web.1", "web.2"])).await;
    assert_eq!(refused.len(), 2);
    for r in &refused {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Quota);
        assert!(
            e.message.contains("needs 2 host(s)") && e.message.contains("only 1 of its 2"),
            "{e}"
        );
        assert!(
            e.message.contains(&a),
            "names the run holding the host: {e}"
        );
    }
    // Nothing was started for the refused run.
    assert!(!PathBuf::from(format!("/root/.slipway/runs/{b}")).exists());
    assert!(other
        .list_tagged(&b, &PathBuf::new())
        .await
        .unwrap()
        .is_empty());
    // One host is enough, and it is the free one.
    let second = other.provision(request(&b, &["web.1"])).await;
    let second = second[0].as_ref().unwrap();
    assert_ne!(second.resource_id, first[0].resource_id);
    // Once the first run is terminated, its host is free again.
    d.terminate(&a, &PathBuf::new(), &first).await.unwrap();
    let again = d.provision(request(&a, &["db.1"])).await;
    assert_eq!(again[0].as_ref().unwrap().resource_id, first[0].resource_id);
    d.terminate(&a, &PathBuf::new(), &[again[0].clone().unwrap()])
        .await
        .unwrap();
    other
        .terminate(&b, &PathBuf::new(), std::slice::from_ref(second))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_host_key_is_refused_with_both_fingerprints() {
    let mut lab = Lab::new(1);
    let d = lab.driver();
    d.check().await.unwrap();
    let run = run_id("pin");
    let p = d.provision(request(&run, &["db.1"])).await;
    let p = p[0].clone().unwrap();
    let pinned = p.state["host_key"].as_str().unwrap().to_string();
    d.terminate(&run, &PathBuf::new(), &[p]).await.unwrap();

    lab.hosts[0].restart_with_new_host_key();
    let d = lab.driver();
    let e = d.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(e.message.contains("has changed"), "{e}");
    assert!(e.message.contains(&pinned), "the pinned fingerprint: {e}");
    let now = e
        .message
        .split("now ssh-ed25519 ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("the new fingerprint: {e}"))
        .trim_end_matches(['.', ','])
        .to_string();
    assert!(now.starts_with("SHA256:") && now != pinned, "{e}");
    assert!(e.message.contains("slipway clouds forget-host lab"), "{e}");
    let run = run_id("pin2");
    let r = d.provision(request(&run, &["db.1"])).await;
    let e = r[0].as_ref().unwrap_err();
    assert!(e.message.contains("has changed"), "{e}");
    // Refused before anything ran; the lease is handed back.
    assert!(!PathBuf::from(format!("/root/.slipway/runs/{run}")).exists());
    assert!(d
        .list_tagged(&run, &PathBuf::new())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_named_and_a_secret_key_works() {
    let lab = Lab::new(1);
    let stranger = ClientKey::new();
    let d = SshDriver::new(lab.config(Key::File(stranger.private.clone())));
    let e = d.check().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(
        e.message
            .contains(&format!("refused the key {}", stranger.private.display())),
        "{e}"
    );
    assert!(e.message.contains("user `root`"), "{e}");

    let secret = lab.key.private_text();
    let d = SshDriver::new(lab.config(Key::Secret(secret.clone())));
    d.check().await.unwrap();
    let d = SshDriver::new(lab.config(Key::Secret(stranger.private_text())));
    let e = d.check().await.unwrap_err();
    assert!(
        e.message.contains("secret `private_key` of cloud `lab`"),
        "{e}"
    );
    assert!(!e.message.contains("PRIVATE KEY"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_refuses_connections_is_reported_per_host() {
    let mut lab = Lab::new(2);
    lab.hosts[1].stop();
    let d = lab.driver();
    let e = d.check().await.unwrap_err();
    assert!(e.message.starts_with("1 of 2 host(s) failed"), "{e}");
    assert!(
        e.message.contains(&format!("{}: ok", lab.hosts[0].entry())),
        "{e}"
    );
    assert!(
        e.message
            .contains(&format!("{} refused the connection", lab.hosts[1].key())),
        "{e}"
    );
    // `clouds test` created nothing: no pin for the host that answered.
    let store = slipway_store::Store::open(lab.home.path()).unwrap();
    assert!(store
        .pinned_host_key("lab", &lab.hosts[0].key())
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_dropped_mid_step_fails_that_step_and_terminate_still_cleans_up() {
    let lab = Lab::new(1);
    let d = lab.driver();
    let run = run_id("drop");
    let p = d.provision(request(&run, &["db.1"])).await;
    let p = p[0].clone().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let req = StepRequest {
        run_id: run.clone(),
        run_dir: PathBuf::from("/unused"),
        instance: p.clone(),
        step: "deployment".into(),
        script: "echo started\nexec sleep 120".into(),
        env: vec![],
        packages: vec![],
    };
    let running = tokio::spawn({
        let p = lab.driver();
        async move { p.run_step(req, tx, CancellationToken::new()).await }
    });
    assert_eq!(rx.recv().await, Some(OutputLine::stdout("started")));
    lab.hosts[0].drop_connections();
    let e = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the step ends once the connection is gone")
        .unwrap()
        .unwrap_err();
    // Never retried: the recipe may have done things.
    assert_eq!(e.kind, ErrorKind::Other, "{e}");
    assert!(e.message.contains("connection was lost"), "{e}");
    // The recipe's process outlived the connection; terminate connects again and stops it.
    assert!(!processes_of(&run).is_empty());
    d.terminate(&run, &PathBuf::new(), &[p]).await.unwrap();
    assert!(processes_of(&run).is_empty());
    assert!(!PathBuf::from(format!("/root/.slipway/runs/{run}")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_accepts_but_never_answers_is_named_after_the_timeout() {
    // A listener that never calls accept: the kernel completes the TCP handshake, and then
    // nothing is ever said (a wedged sshd, a port forwarded to nowhere).
    let silent = std::net::TcpListener::bind((next_address(BASE).as_str(), 0)).unwrap();
    let at = silent.local_addr().unwrap().to_string();
    let home = tempfile::tempdir().unwrap();
    let key = ClientKey::new();
    let d = SshDriver::new(SshConfig {
        cloud: "lab".into(),
        hosts: parse_hosts(&format!("root@{at}")).unwrap(),
        key: Key::File(key.private.clone()),
        known_hosts: KnownHosts::Pin,
        data_dir: home.path().to_path_buf(),
        connect_timeout: Duration::from_secs(1),
    });
    let started = std::time::Instant::now();
    let e = d.check().await.unwrap_err();
    assert!(
        e.message
            .contains(&format!("{at} accepted the connection but did not answer")),
        "{e}"
    );
    let run = run_id("silent");
    let got = d.provision(request(&run, &["web.1"])).await;
    let e = got[0].clone().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        e.message.contains(&at) && e.message.contains("within 1 s"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // The host was handed back: nothing of the run holds it.
    let store = slipway_store::Store::open(home.path()).unwrap();
    assert!(store.host_lease(&at).unwrap().is_none());
    drop(silent);
}
