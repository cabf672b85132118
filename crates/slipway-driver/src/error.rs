//! Errors a driver returns. Callers decide on retries and exit codes from [`ErrorKind`], never
//! from the message text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What went wrong, coarsely enough for the engine to decide what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The cloud's settings are wrong or incomplete (a missing field, a bad region, …).
    BadSettings,
    /// Credentials are missing, wrong or lack a permission.
    Auth,
    /// The cloud refuses for lack of quota or capacity.
    Quota,
    /// A failure that may go away when tried again (network, throttling, a busy API).
    Transient,
    /// The instance or resource does not exist (any more).
    NotFound,
    /// The operation was stopped through its cancellation token.
    Cancelled,
    /// The recipe itself is at fault although its script may have exited 0 (a malformed
    /// `SLIPWAY_OUTPUT`, packages that are not there): a failure of the deployment, not of the
    /// cloud, so the run exits 1.
    Recipe,
    Other,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadSettings => "bad_settings",
            ErrorKind::Auth => "auth",
            ErrorKind::Quota => "quota",
            ErrorKind::Transient => "transient",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Recipe => "recipe",
            ErrorKind::Other => "other",
        }
    }

    /// Whether trying the same call again, after a pause, may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A driver failure: a kind to act on and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DriverError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DriverError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_settings(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadSettings, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }

    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Quota, message)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }

    pub fn recipe(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Recipe, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Display for DriverError {
    /// The message alone: the kind is for programs, and messages already say what happened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DriverError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_errors_are_retryable() {
        let kinds = [
            ErrorKind::BadSettings,
            ErrorKind::Auth,
            ErrorKind::Quota,
            ErrorKind::Transient,
            ErrorKind::NotFound,
            ErrorKind::Cancelled,
            ErrorKind::Recipe,
            ErrorKind::Other,
        ];
        let retryable: Vec<_> = kinds.into_iter().filter(|k| k.is_retryable()).collect();
        assert_eq!(retryable, [ErrorKind::Transient]);
        assert!(DriverError::transient("busy").is_retryable());
        assert!(!DriverError::auth("denied").is_retryable());
    }

    #[test]
    fn constructors_set_the_kind_and_display_shows_the_message() {
        let e = DriverError::quota("no more cores in eu-west-1");
        assert_eq!(e.kind, ErrorKind::Quota);
        assert_eq!(e.to_string(), "no more cores in eu-west-1");
        assert_eq!(DriverError::not_found("x").kind.as_str(), "not_found");
        assert_eq!(
            serde_json::to_string(&ErrorKind::BadSettings).unwrap(),
            "\"bad_settings\""
        );
    }
}
