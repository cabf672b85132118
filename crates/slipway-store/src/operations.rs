//! What day-2 operations on a run (`slipway scale`, `slipway resume`) need from the store: the
//! non-secret `--set` values the run was launched with, and the lock one operation holds on a run
//! while it works.
//!
//! Owns: the `launch_sets` column and the `run_locks` table. Never: store the value of a secret
//! input (those live in the OS keychain; the caller leaves them out), or decide whether an
//! operation is allowed on a run's state (the engine does, under the lock).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Problem, Res};
use crate::process::process_alive;
use crate::{Store, StoreError};

/// A `--set node.input=value` of a non-secret input, as recorded with its run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSet {
    pub node: String,
    pub input: String,
    pub value: String,
}

/// The operation that holds a run's lock, and its process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLock {
    /// `scale web +2`, `resume`.
    pub operation: String,
    pub owner_pid: u32,
    pub owner_start_time: u64,
    pub at: i64,
}

impl Store {
    /// Records the non-secret `--set` values of a run (replacing any recorded before).
    pub fn set_launch_sets(&mut self, run_id: &str, sets: &[LaunchSet]) -> Result<(), StoreError> {
        let json = serde_json::to_string(sets).unwrap_or_else(|_| "[]".into());
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE runs SET launch_sets = ?2 WHERE id = ?1",
                params![run_id, json],
            )?;
            if n == 0 {
                return Err(Problem::not_found(format!("there is no run `{run_id}`")));
            }
            Ok(())
        })
    }

    /// The non-secret `--set` values a run was launched with (none for a run recorded before
    /// they were kept).
    pub fn launch_sets(&self, run_id: &str) -> Result<Vec<LaunchSet>, StoreError> {
        self.read(|c| {
            let json: Option<Option<String>> = c
                .query_row(
                    "SELECT launch_sets FROM runs WHERE id = ?1",
                    [run_id],
                    |r| r.get(0),
                )
                .optional()?;
            let json =
                json.ok_or_else(|| Problem::not_found(format!("there is no run `{run_id}`")))?;
            match json {
                None => Ok(Vec::new()),
                Some(text) => serde_json::from_str(&text).map_err(|e| {
                    Problem::new(
                        ErrorKind::Corrupt,
                        format!("the --set values of run `{run_id}` are unreadable: {e}"),
                    )
                }),
            }
        })
    }

    /// Takes the run's lock for `operation` in the process `owner`. Refused
    /// ([`ErrorKind::Conflict`], naming the holder) while a live process holds it; a lock left by
    /// a dead process is taken over. The caller checks the run's state once it holds the lock.
    pub fn lock_run(
        &mut self,
        run_id: &str,
        operation: &str,
        owner: (u32, u64),
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            if let Some(held) = lock_of(tx, run_id)? {
                if process_alive(held.owner_pid, held.owner_start_time) {
                    return Err(Problem::new(
                        ErrorKind::Conflict,
                        format!(
                            "`{}` is already in progress on run `{run_id}` (process {})",
                            held.operation, held.owner_pid
                        ),
                    ));
                }
            }
            tx.execute(
                "INSERT INTO run_locks (run_id, operation, owner_pid, owner_start_time, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id) DO UPDATE SET operation = excluded.operation,
                     owner_pid = excluded.owner_pid,
                     owner_start_time = excluded.owner_start_time, at = excluded.at",
                params![
                    run_id,
                    operation,
                    owner.0,
                    i64::try_from(owner.1).unwrap_or(i64::MAX),
                    at
                ],
            )
            .map_err(|e| {
                let mut p = Problem::from(e);
                if p.kind == ErrorKind::NotFound {
                    p.message = format!("there is no run `{run_id}`");
                }
                p
            })?;
            Ok(())
        })
    }

    /// Releases the run's lock if `owner` holds it.
    pub fn unlock_run(&mut self, run_id: &str, owner: (u32, u64)) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM run_locks WHERE run_id = ?1 AND owner_pid = ?2 AND owner_start_time = ?3",
                params![run_id, owner.0, i64::try_from(owner.1).unwrap_or(i64::MAX)],
            )?;
            Ok(())
        })
    }

    /// Who holds the run's lock, if anyone (the holder may have died: see [`process_alive`]).
    pub fn run_lock(&self, run_id: &str) -> Result<Option<RunLock>, StoreError> {
        self.read(|c| lock_of(c, run_id))
    }
}

fn lock_of(c: &Connection, run_id: &str) -> Res<Option<RunLock>> {
    Ok(c.query_row(
        "SELECT operation, owner_pid, owner_start_time, at FROM run_locks WHERE run_id = ?1",
        [run_id],
        |r| {
            Ok(RunLock {
                operation: r.get(0)?,
                owner_pid: r.get(1)?,
                owner_start_time: r.get::<_, i64>(2)?.max(0) as u64,
                at: r.get(3)?,
            })
        },
    )
    .optional()?)
}
