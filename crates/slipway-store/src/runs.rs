//! Runs and everything recorded about them (SPEC §4): instances, steps, state transitions,
//! runtime parameters, log lines, reports, and the module versions a run used.
//!
//! Owns: the run tables; every state change is written with its transition in one transaction.
//! Never: delete a run, mask text (log lines are stored exactly as given: the engine masks secret
//! values before they get here), or store a secret parameter's value (it becomes `***`).

use rusqlite::{named_params, params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use slipway_recipe::KeepRunning;
use ts_rs::TS;

use crate::error::{ErrorKind, Problem, Res};
use crate::modules::ModuleRef;
use crate::process::process_alive;
use crate::states::{
    InstanceState, LogStream, ModuleKind, ParamKind, RunState, StepKind, StepState,
};
use crate::{Store, StoreError};

/// What is stored instead of a secret parameter's value.
pub const MASK: &str = "***";

/// A run about to start.
#[derive(Clone, Debug)]
pub struct NewRun {
    /// Made by the caller, for example with [`crate::new_run_id`].
    pub id: String,
    /// The deployment's name.
    pub name: String,
    pub keep_running: KeepRunning,
    /// The exact recipe text the run uses.
    pub recipe_text: String,
    pub default_cloud: String,
    pub created_at: i64,
    /// The process driving the run, from [`crate::current_process_identity`].
    pub owner_pid: u32,
    pub owner_start_time: u64,
}

/// One run as listed by `slipway runs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct RunSummary {
    pub id: String,
    pub name: String,
    pub state: RunState,
    pub keep_running: KeepRunning,
    pub default_cloud: String,
    pub created_at: i64,
    /// When the run first left `initializing`.
    pub started_at: Option<i64>,
    /// When it reached a final state.
    pub ended_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub owner_pid: Option<u32>,
    pub owner_start_time: Option<u64>,
    /// Not final and not kept `ready`, and the process that drove it is gone (as seen when this
    /// row was read).
    pub interrupted: bool,
}

impl RunSummary {
    /// The state to show: `interrupted` for a run that is not final but whose owner died, else
    /// the state's name.
    pub fn display_state(&self) -> &'static str {
        if self.interrupted {
            "interrupted"
        } else {
            self.state.as_str()
        }
    }
}

/// Everything recorded about one run except its logs (page those with [`Store::logs`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct RunDetail {
    pub run: RunSummary,
    pub recipe_text: String,
    /// In the order they were added.
    pub instances: Vec<Instance>,
    /// In the order they were added.
    pub steps: Vec<Step>,
    pub params: Vec<Param>,
    /// Oldest first.
    pub transitions: Vec<Transition>,
    pub reports: Vec<Report>,
    /// The library module versions the run used; empty for a run of a file.
    pub modules: Vec<ModuleRef>,
}

/// An instance about to be created.
#[derive(Clone, Debug)]
pub struct NewInstance {
    /// `web.1`.
    pub name: String,
    pub node: String,
    /// 1-based.
    pub index: u32,
    pub cloud: String,
}

/// One machine of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Instance {
    pub name: String,
    pub node: String,
    pub index: u32,
    pub cloud: String,
    pub state: InstanceState,
    /// The driver's id of the machine (container id, EC2 instance id, sandbox path, …).
    pub resource_id: Option<String>,
    pub hostname: Option<String>,
    /// The driver's own record of the machine (JSON: login user, port, pinned host key, …),
    /// opaque to everything but the driver. Never a secret.
    #[serde(skip)]
    #[ts(skip)]
    pub driver_state: Option<String>,
    /// The step that failed, when `state` is `failed`.
    pub failed_step: Option<StepKind>,
    /// Why it failed.
    pub reason: Option<String>,
    pub updated_at: i64,
}

/// One step of one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Step {
    pub instance: String,
    pub kind: StepKind,
    pub state: StepState,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub exit_code: Option<i32>,
}

/// One recorded state change of the run (`instance` is `None`) or of one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Transition {
    pub id: i64,
    pub instance: Option<String>,
    /// `None` when the subject was created.
    pub from: Option<String>,
    pub to: String,
    pub at: i64,
    pub detail: Option<String>,
}

/// A runtime parameter to record.
#[derive(Clone, Debug)]
pub struct NewParam {
    pub instance: String,
    pub name: String,
    pub kind: ParamKind,
    /// Ignored when `secret`: the store writes `***`.
    pub value: String,
    pub secret: bool,
}

