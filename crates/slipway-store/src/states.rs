//! The names of run, instance and step states and of the other small vocabularies the store
//! writes as text (SPEC §4). The engine, the CLI and the UI use these same enums.
//!
//! Owns: the spelling of each name in the database and on the wire. Never: decide which
//! transition is allowed next (that is the engine's job); the store only records.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Declares a fieldless enum stored as a snake_case string, with `ALL`, `as_str`, `parse` and
/// `Display`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!("unknown {} `{text}`", stringify!($name)).into(),
                    )
                })
            }
        }
    };
}

string_enum! {
    /// The state of a run: `initializing → provisioning → executing → reporting → ready →
    /// finalizing → done`, or the final `aborted` (a failure) or `cancelled` (the user stopped it).
    pub enum RunState {
        Initializing = "initializing",
        Provisioning = "provisioning",
        Executing = "executing",
        Reporting = "reporting",
        Ready = "ready",
        Finalizing = "finalizing",
        Done = "done",
        Aborted = "aborted",
        Cancelled = "cancelled",
    }
}

impl RunState {
    /// `done`, `aborted` and `cancelled`: nothing happens to the run after them.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Done | RunState::Aborted | RunState::Cancelled
        )
    }
}

string_enum! {
    /// The state of one instance: `pending → provisioning → booting → installing → deploying →
    /// reporting → ready`, then `terminating → terminated`; or `failed`.
    pub enum InstanceState {
        Pending = "pending",
        Provisioning = "provisioning",
        Booting = "booting",
        Installing = "installing",
        Deploying = "deploying",
        Reporting = "reporting",
        Ready = "ready",
        Terminating = "terminating",
        Terminated = "terminated",
        Failed = "failed",
    }
}

string_enum! {
    /// What a step of an instance does, in the order they run (SPEC §3).
    pub enum StepKind {
        Provision = "provision",
        PreInstall = "pre_install",
        Packages = "packages",
        PostInstall = "post_install",
        Deployment = "deployment",
        Reporting = "reporting",
        OnNodeAdd = "on_node_add",
        OnNodeRemove = "on_node_remove",
    }
}

string_enum! {
    /// The state of one step.
    pub enum StepState {
        Pending = "pending",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Skipped = "skipped",
        Cancelled = "cancelled",
    }
}

impl StepState {
    /// Every state but `pending` and `running`.
    pub fn is_final(self) -> bool {
        !matches!(self, StepState::Pending | StepState::Running)
    }
}

string_enum! {
    /// Where a runtime parameter comes from.
    pub enum ParamKind {
        Input = "input",
        Output = "output",
        /// `hostname`, `instance_id`, `index`, `node`, `cloud`.
        Builtin = "builtin",
    }
}

string_enum! {
    /// Which stream a log line came from; `system` lines are Slipway's own.
    pub enum LogStream {
        Stdout = "stdout",
        Stderr = "stderr",
        System = "system",
    }
}

string_enum! {
    /// The three kinds of library module (SPEC §1).
    pub enum ModuleKind {
        Image = "image",
        Component = "component",
        Deployment = "deployment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in RunState::ALL {
            assert_eq!(RunState::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for s in StepKind::ALL {
            assert_eq!(StepKind::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(
            InstanceState::parse("terminated"),
            Some(InstanceState::Terminated)
        );
        assert_eq!(RunState::parse("Done"), None);
        assert!(RunState::Cancelled.is_final() && !RunState::Ready.is_final());
    }
}
