//! One container as a [`remote::Transport`]: commands through the exec API (stdin attached,
//! output demultiplexed and streamed line by line, the exit status from the exec inspect), files
//! through the archive endpoints. Never: a bind mount of a host path, or the `docker` CLI.

use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{
    ContainerArchiveInfoOptions, DownloadFromContainerOptions, UploadToContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use slipway_driver::remote::{self, Exec, PathStat};
use slipway_driver::{DriverError, OutputLine};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::{api_error, status_of};

/// A running container, reached through `docker`.
pub struct Container<'a> {
    pub docker: &'a Docker,
    /// Its id (or name).
    pub id: &'a str,
}

/// Splits one stream's bytes into lines, keeping a partial line until the next chunk.
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(at) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=at).collect();
            out.push(text(&line[..line.len() - 1]));
        }
        out
    }

    fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| text(&std::mem::take(&mut self.partial)))
    }
}

fn text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

#[async_trait::async_trait]
impl remote::Transport for Container<'_> {
    async fn exec(
        &self,
        command: &str,
        stdin: Vec<u8>,
        lines: Option<mpsc::Sender<OutputLine>>,
    ) -> Result<Exec, DriverError> {
        // Until the exec has started, nothing ran: every failure up to there is transient.
        let created = self
            .docker
            .create_exec(
                self.id,
                CreateExecOptions {
                    attach_stdin: Some(!stdin.is_empty()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(false),
                    cmd: Some(vec!["/bin/sh", "-c", command]),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| {
                DriverError::transient(format!(
                    "cannot create an exec in container {}: {}",
                    short(self.id),
                    api_error(&e)
                ))
            })?;
        let started = self
            .docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: Some(64 * 1024),
                }),
            )
            .await
            .map_err(|e| {
                DriverError::transient(format!(
                    "cannot start an exec in container {}: {}",
                    short(self.id),
                    api_error(&e)
                ))
            })?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(DriverError::transient("the exec did not attach"));
        };
        let lost = |e: &dyn std::fmt::Display| {
            DriverError::other(format!(
                "the exec in container {} was cut off: {e}",
                short(self.id)
            ))
        };
        // Feed stdin while reading output, so a command that writes before it reads cannot
        // block on a full pipe.
        let feed = async {
            if !stdin.is_empty() {
                input.write_all(&stdin).await?;
                input.shutdown().await?;
            }
            Ok::<_, std::io::Error>(())
        };
        let read = async {
            let mut done = Exec::default();
            let (mut out, mut err) = (Lines::default(), Lines::default());
            while let Some(chunk) = output.next().await {
                let chunk = chunk.map_err(|e| lost(&e))?;
                let (message, stdout) = match chunk {
                    bollard::container::LogOutput::StdOut { message }
                    | bollard::container::LogOutput::Console { message } => (message, true),
                    bollard::container::LogOutput::StdErr { message } => (message, false),
                    bollard::container::LogOutput::StdIn { .. } => continue,
                };
                match &lines {
                    Some(lines) => {
                        let split = if stdout { &mut out } else { &mut err };
                        for l in split.push(&message) {
                            let _ = lines
                                .send(if stdout {
                                    OutputLine::stdout(l)
                                } else {
                                    OutputLine::stderr(l)
                                })
                                .await;
                        }
                    }
                    None if stdout => done.stdout.extend_from_slice(&message),
                    None => done.stderr.extend_from_slice(&message),
                }
            }
            if let Some(lines) = &lines {
                if let Some(l) = out.finish() {
                    let _ = lines.send(OutputLine::stdout(l)).await;
                }
                if let Some(l) = err.finish() {
                    let _ = lines.send(OutputLine::stderr(l)).await;
                }
            }
            Ok::<_, DriverError>(done)
        };
        let (fed, read) = tokio::join!(feed, read);
        let mut done = read?;
        fed.map_err(|e| lost(&e))?;
        done.exit_code = self.exit_code(&created.id).await?;
        Ok(done)
    }

    async fn put_file(&self, path: &str, contents: Vec<u8>, mode: u32) -> Result<(), DriverError> {
        let (dir, name) = path
            .rsplit_once('/')
            .filter(|(_, n)| !n.is_empty())
            .ok_or_else(|| DriverError::other(format!("`{path}` is not a file path")))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        let mut archive = tar::Builder::new(Vec::new());
        archive
            .append_data(&mut header, name, contents.as_slice())
            .and_then(|()| archive.finish())
            .map_err(|e| DriverError::other(format!("cannot pack {path}: {e}")))?;
        let archive = archive
            .into_inner()
            .map_err(|e| DriverError::other(format!("cannot pack {path}: {e}")))?;
        self.docker
            .upload_to_container(
                self.id,
                Some(UploadToContainerOptions {
                    path: if dir.is_empty() { "/" } else { dir }.to_string(),
                    // Owned by the container's user, as if it had written the file itself.
                    copy_uidgid: Some("1".into()),
                    ..Default::default()
                }),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(|e| {
                DriverError::other(format!(
                    "cannot write {path} in container {}: {}",
                    short(self.id),
                    api_error(&e)
                ))
            })
    }

    async fn get_tar(&self, dir: &str) -> Result<Vec<u8>, DriverError> {
        // `DIR/.` gives the directory's contents with paths relative to it (`./a.txt`).
        let mut stream = self.docker.download_from_container(
            self.id,
            Some(DownloadFromContainerOptions {
                path: format!("{}/.", dir.trim_end_matches('/')),
            }),
        );
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                DriverError::other(format!(
                    "cannot read {dir} from container {}: {}",
                    short(self.id),
                    api_error(&e)
                ))
            })?;
            archive.extend_from_slice(&chunk);
        }
        Ok(archive)
    }

    async fn stat(&self, path: &str) -> PathStat {
        let stat = self
            .docker
            .get_container_archive_info(
                self.id,
                Some(ContainerArchiveInfoOptions {
                    path: path.to_string(),
                }),
            )
            .await;
        match stat {
            Ok(s) => s
                .modification_time
                .as_deref()
                .and_then(unix_seconds)
                .map_or(PathStat::Unknown, PathStat::Modified),
            Err(e) if status_of(&e) == Some(404) => PathStat::Missing,
            Err(_) => PathStat::Unknown,
        }
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2000-01-01T00:00:00.5+01:00`), as the
/// engine sends modification times.
fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hh, mm, ss) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest.as_bytes().first()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let zone = &rest[1..];
            let (h, m) = (
                zone.get(..2)?.parse::<i64>().ok()?,
                zone.get(3..5)?.parse::<i64>().ok()?,
            );
            let minutes = h * 60 + m;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

impl Container<'_> {
    /// The exit status of a finished exec. Its output ends as the process exits; the engine
    /// may record the status a moment later, so a `running` answer is asked again.
    async fn exit_code(&self, exec: &str) -> Result<i32, DriverError> {
        let mut pause = Duration::from_millis(2);
        for _ in 0..200 {
            let inspected = self.docker.inspect_exec(exec).await.map_err(|e| {
                DriverError::other(format!(
                    "cannot read the exit status of an exec in container {}: {}",
                    short(self.id),
                    api_error(&e)
                ))
            })?;
            if inspected.running != Some(true) {
                if let Some(code) = inspected.exit_code {
                    return Ok(code as i32);
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        Err(DriverError::other(format!(
            "the exec in container {} ended, but the engine never reported its exit status",
            short(self.id)
        )))
    }
}

/// The first 12 characters of a container id, as `docker ps` shows it.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_chunks() {
        let mut l = Lines::default();
        assert_eq!(l.push(b"one\ntw"), ["one"]);
        assert_eq!(l.push(b"o\r\nthree"), ["two"]);
        assert_eq!(l.finish().as_deref(), Some("three"));
        assert_eq!(l.finish(), None);
    }

    #[test]
    fn engine_times_are_read_in_their_own_zone() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2000-01-01T00:00:00Z"), Some(946_684_800));
        assert_eq!(
            unix_seconds("2000-01-01T01:00:00.123456789+01:00"),
            Some(946_684_800)
        );
        assert_eq!(unix_seconds("1999-12-31T19:00:00-05:00"), Some(946_684_800));
        assert_eq!(unix_seconds("2026-12-03T17:12:54Z"), Some(1_796_317_974));
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2000-01-01T00:00:00"), None);
    }
}
