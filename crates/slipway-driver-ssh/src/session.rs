//! One authenticated SSH session per host, reused by every step: [`connect`] opens it (TCP,
//! handshake, host key check, public key auth), and a thread of its own drives it in
//! non-blocking mode, multiplexing one channel per command, so that a long step never holds up
//! another command on the same host. [`Host`] is the [`Transport`] over it; when the session
//! dies, the next command connects again.
//!
//! Never: puts the private key in a message or a log, or runs a command before the host key was
//! accepted.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use slipway_driver::remote::{Exec, Transport};
use slipway_driver::{DriverError, OutputLine};
use slipway_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::addr::host_port;

/// How the private key is given.
#[derive(Clone)]
pub enum Key {
    /// A key file on this machine.
    File(PathBuf),
    /// The key itself (the cloud's secret `private_key`, from the keychain).
    Secret(String),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::File(p) => write!(f, "Key::File({})", p.display()),
            Key::Secret(_) => f.write_str("Key::Secret(***)"),
        }
    }
}

/// Which host keys are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownHosts {
    /// Trust on first use, then pinned in the store per cloud.
    Pin,
    /// Only keys already in `~/.ssh/known_hosts`.
    Strict,
    /// Trust on first use, pinned in this process's memory only: for machines that are new with
    /// every run (cloud instances whose addresses other runs reuse with other keys). A key that
    /// changes while the process talks to the machine is still refused.
    Remember,
}

/// Everything needed to connect to any host of one cloud.
#[derive(Clone, Debug)]
pub struct Connector {
    pub cloud: String,
    pub key: Key,
    pub known_hosts: KnownHosts,
    /// The data directory whose store holds pinned keys.
    pub data_dir: PathBuf,
    pub connect_timeout: Duration,
    /// Keys accepted with [`KnownHosts::Remember`], by `host:port`.
    pub remembered: Arc<Mutex<std::collections::HashMap<String, String>>>,
}

impl Connector {
    pub fn new(
        cloud: impl Into<String>,
        key: Key,
        known_hosts: KnownHosts,
        data_dir: impl Into<PathBuf>,
        connect_timeout: Duration,
    ) -> Connector {
        Connector {
            cloud: cloud.into(),
            key,
            known_hosts,
            data_dir: data_dir.into(),
            connect_timeout,
            remembered: Arc::default(),
        }
    }
}

/// Where to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn key(&self) -> String {
        host_port(&self.host, self.port)
    }

    /// `user@host:port`, the instance's resource id.
    pub fn resource_id(&self) -> String {
        format!("{}@{}", self.user, self.key())
    }
}

/// Whether [`connect`] may pin a key seen for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pinning {
    /// Pin on first use (provisioning, steps).
    Pin,
    /// Check against a pinned key if there is one, pin nothing (`clouds test` creates nothing).
    CheckOnly,
}

/// A live connection, handed to the session thread.
pub struct Connected {
    session: ssh2::Session,
    socket: TcpStream,
    /// `SHA256:…`, as OpenSSH prints it.
    pub fingerprint: String,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Standard base64 without padding, as in OpenSSH fingerprints.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn key_type_name(t: ssh2::HostKeyType) -> &'static str {
    match t {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Unknown => "unknown",
    }
}

fn store_error(e: slipway_store::StoreError) -> DriverError {
    DriverError::other(format!("the host key store: {e}"))
}

