//! `slipway clouds …` and `slipway secret …` through the real binary, with a temporary data
//! directory and, for the secrets, the real OS keychain (on Linux the Secret Service of the
//! session bus). Keychain tests skip with a note when none is reachable, unless
//! `SLIPWAY_REQUIRE_KEYCHAIN=1` (scripts/test-all.sh sets it), which makes that a failure.

#[allow(dead_code)] // not every test uses every helper
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{slipway_in, text};

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// Runs `slipway` with `input` on standard input and extra environment.
fn slipway_with_stdin(home: &Path, args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("SLIPWAY_HOME", home)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits before reading: a broken pipe is expected then.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

/// Configured cloud names (without the built-ins).
fn configured(home: &Path) -> Vec<serde_json::Value> {
    let out = slipway_in(home, &["clouds", "list", "--json"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["built_in"] == false)
        .cloned()
        .collect()
}

/// Every byte of every file under `dir` (database, WAL, logs…) searched for `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[test]
fn bad_settings_are_refused_and_nothing_is_stored() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "clouds",
                "add",
                "aws",
                "ec2",
                "--setting",
                "region=eu-west-1",
                "--setting",
                "regoin=x",
            ],
            "did you mean `region`?",
        ),
        (
            &[
                "clouds",
                "add",
                "lab",
                "ssh",
                "--setting",
                "hosts=root@h:99999",
            ],
            "the port is not a number",
        ),
        (&["clouds", "add", "aws", "ec2"], "`region` is required"),
        (
            &[
                "clouds",
                "add",
                "lab",
                "ssh",
                "--setting",
                "hosts=h",
                "--setting",
                "known_hosts=never",
            ],
            "`never` is not one of pin, strict",
        ),
        (
            &[
                "clouds",
                "add",
                "aws",
                "ec2",
                "--setting",
                "region=eu-west-1",
                "--setting",
                "secret_access_key=canary-7d1e",
            ],
            "slipway secret set aws secret_access_key",
        ),
        (
            &["clouds", "add", "box", "dokcer"],
            "did you mean `docker`?",
        ),
    ];
    for (args, says) in cases {
        let out = slipway_in(home.path(), args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("canary-7d1e") && !text(&out.stdout).contains("canary-7d1e"));
    }
    assert!(configured(home.path()).is_empty());
    assert!(files_containing(home.path(), b"canary-7d1e").is_empty());
    // The same in JSON: one error event, exit 2.
    let out = slipway_in(home.path(), &["clouds", "add", "aws", "ec2", "--json"]);
    assert_eq!(code(&out), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["event"], "error");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("`region` is required"));
}

