//! The module library (SPEC §1): images, components and deployments, each saved change a new
//! numbered version with an optional comment; history, diff, restore; recipe import and export.
//!
//! Owns: the `modules`, `module_versions` and `meta` tables. Never: overwrite or renumber a
//! version, or write part of an import (an import is one transaction).

use std::collections::HashMap;

use indexmap::IndexMap;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use slipway_recipe::{
    split_image_ref, Component, Deployment, Image, Position, Recipe, FORMAT_VERSION,
};
use ts_rs::TS;

use crate::error::{ErrorKind, Problem, Res};
use crate::render::{diff_lines, yamlish};
use crate::states::ModuleKind;
use crate::{Store, StoreError};

/// The body of a deployment module: what a recipe file holds besides its images and components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub deployment: Deployment,
    /// Canvas positions of nodes.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub layout: IndexMap<String, Position>,
}

/// The body of any module, tagged with its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum ModuleBody {
    Image(Image),
    Component(Component),
    Deployment(DeploymentBody),
}

impl ModuleBody {
    pub fn kind(&self) -> ModuleKind {
        match self {
            ModuleBody::Image(_) => ModuleKind::Image,
            ModuleBody::Component(_) => ModuleKind::Component,
            ModuleBody::Deployment(_) => ModuleKind::Deployment,
        }
    }

    pub fn description(&self) -> Option<&str> {
        match self {
            ModuleBody::Image(b) => b.description.as_deref(),
            ModuleBody::Component(b) => b.description.as_deref(),
            ModuleBody::Deployment(b) => b.description.as_deref(),
        }
    }

    /// The stored form: the JSON of the inner value, without the kind.
    fn to_json(&self) -> serde_json::Value {
        let value = match self {
            ModuleBody::Image(b) => serde_json::to_value(b),
            ModuleBody::Component(b) => serde_json::to_value(b),
            ModuleBody::Deployment(b) => serde_json::to_value(b),
        };
        value.expect("module bodies serialise")
    }

    fn from_json(kind: ModuleKind, text: &str) -> serde_json::Result<ModuleBody> {
        Ok(match kind {
            ModuleKind::Image => ModuleBody::Image(serde_json::from_str(text)?),
            ModuleKind::Component => ModuleBody::Component(serde_json::from_str(text)?),
            ModuleKind::Deployment => ModuleBody::Deployment(serde_json::from_str(text)?),
        })
    }
}

/// One version of one module.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct ModuleRef {
    pub kind: ModuleKind,
    pub name: String,
    pub version: u32,
}

/// A module as listed in the library.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleSummary {
    pub kind: ModuleKind,
    pub name: String,
    /// The newest version.
    pub latest: u32,
    /// The newest version's description.
    pub description: Option<String>,
    /// When the newest version was saved.
    pub updated_at: i64,
}

/// One entry of a module's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleVersion {
    pub version: u32,
    pub comment: Option<String>,
    pub created_at: i64,
}

/// One version of a module with its body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct StoredModule {
    pub name: String,
    pub version: u32,
    pub comment: Option<String>,
    pub created_at: i64,
    /// Carries the kind.
    pub body: ModuleBody,
}

/// The version a save, restore or import left a module at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportedModule {
    pub kind: ModuleKind,
    pub name: String,
    pub version: u32,
    /// `false` when the body equalled the latest version, so no version was made.
    pub created_new: bool,
}

/// How a line of a diff reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiffTag {
    Equal,
    Insert,
    Delete,
}

/// One line of a diff between two versions, for a side-by-side view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiffRow {
    pub tag: DiffTag,
    /// 1-based line in the older text; `None` for an inserted line.
    pub old_line: Option<u32>,
    /// 1-based line in the newer text; `None` for a deleted line.
    pub new_line: Option<u32>,
    pub text: String,
}

