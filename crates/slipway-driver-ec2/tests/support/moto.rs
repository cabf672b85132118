//! Test support: one moto EC2 server per test binary (the real Query API, SigV4 signatures
//! verified, AMI, instance type and key pair validation on), and a small fault-injecting proxy
//! in front of it. `SLIPWAY_MOTO` names the virtual environment with `moto[server]` and boto3
//! (default `/opt/slipway-moto`, which `scripts/install-deps.sh` creates).
//!
//! moto starts once per binary (a shared static) under a shell that kills it when this process's
//! end of its stdin pipe closes, so that no server outlives the tests. The first three
//! (unsigned) actions create an IAM user whose keys the tests sign with; every test uses a
//! region or run id of its own, so tests sharing the server do not see each other's resources.

#![allow(dead_code)] // each test file uses part of it

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    _child: Mutex<Child>,
    pub endpoint: String,
    pub port: u16,
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn venv() -> PathBuf {
    PathBuf::from(std::env::var("SLIPWAY_MOTO").unwrap_or_else(|_| "/opt/slipway-moto".into()))
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The binary's moto server, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = venv().join("bin/moto_server");
    assert!(
        server.exists(),
        "{} is missing: run scripts/install-deps.sh (or set SLIPWAY_MOTO)",
        server.display()
    );
    // `read` returns when this process exits (its end of the pipe closes): moto goes too.
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & pid=$!; read _; kill "$pid""#)
        .arg(&server)
        .arg(port.to_string())
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        .env("MOTO_ENABLE_AMI_VALIDATION", "true")
        .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
        .env("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_for_port(port);
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
        _child: Mutex::new(child),
        endpoint,
        port,
        access_key_id: id.into(),
        secret_access_key: secret.into(),
    }
}

/// A run id no other test of this process uses (moto is shared).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// What the proxy did, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub passed: u64,
    pub throttled: u64,
    pub errors_500: u64,
    pub dropped: u64,
}

/// An HTTP proxy on 127.0.0.1 in front of moto that answers some requests itself: every
/// `every`-th request in turn gets `RequestLimitExceeded` (HTTP 503), a 500, or its connection
/// dropped after the request was read (and, for the dropped kind, after moto got it: the
/// answer is lost, as when a connection breaks on the way back). Deterministic, so a run meets
/// all three.
pub struct FaultProxy {
    pub endpoint: String,
    pub faults: Arc<Mutex<Faults>>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16, every: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(Mutex::new(Faults::default()));
        let counter = Arc::new(AtomicU64::new(0));
        {
            let faults = faults.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let (faults, counter) = (faults.clone(), counter.clone());
                    std::thread::spawn(move || {
                        serve(conn, upstream_port, every, &counter, &faults)
                    });
                }
            });
        }
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            faults,
        }
    }
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body).
fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Forwards one request to moto (a connection of its own, closed after the answer).
fn forward(request: &[u8], upstream_port: u16) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    // One request per upstream connection: ask moto to close after answering.
    let text = String::from_utf8_lossy(request);
    let end = text.find("\r\n\r\n")?;
    let head: Vec<&str> = text[..end]
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut rewritten = head.join("\r\n").into_bytes();
    rewritten.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    rewritten.extend_from_slice(&request[end + 4..]);
    up.write_all(&rewritten).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}

fn serve(
    mut conn: TcpStream,
    upstream_port: u16,
    every: u64,
    counter: &AtomicU64,
    faults: &Mutex<Faults>,
) {
    while let Some(request) = read_request(&mut conn) {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let fault = if n % every == 0 { (n / every) % 3 } else { 3 };
        let answer = match fault {
            0 => {
                faults.lock().unwrap().throttled += 1;
                http(503, "<?xml version=\"1.0\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>proxy</RequestID></Response>")
            }
            1 => {
                faults.lock().unwrap().errors_500 += 1;
                http(500, "<?xml version=\"1.0\"?><Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred.</Message></Error></Errors><RequestID>proxy</RequestID></Response>")
            }
            2 => {
                // moto did the work; the answer never arrives.
                let _ = forward(&request, upstream_port);
                faults.lock().unwrap().dropped += 1;
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
            _ => {
                faults.lock().unwrap().passed += 1;
                match forward(&request, upstream_port) {
                    Some(a) => {
                        // moto closes after its answer: the client must open a new connection.
                        let _ = conn.write_all(&a);
                        return;
                    }
                    None => return,
                }
            }
        };
        if conn.write_all(&answer).is_err() {
            return;
        }
    }
}

fn http(status: u16, body: &str) -> Vec<u8> {
    let reason = if status == 503 {
        "Service Unavailable"
    } else {
        "Internal Server Error"
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
