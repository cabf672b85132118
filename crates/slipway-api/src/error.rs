//! The one error every command returns: a stable code and a message for people, serialised as
//! `{code, message}` (the UI's `CommandError`).
//!
//! Owns: the list of codes and the mapping of store errors to them. Never: make a caller match on
//! message text; a new way to fail gets a new code here.

use std::fmt;

use serde::{Deserialize, Serialize};
use slipway_store::{ErrorKind, StoreError};
use ts_rs::TS;

/// Why a command failed. The wire spelling (`as_str`) is stable: the UI matches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The arguments do not fit the command (a body of the wrong kind, a malformed value).
    #[serde(rename = "args.invalid")]
    ArgsInvalid,
    /// The recipe has errors, so it is not written (export) — see `recipe_validate`.
    #[serde(rename = "recipe.invalid")]
    RecipeInvalid,
    /// A file could not be read.
    #[serde(rename = "file.read")]
    FileRead,
    /// A file could not be written.
    #[serde(rename = "file.write")]
    FileWrite,
    /// The data directory or database could not be opened or created.
    #[serde(rename = "store.io")]
    StoreIo,
    /// Another process held the database locked for too long.
    #[serde(rename = "store.busy")]
    StoreBusy,
    /// The database was written by a newer Slipway.
    #[serde(rename = "store.schema_too_new")]
    StoreSchemaTooNew,
    /// The module or version does not exist.
    #[serde(rename = "store.not_found")]
    StoreNotFound,
    /// The name is already taken.
    #[serde(rename = "store.already_exists")]
    StoreAlreadyExists,
    /// The request contradicts the stored state (two versions of one image in one recipe, …).
    #[serde(rename = "store.conflict")]
    StoreConflict,
    /// The store refused the input (a bad module name, …).
    #[serde(rename = "store.invalid")]
    StoreInvalid,
    /// A stored value cannot be read back.
    #[serde(rename = "store.corrupt")]
    StoreCorrupt,
    /// Any other database failure.
    #[serde(rename = "store.database")]
    StoreDatabase,
    /// A cloud's name, kind, settings or secret key is wrong (the message lists every problem).
    #[serde(rename = "cloud.invalid")]
    CloudInvalid,
    /// No OS keychain answered (or it is locked); the message says how to fix it.
    #[serde(rename = "keychain.unavailable")]
    KeychainUnavailable,
    /// Any other cloud or infrastructure failure.
    #[serde(rename = "cloud.unavailable")]
    CloudUnavailable,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::ArgsInvalid,
        ErrorCode::RecipeInvalid,
        ErrorCode::FileRead,
        ErrorCode::FileWrite,
        ErrorCode::StoreIo,
        ErrorCode::StoreBusy,
        ErrorCode::StoreSchemaTooNew,
        ErrorCode::StoreNotFound,
        ErrorCode::StoreAlreadyExists,
        ErrorCode::StoreConflict,
        ErrorCode::StoreInvalid,
        ErrorCode::StoreCorrupt,
        ErrorCode::StoreDatabase,
        ErrorCode::CloudInvalid,
        ErrorCode::KeychainUnavailable,
        ErrorCode::CloudUnavailable,
    ];

    /// The wire spelling, such as `store.not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ArgsInvalid => "args.invalid",
            ErrorCode::RecipeInvalid => "recipe.invalid",
            ErrorCode::FileRead => "file.read",
            ErrorCode::FileWrite => "file.write",
            ErrorCode::StoreIo => "store.io",
            ErrorCode::StoreBusy => "store.busy",
            ErrorCode::StoreSchemaTooNew => "store.schema_too_new",
            ErrorCode::StoreNotFound => "store.not_found",
            ErrorCode::StoreAlreadyExists => "store.already_exists",
            ErrorCode::StoreConflict => "store.conflict",
            ErrorCode::StoreInvalid => "store.invalid",
            ErrorCode::StoreCorrupt => "store.corrupt",
            ErrorCode::StoreDatabase => "store.database",
            ErrorCode::CloudInvalid => "cloud.invalid",
            ErrorCode::KeychainUnavailable => "keychain.unavailable",
            ErrorCode::CloudUnavailable => "cloud.unavailable",
        }
    }

    fn of_store(kind: ErrorKind) -> ErrorCode {
        match kind {
            ErrorKind::Io => ErrorCode::StoreIo,
            ErrorKind::Busy => ErrorCode::StoreBusy,
            ErrorKind::SchemaTooNew => ErrorCode::StoreSchemaTooNew,
            ErrorKind::NotFound => ErrorCode::StoreNotFound,
            ErrorKind::AlreadyExists => ErrorCode::StoreAlreadyExists,
            ErrorKind::Conflict => ErrorCode::StoreConflict,
            ErrorKind::Invalid => ErrorCode::StoreInvalid,
            ErrorKind::Corrupt => ErrorCode::StoreCorrupt,
            _ => ErrorCode::StoreDatabase,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How every command error crosses IPC: a stable code and a human message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommandError {
    /// One of a fixed list (`store.not_found`, `recipe.invalid`, `file.read`, …); match on it.
    #[ts(type = "string")]
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for CommandError {}

impl From<StoreError> for CommandError {
    /// The store's message without the database path: the user did not ask about the file.
    fn from(e: StoreError) -> Self {
        CommandError::new(ErrorCode::of_store(e.kind()), e.message())
    }
}

impl From<slipway_clouds::CloudError> for CommandError {
    fn from(e: slipway_clouds::CloudError) -> Self {
        match e {
            slipway_clouds::CloudError::BadInput(m) => {
                CommandError::new(ErrorCode::CloudInvalid, m)
            }
            slipway_clouds::CloudError::Infrastructure(m) => {
                CommandError::new(ErrorCode::CloudUnavailable, m)
            }
            slipway_clouds::CloudError::KeychainUnavailable(m) => {
                CommandError::new(ErrorCode::KeychainUnavailable, m)
            }
        }
    }
}

impl From<slipway_secrets::SecretError> for CommandError {
    fn from(e: slipway_secrets::SecretError) -> Self {
        match e {
            slipway_secrets::SecretError::Unavailable(m) => {
                CommandError::new(ErrorCode::KeychainUnavailable, m)
            }
            slipway_secrets::SecretError::Failed(m) => {
                CommandError::new(ErrorCode::CloudUnavailable, m)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_is_as_str() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::json!(code.as_str()));
            let back: ErrorCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, *code);
        }
    }

    #[test]
    fn serialises_as_code_and_message() {
        let e = CommandError::new(ErrorCode::FileRead, "cannot read x");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "file.read", "message": "cannot read x"})
        );
    }
}
