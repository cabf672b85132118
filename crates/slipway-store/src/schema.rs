//! The database schema as an append-only list of migrations, applied in order by
//! `PRAGMA user_version`, each in its own transaction.
//!
//! Owns: every `CREATE`/`ALTER` statement. Never: edit a migration that has shipped; add a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{ErrorKind, Problem, Res};

/// Migration N (1-based) brings `user_version` from N-1 to N.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs, their parts and logs; the module library; clouds; key-value meta.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL,
    keep_running     TEXT NOT NULL,
    recipe_text      TEXT NOT NULL,
    default_cloud    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    ended_at         INTEGER,
    exit_code        INTEGER,
    error            TEXT,
    owner_pid        INTEGER,
    owner_start_time INTEGER
) STRICT;
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE instances (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    name        TEXT NOT NULL,
    node        TEXT NOT NULL,
    node_index  INTEGER NOT NULL,
    cloud       TEXT NOT NULL,
    state       TEXT NOT NULL,
    resource_id TEXT,
    hostname    TEXT,
    failed_step TEXT,
    reason      TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, name)
) STRICT;

CREATE TABLE steps (
    run_id     TEXT NOT NULL,
    instance   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    started_at INTEGER,
    ended_at   INTEGER,
    exit_code  INTEGER,
    PRIMARY KEY (run_id, instance, kind),
    FOREIGN KEY (run_id, instance) REFERENCES instances (run_id, name)
) STRICT;

CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     TEXT NOT NULL REFERENCES runs (id),
    instance   TEXT,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         INTEGER NOT NULL,
    detail     TEXT
) STRICT;
CREATE INDEX transitions_by_run ON transitions (run_id, id);

CREATE TABLE params (
    run_id     TEXT NOT NULL,
    instance   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    secret     INTEGER NOT NULL DEFAULT 0 CHECK (secret IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, instance, kind, name),
    FOREIGN KEY (run_id, instance) REFERENCES instances (run_id, name),
    CHECK (secret = 0 OR value = '***')
) STRICT;

CREATE TABLE logs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL REFERENCES runs (id),
    instance TEXT,
    step     TEXT,
    stream   TEXT NOT NULL,
    line     TEXT NOT NULL,
    at       INTEGER NOT NULL
) STRICT;
CREATE INDEX logs_by_run ON logs (run_id, id);
CREATE INDEX logs_by_instance ON logs (run_id, instance, id);

CREATE TABLE reports (
    run_id   TEXT NOT NULL,
    instance TEXT NOT NULL,
    path     TEXT NOT NULL,
    size     INTEGER NOT NULL CHECK (size >= 0),
    at       INTEGER NOT NULL,
    PRIMARY KEY (run_id, instance, path),
    FOREIGN KEY (run_id, instance) REFERENCES instances (run_id, name)
) STRICT;

CREATE TABLE modules (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'component', 'deployment')),
    name        TEXT NOT NULL CHECK (name GLOB '[a-z]*' AND name NOT GLOB '*[^a-z0-9_-]*'),
    latest      INTEGER NOT NULL CHECK (latest >= 1),
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (kind, name)
) STRICT;

CREATE TABLE module_versions (
    module_id  INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL CHECK (json_valid(body)),
    comment    TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (module_id, version)
) STRICT;

CREATE TABLE run_modules (
    run_id  TEXT NOT NULL REFERENCES runs (id),
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind, name)
) STRICT;

CREATE TABLE clouds (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    settings   TEXT NOT NULL CHECK (json_valid(settings) AND json_type(settings) = 'object'),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
"#,
    // 2: what a driver needs to reach an instance again after a restart (JSON, never a secret).
    r#"
ALTER TABLE instances ADD COLUMN driver_state TEXT CHECK (driver_state IS NULL OR json_valid(driver_state));
"#,
    // 3: hosts of `ssh` pools leased by runs (one run per host, machine-wide
    // through this file), and host keys pinned per cloud on first use.
    r#"
CREATE TABLE host_leases (
    host        TEXT PRIMARY KEY,
    cloud       TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    instance    TEXT NOT NULL,
    login_user  TEXT NOT NULL,
    leased_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX host_leases_by_run ON host_leases (run_id, cloud);

CREATE TABLE host_keys (
    cloud       TEXT NOT NULL,
    host        TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    pinned_at   INTEGER NOT NULL,
    PRIMARY KEY (cloud, host)
) STRICT;
"#,
    // 4: day-2 operations. The `--set` values of non-secret inputs a run was launched with (JSON
    // `[{node, input, value}]`; secret ones live in the OS keychain only), so that `scale` and
    // `resume` resolve inputs as the launch did; and the lock one `scale` or `resume` holds on a
    // run while it works (a holder whose process died holds nothing).
    r#"
ALTER TABLE runs ADD COLUMN launch_sets TEXT CHECK (launch_sets IS NULL OR json_valid(launch_sets));

CREATE TABLE run_locks (
    run_id           TEXT PRIMARY KEY REFERENCES runs (id),
    operation        TEXT NOT NULL,
    owner_pid        INTEGER NOT NULL,
    owner_start_time INTEGER NOT NULL,
    at               INTEGER NOT NULL
) STRICT;
"#,
];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

fn user_version(conn: &Connection) -> Res<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the migrations the file lacks. Safe when two processes open a fresh file at once: each
/// step re-reads the version inside an immediate (write-locked) transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Res<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        if version > current_version() {
            return Err(Problem::new(
                ErrorKind::SchemaTooNew,
                format!(
                    "the database has schema version {version}, newer than the {} this build of Slipway knows; use a newer Slipway",
                    current_version()
                ),
            ));
        }
        if version == current_version() {
            return Ok(());
        }
        let sql = MIGRATIONS[version as usize];
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