/// Connects, checks the host key and logs in; blocking (call it on a blocking thread).
pub fn connect(c: &Connector, t: &Target, pinning: Pinning) -> Result<Connected, DriverError> {
    let at = t.key();
    let addrs: Vec<_> = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| DriverError::transient(format!("cannot resolve {}: {e}", t.host)))?
        .collect();
    let mut last = None;
    let mut tcp = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, c.connect_timeout) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = match (tcp, last) {
        (Some(s), _) => s,
        (None, Some(e)) => {
            return Err(DriverError::transient(match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    format!(
                        "{at} refused the connection (is sshd running and listening on port {}?)",
                        t.port
                    )
                }
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => format!(
                    "{at} did not answer within {} s (host down or unreachable?)",
                    c.connect_timeout.as_secs()
                ),
                _ => format!("cannot reach {at}: {e} (host unreachable?)"),
            }))
        }
        (None, None) => {
            return Err(DriverError::transient(format!(
                "{} resolves to no address",
                t.host
            )))
        }
    };
    let _ = tcp.set_nodelay(true);
    let socket = tcp
        .try_clone()
        .map_err(|e| DriverError::transient(format!("{at}: {e}")))?;
    let mut session =
        ssh2::Session::new().map_err(|e| DriverError::other(format!("libssh2: {e}")))?;
    session.set_timeout(c.connect_timeout.as_millis().min(u32::MAX as u128) as u32);
    session.set_tcp_stream(tcp);
    session.handshake().map_err(|e| {
        // LIBSSH2_ERROR_TIMEOUT: something accepted the connection and then said nothing.
        DriverError::transient(if e.code() == ssh2::ErrorCode::Session(-9) {
            format!(
                "{at} accepted the connection but did not answer the SSH handshake within {} s \
                 (is an SSH server listening on port {}, and is the host not overloaded?)",
                c.connect_timeout.as_secs(),
                t.port
            )
        } else {
            format!("the SSH handshake with {at} failed: {}", e.message())
        })
    })?;

    // The host key, before anything is sent that matters.
    let (key, key_type) = session
        .host_key()
        .map(|(k, t)| (k.to_vec(), key_type_name(t)))
        .ok_or_else(|| DriverError::other(format!("{at} sent no host key")))?;
    let hash = session
        .host_key_hash(ssh2::HashType::Sha256)
        .ok_or_else(|| DriverError::other(format!("{at} sent no host key")))?;
    let fingerprint = format!("SHA256:{}", base64(hash));
    match c.known_hosts {
        KnownHosts::Pin => {
            let mut store = Store::open(&c.data_dir).map_err(store_error)?;
            let pinned = match (
                store.pinned_host_key(&c.cloud, &at).map_err(store_error)?,
                pinning,
            ) {
                (Some(k), _) => Some(k),
                (None, Pinning::Pin) => Some(
                    store
                        .pin_host_key(&c.cloud, &at, key_type, &fingerprint, now_ms())
                        .map_err(store_error)?,
                ),
                (None, Pinning::CheckOnly) => None,
            };
            if let Some(p) = pinned.filter(|p| p.fingerprint != fingerprint) {
                return Err(DriverError::auth(format!(
                    "the host key of {at} has changed: pinned {} {} (cloud `{}`), now {key_type} {fingerprint}. \
                     Someone may be intercepting the connection, or the machine was reinstalled; if you trust the new key, \
                     forget the old one with `slipway clouds forget-host {} {at}` and connect again",
                    p.key_type, p.fingerprint, c.cloud, c.cloud
                )));
            }
        }
        KnownHosts::Remember => {
            let mut seen = c.remembered.lock().unwrap();
            match seen.get(&at) {
                Some(p) if *p != fingerprint => {
                    return Err(DriverError::auth(format!(
                        "the host key of {at} has changed during the run: first {p}, now {key_type} {fingerprint}; \
                         someone may be intercepting the connection"
                    )))
                }
                Some(_) => {}
                None if pinning == Pinning::Pin => {
                    seen.insert(at.clone(), fingerprint.clone());
                }
                None => {}
            }
        }
        KnownHosts::Strict => {
            let file = std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".ssh/known_hosts"))
                .ok_or_else(|| DriverError::bad_settings("`known_hosts=strict` needs $HOME"))?;
            let mut known = session
                .known_hosts()
                .map_err(|e| DriverError::other(format!("libssh2: {e}")))?;
            if file.exists() {
                known
                    .read_file(&file, ssh2::KnownHostFileKind::OpenSSH)
                    .map_err(|e| {
                        DriverError::bad_settings(format!(
                            "cannot read {}: {}",
                            file.display(),
                            e.message()
                        ))
                    })?;
            }
            match known.check_port(&t.host, t.port, &key) {
                ssh2::CheckResult::Match => {}
                ssh2::CheckResult::Mismatch => {
                    return Err(DriverError::auth(format!(
                        "the host key of {at} ({key_type} {fingerprint}) differs from the one in {}; \
                         someone may be intercepting the connection, or the machine was reinstalled \
                         (then update {} with `ssh-keygen -R` and `ssh-keyscan`)",
                        file.display(),
                        file.display()
                    )))
                }
                ssh2::CheckResult::NotFound | ssh2::CheckResult::Failure => {
                    return Err(DriverError::auth(format!(
                        "{at} is not in {} (its key: {key_type} {fingerprint}); `known_hosts=strict` accepts only known hosts \
                         (add it with `ssh-keyscan -p {} {} >> {}`, or use `known_hosts=pin`)",
                        file.display(),
                        t.port,
                        t.host,
                        file.display()
                    )))
                }
            }
        }
    }

    let (auth, which) = match &c.key {
        Key::File(path) => {
            if !path.exists() {
                return Err(DriverError::bad_settings(format!(
                    "the key file {} of cloud `{}` does not exist (`key_file` setting)",
                    path.display(),
                    c.cloud
                )));
            }
            (
                session.userauth_pubkey_file(&t.user, None, path, None),
                format!("the key {}", path.display()),
            )
        }
        Key::Secret(text) => (
            session.userauth_pubkey_memory(&t.user, None, text, None),
            format!(
                "the key in the keychain (secret `private_key` of cloud `{}`)",
                c.cloud
            ),
        ),
    };
    if let Err(e) = auth.and_then(|()| {
        if session.authenticated() {
            Ok(())
        } else {
            Err(ssh2::Error::new(
                ssh2::ErrorCode::Session(-18),
                "authentication failed",
            ))
        }
    }) {
        return Err(DriverError::auth(format!(
            "{at} refused {which} for user `{}` ({})",
            t.user,
            e.message()
        )));
    }
    session.set_keepalive(true, 30);
    session.set_blocking(false);
    Ok(Connected {
        session,
        socket,
        fingerprint,
    })
}