#[test]
fn ssh_runs_and_other_remote_kinds_are_configured_only() {
    let home = tempfile::tempdir().unwrap();
    let out = slipway_in(
        home.path(),
        &[
            "clouds",
            "add",
            "lab",
            "ssh",
            "--setting",
            "hosts=root@10.0.0.5:2222,10.0.0.6",
        ],
    );
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let out = slipway_in(
        home.path(),
        &[
            "clouds",
            "add",
            "box",
            "ec2",
            "--setting",
            "region=eu-west-1",
        ],
    );
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let list = configured(home.path());
    assert_eq!(list[0]["name"], "box");
    assert_eq!(list[0]["runnable"], true);
    assert_eq!(list[1]["settings"]["hosts"], "root@10.0.0.5:2222,10.0.0.6");
    assert_eq!(list[1]["runnable"], true);
    // No credentials: bad settings, and what to give.
    let out = slipway_in(home.path(), &["clouds", "test", "box"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        text(&out.stderr).contains("no credentials: set `access_key_id`"),
        "{}",
        text(&out.stderr)
    );
    // Unknown clouds and keys are bad input, before any value is read.
    for args in [
        &["secret", "set", "nope", "private_key"][..],
        &["secret", "set", "lab", "hosts"],
        &["secret", "set", "lab", "privat_key"],
        &["secret", "remove", "local", "x"],
    ] {
        let out = slipway_with_stdin(home.path(), args, "v\n", &[]);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", text(&out.stderr));
    }
    let out = slipway_with_stdin(
        home.path(),
        &["secret", "set", "lab", "privat_key"],
        "",
        &[],
    );
    assert!(text(&out.stderr).contains("did you mean `private_key`?"));
}

#[test]
fn remove_is_refused_while_a_run_uses_the_cloud() {
    let home = tempfile::tempdir().unwrap();
    let out = slipway_in(home.path(), &["clouds", "add", "box", "docker"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    {
        let mut store = slipway_store::Store::open(home.path()).unwrap();
        let (pid, start) = slipway_store::current_process_identity();
        store
            .create_run(&slipway_store::NewRun {
                id: "r-kept".into(),
                name: "hello".into(),
                keep_running: slipway_recipe::KeepRunning::Always,
                recipe_text: String::new(),
                default_cloud: "box".into(),
                created_at: 1,
                owner_pid: pid,
                owner_start_time: start,
            })
            .unwrap();
        store
            .add_instances(
                "r-kept",
                &[slipway_store::NewInstance {
                    name: "web.1".into(),
                    node: "web".into(),
                    index: 1,
                    cloud: "box".into(),
                }],
                2,
            )
            .unwrap();
    }
    let out = slipway_in(home.path(), &["clouds", "remove", "box"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        text(&out.stderr).contains("r-kept"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(configured(home.path()).len(), 1);
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

fn secret_tool_search(service: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_canary_secret_lives_in_the_keychain_only() {
    let home = tempfile::tempdir().unwrap();
    let Some(keychain) = keychain_or_skip(home.path()) else {
        return;
    };
    let canary = "canary-5b2f0e9a";
    let mut outputs = Vec::new();
    let mut run = |args: &[&str], input: &str| {
        let out = slipway_with_stdin(home.path(), args, input, &[]);
        outputs.push(format!("{}{}", text(&out.stdout), text(&out.stderr)));
        out
    };
    let out = run(
        &[
            "clouds",
            "add",
            "aws",
            "ec2",
            "--setting",
            "region=eu-west-1",
        ],
        "",
    );
    assert_eq!(code(&out), Some(0));
    let out = run(&["clouds", "list"], "");
    assert!(
        text(&out.stdout).contains("secret_access_key: missing"),
        "{}",
        text(&out.stdout)
    );
    let out = run(
        &["secret", "set", "aws", "secret_access_key"],
        &format!("{canary}\n"),
    );
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let out = run(&["clouds", "list"], "");
    assert!(
        text(&out.stdout).contains("secret_access_key: stored in keychain"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["clouds", "list", "--json"], "");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[1]["secrets"][0]["state"], "stored_in_keychain");
    // No `access_key_id`: refused before any request (nothing leaves this machine), and the
    // message holds no secret either.
    let out = run(&["clouds", "test", "aws"], "");
    assert_eq!(code(&out), Some(2));
    // Stored exactly, without the final newline, in this data directory's namespace.
    assert_eq!(
        keychain
            .get("aws", "secret_access_key")
            .unwrap()
            .unwrap()
            .expose(),
        canary
    );
    let found = secret_tool_search(keychain.service());
    assert!(
        found.contains(canary),
        "secret-tool did not find it: {found}"
    );
    assert!(found.contains("aws/secret_access_key"), "{found}");
    // Another data directory does not see it.
    let other = tempfile::tempdir().unwrap();
    assert_eq!(
        slipway_secrets::Keychain::for_home(other.path())
            .get("aws", "secret_access_key")
            .unwrap(),
        None
    );
    assert_eq!(
        files_containing(home.path(), canary.as_bytes()),
        Vec::<String>::new()
    );
    // Removing the cloud removes its keychain entries.
    let out = run(&["clouds", "remove", "aws"], "");
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(!secret_tool_search(keychain.service()).contains(canary));
    assert_eq!(keychain.get("aws", "secret_access_key").unwrap(), None);
    for o in &outputs {
        assert!(!o.contains(canary), "a command printed the secret: {o}");
    }
}

#[test]
fn secret_remove_deletes_one_entry() {
    let home = tempfile::tempdir().unwrap();
    let Some(keychain) = keychain_or_skip(home.path()) else {
        return;
    };
    let out = slipway_in(
        home.path(),
        &["clouds", "add", "lab", "ssh", "--setting", "hosts=h"],
    );
    assert_eq!(code(&out), Some(0));
    let out = slipway_with_stdin(
        home.path(),
        &["secret", "set", "lab", "private_key", "--json"],
        "-----BEGIN KEY-----\nabc\n",
        &[],
    );
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        keychain
            .get("lab", "private_key")
            .unwrap()
            .unwrap()
            .expose(),
        "-----BEGIN KEY-----\nabc"
    );
    let out = slipway_in(home.path(), &["secret", "remove", "lab", "private_key"]);
    assert_eq!(code(&out), Some(0));
    assert_eq!(keychain.get("lab", "private_key").unwrap(), None);
    assert!(
        text(&slipway_in(home.path(), &["clouds", "list"]).stdout).contains("private_key: missing")
    );
    let out = slipway_in(home.path(), &["clouds", "remove", "lab"]);
    assert_eq!(code(&out), Some(0));
}

#[test]
fn without_a_keychain_secret_set_exits_3_and_says_what_to_start() {
    let home = tempfile::tempdir().unwrap();
    let out = slipway_in(
        home.path(),
        &["clouds", "add", "lab", "ssh", "--setting", "hosts=h"],
    );
    assert_eq!(code(&out), Some(0));
    let canary = "canary-0c4a77";
    let nowhere = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let out = slipway_with_stdin(
        home.path(),
        &["secret", "set", "lab", "private_key"],
        canary,
        &nowhere,
    );
    assert_eq!(code(&out), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("no OS keychain is available"), "{err}");
    assert!(err.contains("gnome-keyring-daemon"), "{err}");
    assert!(!err.contains(canary) && !text(&out.stdout).contains(canary));
    assert!(files_containing(home.path(), canary.as_bytes()).is_empty());
    // Listing still works and says the state is unknown.
    let mut list = Command::new(env!("CARGO_BIN_EXE_slipway"));
    let out = list
        .args(["clouds", "list"])
        .env("SLIPWAY_HOME", home.path())
        .envs(nowhere)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0));
    assert!(
        text(&out.stdout).contains("private_key: keychain unavailable"),
        "{}",
        text(&out.stdout)
    );
    // Removing a cloud whose secrets cannot be deleted is refused, and the cloud stays.
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["clouds", "remove", "lab"])
        .env("SLIPWAY_HOME", home.path())
        .envs(nowhere)
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(3));
    assert_eq!(configured(home.path()).len(), 1);
}

#[test]
fn clouds_add_help_lists_every_kinds_settings() {
    let home = tempfile::tempdir().unwrap();
    let out = slipway_in(home.path(), &["clouds", "add", "--help"]);
    assert_eq!(code(&out), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("  local: none"), "{help}");
    assert!(help.contains("hosts (required):"), "{help}");
    assert!(help.contains("secret_access_key (secret):"), "{help}");
    assert!(help.contains("known_hosts (default pin):"), "{help}");
}