/// A runtime parameter of an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Param {
    pub instance: String,
    pub name: String,
    pub kind: ParamKind,
    /// `***` when `secret`.
    pub value: String,
    pub secret: bool,
    pub updated_at: i64,
}

/// A file fetched from an instance's report directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Report {
    pub instance: String,
    /// Relative to the instance's report directory.
    pub path: String,
    pub size: u64,
    pub at: i64,
}

/// A log line to append.
#[derive(Clone, Debug)]
pub struct NewLogLine {
    pub run_id: String,
    /// `None` for a line about the whole run.
    pub instance: Option<String>,
    pub step: Option<StepKind>,
    pub stream: LogStream,
    /// Stored exactly as given; mask secrets before.
    pub line: String,
    pub at: i64,
}

/// A stored log line; `id` grows with every line appended, across runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct LogLine {
    pub id: i64,
    pub run_id: String,
    pub instance: Option<String>,
    pub step: Option<StepKind>,
    pub stream: LogStream,
    pub line: String,
    pub at: i64,
}

const RUN_COLUMNS: &str = "id, name, state, keep_running, default_cloud, created_at, started_at, \
     ended_at, exit_code, error, owner_pid, owner_start_time";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<RunSummary> {
    let keep: String = row.get(3)?;
    let keep_running = KeepRunning::parse(&keep).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown keep_running `{keep}`").into(),
        )
    })?;
    let state: RunState = row.get(2)?;
    let owner_pid: Option<u32> = row.get(10)?;
    let owner_start_time = row.get::<_, Option<i64>>(11)?.map(|t| t as u64);
    // A `ready` run was kept by its keep-running policy: its process is meant to be gone.
    let interrupted = !state.is_final()
        && state != RunState::Ready
        && match (owner_pid, owner_start_time) {
            (Some(pid), Some(start)) => !process_alive(pid, start),
            _ => true,
        };
    Ok(RunSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        state,
        keep_running,
        default_cloud: row.get(4)?,
        created_at: row.get(5)?,
        started_at: row.get(6)?,
        ended_at: row.get(7)?,
        exit_code: row.get(8)?,
        error: row.get(9)?,
        owner_pid,
        owner_start_time,
        interrupted,
    })
}

fn run_state(conn: &Connection, run_id: &str) -> Res<RunState> {
    conn.query_row("SELECT state FROM runs WHERE id = ?1", [run_id], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Problem::not_found(format!("there is no run `{run_id}`")))
}

fn instance_state(conn: &Connection, run_id: &str, instance: &str) -> Res<InstanceState> {
    conn.query_row(
        "SELECT state FROM instances WHERE run_id = ?1 AND name = ?2",
        [run_id, instance],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| Problem::not_found(format!("run `{run_id}` has no instance `{instance}`")))
}

fn ensure_run(conn: &Connection, run_id: &str) -> Res<()> {
    run_state(conn, run_id).map(|_| ())
}

fn record_transition(
    conn: &Connection,
    run_id: &str,
    instance: Option<&str>,
    from: Option<&str>,
    to: &str,
    at: i64,
    detail: Option<&str>,
) -> Res<()> {
    conn.prepare_cached(
        "INSERT INTO transitions (run_id, instance, from_state, to_state, at, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![run_id, instance, from, to, at, detail])?;
    Ok(())
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Res<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, f)?;
    Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
}

