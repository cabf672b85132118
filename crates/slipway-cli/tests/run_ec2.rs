//! `slipway` on an `ec2` cloud: moto's EC2 server (real Query API, SigV4 signatures verified;
//! see the ec2 driver's `tests/support/moto.rs`), the real binary, a real store and keychain.
//! moto's instances accept no SSH, so these deployments have no recipes: instances are created,
//! reach `ready` and are terminated (recipes over SSH are tested in the driver's own tests,
//! against a real sshd). Each test uses a region of its own, so tests sharing the one moto
//! server never see each other's resources. Needs a keychain (skipped with a note when none
//! answers, unless `SLIPWAY_REQUIRE_KEYCHAIN=1`).

mod common;
#[path = "../../slipway-driver-ec2/tests/support/moto.rs"]
mod moto;

use common::{files_under, keychain_answers, slipway_in as slipway, slipway_with_stdin, text};
use slipway_driver_ec2::api::{Credentials, Ec2Api};

const TWO_NODES: &str = r#"
slipway: 1
name: two-nodes
images:
  amazon:
    login_user: ec2-user
    clouds:
      ec2: { image: AMI, size: t2.micro }
components:
  web: { image: amazon }
  db: { image: amazon }
deployment:
  keep_running: never
  nodes:
    web: { component: web, multiplicity: 3 }
    db: { component: db, multiplicity: 3 }
"#;

struct Env {
    home: tempfile::TempDir,
    region: &'static str,
}

impl Env {
    /// A data directory with cloud `aws` on moto in `region`, its secret in the keychain.
    fn new(region: &'static str) -> Option<Env> {
        let home = tempfile::tempdir().unwrap();
        if !keychain_answers(home.path()) {
            return None;
        }
        let env = Env { home, region };
        env.add_cloud("aws", Some("10.0.0.0/8"), &moto::moto().secret_access_key);
        Some(env)
    }

