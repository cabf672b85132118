//! Running one step as a local process group: streaming its output line by line, returning when
//! its main process exits (without waiting forever on pipes that background processes keep
//! open), and killing it with everything it started when cancelled or dropped.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use super::procs::{kill_marked, kill_marked_blocking, signal_group, STEP_MARKER};
use crate::{DriverError, OutputLine, Stream};

/// After the main process exits, a pipe that stays quiet this long is held by a background
/// process, not by output still on its way.
const QUIET: Duration = Duration::from_millis(100);
/// After the main process exits, output is forwarded at most this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Between SIGTERM and SIGKILL when a step is cancelled.
const GRACE: Duration = Duration::from_secs(2);
/// A line longer than this is forwarded in pieces (a binary blob must not fill the memory).
const MAX_LINE: usize = 64 * 1024;

/// Runs `command` (whose environment already sets [`STEP_MARKER`] to `step_tag`) in a process
/// group of its own. Returns its exit code: the code it exited with, or 128 + N when killed by
/// signal N.
pub(crate) async fn run(
    mut command: Command,
    step_tag: String,
    lines: mpsc::Sender<OutputLine>,
    cancel: CancellationToken,
) -> Result<i32, DriverError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| DriverError::other(format!("cannot start the step: {e}")))?;
    let pgid = child
        .id()
        .ok_or_else(|| DriverError::other("the step exited before it could be watched"))?
        as i32;
    let mut guard = StepGuard {
        pgid,
        step_tag: Some(step_tag),
    };

    let (exited_tx, exited_rx) = watch::channel(false);
    let mut forwarding = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        forwarding.push(forward(
            stdout,
            Stream::Stdout,
            lines.clone(),
            exited_rx.clone(),
        ));
    }
    if let Some(stderr) = child.stderr.take() {
        forwarding.push(forward(stderr, Stream::Stderr, lines, exited_rx));
    }

    let status = tokio::select! {
        status = child.wait() => Some(status),
        _ = cancel.cancelled() => None,
    };
    let result = match status {
        Some(Ok(status)) => Ok(exit_code(status)),
        Some(Err(e)) => Err(DriverError::other(format!(
            "lost track of the step's process: {e}"
        ))),
        None => {
            signal_group(pgid, Signal::SIGTERM);
            if timeout(GRACE, child.wait()).await.is_err() {
                signal_group(pgid, Signal::SIGKILL);
                let _ = child.wait().await;
            }
            // What left the group (`setsid`) or ignored SIGTERM.
            signal_group(pgid, Signal::SIGKILL);
            let step_tag = guard.step_tag.take().unwrap_or_default();
            kill_marked(STEP_MARKER, vec![step_tag]).await?;
            Err(DriverError::cancelled("the step was cancelled"))
        }
    };
    guard.step_tag = None;
    let _ = exited_tx.send(true);
    for done in forwarding {
        let _ = done.await;
    }
    result
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

/// Kills the step's processes when `run` is dropped before the step ended.
struct StepGuard {
    pgid: i32,
    /// `None` once the step ended normally (its background processes live on) or was killed.
    step_tag: Option<String>,
}

impl Drop for StepGuard {
    fn drop(&mut self) {
        if let Some(step_tag) = self.step_tag.take() {
            signal_group(self.pgid, Signal::SIGKILL);
            // Scanning /proc blocks; a drop must not.
            std::thread::spawn(move || kill_marked_blocking(STEP_MARKER, &[step_tag]));
        }
    }
}

/// Forwards `pipe` to `lines` line by line until it ends or, once the main process has exited,
/// goes quiet; then reads and discards the rest in the background, so a background process
/// writing to the inherited pipe is neither blocked nor killed by SIGPIPE while this process
/// lives. The returned receiver fires when forwarding stops.
fn forward<R>(
    pipe: R,
    stream: Stream,
    lines: mpsc::Sender<OutputLine>,
    mut exited: watch::Receiver<bool>,
) -> oneshot::Receiver<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        let mut drain_until: Option<Instant> = None;
        let mut receiver_gone = false;
        loop {
            let read = match drain_until {
                None => tokio::select! {
                    read = read_line(&mut reader, &mut buf) => read,
                    _ = exited.changed() => {
                        drain_until = Some(Instant::now() + DRAIN_LIMIT);
                        continue;
                    }
                },
                Some(limit) => {
                    let wait_until = (Instant::now() + QUIET).min(limit);
                    match timeout_at(wait_until, read_line(&mut reader, &mut buf)).await {
                        Ok(read) => read,
                        Err(_) => break,
                    }
                }
            };
            let ended = !matches!(read, Ok(true));
            if !buf.is_empty() {
                let line = OutputLine {
                    stream,
                    text: to_text(&buf),
                };
                buf.clear();
                // A receiver that went away must not stop the draining of the pipe.
                if !receiver_gone && lines.send(line).await.is_err() {
                    receiver_gone = true;
                }
            }
            if ended {
                let _ = done_tx.send(());
                return;
            }
        }
        if !buf.is_empty() {
            let _ = lines
                .send(OutputLine {
                    stream,
                    text: to_text(&buf),
                })
                .await;
        }
        drop(lines);
        let _ = done_tx.send(());
        let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
    });
    done_rx
}

/// Reads up to and including the next `\n` (or [`MAX_LINE`] bytes) into `buf`. `Ok(false)` at the
/// end of the pipe. Cancel-safe: bytes read before a cancellation stay in `buf`.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let room = MAX_LINE.saturating_sub(buf.len()).max(1);
        let window = &available[..available.len().min(room)];
        if let Some(end) = window.iter().position(|b| *b == b'\n') {
            buf.extend_from_slice(&window[..=end]);
            reader.consume(end + 1);
            return Ok(true);
        }
        let taken = window.len();
        buf.extend_from_slice(window);
        reader.consume(taken);
        if buf.len() >= MAX_LINE {
            return Ok(true);
        }
    }
}

fn to_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}