/// One command for the session thread.
struct Job {
    command: String,
    stdin: Vec<u8>,
    written: usize,
    eof_sent: bool,
    execed: bool,
    closed: bool,
    channel: Option<ssh2::Channel>,
    lines: Option<mpsc::UnboundedSender<OutputLine>>,
    reply: Option<oneshot::Sender<Result<Exec, DriverError>>>,
    out: Vec<u8>,
    err: Vec<u8>,
    /// Whether the last [`Job::advance`] got anywhere.
    moved: bool,
}

/// Why a job ended without a result.
struct Failure {
    started: bool,
    message: String,
    /// The session itself is gone.
    fatal: bool,
}

const EAGAIN: i32 = -37;

fn would_block(e: &ssh2::Error) -> bool {
    e.code() == ssh2::ErrorCode::Session(EAGAIN)
}

fn fatal_code(code: ssh2::ErrorCode) -> bool {
    // SOCKET_SEND, SOCKET_DISCONNECT, SOCKET_TIMEOUT, SOCKET_RECV, TIMEOUT, KEX/transport.
    matches!(
        code,
        ssh2::ErrorCode::Session(-7 | -13 | -30 | -43 | -9 | -8 | -5 | -4 | -3 | -2 | -1)
    )
}

fn io_fatal(e: &std::io::Error) -> bool {
    match e.get_ref().and_then(|i| i.downcast_ref::<ssh2::Error>()) {
        Some(s) => fatal_code(s.code()),
        None => !matches!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}

/// A signal name (`TERM`) as its number on Linux, for the 128 + N exit status.
fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "USR1" => 10,
        "USR2" => 12,
        _ => 0,
    }
}

