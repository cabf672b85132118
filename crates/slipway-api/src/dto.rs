//! What the commands answer with: transport types shaped for the UI (field names as the UI's
//! `api-types.ts` spells them; timestamps as RFC 3339 text), converted from the store's types.
//!
//! Owns: the conversion from domain types. Never: logic beyond renaming and reshaping.

use serde::{Deserialize, Serialize};
use slipway_recipe::{Component, DiagnosticView, Image, Recipe};
use slipway_store::{rfc3339, DeploymentBody, DiffRow, DiffTag, ModuleKind, StoredModule};
use ts_rs::TS;

use crate::error::{CommandError, ErrorCode};

/// One module in the library list (its latest version).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleSummary {
    pub kind: ModuleKind,
    pub name: String,
    pub latest_version: u32,
    /// The latest version's description.
    pub description: Option<String>,
    /// When the latest version was saved (RFC 3339).
    pub updated_at: String,
}

impl From<slipway_store::ModuleSummary> for ModuleSummary {
    fn from(m: slipway_store::ModuleSummary) -> Self {
        ModuleSummary {
            kind: m.kind,
            name: m.name,
            latest_version: m.latest,
            description: m.description,
            updated_at: rfc3339(m.updated_at),
        }
    }
}

/// The body of a module, without its kind (the kind travels beside it).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(untagged)]
pub enum ModuleBody {
    Image(Image),
    Component(Component),
    Deployment(DeploymentBody),
}

impl ModuleBody {
    /// Reads a body of the given kind. An untagged body cannot say its own kind, so the
    /// command's `kind` argument decides; a body that does not fit it is `args.invalid`.
    pub fn from_json(kind: ModuleKind, value: serde_json::Value) -> Result<Self, CommandError> {
        let read = match kind {
            ModuleKind::Image => serde_json::from_value(value).map(ModuleBody::Image),
            ModuleKind::Component => serde_json::from_value(value).map(ModuleBody::Component),
            ModuleKind::Deployment => serde_json::from_value(value).map(ModuleBody::Deployment),
        };
        read.map_err(|e| {
            CommandError::new(
                ErrorCode::ArgsInvalid,
                format!("the body is not a valid {kind}: {e}"),
            )
        })
    }
}

impl From<slipway_store::ModuleBody> for ModuleBody {
    fn from(b: slipway_store::ModuleBody) -> Self {
        match b {
            slipway_store::ModuleBody::Image(b) => ModuleBody::Image(b),
            slipway_store::ModuleBody::Component(b) => ModuleBody::Component(b),
            slipway_store::ModuleBody::Deployment(b) => ModuleBody::Deployment(b),
        }
    }
}

impl From<ModuleBody> for slipway_store::ModuleBody {
    fn from(b: ModuleBody) -> Self {
        match b {
            ModuleBody::Image(b) => slipway_store::ModuleBody::Image(b),
            ModuleBody::Component(b) => slipway_store::ModuleBody::Component(b),
            ModuleBody::Deployment(b) => slipway_store::ModuleBody::Deployment(b),
        }
    }
}

/// One version of a module.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct ModuleVersion {
    pub kind: ModuleKind,
    pub name: String,
    pub version: u32,
    pub body: ModuleBody,
}

impl From<StoredModule> for ModuleVersion {
    fn from(m: StoredModule) -> Self {
        ModuleVersion {
            kind: m.body.kind(),
            name: m.name,
            version: m.version,
            body: m.body.into(),
        }
    }
}

/// One entry of a module's history, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct VersionInfo {
    pub version: u32,
    pub comment: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<slipway_store::ModuleVersion> for VersionInfo {
    fn from(v: slipway_store::ModuleVersion) -> Self {
        VersionInfo {
            version: v.version,
            comment: v.comment,
            created_at: rfc3339(v.created_at),
        }
    }
}

/// One line of the diff between two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiffChunk {
    pub tag: DiffTag,
    pub text: String,
}

impl From<DiffRow> for DiffChunk {
    fn from(r: DiffRow) -> Self {
        DiffChunk {
            tag: r.tag,
            text: r.text,
        }
    }
}

/// What importing a recipe file did. When `ok` is false, `problems` says why and nothing was
/// stored; when true, `recipe` is the file's recipe (and `problems` holds its warnings).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportResult {
    pub ok: bool,
    pub problems: Vec<DiagnosticView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub recipe: Option<Recipe>,
}

/// What the Clouds page shows: every cloud, every kind's settings, and the keychain's state.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct CloudsListing {
    pub clouds: Vec<slipway_clouds::CloudView>,
    pub kinds: Vec<slipway_clouds::KindInfo>,
    /// Why no keychain answered (with how to fix it); `null` when it did.
    pub keychain_error: Option<String>,
}