impl Store {
    /// Records a new run in state `initializing`, with its first transition.
    pub fn create_run(&mut self, run: &NewRun) -> Result<(), StoreError> {
        self.write(|tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1)",
                [&run.id],
                |r| r.get(0),
            )?;
            if taken {
                return Err(Problem::new(
                    ErrorKind::AlreadyExists,
                    format!("a run with id `{}` already exists", run.id),
                ));
            }
            tx.execute(
                "INSERT INTO runs (id, name, state, keep_running, recipe_text, default_cloud,
                                   created_at, owner_pid, owner_start_time)
                 VALUES (:id, :name, :state, :keep, :recipe, :cloud, :at, :pid, :start)",
                named_params! {
                    ":id": run.id,
                    ":name": run.name,
                    ":state": RunState::Initializing,
                    ":keep": run.keep_running.as_str(),
                    ":recipe": run.recipe_text,
                    ":cloud": run.default_cloud,
                    ":at": run.created_at,
                    ":pid": run.owner_pid,
                    ":start": as_i64(run.owner_start_time),
                },
            )?;
            record_transition(
                tx,
                &run.id,
                None,
                None,
                RunState::Initializing.as_str(),
                run.created_at,
                None,
            )
        })
    }

    /// Makes another process the owner of a run (when it resumes or terminates it).
    pub fn claim_run(
        &mut self,
        run_id: &str,
        owner_pid: u32,
        owner_start_time: u64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            tx.execute(
                "UPDATE runs SET owner_pid = ?2, owner_start_time = ?3 WHERE id = ?1",
                params![run_id, owner_pid, as_i64(owner_start_time)],
            )?;
            Ok(())
        })
    }

    /// Changes the run's state and records the transition in the same transaction. Sets
    /// `started_at` the first time the run leaves `initializing` and `ended_at` on a final
    /// state. Setting the current state again records nothing; a final run cannot change state
    /// ([`ErrorKind::Conflict`]).
    pub fn set_run_state(
        &mut self,
        run_id: &str,
        state: RunState,
        at: i64,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let from = run_state(tx, run_id)?;
            if from == state {
                return Ok(());
            }
            if from.is_final() {
                return Err(Problem::new(
                    ErrorKind::Conflict,
                    format!("run `{run_id}` is already {from} and cannot become {state}"),
                ));
            }
            let started = (state != RunState::Initializing).then_some(at);
            let ended = state.is_final().then_some(at);
            tx.execute(
                "UPDATE runs SET state = ?2,
                        started_at = COALESCE(started_at, ?3),
                        ended_at = COALESCE(ended_at, ?4)
                 WHERE id = ?1",
                params![run_id, state, started, ended],
            )?;
            record_transition(
                tx,
                run_id,
                None,
                Some(from.as_str()),
                state.as_str(),
                at,
                detail,
            )
        })
    }

    /// Records how the run ended: its exit code (SPEC §6) and error message, if any. Sets
    /// `ended_at` if no final state has yet.
    pub fn finish_run(
        &mut self,
        run_id: &str,
        exit_code: i32,
        error: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            tx.execute(
                "UPDATE runs SET exit_code = ?2, error = ?3, ended_at = COALESCE(ended_at, ?4)
                 WHERE id = ?1",
                params![run_id, exit_code, error, at],
            )?;
            Ok(())
        })
    }

    /// Adds instances in state `pending`, each with its first transition, in one transaction.
    pub fn add_instances(
        &mut self,
        run_id: &str,
        instances: &[NewInstance],
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO instances (run_id, name, node, node_index, cloud, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for i in instances {
                let pending = InstanceState::Pending;
                insert
                    .execute(params![
                        run_id, i.name, i.node, i.index, i.cloud, pending, at
                    ])
                    .map_err(|e| {
                        name_taken(e, || {
                            format!("run `{run_id}` already has an instance `{}`", i.name)
                        })
                    })?;
                record_transition(tx, run_id, Some(&i.name), None, pending.as_str(), at, None)?;
            }
            Ok(())
        })
    }

    /// Changes an instance's state and records the transition in the same transaction. For
    /// `failed`, `detail` becomes the reason (see also [`Store::fail_instance`]). Setting the
    /// current state again records nothing.
    pub fn set_instance_state(
        &mut self,
        run_id: &str,
        instance: &str,
        state: InstanceState,
        at: i64,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|tx| change_instance(tx, run_id, instance, state, at, detail, None))
    }

    /// Marks an instance `failed` in `step` (if a step failed) for `reason`.
    pub fn fail_instance(
        &mut self,
        run_id: &str,
        instance: &str,
        step: Option<StepKind>,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            change_instance(
                tx,
                run_id,
                instance,
                InstanceState::Failed,
                at,
                Some(reason),
                step,
            )
        })
    }

    /// Records the driver's id of the instance's machine, when known its hostname, and the
    /// driver's state of it (JSON).
    pub fn set_instance_resource(
        &mut self,
        run_id: &str,
        instance: &str,
        resource_id: &str,
        hostname: Option<&str>,
        driver_state: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            instance_state(tx, run_id, instance)?;
            tx.execute(
                "UPDATE instances SET resource_id = ?3, hostname = COALESCE(?4, hostname),
                        driver_state = COALESCE(?5, driver_state), updated_at = ?6
                 WHERE run_id = ?1 AND name = ?2",
                params![run_id, instance, resource_id, hostname, driver_state, at],
            )?;
            Ok(())
        })
    }

    /// Adds steps in state `pending` (the plan of a run), in one transaction.
    pub fn add_steps(
        &mut self,
        run_id: &str,
        steps: &[(&str, StepKind)],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO steps (run_id, instance, kind, state) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (instance, kind) in steps {
                instance_state(tx, run_id, instance)?;
                insert
                    .execute(params![run_id, instance, kind, StepState::Pending])
                    .map_err(|e| {
                        name_taken(e, || {
                            format!(
                                "instance `{instance}` of run `{run_id}` already has a {kind} step"
                            )
                        })
                    })?;
            }
            Ok(())
        })
    }

    /// Sets a step's state, creating the step if needed. `running` sets `started_at` (and clears
    /// the end, so a step can run again, as `on_node_add` does on every scale); a final state
    /// sets `ended_at` and `exit_code`; `pending` clears all three.
    pub fn set_step_state(
        &mut self,
        run_id: &str,
        instance: &str,
        kind: StepKind,
        state: StepState,
        at: i64,
        exit_code: Option<i32>,
    ) -> Result<(), StoreError> {
        self.write(|tx| change_step(tx, run_id, instance, kind, state, at, exit_code))
    }

    /// Several instances change state in one transaction (each with its transition), as when a
    /// whole cloud starts provisioning or is torn down.
    pub fn set_instance_states(
        &mut self,
        run_id: &str,
        changes: &[(&str, InstanceState)],
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for (instance, state) in changes {
                change_instance(tx, run_id, instance, *state, at, None, None)?;
            }
            Ok(())
        })
    }

    /// Several steps change state in one transaction.
    pub fn set_step_states(
        &mut self,
        run_id: &str,
        changes: &[(&str, StepKind, StepState)],
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for (instance, kind, state) in changes {
                change_step(tx, run_id, instance, *kind, *state, at, None)?;
            }
            Ok(())
        })
    }

    /// Inserts or replaces runtime parameters, in one transaction. A secret parameter is
    /// stored with the value `***`, whatever `value` holds.
    pub fn set_params(
        &mut self,
        run_id: &str,
        params: &[NewParam],
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO params (run_id, instance, kind, name, value, secret, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (run_id, instance, kind, name) DO UPDATE SET
                     value = excluded.value, secret = excluded.secret,
                     updated_at = excluded.updated_at",
            )?;
            for p in params {
                let value = if p.secret { MASK } else { p.value.as_str() };
                upsert
                    .execute(params![
                        run_id, p.instance, p.kind, p.name, value, p.secret, at
                    ])
                    .map_err(|e| missing_instance(e, run_id, &p.instance))?;
            }
            Ok(())
        })
    }

    /// Appends log lines in one transaction (all or none), in the order given. Lines are stored
    /// exactly as given: the store does not mask secrets (the engine does, before).
    pub fn append_logs(&mut self, lines: &[NewLogLine]) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO logs (run_id, instance, step, stream, line, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for l in lines {
                insert
                    .execute(params![
                        l.run_id, l.instance, l.step, l.stream, l.line, l.at
                    ])
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => {
                            Problem::not_found(format!("there is no run `{}`", l.run_id))
                        }
                        _ => e.into(),
                    })?;
            }
            Ok(())
        })
    }

    /// Records (or updates) a report file fetched from an instance.
    pub fn add_report(
        &mut self,
        run_id: &str,
        instance: &str,
        path: &str,
        size: u64,
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            instance_state(tx, run_id, instance)?;
            tx.execute(
                "INSERT INTO reports (run_id, instance, path, size, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, instance, path) DO UPDATE SET
                     size = excluded.size, at = excluded.at",
                params![run_id, instance, path, as_i64(size), at],
            )?;
            Ok(())
        })
    }

    /// Records the library module versions a run uses (replacing any recorded before).
    pub fn set_run_modules(
        &mut self,
        run_id: &str,
        modules: &[ModuleRef],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            ensure_run(tx, run_id)?;
            tx.execute("DELETE FROM run_modules WHERE run_id = ?1", [run_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO run_modules (run_id, kind, name, version) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in modules {
                insert.execute(params![run_id, m.kind, m.name, m.version])?;
            }
            Ok(())
        })
    }

    /// Every run, newest first.
    pub fn list_runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.read(|c| {
            collect(
                c,
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, id DESC"),
                [],
                summary_from_row,
            )
        })
    }

    /// Runs not in a final state (running, or interrupted when their owner died), newest first.
    pub fn non_final_runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.read(|c| {
            collect(
                c,
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE state NOT IN ('done', 'aborted', 'cancelled')
                     ORDER BY created_at DESC, id DESC"
                ),
                [],
                summary_from_row,
            )
        })
    }

    /// Everything about one run but its logs; `None` when there is no such run.
    pub fn run(&self, run_id: &str) -> Result<Option<RunDetail>, StoreError> {
        self.run_detail(run_id, true)
    }

    /// [`Store::run`] without what a live view never reads and a big run makes large: the
    /// recipe text and the state transitions are left empty (a 200-instance run's detail is a
    /// third smaller). The desktop's run view follows a run with it, many times a second.
    pub fn run_live(&self, run_id: &str) -> Result<Option<RunDetail>, StoreError> {
        self.run_detail(run_id, false)
    }

    fn run_detail(&self, run_id: &str, history: bool) -> Result<Option<RunDetail>, StoreError> {
        self.read(|c| {
            let text = if history { "recipe_text" } else { "''" };
            let Some((run, recipe_text)) = c
                .query_row(
                    &format!("SELECT {RUN_COLUMNS}, {text} FROM runs WHERE id = ?1"),
                    [run_id],
                    |r| Ok((summary_from_row(r)?, r.get::<_, String>(12)?)),
                )
                .optional()?
            else {
                return Ok(None);
            };
            let instances = collect(
                c,
                "SELECT name, node, node_index, cloud, state, resource_id, hostname, failed_step,
                        reason, updated_at, driver_state
                 FROM instances WHERE run_id = ?1 ORDER BY rowid",
                [run_id],
                |r| {
                    Ok(Instance {
                        name: r.get(0)?,
                        node: r.get(1)?,
                        index: r.get(2)?,
                        cloud: r.get(3)?,
                        state: r.get(4)?,
                        resource_id: r.get(5)?,
                        hostname: r.get(6)?,
                        failed_step: r.get(7)?,
                        reason: r.get(8)?,
                        updated_at: r.get(9)?,
                        driver_state: r.get(10)?,
                    })
                },
            )?;
            let steps = collect(
                c,
                "SELECT instance, kind, state, started_at, ended_at, exit_code
                 FROM steps WHERE run_id = ?1 ORDER BY rowid",
                [run_id],
                |r| {
                    Ok(Step {
                        instance: r.get(0)?,
                        kind: r.get(1)?,
                        state: r.get(2)?,
                        started_at: r.get(3)?,
                        ended_at: r.get(4)?,
                        exit_code: r.get(5)?,
                    })
                },
            )?;
            let params = collect(
                c,
                "SELECT instance, name, kind, value, secret, updated_at
                 FROM params WHERE run_id = ?1 ORDER BY rowid",
                [run_id],
                |r| {
                    Ok(Param {
                        instance: r.get(0)?,
                        name: r.get(1)?,
                        kind: r.get(2)?,
                        value: r.get(3)?,
                        secret: r.get(4)?,
                        updated_at: r.get(5)?,
                    })
                },
            )?;
            let transitions = collect(
                c,
                if history {
                    "SELECT id, instance, from_state, to_state, at, detail
                     FROM transitions WHERE run_id = ?1 ORDER BY id"
                } else {
                    "SELECT id, instance, from_state, to_state, at, detail
                     FROM transitions WHERE run_id = ?1 AND 0"
                },
                [run_id],
                |r| {
                    Ok(Transition {
                        id: r.get(0)?,
                        instance: r.get(1)?,
                        from: r.get(2)?,
                        to: r.get(3)?,
                        at: r.get(4)?,
                        detail: r.get(5)?,
                    })
                },
            )?;
            let reports = collect(
                c,
                "SELECT instance, path, size, at FROM reports WHERE run_id = ?1 ORDER BY rowid",
                [run_id],
                |r| {
                    Ok(Report {
                        instance: r.get(0)?,
                        path: r.get(1)?,
                        size: r.get::<_, i64>(2)?.max(0) as u64,
                        at: r.get(3)?,
                    })
                },
            )?;
            let modules = collect(
                c,
                "SELECT kind, name, version FROM run_modules WHERE run_id = ?1 ORDER BY rowid",
                [run_id],
                |r| {
                    Ok(ModuleRef {
                        kind: r.get::<_, ModuleKind>(0)?,
                        name: r.get(1)?,
                        version: r.get(2)?,
                    })
                },
            )?;
            Ok(Some(RunDetail {
                run,
                recipe_text,
                instances,
                steps,
                params,
                transitions,
                reports,
                modules,
            }))
        })
    }

    /// Up to `limit` log lines of a run (of one instance when `instance` is given) whose id is
    /// greater than `after_id`, oldest first. Poll with the last id seen to follow a run.
    pub fn logs(
        &self,
        run_id: &str,
        instance: Option<&str>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<LogLine>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let map = |r: &Row<'_>| {
                Ok(LogLine {
                    id: r.get(0)?,
                    run_id: r.get(1)?,
                    instance: r.get(2)?,
                    step: r.get(3)?,
                    stream: r.get(4)?,
                    line: r.get(5)?,
                    at: r.get(6)?,
                })
            };
            match instance {
                Some(instance) => collect(
                    c,
                    "SELECT id, run_id, instance, step, stream, line, at FROM logs
                     WHERE run_id = ?1 AND instance = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
                    params![run_id, instance, after_id, limit],
                    map,
                ),
                None => collect(
                    c,
                    "SELECT id, run_id, instance, step, stream, line, at FROM logs
                     WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    params![run_id, after_id, limit],
                    map,
                ),
            }
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn change_step(
    tx: &Connection,
    run_id: &str,
    instance: &str,
    kind: StepKind,
    state: StepState,
    at: i64,
    exit_code: Option<i32>,
) -> Res<()> {
    instance_state(tx, run_id, instance)?;
    let (started, ended, code) = match state {
        StepState::Pending => (None, None, None),
        StepState::Running => (Some(at), None, None),
        _ => (None, Some(at), exit_code),
    };
    let keep_start = state.is_final();
    tx.prepare_cached(
        "INSERT INTO steps (run_id, instance, kind, state, started_at, ended_at, exit_code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (run_id, instance, kind) DO UPDATE SET
             state = excluded.state,
             started_at = CASE WHEN ?8 THEN started_at ELSE excluded.started_at END,
             ended_at = excluded.ended_at,
             exit_code = excluded.exit_code",
    )?
    .execute(params![
        run_id, instance, kind, state, started, ended, code, keep_start
    ])?;
    Ok(())
}