impl Job {
    fn take(&mut self, stderr: bool, data: &[u8]) {
        let buf = if stderr { &mut self.err } else { &mut self.out };
        buf.extend_from_slice(data);
        if let Some(lines) = &self.lines {
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                let _ = lines.send(if stderr {
                    OutputLine::stderr(text)
                } else {
                    OutputLine::stdout(text)
                });
            }
        }
    }

    fn flush(&mut self) {
        if let Some(lines) = &self.lines {
            for (stderr, buf) in [(false, &mut self.out), (true, &mut self.err)] {
                if !buf.is_empty() {
                    let text = String::from_utf8_lossy(buf).into_owned();
                    buf.clear();
                    let _ = lines.send(if stderr {
                        OutputLine::stderr(text)
                    } else {
                        OutputLine::stdout(text)
                    });
                }
            }
        }
    }

    fn fail(&self, message: String, fatal: bool) -> Failure {
        Failure {
            started: self.execed,
            message,
            fatal,
        }
    }

    /// Moves the command on as far as it goes without blocking: `Ok(None)` while it runs.
    fn advance(&mut self, session: &ssh2::Session) -> Result<Option<Exec>, Failure> {
        self.moved = false;
        if self.channel.is_none() {
            match session.channel_session() {
                Ok(c) => {
                    self.channel = Some(c);
                    self.moved = true;
                }
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) => {
                    return Err(self.fail(
                        format!("cannot open a channel: {}", e.message()),
                        fatal_code(e.code()),
                    ))
                }
            }
        }
        let mut channel = self.channel.take().expect("opened above");
        let r = self.advance_channel(&mut channel);
        self.channel = Some(channel);
        r
    }

    fn advance_channel(&mut self, ch: &mut ssh2::Channel) -> Result<Option<Exec>, Failure> {
        if !self.execed {
            match ch.exec(&self.command) {
                Ok(()) => {
                    self.execed = true;
                    self.moved = true;
                }
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) => {
                    return Err(self.fail(
                        format!("cannot start the command: {}", e.message()),
                        fatal_code(e.code()),
                    ))
                }
            }
        }
        while self.written < self.stdin.len() {
            match ch.write(&self.stdin[self.written..]) {
                Ok(n) => {
                    self.written += n;
                    self.moved = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    return Err(self.fail(format!("writing to the command: {e}"), io_fatal(&e)))
                }
            }
        }
        if self.written == self.stdin.len() && !self.eof_sent {
            match ch.send_eof() {
                Ok(()) => {
                    self.eof_sent = true;
                    self.moved = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => {
                    return Err(self.fail(
                        format!("closing the command's input: {}", e.message()),
                        fatal_code(e.code()),
                    ))
                }
            }
        }
        let mut buf = [0u8; 32 * 1024];
        for stderr in [false, true] {
            loop {
                let r = if stderr {
                    ch.stderr().read(&mut buf)
                } else {
                    ch.read(&mut buf)
                };
                match r {
                    Ok(0) => break,
                    Ok(n) => {
                        self.take(stderr, &buf[..n]);
                        self.moved = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        return Err(
                            self.fail(format!("reading the command's output: {e}"), io_fatal(&e))
                        )
                    }
                }
            }
        }
        if !ch.eof() {
            return Ok(None);
        }
        if !self.closed {
            match ch.close() {
                Ok(()) => {
                    self.closed = true;
                    self.moved = true;
                }
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) => {
                    return Err(self.fail(
                        format!("closing the channel: {}", e.message()),
                        fatal_code(e.code()),
                    ))
                }
            }
        }
        match ch.wait_close() {
            Ok(()) => {}
            Err(e) if would_block(&e) => return Ok(None),
            Err(e) => {
                return Err(self.fail(
                    format!("closing the channel: {}", e.message()),
                    fatal_code(e.code()),
                ))
            }
        }
        let mut exit_code = ch.exit_status().unwrap_or(-1);
        if let Ok(sig) = ch.exit_signal() {
            if let Some(name) = sig.exit_signal {
                exit_code = 128 + signal_number(&name);
            }
        }
        self.flush();
        Ok(Some(Exec {
            exit_code,
            stdout: if self.lines.is_some() {
                Vec::new()
            } else {
                std::mem::take(&mut self.out)
            },
            stderr: if self.lines.is_some() {
                Vec::new()
            } else {
                std::mem::take(&mut self.err)
            },
        }))
    }
}

/// Channels open at once on one session: sshd's `MaxSessions` defaults to 10.
pub const MAX_CHANNELS: usize = 8;

struct Handle {
    jobs: Mutex<Option<std_mpsc::Sender<Box<Job>>>>,
    wake: UnixStream,
    dead: Arc<AtomicBool>,
}

impl Handle {
    fn submit(&self, job: Box<Job>) -> Result<(), Box<Job>> {
        let guard = self.jobs.lock().unwrap();
        let Some(tx) = guard.as_ref() else {
            return Err(job);
        };
        tx.send(job).map_err(|e| e.0)?;
        let _ = (&self.wake).write(&[1]);
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Let the thread see the end of its queue.
        self.jobs.lock().unwrap().take();
        let _ = (&self.wake).write(&[1]);
    }
}

/// Starts the thread that drives `c` until its [`Handle`] is dropped or the connection dies.
fn start(c: Connected, name: String) -> Result<Handle, DriverError> {
    let (tx, rx) = std_mpsc::channel::<Box<Job>>();
    let (wake, wake_rx) = UnixStream::pair()
        .map_err(|e| DriverError::other(format!("cannot create a wake-up socket: {e}")))?;
    wake_rx
        .set_nonblocking(true)
        .map_err(|e| DriverError::other(format!("cannot create a wake-up socket: {e}")))?;
    let dead = Arc::new(AtomicBool::new(false));
    let dead2 = dead.clone();
    std::thread::Builder::new()
        .name(format!("ssh {name}"))
        .spawn(move || drive(c, rx, wake_rx, dead2))
        .map_err(|e| DriverError::other(format!("cannot start a session thread: {e}")))?;
    Ok(Handle {
        jobs: Mutex::new(Some(tx)),
        wake,
        dead,
    })
}

