//! The EC2 client against moto's EC2 server (real Query API, SigV4 verified), started here.
//! `SLIPWAY_MOTO` names the virtual environment with `moto[server]` and boto3 (default
//! `/opt/slipway-moto`, which `scripts/install-deps.sh` creates).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slipway_driver::{Driver, ErrorKind};
use slipway_driver_ec2::api::{Credentials, Ec2Api};

struct Moto {
    child: Child,
    endpoint: String,
    credentials: Credentials,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv() -> PathBuf {
    PathBuf::from(std::env::var("SLIPWAY_MOTO").unwrap_or_else(|_| "/opt/slipway-moto".into()))
}

/// Starts moto with signature checks and AMI, instance type and key pair validation; the first
/// three (unsigned) actions create an IAM user whose keys the tests sign with.
fn moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(venv().join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        .env("MOTO_ENABLE_AMI_VALIDATION", "true")
        .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
        .env("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto_server from {}: {e}", venv().display()));
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(
            r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="slipway")
iam.put_user_policy(UserName="slipway", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="slipway")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
"#,
        )
        .arg(&endpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (id, secret) = text.trim().split_once(' ').unwrap();
    Moto {
        child,
        endpoint,
        credentials: Credentials {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: None,
        },
    }
}

fn p(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[tokio::test]
async fn signed_calls_succeed_and_a_wrong_secret_is_an_auth_error() {
    let m = moto();
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), m.credentials.clone()).unwrap();
    let xml = api
        .call("DescribeImages", &[p("ImageId.1", "ami-785db401")])
        .await
        .unwrap();
    assert!(xml.contains("ami-785db401"), "{xml}");

    let wrong = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..m.credentials.clone()
    };
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), wrong).unwrap();
    let e = api.call("DescribeImages", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
}

#[tokio::test]
async fn a_bad_ami_is_named_and_not_retried() {
    let m = moto();
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), m.credentials.clone()).unwrap();
    let e = api
        .call(
            "RunInstances",
            &[
                p("ImageId", "ami-00000bad"),
                p("InstanceType", "t2.micro"),
                p("MinCount", "1"),
                p("MaxCount", "1"),
            ],
        )
        .await
        .unwrap_err();
    assert!(e.code.starts_with("InvalidAMIID"), "{e}");
    assert!(!e.is_retryable());
    let driver_error: slipway_driver::DriverError = e.into();
    assert!(
        driver_error.message.contains("ami-00000bad"),
        "{driver_error}"
    );
}

fn public_key() -> String {
    slipway_driver_ec2::keys::new_key_pair("test").unwrap().0
}

#[tokio::test]
async fn a_run_creates_tagged_instances_once_per_node_and_leaves_nothing() {
    use slipway_driver_ec2::calls::{RunRequest, TAG_NODE, TAG_RUN};
    let m = moto();
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), m.credentials.clone()).unwrap();
    let run = "20261203-abc";
    let key = format!("slipway-{run}");
    api.import_key_pair(&key, run, &public_key()).await.unwrap();
    // Retried: the same pair is kept.
    api.import_key_pair(&key, run, &public_key()).await.unwrap();
    let group = api
        .ensure_security_group(&key, run, "10.0.0.0/8")
        .await
        .unwrap();
    let again = api
        .ensure_security_group(&key, run, "10.0.0.0/8")
        .await
        .unwrap();
    assert_eq!(group, again, "a retried call finds the group it made");

    for node in ["web", "db"] {
        let token = format!("{run}/{node}");
        let req = RunRequest {
            run_id: run,
            node,
            ami: "ami-785db401",
            instance_type: "t2.micro",
            count: 3,
            key_name: &key,
            group_id: &group,
            subnet_id: None,
            client_token: &token,
        };
        let made = api.run_instances(&req).await.unwrap();
        assert_eq!(made.len(), 3);
        assert!(
            made.iter().all(|i| i.tag(TAG_NODE) == Some(node)),
            "{made:?}"
        );
    }
    let all = api.run_instances_of(run).await.unwrap();
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().all(|i| i.tag(TAG_RUN) == Some(run)));
    assert!(all.iter().all(|i| i.private_ip.is_some()));

    let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
    api.terminate_instances(&ids).await.unwrap();
    let after = api.run_instances_of(run).await.unwrap();
    assert!(
        after
            .iter()
            .all(|i| i.state == "terminated" || i.state == "shutting-down"),
        "{after:?}"
    );
    api.delete_security_group(&group).await.unwrap();
    api.delete_security_group(&group).await.unwrap();
    api.delete_key_pair(&key).await.unwrap();
    api.delete_key_pair(&key).await.unwrap();
    assert!(api.key_pairs("slipway-").await.unwrap().is_empty());
    assert!(api
        .security_groups_with_prefix("slipway-")
        .await
        .unwrap()
        .is_empty());
}

