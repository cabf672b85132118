//! Configured clouds (SPEC §5): a name, a driver kind and the driver's non-secret settings.
//!
//! Owns: the `clouds` table. Never: hold a secret (credentials live in the OS keychain; the
//! settings here only say which keychain entries to use).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{ErrorKind, Problem, Res};
use crate::{Store, StoreError};

/// A configured cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Cloud {
    pub name: String,
    /// The driver kind: `local`, `ssh`, `docker`, `ec2`, ….
    pub kind: String,
    /// The driver's settings, never secrets.
    #[ts(type = "Record<string, unknown>")]
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn check(name: &str, kind: &str) -> Res<()> {
    let mut chars = name.chars();
    let name_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !name_ok {
        return Err(Problem::invalid(format!(
            "`{name}` is not a valid cloud name: names start with a lowercase letter followed by lowercase letters, digits, `_` or `-`"
        )));
    }
    if !slipway_recipe::DRIVER_KINDS.contains(&kind) {
        return Err(Problem::invalid(format!(
            "`{kind}` is not a driver kind; known kinds: {}",
            slipway_recipe::DRIVER_KINDS.join(", ")
        )));
    }
    Ok(())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Cloud> {
    let text: String = r.get(2)?;
    let settings = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Cloud {
        name: r.get(0)?,
        kind: r.get(1)?,
        settings,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

fn get(conn: &Connection, name: &str) -> Res<Option<Cloud>> {
    Ok(conn
        .query_row(
            "SELECT name, kind, settings, created_at, updated_at FROM clouds WHERE name = ?1",
            [name],
            from_row,
        )
        .optional()?)
}

impl Store {
    /// Adds a cloud; [`ErrorKind::AlreadyExists`] when the name is taken.
    pub fn add_cloud(
        &mut self,
        name: &str,
        kind: &str,
        settings: &serde_json::Map<String, serde_json::Value>,
        at: i64,
    ) -> Result<Cloud, StoreError> {
        self.write(|tx| {
            check(name, kind)?;
            if get(tx, name)?.is_some() {
                return Err(Problem::new(
                    ErrorKind::AlreadyExists,
                    format!("a cloud named `{name}` already exists"),
                ));
            }
            let text = serde_json::Value::Object(settings.clone()).to_string();
            tx.execute(
                "INSERT INTO clouds (name, kind, settings, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![name, kind, text, at],
            )?;
            get(tx, name)?.ok_or_else(|| Problem::not_found("the cloud vanished"))
        })
    }

    /// Replaces a cloud's kind and settings; [`ErrorKind::NotFound`] when there is none.
    pub fn update_cloud(
        &mut self,
        name: &str,
        kind: &str,
        settings: &serde_json::Map<String, serde_json::Value>,
        at: i64,
    ) -> Result<Cloud, StoreError> {
        self.write(|tx| {
            check(name, kind)?;
            let text = serde_json::Value::Object(settings.clone()).to_string();
            let changed = tx.execute(
                "UPDATE clouds SET kind = ?2, settings = ?3, updated_at = ?4 WHERE name = ?1",
                params![name, kind, text, at],
            )?;
            if changed == 0 {
                return Err(Problem::not_found(format!("there is no cloud `{name}`")));
            }
            get(tx, name)?.ok_or_else(|| Problem::not_found("the cloud vanished"))
        })
    }

    /// Removes a cloud; `false` when there was none.
    pub fn remove_cloud(&mut self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM clouds WHERE name = ?1", [name])? > 0))
    }

    /// Every cloud, by name.
    pub fn list_clouds(&self) -> Result<Vec<Cloud>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT name, kind, settings, created_at, updated_at FROM clouds ORDER BY name",
            )?;
            let rows = stmt.query_map([], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One cloud, if configured.
    pub fn cloud(&self, name: &str) -> Result<Option<Cloud>, StoreError> {
        self.read(|c| get(c, name))
    }
}
