//! Host leases and pinned host keys (the `ssh` cloud's state in the store), across connections.

use slipway_store::Store;

fn pool(hosts: &[&str]) -> Vec<(String, Option<String>)> {
    hosts.iter().map(|h| (h.to_string(), None)).collect()
}

fn wanted(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "debian".to_string()))
        .collect()
}

#[test]
fn hosts_are_leased_all_or_none_and_one_run_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = Store::open(dir.path()).unwrap();
    let mut cli = Store::open(dir.path()).unwrap();
    let mut p = pool(&["h1:22", "h2:22", "h3:22"]);
    p[1].1 = Some("root".into());

    let a = app
        .lease_hosts("lab", "r-a", &p, &wanted(&["db.1", "web.1"]), 1)
        .unwrap()
        .unwrap();
    assert_eq!(
        a.iter()
            .map(|l| (l.instance.as_str(), l.host.as_str(), l.login_user.as_str()))
            .collect::<Vec<_>>(),
        [("db.1", "h1:22", "debian"), ("web.1", "h2:22", "root")]
    );
    // Another connection (the CLI while the app runs) needs two: one is free, nothing leased.
    let refused = cli
        .lease_hosts("lab", "r-b", &p, &wanted(&["x.1", "x.2"]), 2)
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (refused.needed, refused.free, refused.pool),
        (2, 1, 3),
        "{refused:?}"
    );
    assert_eq!(refused.held_by, ["r-a"]);
    assert!(cli.host_leases("r-b", "lab").unwrap().is_empty());
    assert_eq!(cli.host_lease("h3:22").unwrap(), None);

    // A retried call of the same run keeps its hosts and takes only what is new.
    let again = app
        .lease_hosts("lab", "r-a", &p, &wanted(&["db.1", "web.1", "web.2"]), 3)
        .unwrap()
        .unwrap();
    assert_eq!(
        again.iter().map(|l| l.host.as_str()).collect::<Vec<_>>(),
        ["h1:22", "h2:22", "h3:22"]
    );

    assert!(cli.release_host("r-a", "h2:22").unwrap());
    assert!(!cli.release_host("r-a", "h2:22").unwrap(), "idempotent");
    assert!(!cli.release_host("r-b", "h1:22").unwrap(), "not its host");
    let b = cli
        .lease_hosts("lab", "r-b", &p, &wanted(&["x.1"]), 4)
        .unwrap()
        .unwrap();
    assert_eq!(b[0].host, "h2:22");
    assert_eq!(app.host_leases("r-a", "lab").unwrap().len(), 2);
}

#[test]
fn the_first_pinned_key_wins_until_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Store::open(dir.path()).unwrap();
    let mut b = Store::open(dir.path()).unwrap();
    assert_eq!(a.pinned_host_key("lab", "h1:22").unwrap(), None);
    let first = a
        .pin_host_key("lab", "h1:22", "ssh-ed25519", "SHA256:one", 1)
        .unwrap();
    let second = b
        .pin_host_key("lab", "h1:22", "ssh-ed25519", "SHA256:two", 2)
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(second.fingerprint, "SHA256:one");
    // Per cloud.
    assert_eq!(b.pinned_host_key("other", "h1:22").unwrap(), None);
    assert!(b.forget_host_key("lab", "h1:22").unwrap());
    assert!(!b.forget_host_key("lab", "h1:22").unwrap());
    let k = a
        .pin_host_key("lab", "h1:22", "ssh-ed25519", "SHA256:two", 3)
        .unwrap();
    assert_eq!(k.fingerprint, "SHA256:two");
}