fn change_instance(
    tx: &Connection,
    run_id: &str,
    instance: &str,
    state: InstanceState,
    at: i64,
    detail: Option<&str>,
    failed_step: Option<StepKind>,
) -> Res<()> {
    let from = instance_state(tx, run_id, instance)?;
    if from == state {
        return Ok(());
    }
    let failed = state == InstanceState::Failed;
    tx.execute(
        "UPDATE instances SET state = ?3, updated_at = ?4,
                failed_step = CASE WHEN ?5 THEN ?6 ELSE failed_step END,
                reason = CASE WHEN ?5 THEN ?7 ELSE reason END
         WHERE run_id = ?1 AND name = ?2",
        params![run_id, instance, state, at, failed, failed_step, detail],
    )?;
    let detail = match (failed_step, detail) {
        (Some(step), Some(reason)) => Some(format!("{step}: {reason}")),
        (Some(step), None) => Some(step.to_string()),
        (None, d) => d.map(str::to_string),
    };
    record_transition(
        tx,
        run_id,
        Some(instance),
        Some(from.as_str()),
        state.as_str(),
        at,
        detail.as_deref(),
    )
}

/// SQLite integers are signed; process start times and file sizes stay far below `i64::MAX`.
fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A unique-key violation as [`ErrorKind::AlreadyExists`] with a clear message.
fn name_taken(e: rusqlite::Error, message: impl FnOnce() -> String) -> Problem {
    let mut p = Problem::from(e);
    if p.kind == ErrorKind::AlreadyExists {
        p.message = message();
    }
    p
}

/// A foreign-key violation as [`ErrorKind::NotFound`] naming the instance.
fn missing_instance(e: rusqlite::Error, run_id: &str, instance: &str) -> Problem {
    let mut p = Problem::from(e);
    if p.kind == ErrorKind::NotFound {
        p.message = format!("run `{run_id}` has no instance `{instance}`");
    }
    p
}
