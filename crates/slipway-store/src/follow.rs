//! What the desktop's runs history and run view read besides [`Store::run`] and [`Store::logs`]:
//! every run with the clouds it used and the deployment version it ran, a cheap "has anything
//! changed" mark for following a run, and deleting a finished run.
//!
//! Never: delete a run that is not in a final state (its owner may still be writing, and its
//! cloud resources may still exist).

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::Problem;
use crate::runs::RunSummary;
use crate::{Store, StoreError};

/// One row of the runs history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct RunHistoryEntry {
    pub run: RunSummary,
    /// The distinct clouds of its instances (the default cloud before any instance exists).
    pub clouds: Vec<String>,
    /// The library version of the deployment it ran; `None` for a run of a file.
    pub deployment_version: Option<u32>,
}

impl Store {
    /// Every run, newest first, with its clouds and deployment version.
    pub fn run_history(&self) -> Result<Vec<RunHistoryEntry>, StoreError> {
        let runs = self.list_runs()?;
        self.read(|c| {
            let mut clouds = c.prepare_cached(
                "SELECT DISTINCT cloud FROM instances WHERE run_id = ?1 ORDER BY cloud",
            )?;
            let mut version = c.prepare_cached(
                "SELECT version FROM run_modules WHERE run_id = ?1 AND kind = 'deployment' LIMIT 1",
            )?;
            let mut out = Vec::with_capacity(runs.len());
            for run in runs {
                let mut used: Vec<String> = clouds
                    .query_map([&run.id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                if used.is_empty() {
                    used.push(run.default_cloud.clone());
                }
                let deployment_version = version.query_row([&run.id], |r| r.get(0)).optional()?;
                out.push(RunHistoryEntry {
                    run,
                    clouds: used,
                    deployment_version,
                });
            }
            Ok(out)
        })
    }

    /// A mark that changes whenever anything recorded about the run changes (a state, a step, a
    /// parameter, a report); a follower re-reads [`Store::run`] only when it moved. `None` when
    /// there is no such run.
    pub fn run_mark(&self, run_id: &str) -> Result<Option<(i64, i64, i64, i64)>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM transitions WHERE run_id = ?1),
                        (SELECT COALESCE(MAX(COALESCE(ended_at, started_at, 0)), 0) + COUNT(*)
                           + SUM(state = 'running') FROM steps WHERE run_id = ?1),
                        (SELECT COALESCE(MAX(updated_at), 0) + COUNT(*) FROM params WHERE run_id = ?1),
                        (SELECT COUNT(*) FROM reports WHERE run_id = ?1)
                 FROM runs WHERE id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0), r.get(2)?, r.get(3)?)),
            )
            .optional()?)
        })
    }

    /// Deletes a finished run and everything recorded about it; refused (`invalid`) while it is
    /// not in a final state. `false` when there was no such run.
    pub fn delete_run(&mut self, run_id: &str) -> Result<bool, StoreError> {
        let Some(run) = self.list_runs()?.into_iter().find(|r| r.id == run_id) else {
            return Ok(false);
        };
        if !run.state.is_final() {
            return Err(Problem::invalid(format!(
                "run `{run_id}` is {}: terminate it before deleting it",
                run.display_state()
            ))
            .at(self.path()));
        }
        self.write(|tx| {
            for table in [
                "logs",
                "reports",
                "params",
                "steps",
                "transitions",
                "run_modules",
                "instances",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE run_id = ?1"),
                    params![run_id],
                )?;
            }
            tx.execute("DELETE FROM runs WHERE id = ?1", params![run_id])?;
            Ok(true)
        })
    }
}
