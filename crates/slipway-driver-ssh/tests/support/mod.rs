//! Test support: real OpenSSH servers, one per loopback address (all of 127/8 is this machine),
//! each with its own host key and key-only login for one client key. Started with
//! `sshd -D -e -f CONFIG`, ready once its port accepts, killed on drop. Needs Debian's
//! `openssh-server` and root (the tests log in as root).

#![allow(dead_code)] // each test file uses part of it

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits for `cond`, checking often, failing after a generous deadline (the machine is busy).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client key pair in a directory of its own.
pub struct ClientKey {
    _dir: tempfile::TempDir,
    pub private: PathBuf,
    pub public: String,
}

impl ClientKey {
    pub fn new() -> ClientKey {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("id_ed25519");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "slipway-test", "-f"])
            .arg(&private));
        let public = std::fs::read_to_string(private.with_extension("pub")).unwrap();
        ClientKey {
            _dir: dir,
            private,
            public,
        }
    }

    pub fn private_text(&self) -> String {
        std::fs::read_to_string(&self.private).unwrap()
    }
}

/// Loopback addresses handed out in this process (127.BASE.0.21 up); `base` keeps test binaries
/// apart, and far from the addresses the `local` driver leases (127.1.0.1 up).
pub fn next_address(base: u8) -> String {
    static NEXT: AtomicU8 = AtomicU8::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    Ipv4Addr::new(127, base, 0, 21 + n).to_string()
}

/// Several sshd hosts that accept one client key, and a data directory to use them from.
pub struct Lab {
    pub key: ClientKey,
    pub hosts: Vec<Sshd>,
    pub home: tempfile::TempDir,
}

impl Lab {
    /// `n` hosts on loopback addresses of `base` (see [`next_address`]).
    pub fn start(base: u8, n: usize) -> Lab {
        let key = ClientKey::new();
        let hosts = (0..n)
            .map(|_| Sshd::start(&next_address(base), &key))
            .collect();
        Lab {
            key,
            hosts,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The hosts as a `hosts` setting's value (`user@ip:port,…`).
    pub fn host_list(&self) -> String {
        let entries: Vec<String> = self.hosts.iter().map(|h| h.entry()).collect();
        entries.join(",")
    }
}

/// One running sshd.
pub struct Sshd {
    dir: tempfile::TempDir,
    pub ip: String,
    pub port: u16,
    child: Option<Child>,
}

impl Sshd {
    /// An sshd on `ip`, accepting `key` for every user.
    pub fn start(ip: &str, key: &ClientKey) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        std::fs::write(dir.path().join("authorized_keys"), &key.public).unwrap();
        let port = {
            let l = TcpListener::bind((ip, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let mut s = Sshd {
            dir,
            ip: ip.to_string(),
            port,
            child: None,
        };
        s.new_host_key();
        s.spawn();
        s
    }

    fn host_key(&self) -> PathBuf {
        self.dir.path().join("host_ed25519")
    }

    fn new_host_key(&self) {
        let _ = std::fs::remove_file(self.host_key());
        let _ = std::fs::remove_file(self.host_key().with_extension("pub"));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(self.host_key()));
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress {ip}:{port}\n\
                 HostKey {hk}\n\
                 AuthorizedKeysFile {ak}\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PidFile none\n\
                 MaxStartups 100\n\
                 LogLevel INFO\n",
                ip = self.ip,
                port = self.port,
                hk = self.host_key().display(),
                ak = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{SSHD}: {e} (apt-get install openssh-server)"));
        self.child = Some(child);
        let (ip, port) = (self.ip.clone(), self.port);
        let log = d.join("sshd.log");
        let child = self.child.as_mut().unwrap();
        wait_until(&format!("sshd on {ip}:{port}"), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            TcpStream::connect((ip.as_str(), port)).is_ok()
        });
    }

    /// `root@ip:port`.
    pub fn entry(&self) -> String {
        format!("root@{}:{}", self.ip, self.port)
    }

    /// `ip:port`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// Stops the server (connections it accepted keep their own processes).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let (ip, port) = (self.ip.clone(), self.port);
        wait_until("the port to close", || {
            TcpStream::connect((ip.as_str(), port)).is_err()
        });
    }

    /// Starts the server again after [`Sshd::stop`], with the same address and host key.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn();
    }

    /// The same address with a new host key, as after a reinstall.
    pub fn restart_with_new_host_key(&mut self) {
        self.stop();
        self.new_host_key();
        self.spawn();
    }

    /// Kills the processes serving this server's connections (as when the host drops off the
    /// network mid-step), not the listener and not what recipes started.
    pub fn drop_connections(&self) {
        let listener = self.child.as_ref().expect("running").id();
        let parent_of = |pid: u32| -> Option<u32> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let mut victims = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if pid == listener || !comm.trim().starts_with("sshd") {
                continue;
            }
            let mut p = pid;
            while let Some(up) = parent_of(p).filter(|&u| u > 1) {
                if up == listener {
                    victims.push(pid);
                    break;
                }
                p = up;
            }
        }
        assert!(
            !victims.is_empty(),
            "no connection of {} to drop",
            self.key()
        );
        for pid in victims {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A login user that is not root and may not use `sudo`, with a home directory: created once
/// on this machine (`useradd`), key login only (`*` is no password, without `!`'s lock, which
/// sshd without PAM refuses).
pub fn unprivileged_user() -> String {
    const NAME: &str = "slipway-nosudo";
    static CREATED: std::sync::Once = std::sync::Once::new();
    CREATED.call_once(|| {
        let exists = Command::new("id")
            .arg(NAME)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            // Another test binary may create it at the same time: 9 is "already exists".
            let status = Command::new("useradd")
                .args(["-m", "-s", "/bin/sh", "-p", "*", NAME])
                .status()
                .expect("useradd");
            assert!(
                matches!(status.code(), Some(0 | 9)),
                "useradd {NAME}: {status}"
            );
        }
    });
    NAME.to_string()
}

/// Processes on this machine whose environment has `SLIPWAY_INSTANCE_TAG=RUN/…`.
pub fn processes_of(run_id: &str) -> Vec<u32> {
    let prefix = format!("SLIPWAY_INSTANCE_TAG={run_id}/");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            if String::from_utf8_lossy(&env)
                .split('\0')
                .any(|kv| kv.starts_with(&prefix))
            {
                found.push(pid);
            }
        }
    }
    found
}