    fn add_cloud(&self, name: &str, ssh_cidr: Option<&str>, secret: &str) {
        let m = moto::moto();
        let region = format!("region={}", self.region);
        let endpoint = format!("endpoint={}", m.endpoint);
        let key = format!("access_key_id={}", m.access_key_id);
        let cidr = ssh_cidr.map(|c| format!("ssh_cidr={c}"));
        let mut args = vec![
            "clouds",
            "add",
            name,
            "ec2",
            "--setting",
            &region,
            "--setting",
            &endpoint,
            "--setting",
            &key,
        ];
        if let Some(c) = &cidr {
            args.extend(["--setting", c.as_str()]);
        }
        let out = self.slipway(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let out = slipway_with_stdin(
            self.home.path(),
            &["secret", "set", name, "secret_access_key"],
            secret,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    fn slipway(&self, args: &[&str]) -> std::process::Output {
        slipway(self.home.path(), args)
    }

    fn api(&self) -> Ec2Api {
        let m = moto::moto();
        Ec2Api::new(
            self.region,
            Some(&m.endpoint),
            Credentials {
                access_key_id: m.access_key_id.clone(),
                secret_access_key: m.secret_access_key.clone(),
                session_token: None,
            },
        )
        .unwrap()
    }

    /// The recipe with `ami`, written into the data directory's parent.
    fn recipe(&self, ami: &str, keep: &str) -> String {
        let path = self
            .home
            .path()
            .join(format!("two-nodes-{keep}.slipway.yaml"));
        let body = TWO_NODES
            .replace("AMI", ami)
            .replace("keep_running: never", &format!("keep_running: {keep}"));
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn last_run(&self) -> serde_json::Value {
        let out = self.slipway(&["runs", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        runs[0].clone()
    }
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// What of the run still exists on the cloud: live instances, its group, its key pair.
fn left_of(api: &Ec2Api, run_id: &str) -> Vec<String> {
    block_on(async {
        let name = format!("slipway-{run_id}");
        let mut left: Vec<String> = api
            .run_instances_of(run_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.state != "terminated")
            .map(|i| i.id)
            .collect();
        left.extend(api.security_groups_named(&name).await.unwrap());
        left.extend(
            api.key_pairs(&name)
                .await
                .unwrap()
                .into_iter()
                .filter(|k| *k == name),
        );
        left
    })
}

fn instance_count(api: &Ec2Api, run_id: &str) -> usize {
    block_on(api.run_instances_of(run_id)).unwrap().len()
}

#[test]
fn two_nodes_of_three_run_on_ec2_and_leave_nothing() {
    let Some(env) = Env::new("us-west-2") else {
        return;
    };
    let tested = env.slipway(&["clouds", "test", "aws"]);
    assert_eq!(tested.status.code(), Some(0), "{}", text(&tested.stderr));
    assert!(
        text(&tested.stdout).contains("accepts the credentials"),
        "{}",
        text(&tested.stdout)
    );
    assert!(
        !text(&tested.stdout).contains("0.0.0.0/0"),
        "{}",
        text(&tested.stdout)
    );

    let file = env.recipe("ami-785db401", "never");
    let out = env.slipway(&["run", &file, "--cloud", "aws"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run = env.last_run();
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(instance_count(&env.api(), run_id), 6);
    assert_eq!(left_of(&env.api(), run_id), Vec::<String>::new());
    // The run's SSH key left the keychain with the run, and was never in the data directory.
    let keychain = slipway_secrets::Keychain::for_home(env.home.path());
    assert_eq!(
        keychain.get("aws", &format!("run-key/{run_id}")).unwrap(),
        None
    );
    for f in files_under(env.home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("OPENSSH PRIVATE KEY"),
            "{} holds a private key",
            f.display()
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&moto::moto().secret_access_key),
            "{} holds the secret access key",
            f.display()
        );
    }
}

#[test]
fn an_open_ssh_port_is_warned_about() {
    let Some(env) = Env::new("us-east-2") else {
        return;
    };
    env.add_cloud("open", None, &moto::moto().secret_access_key);
    let tested = env.slipway(&["clouds", "test", "open"]);
    assert_eq!(tested.status.code(), Some(0), "{}", text(&tested.stderr));
    let said = text(&tested.stdout);
    assert!(
        said.contains("warning") && said.contains("0.0.0.0/0"),
        "{said}"
    );
}

#[test]
fn a_wrong_secret_key_is_a_clear_auth_error_and_exit_3() {
    let Some(env) = Env::new("eu-west-2") else {
        return;
    };
    env.add_cloud("wrong", Some("10.0.0.0/8"), "not-the-secret-key-0123456789");
    let tested = env.slipway(&["clouds", "test", "wrong"]);
    assert_eq!(tested.status.code(), Some(3), "{}", text(&tested.stdout));
    let said = text(&tested.stderr);
    assert!(said.contains("(auth)"), "{said}");
    assert!(!said.contains("not-the-secret-key"), "{said}");

    let file = env.recipe("ami-785db401", "never");
    let out = env.slipway(&["run", &file, "--cloud", "wrong"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("Signature") || said.contains("AuthFailure"),
        "{said}"
    );
    assert!(!said.contains("not-the-secret-key"), "{said}");
}

#[test]
fn a_bad_ami_is_named_exits_3_and_leaves_nothing() {
    let Some(env) = Env::new("eu-central-1") else {
        return;
    };
    let file = env.recipe("ami-00000bad", "never");
    let out = env.slipway(&["run", &file, "--cloud", "aws"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("ami-00000bad"), "{said}");
    let run = env.last_run();
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(instance_count(&env.api(), run_id), 0);
    assert_eq!(left_of(&env.api(), run_id), Vec::<String>::new());
}

#[test]
fn a_kept_run_is_terminated_later_and_sweep_finds_runs_it_does_not_know() {
    let Some(env) = Env::new("ap-southeast-2") else {
        return;
    };
    let file = env.recipe("ami-785db401", "always");
    let out = env.slipway(&["run", &file, "--cloud", "aws"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kept = env.last_run()["id"].as_str().unwrap().to_string();
    assert_eq!(
        left_of(&env.api(), &kept).len(),
        8,
        "6 instances, a group, a key pair"
    );
    let keychain = slipway_secrets::Keychain::for_home(env.home.path());
    assert!(keychain
        .get("aws", &format!("run-key/{kept}"))
        .unwrap()
        .is_some());

    // A second data directory on the same cloud does not know the run: sweep lists it, and
    // removes it with --yes.
    let Some(other) = Env::new("ap-southeast-2") else {
        return;
    };
    let file2 = other.recipe("ami-785db401", "always");
    let out = other.slipway(&["run", &file2, "--cloud", "aws"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let own = other.last_run()["id"].as_str().unwrap().to_string();
    let listed = other.slipway(&["clouds", "sweep", "aws"]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let said = text(&listed.stdout);
    let of = |run: &str| {
        said.lines()
            .filter(|l| l.starts_with(&format!("{run} (unknown run) ")))
            .count()
    };
    assert_eq!(of(&kept), 8, "{said}");
    assert!(
        !said.contains(&own),
        "a live run of this store is not an orphan: {said}"
    );
    assert_eq!(
        left_of(&env.api(), &kept).len(),
        8,
        "listing removes nothing"
    );

    let swept = other.slipway(&["clouds", "sweep", "aws", "--yes"]);
    assert_eq!(swept.status.code(), Some(0), "{}", text(&swept.stderr));
    assert_eq!(left_of(&env.api(), &kept), Vec::<String>::new());
    assert_eq!(
        left_of(&env.api(), &own).len(),
        8,
        "the live run is untouched"
    );

    // `terminate` from another process: works from the store and the tags alone.
    for (e, run) in [(&env, &kept), (&other, &own)] {
        let t = e.slipway(&["terminate", run]);
        assert_eq!(t.status.code(), Some(0), "{}", text(&t.stderr));
        assert_eq!(left_of(&e.api(), run), Vec::<String>::new());
        let keychain = slipway_secrets::Keychain::for_home(e.home.path());
        assert_eq!(
            keychain.get("aws", &format!("run-key/{run}")).unwrap(),
            None
        );
    }
}
