//! Hosts of `ssh` pools: which run holds which host (a lease, so that two runs, or the app and
//! the CLI, never deploy onto the same machine at once), and the host keys pinned per cloud.
//!
//! Owns: the `host_leases` and `host_keys` tables. Never: connect anywhere or hold a secret (a
//! fingerprint is public).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::Res;
use crate::{Store, StoreError};

/// One host held by one instance of a run. `host` is `host:port`, the same machine whatever
/// cloud or login user names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLease {
    pub host: String,
    pub cloud: String,
    pub run_id: String,
    pub instance: String,
    pub login_user: String,
    pub leased_at: i64,
}

/// Why [`Store::lease_hosts`] leased nothing: the pool has too few free hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRefused {
    pub needed: usize,
    pub free: usize,
    pub pool: usize,
    /// Runs holding the other hosts of the pool, sorted, without repeats.
    pub held_by: Vec<String>,
}

/// A host key pinned for a host of a cloud (`SHA256:…`, as OpenSSH prints it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostKey {
    pub cloud: String,
    pub host: String,
    pub key_type: String,
    pub fingerprint: String,
    pub pinned_at: i64,
}

const LEASE_COLUMNS: &str = "host, cloud, run_id, instance, login_user, leased_at";

fn lease_row(r: &Row<'_>) -> rusqlite::Result<HostLease> {
    Ok(HostLease {
        host: r.get(0)?,
        cloud: r.get(1)?,
        run_id: r.get(2)?,
        instance: r.get(3)?,
        login_user: r.get(4)?,
        leased_at: r.get(5)?,
    })
}

fn lease_of(conn: &Connection, host: &str) -> Res<Option<HostLease>> {
    Ok(conn
        .query_row(
            &format!("SELECT {LEASE_COLUMNS} FROM host_leases WHERE host = ?1"),
            [host],
            lease_row,
        )
        .optional()?)
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<HostKey> {
    Ok(HostKey {
        cloud: r.get(0)?,
        host: r.get(1)?,
        key_type: r.get(2)?,
        fingerprint: r.get(3)?,
        pinned_at: r.get(4)?,
    })
}

fn key_of(conn: &Connection, cloud: &str, host: &str) -> Res<Option<HostKey>> {
    Ok(conn
        .query_row(
            "SELECT cloud, host, key_type, fingerprint, pinned_at FROM host_keys
             WHERE cloud = ?1 AND host = ?2",
            [cloud, host],
            key_row,
        )
        .optional()?)
}

impl Store {
    /// Leases one host of `pool` (`host:port` and the login user the pool names for it, in the
    /// pool's order) to each of `instances` (instance name, login user when the pool names
    /// none), all or none, in one transaction. An instance of `run_id`
    /// that holds a host already keeps it (a retried provisioning call). `Ok(Err(_))` when the
    /// pool has too few free hosts: nothing was leased.
    pub fn lease_hosts(
        &mut self,
        cloud: &str,
        run_id: &str,
        pool: &[(String, Option<String>)],
        instances: &[(String, String)],
        at: i64,
    ) -> Result<Result<Vec<HostLease>, LeaseRefused>, StoreError> {
        self.write(|tx| {
            let mut taken = Vec::new();
            let mut free = Vec::new();
            let mut held_by = Vec::new();
            for (host, pool_user) in pool {
                match lease_of(tx, host)? {
                    Some(l) => {
                        if !held_by.contains(&l.run_id) {
                            held_by.push(l.run_id.clone());
                        }
                        taken.push(l);
                    }
                    None => free.push((host.clone(), pool_user.clone())),
                }
            }
            let mut out = Vec::new();
            let mut wanted = Vec::new();
            for (instance, user) in instances {
                match taken
                    .iter()
                    .find(|l| l.run_id == run_id && &l.instance == instance && l.cloud == cloud)
                {
                    Some(l) => out.push(l.clone()),
                    None => wanted.push((instance, user)),
                }
            }
            if wanted.len() > free.len() {
                held_by.sort();
                return Ok(Err(LeaseRefused {
                    needed: instances.len(),
                    free: free.len() + out.len(),
                    pool: pool.len(),
                    held_by,
                }));
            }
            for ((instance, user), (host, pool_user)) in wanted.into_iter().zip(free) {
                let user = pool_user.unwrap_or_else(|| user.clone());
                tx.execute(
                    "INSERT INTO host_leases (host, cloud, run_id, instance, login_user, leased_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![host, cloud, run_id, instance, user, at],
                )?;
                out.push(HostLease {
                    host,
                    cloud: cloud.to_string(),
                    run_id: run_id.to_string(),
                    instance: instance.clone(),
                    login_user: user,
                    leased_at: at,
                });
            }
            // In the order asked for.
            out.sort_by_key(|l| instances.iter().position(|(i, _)| *i == l.instance));
            Ok(Ok(out))
        })
    }

    /// Releases `host` if `run_id` holds it; `false` when it did not.
    pub fn release_host(&mut self, run_id: &str, host: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM host_leases WHERE host = ?1 AND run_id = ?2",
                [host, run_id],
            )? > 0)
        })
    }

    /// The hosts of `cloud` that `run_id` holds, by host.
    pub fn host_leases(&self, run_id: &str, cloud: &str) -> Result<Vec<HostLease>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {LEASE_COLUMNS} FROM host_leases WHERE run_id = ?1 AND cloud = ?2 ORDER BY host"
            ))?;
            let rows = stmt.query_map([run_id, cloud], lease_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Who holds `host`, if anyone.
    pub fn host_lease(&self, host: &str) -> Result<Option<HostLease>, StoreError> {
        self.read(|c| lease_of(c, host))
    }

    /// The key pinned for `host` of `cloud`.
    pub fn pinned_host_key(&self, cloud: &str, host: &str) -> Result<Option<HostKey>, StoreError> {
        self.read(|c| key_of(c, cloud, host))
    }

    /// Pins a key for `host` of `cloud` unless one is pinned already; returns the pinned key
    /// (the earlier one when two processes pin at once).
    pub fn pin_host_key(
        &mut self,
        cloud: &str,
        host: &str,
        key_type: &str,
        fingerprint: &str,
        at: i64,
    ) -> Result<HostKey, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO host_keys (cloud, host, key_type, fingerprint, pinned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![cloud, host, key_type, fingerprint, at],
            )?;
            Ok(key_of(tx, cloud, host)?.expect("the key was just pinned"))
        })
    }

    /// Forgets the pinned key of `host` of `cloud` (the next connection pins anew); `false`
    /// when none was pinned.
    pub fn forget_host_key(&mut self, cloud: &str, host: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM host_keys WHERE cloud = ?1 AND host = ?2",
                [cloud, host],
            )? > 0)
        })
    }
}