/// What [`Store::seed_examples`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeedReport {
    /// Modules of the examples seeded now (examples seeded before are left alone).
    pub imported: Vec<ImportedModule>,
    /// Examples that are not valid recipes: file name and the first problem.
    pub skipped: Vec<(String, String)>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn module_row(conn: &Connection, kind: ModuleKind, name: &str) -> Res<Option<(i64, u32)>> {
    Ok(conn
        .query_row(
            "SELECT id, latest FROM modules WHERE kind = ?1 AND name = ?2",
            params![kind, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn require_module(conn: &Connection, kind: ModuleKind, name: &str) -> Res<(i64, u32)> {
    module_row(conn, kind, name)?
        .ok_or_else(|| Problem::not_found(format!("there is no {kind} `{name}` in the library")))
}

/// A version of a module; `None` means the latest.
fn load(
    conn: &Connection,
    kind: ModuleKind,
    name: &str,
    version: Option<u32>,
) -> Res<Option<StoredModule>> {
    let Some((id, latest)) = module_row(conn, kind, name)? else {
        return Ok(None);
    };
    let version = version.unwrap_or(latest);
    let row: Option<(String, Option<String>, i64)> = conn
        .query_row(
            "SELECT body, comment, created_at FROM module_versions
             WHERE module_id = ?1 AND version = ?2",
            params![id, version],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((text, comment, created_at)) = row else {
        return Ok(None);
    };
    let body = ModuleBody::from_json(kind, &text).map_err(|e| {
        Problem::corrupt(format!(
            "version {version} of {kind} `{name}` cannot be read: {e}"
        ))
    })?;
    Ok(Some(StoredModule {
        name: name.to_string(),
        version,
        comment,
        created_at,
        body,
    }))
}

fn require_version(
    conn: &Connection,
    kind: ModuleKind,
    name: &str,
    version: Option<u32>,
) -> Res<StoredModule> {
    if let Some(found) = load(conn, kind, name, version)? {
        return Ok(found);
    }
    require_module(conn, kind, name)?;
    Err(Problem::not_found(format!(
        "{kind} `{name}` has no version {}",
        version.unwrap_or_default()
    )))
}

/// Saves `body` as the next version of the module unless it equals the latest one.
fn save_in(
    tx: &Connection,
    name: &str,
    body: &ModuleBody,
    comment: Option<&str>,
    at: i64,
) -> Res<ImportedModule> {
    let kind = body.kind();
    if !valid_name(name) {
        return Err(Problem::invalid(format!(
            "`{name}` is not a valid {kind} name: names start with a lowercase letter followed by lowercase letters, digits, `_` or `-`"
        )));
    }
    let text = body.to_json().to_string();
    let description = body.description();
    let version = match module_row(tx, kind, name)? {
        Some((id, latest)) => {
            let same = load(tx, kind, name, Some(latest))
                .ok()
                .flatten()
                .is_some_and(|stored| &stored.body == body);
            if same {
                return Ok(ImportedModule {
                    kind,
                    name: name.to_string(),
                    version: latest,
                    created_new: false,
                });
            }
            let version = latest + 1;
            tx.execute(
                "UPDATE modules SET latest = ?2, description = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, version, description, at],
            )?;
            insert_version(tx, id, version, &text, comment, at)?;
            version
        }
        None => {
            tx.execute(
                "INSERT INTO modules (kind, name, latest, description, created_at, updated_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?4)",
                params![kind, name, description, at],
            )?;
            insert_version(tx, tx.last_insert_rowid(), 1, &text, comment, at)?;
            1
        }
    };
    Ok(ImportedModule {
        kind,
        name: name.to_string(),
        version,
        created_new: true,
    })
}

fn insert_version(
    tx: &Connection,
    module_id: i64,
    version: u32,
    body: &str,
    comment: Option<&str>,
    at: i64,
) -> Res<()> {
    tx.execute(
        "INSERT INTO module_versions (module_id, version, body, comment, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![module_id, version, body, comment, at],
    )?;
    Ok(())
}

fn import_in(
    tx: &Connection,
    recipe: &Recipe,
    comment: Option<&str>,
    at: i64,
) -> Res<Vec<ImportedModule>> {
    let mut saved = Vec::new();
    for (name, image) in &recipe.images {
        saved.push(save_in(
            tx,
            name,
            &ModuleBody::Image(image.clone()),
            comment,
            at,
        )?);
    }
    for (name, component) in &recipe.components {
        saved.push(save_in(
            tx,
            name,
            &ModuleBody::Component(component.clone()),
            comment,
            at,
        )?);
    }
    let deployment = DeploymentBody {
        description: recipe.description.clone(),
        deployment: recipe.deployment.clone(),
        layout: recipe.layout.clone(),
    };
    saved.push(save_in(
        tx,
        &recipe.name,
        &ModuleBody::Deployment(deployment),
        comment,
        at,
    )?);
    Ok(saved)
}

fn export_in(conn: &Connection, name: &str, version: Option<u32>) -> Res<(Recipe, Vec<ModuleRef>)> {
    let stored = require_version(conn, ModuleKind::Deployment, name, version)?;
    let ModuleBody::Deployment(body) = stored.body else {
        return Err(Problem::corrupt(format!(
            "deployment `{name}` holds another kind of body"
        )));
    };
    let mut refs = vec![ModuleRef {
        kind: ModuleKind::Deployment,
        name: name.to_string(),
        version: stored.version,
    }];
    let mut components: IndexMap<String, Component> = IndexMap::new();
    let mut images: IndexMap<String, Image> = IndexMap::new();
    // Image name → (version, the component that chose it).
    let mut image_versions: HashMap<String, (u32, String)> = HashMap::new();
    for (node_name, node) in &body.deployment.nodes {
        if components.contains_key(&node.component) {
            continue;
        }
        let comp = load(conn, ModuleKind::Component, &node.component, None)?.ok_or_else(|| {
            Problem::not_found(format!(
                "component `{}` (used by node `{node_name}` of deployment `{name}`) is not in the library",
                node.component
            ))
        })?;
        let ModuleBody::Component(component) = comp.body else {
            return Err(Problem::corrupt(format!(
                "component `{}` holds another kind of body",
                node.component
            )));
        };
        refs.push(ModuleRef {
            kind: ModuleKind::Component,
            name: node.component.clone(),
            version: comp.version,
        });
        let (image_name, pin) = split_image_ref(&component.image);
        let pin = match pin {
            Some(text) => Some(text.parse::<u32>().map_err(|_| {
                Problem::invalid(format!(
                    "component `{}` names image `{}`, whose version is not a number",
                    node.component, component.image
                ))
            })?),
            None => None,
        };
        let image = load(conn, ModuleKind::Image, image_name, pin)?.ok_or_else(|| {
            let which = match pin {
                Some(v) => format!("image `{image_name}` version {v}"),
                None => format!("image `{image_name}`"),
            };
            Problem::not_found(format!(
                "{which} (used by component `{}`) is not in the library",
                node.component
            ))
        })?;
        match image_versions.get(image_name) {
            Some((v, _)) if *v == image.version => {}
            Some((v, other)) => {
                return Err(Problem::new(
                    ErrorKind::Conflict,
                    format!(
                        "components `{other}` and `{}` need versions {v} and {} of image `{image_name}`, but a recipe file holds one version of each image",
                        node.component, image.version
                    ),
                ))
            }
            None => {
                let ModuleBody::Image(body) = image.body else {
                    return Err(Problem::corrupt(format!(
                        "image `{image_name}` holds another kind of body"
                    )));
                };
                image_versions.insert(
                    image_name.to_string(),
                    (image.version, node.component.clone()),
                );
                refs.push(ModuleRef {
                    kind: ModuleKind::Image,
                    name: image_name.to_string(),
                    version: image.version,
                });
                images.insert(image_name.to_string(), body);
            }
        }
        components.insert(node.component.clone(), component);
    }
    let recipe = Recipe {
        slipway: FORMAT_VERSION,
        name: name.to_string(),
        description: body.description,
        images,
        components,
        deployment: body.deployment,
        layout: body.layout,
    };
    Ok((recipe, refs))
}

impl Store {
    /// Saves `body` as the next version of the module `name` of the body's kind, creating the
    /// module at version 1. A body equal to the latest version makes no version and returns the
    /// latest with `created_new: false`.
    pub fn save_module(
        &mut self,
        name: &str,
        body: &ModuleBody,
        comment: Option<&str>,
        at: i64,
    ) -> Result<ImportedModule, StoreError> {
        self.write(|tx| save_in(tx, name, body, comment, at))
    }

    /// Modules of one kind (or all), whose name or description contains `search` ignoring
    /// case (every module when `search` is empty), sorted by kind then name.
    pub fn list_modules(
        &self,
        kind: Option<ModuleKind>,
        search: &str,
    ) -> Result<Vec<ModuleSummary>, StoreError> {
        let needle = search.trim().to_lowercase();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, name, latest, description, updated_at FROM modules
                 WHERE ?1 IS NULL OR kind = ?1",
            )?;
            let rows = stmt.query_map([kind], |r| {
                Ok(ModuleSummary {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    latest: r.get(2)?,
                    description: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })?;
            let mut found = Vec::new();
            for row in rows {
                let m = row?;
                let matches = needle.is_empty()
                    || m.name.to_lowercase().contains(&needle)
                    || m.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(&needle));
                if matches {
                    found.push(m);
                }
            }
            found.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
            Ok(found)
        })
    }

    /// Every version of a module, newest first.
    pub fn history(&self, kind: ModuleKind, name: &str) -> Result<Vec<ModuleVersion>, StoreError> {
        self.read(|c| {
            let (id, _) = require_module(c, kind, name)?;
            let mut stmt = c.prepare_cached(
                "SELECT version, comment, created_at FROM module_versions
                 WHERE module_id = ?1 ORDER BY version DESC",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(ModuleVersion {
                    version: r.get(0)?,
                    comment: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One version of a module (the latest when `version` is `None`); `None` when the module
    /// or the version does not exist.
    pub fn module(
        &self,
        kind: ModuleKind,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredModule>, StoreError> {
        self.read(|c| load(c, kind, name, version))
    }

    /// Makes the body of `version` the latest again, as a new version (comment: `comment`, or
    /// "restored from version N"). When it already equals the latest, nothing is made.
    pub fn restore(
        &mut self,
        kind: ModuleKind,
        name: &str,
        version: u32,
        comment: Option<&str>,
        at: i64,
    ) -> Result<ImportedModule, StoreError> {
        self.write(|tx| {
            let old = require_version(tx, kind, name, Some(version))?;
            let default_comment = format!("restored from version {version}");
            save_in(
                tx,
                name,
                &old.body,
                Some(comment.unwrap_or(&default_comment)),
                at,
            )
        })
    }

    /// The line diff from version `a` to version `b` of a module, both rendered as YAML-like
    /// text (see the `render` module).
    pub fn diff(
        &self,
        kind: ModuleKind,
        name: &str,
        a: u32,
        b: u32,
    ) -> Result<Vec<DiffRow>, StoreError> {
        self.read(|c| {
            let old = require_version(c, kind, name, Some(a))?;
            let new = require_version(c, kind, name, Some(b))?;
            Ok(diff_lines(
                &yamlish(&old.body.to_json()),
                &yamlish(&new.body.to_json()),
            ))
        })
    }

    /// Removes a module and all its versions; `false` when there was none. Runs keep the
    /// record of the versions they used.
    pub fn delete_module(&mut self, kind: ModuleKind, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM modules WHERE kind = ?1 AND name = ?2",
                params![kind, name],
            )? > 0)
        })
    }

    /// Saves every image, every component and the deployment (named after the recipe) of a
    /// recipe, in one transaction: on any failure nothing is saved. Unchanged modules make no
    /// version; changed ones make a new version.
    pub fn import_recipe(
        &mut self,
        recipe: &Recipe,
        comment: Option<&str>,
        at: i64,
    ) -> Result<Vec<ImportedModule>, StoreError> {
        self.write(|tx| import_in(tx, recipe, comment, at))
    }

    /// The recipe file of a deployment version (the latest when `version` is `None`): its
    /// nodes' components at their latest versions, and the images those name (`name@3` pins
    /// version 3; otherwise the latest). Fails with [`ErrorKind::NotFound`] when a module is
    /// missing and [`ErrorKind::Conflict`] when two components need different versions of one
    /// image.
    pub fn export_recipe(&self, name: &str, version: Option<u32>) -> Result<Recipe, StoreError> {
        self.read(|c| export_in(c, name, version).map(|(recipe, _)| recipe))
    }

    /// [`Store::export_recipe`], plus the module versions it used, deployment first (what a run
    /// launched from the library records with [`Store::set_run_modules`]).
    pub fn export_recipe_versions(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<(Recipe, Vec<ModuleRef>), StoreError> {
        self.read(|c| export_in(c, name, version))
    }

    /// Imports each valid example recipe, given as `(file name, text)`, the first time it is
    /// offered: a `meta` row remembers each seeded file, so a module deleted later does not come
    /// back. Invalid examples are skipped and reported.
    pub fn seed_examples(
        &mut self,
        examples: &[(&str, &str)],
        at: i64,
    ) -> Result<SeedReport, StoreError> {
        let mut report = SeedReport::default();
        for (file, text) in examples {
            let key = format!("seeded:{file}");
            let checked = slipway_recipe::check(text, &Default::default());
            let Some(recipe) = checked.valid_recipe() else {
                let first = checked
                    .diagnostics
                    .iter()
                    .find(|d| d.is_error())
                    .map_or_else(|| "cannot be read".to_string(), |d| d.message.clone());
                report.skipped.push((file.to_string(), first));
                continue;
            };
            let comment = format!("example {file}");
            let imported = self.write(|tx| {
                let seeded: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?1)",
                    [&key],
                    |r| r.get(0),
                )?;
                if seeded {
                    return Ok(Vec::new());
                }
                let imported = import_in(tx, recipe, Some(&comment), at)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, at.to_string()],
                )?;
                Ok(imported)
            })?;
            report.imported.extend(imported);
        }
        Ok(report)
    }
}