const TWO_NODES: &str = r#"
slipway: 1
name: two-nodes
images:
  amazon:
    login_user: ec2-user
    clouds:
      aws: { image: ami-785db401, size: t2.micro }
components:
  web: { image: amazon }
  db: { image: amazon }
deployment:
  keep_running: never
  nodes:
    web: { component: web, multiplicity: 3 }
    db: { component: db, multiplicity: 3 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_two_nodes_makes_one_run_instances_call_per_node_and_leaves_nothing() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let m = moto();
    let mut driver = slipway_driver_ec2::Ec2Driver::new(slipway_driver_ec2::Ec2Settings {
        region: "us-east-1".into(),
        endpoint: Some(m.endpoint.clone()),
        credentials: m.credentials.clone(),
        subnet_id: None,
        ssh_cidr: Some("10.0.0.0/8".into()),
    })
    .unwrap();
    driver.poll_interval = Duration::from_millis(200);
    let driver = Arc::new(driver);
    let dir = tempfile::tempdir().unwrap();
    let store = slipway_store::Store::open(dir.path()).unwrap();
    let mut drivers: slipway_engine::Drivers = HashMap::new();
    drivers.insert("aws".into(), driver.clone());
    let ctx = slipway_engine::Context {
        store: Arc::new(Mutex::new(store)),
        drivers,
        hooks: Arc::new(slipway_engine::NoHooks),
        clock: Arc::new(slipway_engine::SystemClock),
    };
    let opts = slipway_recipe::ValidateOptions {
        default_cloud: Some("aws".into()),
        clouds: Some(HashMap::from([("aws".to_string(), "ec2".to_string())])),
        ..Default::default()
    };
    let checked = slipway_recipe::check(TWO_NODES, &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let recipe = checked.recipe.unwrap();
    let launch = slipway_engine::Launch {
        run_id: "20261203-ec2".into(),
        keep: recipe.deployment.keep_running,
        recipe,
        recipe_text: TWO_NODES.into(),
        opts,
        run_dir: dir.path().join("runs/20261203-ec2"),
        already_created: false,
    };
    let out =
        slipway_engine::launch(&ctx, launch, tokio_util::sync::CancellationToken::new()).await;
    assert_eq!(out.exit_code, 0, "{:?}", out.error);

    let calls = driver.api().calls.lock().unwrap().clone();
    assert_eq!(calls.get("RunInstances"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("ImportKeyPair"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("CreateSecurityGroup"), Some(&1), "{calls:?}");
    eprintln!("API calls for 6 instances: {calls:?}");

    let left = driver
        .list_tagged("20261203-ec2", dir.path())
        .await
        .unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
    let instances = driver.api().run_instances_of("20261203-ec2").await.unwrap();
    assert_eq!(instances.len(), 6);
    assert!(
        instances.iter().all(|i| i.state == "terminated"),
        "{instances:?}"
    );
    let mut indexes: Vec<(String, String)> = instances
        .iter()
        .map(|i| {
            (
                i.tag("slipway:node").unwrap().to_string(),
                i.tag("slipway:index").unwrap_or("?").to_string(),
            )
        })
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            ("db", "1"),
            ("db", "2"),
            ("db", "3"),
            ("web", "1"),
            ("web", "2"),
            ("web", "3")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}
