//! The SQLite state of Slipway that the CLI and the desktop app share: runs with their instances,
//! steps, transitions, parameters, logs and reports; the versioned module library; clouds.
//!
//! Architecture invariant: synchronous (callers wrap calls in `spawn_blocking`), no Tauri, no
//! tokio, no clock (every write takes its timestamp, unix milliseconds, from the caller), and no
//! secret ever (secret parameters are stored as `***`; cloud secrets live in the OS keychain).
//! The store records what it is given: it never masks, and it never deletes a run.

mod clouds;
mod error;
mod follow;
mod hosts;
mod modules;
mod operations;
mod process;
mod render;
mod runs;
mod schema;
mod states;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use clouds::Cloud;
pub use error::{ErrorKind, StoreError};
pub use follow::RunHistoryEntry;
pub use hosts::{HostKey, HostLease, LeaseRefused};
pub use modules::{
    DeploymentBody, DiffRow, DiffTag, ImportedModule, ModuleBody, ModuleRef, ModuleSummary,
    ModuleVersion, SeedReport, StoredModule,
};
pub use operations::{LaunchSet, RunLock};
pub use process::{current_process_identity, new_run_id, process_alive, process_identity, rfc3339};
pub use runs::{
    Instance, LogLine, NewInstance, NewLogLine, NewParam, NewRun, Param, Report, RunDetail,
    RunSummary, Step, Transition, MASK,
};
pub use states::{InstanceState, LogStream, ModuleKind, ParamKind, RunState, StepKind, StepState};

use error::{Problem, Res};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "slipway.db";

/// How long a statement waits for another process's write lock before failing with
/// [`ErrorKind::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The data directory: `$SLIPWAY_HOME` when set and not empty, else the platform's data
/// directory plus `slipway` (`~/.local/share/slipway` on Linux).
pub fn data_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("SLIPWAY_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::data_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("slipway")
}

/// One connection to `slipway.db`. Several stores, in one process or several, may use the same
/// file at once: each sees what the others committed.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Creates `home` if needed, opens `home/slipway.db` (WAL mode, foreign keys on, 5 s busy
    /// timeout) and brings its schema up to date.
    pub fn open(home: &Path) -> Result<Store, StoreError> {
        let path = home.join(DB_FILE);
        std::fs::create_dir_all(home).map_err(|e| {
            Problem {
                kind: ErrorKind::Io,
                message: format!("cannot create the data directory {}: {e}", home.display()),
                source: Some(Box::new(e)),
            }
            .at(&path)
        })?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| {
            let mut p = Problem::from(e);
            p.message = format!("cannot open the database: {}", p.message);
            p.at(&path)
        })?;
        configure(&mut conn).map_err(|p| p.at(&path))?;
        Ok(Store { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
    }

    /// Sets how many WAL pages a commit on this connection may leave before it checkpoints the
    /// WAL into the database itself (SQLite's default: 1000; 0: never). A process that commits
    /// often and must not stall on a checkpoint turns it off and runs a [`Checkpointer`].
    pub fn set_auto_checkpoint(&mut self, pages: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(|e| Problem::from(e).at(&self.path))
    }

    /// Runs `f` in one write transaction, taken at once (`BEGIN IMMEDIATE`) so that a concurrent
    /// writer makes it wait up to the busy timeout instead of failing halfway.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Res<T>) -> Result<T, StoreError> {
        let path = &self.path;
        let run = |conn: &mut Connection| -> Res<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run(&mut self.conn).map_err(|p| p.at(path))
    }

    /// Runs `f` in one read transaction, so that it sees a single consistent snapshot.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Res<T>) -> Result<T, StoreError> {
        let run = || -> Res<T> {
            let tx = self.conn.unchecked_transaction()?;
            let value = f(&tx)?;
            tx.finish()?;
            Ok(value)
        };
        run().map_err(|p| p.at(&self.path))
    }
}

fn configure(conn: &mut Connection) -> Res<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Problem::new(
            ErrorKind::Database,
            format!("cannot switch the database to WAL mode (it stayed in `{mode}` mode)"),
        ));
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    schema::migrate(conn)
}

/// TypeScript declarations of the store types that cross to the UI, in dependency order, after
/// an `import type` of the recipe types they use. `ui/src/bindings/store.ts` is this text; a test
/// fails when it is stale. 64-bit integers (timestamps, log ids) are `number`: unix milliseconds
/// and row ids stay far below 2^53.
pub fn typescript_bindings() -> String {
    let mut file = slipway_recipe::typescript::BindingsFile::new();
    file.add::<RunState>();
    file.add::<InstanceState>();
    file.add::<StepKind>();
    file.add::<StepState>();
    file.add::<ParamKind>();
    file.add::<LogStream>();
    file.add::<RunSummary>();
    file.add::<Instance>();
    file.add::<Step>();
    file.add::<Transition>();
    file.add::<Param>();
    file.add::<Report>();
    file.add::<RunDetail>();
    file.add::<LogLine>();
    file.add::<ModuleKind>();
    file.add::<ModuleRef>();
    file.add::<ModuleSummary>();
    file.add::<ModuleVersion>();
    file.add::<DeploymentBody>();
    file.add::<ModuleBody>();
    file.add::<StoredModule>();
    file.add::<ImportedModule>();
    file.add::<DiffTag>();
    file.add::<DiffRow>();
    file.add::<Cloud>();
    file.render(
        "// Generated from the Rust types of crates/slipway-store by its `generated` test. Do not edit:\n// run `UPDATE_EXPECT=1 cargo test -p slipway-store --test generated` instead.",
        &[("./recipe", &slipway_recipe::typescript_bindings())],
    )
}

/// A thread that copies the WAL back into the database file in the background (a passive
/// checkpoint: it never blocks a writer or a reader), so that the connection that commits a
/// run's state never pays for it. Stops, after a last checkpoint, when dropped.
pub struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// How often the WAL is checked; a checkpoint with nothing to copy costs a few microseconds.
    pub const INTERVAL: Duration = Duration::from_millis(500);

    /// Starts checkpointing `store`'s database from a connection of its own.
    pub fn start(store: &Store) -> Result<Checkpointer, StoreError> {
        let path = store.path.clone();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Problem::from(e).at(&path))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| Problem::from(e).at(&path))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("slipway-checkpoint".into())
            .spawn(move || {
                let checkpoint = || {
                    // Errors (a busy lock) only mean this round is skipped.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                };
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::INTERVAL)
                {
                    checkpoint();
                }
                checkpoint();
            })
            .map_err(|e| {
                Problem {
                    kind: ErrorKind::Io,
                    message: format!("cannot start the checkpoint thread: {e}"),
                    source: Some(Box::new(e)),
                }
                .at(&path)
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