fn drive(
    c: Connected,
    rx: std_mpsc::Receiver<Box<Job>>,
    mut wake: UnixStream,
    dead: Arc<AtomicBool>,
) {
    let Connected {
        session, socket, ..
    } = c;
    let mut queue: VecDeque<Box<Job>> = VecDeque::new();
    let mut running: Vec<Box<Job>> = Vec::new();
    let mut closed = false;
    loop {
        loop {
            match rx.try_recv() {
                Ok(job) => queue.push_back(job),
                Err(std_mpsc::TryRecvError::Empty) => break,
                Err(std_mpsc::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut sink = [0u8; 64];
        while matches!(wake.read(&mut sink), Ok(n) if n > 0) {}
        while running.len() < MAX_CHANNELS {
            match queue.pop_front() {
                Some(job) => running.push(job),
                None => break,
            }
        }
        let mut fatal = None;
        // Whether anything moved: then another round at once (a call for one channel may have
        // read packets of another from the socket, which poll would not see).
        let mut moved = false;
        let mut i = 0;
        while i < running.len() {
            // The caller gave up (its future was dropped): drop the channel.
            if running[i].reply.as_ref().is_some_and(|r| r.is_closed()) {
                running.swap_remove(i);
                continue;
            }
            let r = running[i].advance(&session);
            moved |= running[i].moved;
            match r {
                Ok(None) => i += 1,
                Ok(Some(done)) => {
                    moved = true;
                    let mut job = running.swap_remove(i);
                    if let Some(r) = job.reply.take() {
                        let _ = r.send(Ok(done));
                    }
                }
                Err(f) => {
                    let mut job = running.swap_remove(i);
                    job.flush();
                    if f.fatal {
                        fatal = Some(f.message.clone());
                    }
                    if let Some(r) = job.reply.take() {
                        let _ = r.send(Err(failure_error(&f)));
                    }
                }
            }
        }
        if let Some(why) = fatal {
            dead.store(true, Ordering::SeqCst);
            for mut job in running.drain(..).chain(queue.drain(..)) {
                job.flush();
                let f = Failure {
                    started: job.execed,
                    message: format!("the connection was lost ({why})"),
                    fatal: true,
                };
                if let Some(r) = job.reply.take() {
                    let _ = r.send(Err(failure_error(&f)));
                }
            }
            return;
        }
        if closed && running.is_empty() && queue.is_empty() {
            let _ = session.disconnect(None, "slipway is done", None);
            return;
        }
        if moved {
            continue;
        }
        let mut sock_flags = PollFlags::empty();
        if !running.is_empty() {
            match session.block_directions() {
                ssh2::BlockDirections::Inbound => sock_flags |= PollFlags::POLLIN,
                ssh2::BlockDirections::Outbound => sock_flags |= PollFlags::POLLOUT,
                ssh2::BlockDirections::Both => sock_flags |= PollFlags::POLLIN | PollFlags::POLLOUT,
                ssh2::BlockDirections::None => sock_flags |= PollFlags::POLLIN,
            }
        }
        let mut fds = [
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
            PollFd::new(socket.as_fd(), sock_flags),
        ];
        // A bound on the wait: keepalives go out on an idle session, and a packet another
        // channel's call took off the socket is never waited for long.
        let timeout = if running.is_empty() { 10_000u16 } else { 50 };
        let _ = poll(&mut fds, PollTimeout::from(timeout));
        let hung_up = fds[1]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR));
        if running.is_empty() && queue.is_empty() {
            let gone = match session.keepalive_send() {
                Err(e) => fatal_code(e.code()),
                Ok(_) => false,
            };
            if hung_up || gone {
                // Idle and disconnected: the next command connects again.
                dead.store(true, Ordering::SeqCst);
                return;
            }
        }
    }
}

fn failure_error(f: &Failure) -> DriverError {
    if f.started {
        DriverError::other(f.message.clone())
    } else {
        DriverError::transient(f.message.clone())
    }
}

/// One host as a [`Transport`]: the session is opened on first use and again after it died.
pub struct Host {
    connector: Arc<Connector>,
    pub target: Target,
    handle: tokio::sync::Mutex<Option<Arc<Handle>>>,
}

impl Host {
    pub fn new(connector: Arc<Connector>, target: Target) -> Host {
        Host {
            connector,
            target,
            handle: tokio::sync::Mutex::new(None),
        }
    }

    /// Connects now (if not connected), returning the host key's fingerprint.
    pub async fn open(&self, pinning: Pinning) -> Result<String, DriverError> {
        let mut guard = self.handle.lock().await;
        let (c, t) = (self.connector.clone(), self.target.clone());
        let connected = tokio::task::spawn_blocking(move || connect(&c, &t, pinning))
            .await
            .map_err(|e| DriverError::other(format!("connecting panicked: {e}")))??;
        let fingerprint = connected.fingerprint.clone();
        *guard = Some(Arc::new(start(connected, self.target.resource_id())?));
        Ok(fingerprint)
    }

    async fn handle(&self) -> Result<Arc<Handle>, DriverError> {
        {
            let guard = self.handle.lock().await;
            if let Some(h) = guard.as_ref().filter(|h| !h.dead.load(Ordering::SeqCst)) {
                return Ok(h.clone());
            }
        }
        self.open(Pinning::Pin).await?;
        let guard = self.handle.lock().await;
        guard
            .clone()
            .ok_or_else(|| DriverError::transient("the session closed at once"))
    }

    /// Closes the session (its thread ends once running commands are done).
    pub async fn close(&self) {
        self.handle.lock().await.take();
    }
}

#[async_trait::async_trait]
impl Transport for Host {
    /// A command that could not start (no channel: the session may have died unnoticed while
    /// idle) is tried once more over a new connection.
    async fn exec(
        &self,
        command: &str,
        stdin: Vec<u8>,
        lines: Option<mpsc::Sender<OutputLine>>,
    ) -> Result<Exec, DriverError> {
        match self.exec_once(command, stdin.clone(), lines.clone()).await {
            Err(e) if e.kind == slipway_driver::ErrorKind::Transient => {
                if let Some(h) = self.handle.lock().await.as_ref() {
                    h.dead.store(true, Ordering::SeqCst);
                }
                self.exec_once(command, stdin, lines).await
            }
            r => r,
        }
    }
}

impl Host {
    async fn exec_once(
        &self,
        command: &str,
        stdin: Vec<u8>,
        lines: Option<mpsc::Sender<OutputLine>>,
    ) -> Result<Exec, DriverError> {
        let (reply, answer) = oneshot::channel();
        let (line_tx, mut line_rx) = match lines {
            Some(_) => {
                let (a, b) = mpsc::unbounded_channel();
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let mut job = Box::new(Job {
            command: command.to_string(),
            stdin,
            written: 0,
            eof_sent: false,
            execed: false,
            closed: false,
            channel: None,
            lines: line_tx,
            reply: Some(reply),
            out: Vec::new(),
            err: Vec::new(),
            moved: false,
        });
        // A session that ended while idle is noticed here: connect again, once.
        let mut attempt = 0;
        loop {
            let handle = self.handle().await?;
            match handle.submit(job) {
                Ok(()) => break,
                Err(back) if attempt == 0 => {
                    handle.dead.store(true, Ordering::SeqCst);
                    job = back;
                    attempt += 1;
                }
                Err(_) => {
                    return Err(DriverError::transient(format!(
                        "the session with {} has ended",
                        self.target.key()
                    )))
                }
            }
        }
        if let (Some(rx), Some(lines)) = (line_rx.as_mut(), lines) {
            while let Some(l) = rx.recv().await {
                let _ = lines.send(l).await;
            }
        }
        let who = self.target.key();
        answer
            .await
            // Dropped unanswered: the thread ended before it took the command.
            .map_err(|_| DriverError::transient(format!("the session with {who} ended")))?
            .map_err(|e| DriverError::new(e.kind, format!("{who}: {}", e.message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_unpadded_base64() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg");
        assert_eq!(base64(b"fo"), "Zm8");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn secret_keys_never_print() {
        let k = Key::Secret("-----BEGIN OPENSSH PRIVATE KEY-----".into());
        assert_eq!(format!("{k:?}"), "Key::Secret(***)");
    }
}
