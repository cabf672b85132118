//! The EC2 client and driver against moto's EC2 server (real Query API, SigV4 verified; see
//! `support/moto.rs`), one server for the whole binary.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::moto::{moto, unique};

use slipway_driver::{Driver, ErrorKind};
use slipway_driver_ec2::api::{Credentials, Ec2Api};

fn credentials() -> Credentials {
    let m = moto();
    Credentials {
        access_key_id: m.access_key_id.clone(),
        secret_access_key: m.secret_access_key.clone(),
        session_token: None,
    }
}

fn p(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[tokio::test]
async fn signed_calls_succeed_and_a_wrong_secret_is_an_auth_error() {
    let m = moto();
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), credentials()).unwrap();
    let xml = api
        .call("DescribeImages", &[p("ImageId.1", "ami-785db401")])
        .await
        .unwrap();
    assert!(xml.contains("ami-785db401"), "{xml}");

    let wrong = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..credentials()
    };
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), wrong).unwrap();
    let e = api.call("DescribeImages", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
}

#[tokio::test]
async fn a_bad_ami_is_named_and_not_retried() {
    let m = moto();
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), credentials()).unwrap();
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
    let api = Ec2Api::new("us-east-1", Some(&m.endpoint), credentials()).unwrap();
    let run = unique("calls");
    let key = format!("slipway-{run}");
    api.import_key_pair(&key, &run, &public_key())
        .await
        .unwrap();
    // Retried: the same pair is kept.
    api.import_key_pair(&key, &run, &public_key())
        .await
        .unwrap();
    let group = api
        .ensure_security_group(&key, &run, "10.0.0.0/8")
        .await
        .unwrap();
    let again = api
        .ensure_security_group(&key, &run, "10.0.0.0/8")
        .await
        .unwrap();
    assert_eq!(group, again, "a retried call finds the group it made");

    for node in ["web", "db"] {
        let token = format!("{run}/{node}");
        let req = RunRequest {
            run_id: &run,
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
    let all = api.run_instances_of(&run).await.unwrap();
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().all(|i| i.tag(TAG_RUN) == Some(run.as_str())));
    assert!(all.iter().all(|i| i.private_ip.is_some()));

    let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
    api.terminate_instances(&ids).await.unwrap();
    let after = api.run_instances_of(&run).await.unwrap();
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
    assert!(api.key_pairs(&key).await.unwrap().is_empty());
    assert!(api
        .security_groups_with_prefix(&key)
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

/// An ec2 driver on moto (or on `endpoint`, a proxy in front of it), polling quickly.
fn driver_at(endpoint: &str) -> slipway_driver_ec2::Ec2Driver {
    let mut driver = slipway_driver_ec2::Ec2Driver::new(
        "aws",
        slipway_driver_ec2::Ec2Settings {
            region: "us-east-1".into(),
            endpoint: Some(endpoint.to_string()),
            credentials: credentials(),
            subnet_id: None,
            ssh_cidr: Some("10.0.0.0/8".into()),
        },
        Arc::new(slipway_driver_ec2::MemoryVault::default()),
    )
    .unwrap();
    driver.poll_interval = Duration::from_millis(200);
    driver
}

/// Runs `recipe` through the engine on `driver` (cloud `aws`), returning the exit code, the
/// error, and the store.
async fn launch(
    driver: Arc<slipway_driver_ec2::Ec2Driver>,
    recipe_text: &str,
    run_id: &str,
    dir: &std::path::Path,
) -> (i32, Option<String>, Arc<Mutex<slipway_store::Store>>) {
    let store = Arc::new(Mutex::new(slipway_store::Store::open(dir).unwrap()));
    let mut drivers: slipway_engine::Drivers = HashMap::new();
    drivers.insert("aws".into(), driver);
    let ctx = slipway_engine::Context {
        store: store.clone(),
        drivers,
        hooks: Arc::new(slipway_engine::NoHooks),
        clock: Arc::new(slipway_engine::SystemClock),
        keeper: None,
    };
    let opts = slipway_recipe::ValidateOptions {
        default_cloud: Some("aws".into()),
        clouds: Some(HashMap::from([("aws".to_string(), "ec2".to_string())])),
        ..Default::default()
    };
    let checked = slipway_recipe::check(recipe_text, &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let recipe = checked.recipe.unwrap();
    let launch = slipway_engine::Launch {
        run_id: run_id.into(),
        keep: recipe.deployment.keep_running,
        recipe,
        recipe_text: recipe_text.into(),
        opts,
        run_dir: dir.join("runs").join(run_id),
        already_created: false,
        resume: None,
    };
    let out =
        slipway_engine::launch(&ctx, launch, tokio_util::sync::CancellationToken::new()).await;
    (out.exit_code, out.error.map(|e| format!("{e:?}")), store)
}

/// After teardown: every instance of the run terminated, and no group or key pair left.
async fn assert_nothing_left(
    driver: &slipway_driver_ec2::Ec2Driver,
    run_id: &str,
    dir: &std::path::Path,
) {
    let left = driver.list_tagged(run_id, dir).await.unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
    let instances = driver.api().run_instances_of(run_id).await.unwrap();
    assert!(
        instances.iter().all(|i| i.state == "terminated"),
        "{instances:?}"
    );
}

fn node_indexes(instances: &[slipway_driver_ec2::calls::Ec2Instance]) -> Vec<(String, String)> {
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
    indexes
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_two_nodes_makes_one_run_instances_call_per_node_and_leaves_nothing() {
    let driver = Arc::new(driver_at(&moto().endpoint));
    let dir = tempfile::tempdir().unwrap();
    let run = unique("two-nodes");
    let (code, error, _) = launch(driver.clone(), TWO_NODES, &run, dir.path()).await;
    assert_eq!(code, 0, "{error:?}");

    let calls = driver.api().calls.lock().unwrap().clone();
    assert_eq!(calls.get("RunInstances"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("ImportKeyPair"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("CreateSecurityGroup"), Some(&1), "{calls:?}");

    assert_nothing_left(&driver, &run, dir.path()).await;
    let instances = driver.api().run_instances_of(&run).await.unwrap();
    assert_eq!(instances.len(), 6);
    assert_eq!(
        node_indexes(&instances),
        pairs(&[
            ("db", "1"),
            ("db", "2"),
            ("db", "3"),
            ("web", "1"),
            ("web", "2"),
            ("web", "3")
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_500s_and_dropped_answers_are_retried_without_duplicates() {
    let proxy = support::moto::FaultProxy::start(moto().port, 3);
    let driver = Arc::new(driver_at(&proxy.endpoint));
    let dir = tempfile::tempdir().unwrap();
    let run = unique("faults");
    let (code, error, _) = launch(driver.clone(), TWO_NODES, &run, dir.path()).await;
    assert_eq!(code, 0, "{error:?}");
    let faults = proxy.faults.lock().unwrap().clone();
    assert!(
        faults.throttled > 0 && faults.errors_500 > 0 && faults.dropped > 0,
        "{faults:?}"
    );
    // Straight to moto: exactly the six instances asked for, whatever was retried.
    let direct = driver_at(&moto().endpoint);
    let instances = direct.api().run_instances_of(&run).await.unwrap();
    assert_eq!(
        node_indexes(&instances),
        pairs(&[
            ("db", "1"),
            ("db", "2"),
            ("db", "3"),
            ("web", "1"),
            ("web", "2"),
            ("web", "3")
        ]),
        "{faults:?}"
    );
    assert_nothing_left(&direct, &run, dir.path()).await;
    eprintln!("faults injected: {faults:?}");
}

const TWENTY: &str = r#"
slipway: 1
name: twenty
images:
  amazon:
    clouds:
      aws: { image: ami-785db401, size: t2.micro }
components:
  app: { image: amazon }
deployment:
  keep_running: never
  nodes:
    app: { component: app, multiplicity: 20 }
"#;

/// The API cost of a 20-instance deployment, printed for comparison (Terraform's
/// `aws_instance` with `count = 20` makes one RunInstances and at least one DescribeInstances
/// per instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_instances_cost_one_run_instances_call() {
    let driver = Arc::new(driver_at(&moto().endpoint));
    let dir = tempfile::tempdir().unwrap();
    let run = unique("twenty");
    let (code, error, _) = launch(driver.clone(), TWENTY, &run, dir.path()).await;
    assert_eq!(code, 0, "{error:?}");
    let calls = driver.api().calls.lock().unwrap().clone();
    assert_eq!(calls.get("RunInstances"), Some(&1), "{calls:?}");
    let total: u32 = calls.values().sum();
    eprintln!("API calls for 20 instances, launch to teardown: {total} {calls:?}");
    assert_nothing_left(&driver, &run, dir.path()).await;
}

const WITH_RECIPES: &str = r#"
slipway: 1
name: over-ssh
images:
  debian:
    login_user: root
    clouds:
      aws: { image: ami-785db401, size: t2.micro }
components:
  web:
    image: debian
    outputs: { url: { description: where it serves } }
    recipes:
      deployment: |
        echo "web $SLIPWAY_INSTANCE on $SLIPWAY_HOSTNAME"
        echo "url=http://$SLIPWAY_HOSTNAME:8080/" >> "$SLIPWAY_OUTPUT"
  client:
    image: debian
    inputs: { target: { required: true } }
    recipes:
      deployment: |
        echo "client sees $target"
      reporting: |
        echo "checked $target" > "$SLIPWAY_REPORT_DIR/result.txt"
deployment:
  keep_running: never
  nodes:
    web: { component: web, multiplicity: 2 }
    client:
      component: client
      inputs: { target: { from: web.url } }
"#;

/// moto's instances run nothing, so a real sshd on a loopback address stands in for every
/// instance (the driver's `ssh_address` points there) and takes the run's key (`key_maker`
/// hands out one the sshd knows). Everything else is the real path: moto's instances, their
/// private addresses wired between nodes, steps and reports over SSH, teardown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipes_run_over_ssh_with_the_run_key_and_wires_carry_private_addresses() {
    use support::sshd::{ClientKey, Sshd};
    let key = ClientKey::new();
    let sshd = Sshd::start("127.204.0.21", &key);
    let mut driver = driver_at(&moto().endpoint);
    let (public, private) = (key.public.trim().to_string(), key.private_text());
    driver.key_maker = Box::new(move || Ok((public.clone(), private.clone())));
    let port = sshd.port;
    driver.ssh_address = Box::new(move |_| Some(("127.204.0.21".to_string(), port)));
    let driver = Arc::new(driver);
    let dir = tempfile::tempdir().unwrap();
    let run = unique("ssh");
    let (code, error, store) = launch(driver.clone(), WITH_RECIPES, &run, dir.path()).await;
    assert_eq!(code, 0, "{error:?}");

    let instances = driver.api().run_instances_of(&run).await.unwrap();
    let web_ips: Vec<String> = instances
        .iter()
        .filter(|i| i.tag("slipway:node") == Some("web"))
        .map(|i| i.private_ip.clone().unwrap())
        .collect();
    assert_eq!(web_ips.len(), 2);
    let logs: Vec<String> = store
        .lock()
        .unwrap()
        .logs(&run, None, 0, 100_000)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    let all = logs.join("\n");
    for ip in &web_ips {
        assert!(all.contains(&format!("on {ip}")), "{all}");
        assert!(all.contains(&format!("http://{ip}:8080/")), "{all}");
    }
    let report = dir
        .path()
        .join("runs")
        .join(&run)
        .join("reports/client.1/result.txt");
    let report =
        std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    assert!(report.starts_with("checked http://"), "{report}");
    assert_nothing_left(&driver, &run, dir.path()).await;
    // The key pair is gone from EC2 (and its private half from the vault).
    assert!(driver
        .api()
        .key_pairs(&slipway_driver_ec2::resource_name(&run))
        .await
        .unwrap()
        .is_empty());
}
