//! Who owns a run: the identity of a process (pid plus start time, so a reused pid is not taken
//! for the owner) and whether it is still alive; and the form of run ids.
//!
//! Owns: reading `/proc`. Never: signal or otherwise touch another process.

/// This process as `(pid, start time)`. The start time is the one in `/proc/self/stat` (clock
/// ticks since boot) on Linux, `0` elsewhere.
pub fn current_process_identity() -> (u32, u64) {
    let pid = std::process::id();
    let start = read_stat(pid).map(|s| s.start_time).unwrap_or(0);
    (pid, start)
}

/// Another process's identity, as [`current_process_identity`] gives it; `None` when it is gone.
pub fn process_identity(pid: u32) -> Option<(u32, u64)> {
    read_stat(pid).map(|s| (pid, s.start_time))
}

/// Whether the process `pid` that started at `start_time` (as given by
/// [`current_process_identity`]) is still running. A pid now used by another process, or a
/// zombie, is not alive. Off Linux the answer is always `true`: the store cannot tell, and calling
/// a live run interrupted would be worse than missing a dead one.
pub fn process_alive(pid: u32, start_time: u64) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    match read_stat(pid) {
        Some(stat) => stat.start_time == start_time && !matches!(stat.state, 'Z' | 'X' | 'x'),
        None => false,
    }
}

struct Stat {
    state: char,
    start_time: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Fields after the command name, which is in parentheses and may itself hold spaces and `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `state` is field 3 of proc_pid_stat(5); `starttime` is field 22.
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// A run id: `r-YYYYMMDD-HHMMSS-xxxx` in UTC, sortable by creation time, with four hex digits of
/// `nonce` (pick it at random) so two runs started in the same second differ.
pub fn new_run_id(at_ms: i64, nonce: u16) -> String {
    let secs = at_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "r-{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{nonce:04x}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2026-11-26T07:05:12.345Z` for a Unix time in milliseconds (UTC).
pub fn rfc3339(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        at_ms.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let text = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.start_time, 987654);
    }

    #[test]
    fn run_ids_are_utc_and_sortable() {
        // 2026-11-26T07:05:12.345Z
        assert_eq!(
            new_run_id(1_795_676_712_345, 0xab12),
            "r-20261126-070512-ab12"
        );
        assert_eq!(new_run_id(0, 1), "r-19700101-000000-0001");
        assert!(new_run_id(1_000_000_000_000, 0xffff) < new_run_id(1_000_000_001_000, 0));
    }
}
