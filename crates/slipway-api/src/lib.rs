//! The commands of the Slipway desktop app, as plain functions over the store: the library
//! (list, get, save, history, diff, restore), deployments (open, save) and recipe files
//! (validate, export, import). The Tauri shell (`src-tauri`) only forwards to these; tests call
//! them directly, or through [`dispatch`] with the JSON the UI sends — a desktop is never needed.
//!
//! Architecture invariant: no Tauri, no async runtime, no window. Every command is declared once
//! in [`for_each_command!`] (name, arguments, result); the Tauri handler list, [`dispatch`],
//! [`COMMANDS`] and the TypeScript `Commands` map are all generated from that one list, so a
//! command without a handler does not compile.

mod commands;
mod dto;
mod error;
mod examples;
mod notices;
mod runs;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use slipway_store::Store;

pub use commands::*;
pub use dto::{DiffChunk, ImportResult, ModuleBody, ModuleSummary, ModuleVersion, VersionInfo};
pub use error::{CommandError, ErrorCode};
pub use examples::EXAMPLES;
pub use notices::{run_end_notice, watch_run_ends, RunEnded};
pub use runs::{
    follow_stop, launch_plan, report_open, run_delete, run_follow, run_get, run_launch, run_logs,
    run_recipe, run_resume, run_scale, run_scale_plan, run_terminate, runs_follow, runs_list,
    CloudCount, LaunchInput, LaunchNode, LaunchPlan, Placement, RunUpdate, UnusableCloud,
};
pub use slipway_engine::ScalePlan;
pub use slipway_recipe::KeepRunning;
pub use slipway_store::{LogLine, RunDetail, RunHistoryEntry};
// Types that appear in the declarations, re-exported so hosts need only this crate.
pub use dto::CloudsListing;
pub use slipway_clouds::CloudTest;
pub use slipway_recipe::{DiagnosticView, Recipe};
pub use slipway_store::{data_dir, ModuleKind};

/// A JSON value: how a module body arrives before its kind says how to read it.
pub type JsonValue = serde_json::Value;

/// The wall clock as unix milliseconds; tests pass a fixed one.
pub type Clock = Box<dyn Fn() -> i64 + Send + Sync>;

/// What every command runs against: the store (one connection, behind a lock), the clock that
/// stamps new versions, and the recipe file named on the command line.
pub struct Context {
    store: Mutex<Store>,
    clock: Clock,
    initial_file: Option<PathBuf>,
    /// The data directory (followers open their own connection to its store).
    home: PathBuf,
    /// The `slipway` binary that owns launched runs and terminates them.
    cli: PathBuf,
    /// Tokens of live updates the page stopped.
    stopped: Mutex<HashSet<String>>,
    /// The runs launched from this window, for the question asked on quitting.
    launched: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("initial_file", &self.initial_file)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context over `store` with the system clock.
    pub fn new(store: Store) -> Self {
        let home = store
            .path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(slipway_store::data_dir);
        Context {
            store: Mutex::new(store),
            clock: Box::new(system_now_ms),
            initial_file: None,
            home,
            cli: slipway_engine::cli_executable(),
            stopped: Mutex::new(HashSet::new()),
            launched: Mutex::new(Vec::new()),
        }
    }

    /// The runs launched from this window that are not final yet: on quitting, the app asks
    /// whether to keep them running in the background or terminate them.
    pub fn launched_and_going(&self) -> Vec<String> {
        let ids = self
            .launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let store = self.store();
        ids.into_iter()
            .filter(|id| matches!(store.run(id), Ok(Some(d)) if !d.run.state.is_final()))
            .collect()
    }

    /// Every run launched from this window.
    pub fn launched(&self) -> Vec<String> {
        self.launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn remember_launch(&self, id: &str) {
        self.launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id.to_string());
    }

    /// The `slipway` binary launched runs are owned by (default: [`slipway_engine::cli_executable`]).
    pub fn with_cli(mut self, cli: PathBuf) -> Self {
        self.cli = cli;
        self
    }

    fn stop_follow(&self, token: &str) {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_string());
    }

    fn follow_stopped(&self, token: &str) -> bool {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(token)
    }

    /// Opens the store in `home` and, the first time, seeds it with the starter examples.
    pub fn open_seeded(home: &std::path::Path) -> Result<Self, CommandError> {
        let mut store = Store::open(home)?;
        store.seed_examples(EXAMPLES, system_now_ms())?;
        Ok(Context::new(store))
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The recipe file to open at start (`slipway-desktop FILE`).
    pub fn with_initial_file(mut self, file: Option<PathBuf>) -> Self {
        self.initial_file = file;
        self
    }

    /// The store. A command that panicked left no half-written change (every store write is
    /// one transaction), so a poisoned lock is taken over rather than failing every later call.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}

fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Every desktop command, declared once: `name(ArgsStruct { field: Type, .. }) -> Result;`.
/// Calls `$callback!` with the whole list; field names are the argument keys the UI sends.
///
/// Each host expands this with its own macro: this crate makes the argument structs,
/// [`dispatch`] and [`COMMANDS`]; the Tauri shell makes one `#[tauri::command]` per entry and
/// its handler list.
#[macro_export]
macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            /// The library's modules of one kind (or all) whose name or description contains
            /// `query`, sorted by kind then name.
            library_list(LibraryListArgs {
                kind: Option<$crate::ModuleKind>,
                query: Option<String>,
            }) -> Vec<$crate::ModuleSummary>;
            /// One version of a module (the latest when `version` is absent).
            library_get(LibraryGetArgs {
                kind: $crate::ModuleKind,
                name: String,
                version: Option<u32>,
            }) -> $crate::ModuleVersion;
            /// Saves a module body as its next version; the version it is now at (unchanged when
            /// the body equals the latest).
            library_save(LibrarySaveArgs {
                kind: $crate::ModuleKind,
                name: String,
                #[ts(as = "ModuleBody")]
                body: $crate::JsonValue,
                comment: Option<String>,
            }) -> u32;
            /// Every version of a module, newest first.
            library_history(LibraryHistoryArgs {
                kind: $crate::ModuleKind,
                name: String,
            }) -> Vec<$crate::VersionInfo>;
            /// The line diff from version `a` to version `b`.
            library_diff(LibraryDiffArgs {
                kind: $crate::ModuleKind,
                name: String,
                a: u32,
                b: u32,
            }) -> Vec<$crate::DiffChunk>;
            /// Makes an old version the latest again, as a new version; the version now latest.
            library_restore(LibraryRestoreArgs {
                kind: $crate::ModuleKind,
                name: String,
                version: u32,
                comment: Option<String>,
            }) -> u32;
            /// A deployment with every component and image it uses, as one recipe.
            deployment_open(DeploymentOpenArgs {
                name: String,
                version: Option<u32>,
            }) -> $crate::Recipe;
            /// Saves the deployment and every changed component and image as new versions; the
            /// deployment's version.
            deployment_save(DeploymentSaveArgs {
                recipe: $crate::Recipe,
                comment: Option<String>,
            }) -> u32;
            /// The problems of a recipe: the same validator as `slipway validate`.
            recipe_validate(RecipeValidateArgs {
                recipe: $crate::Recipe,
            }) -> Vec<$crate::DiagnosticView>;
            /// Writes a recipe as a v1 `*.slipway.yaml` file; refuses a recipe with errors.
            recipe_export(RecipeExportArgs {
                recipe: $crate::Recipe,
                path: String,
            }) -> ();
            /// Reads a recipe file: when it is invalid, `ok` is false and nothing is stored; else
            /// its modules are imported into the library (as new versions when changed).
            recipe_import(RecipeImportArgs {
                path: String,
            }) -> $crate::ImportResult;
            /// Every cloud (built in and configured) with its secrets' states, every driver
            /// kind's settings, and why the keychain did not answer, if it did not.
            clouds_list(CloudsListArgs {}) -> $crate::CloudsListing;
            /// Adds a cloud, or with `replace` changes a configured one; settings are checked
            /// against the kind's declaration and nothing is stored when any is wrong.
            cloud_save(CloudSaveArgs {
                name: String,
                kind: String,
                settings: Vec<(String, String)>,
                replace: bool,
            }) -> ();
            /// Removes a configured cloud and its keychain entries; refused while a run uses it.
            cloud_remove(CloudRemoveArgs { name: String }) -> ();
            /// Stores a secret setting of a configured cloud in the OS keychain (only there).
            cloud_secret_set(CloudSecretSetArgs {
                cloud: String,
                key: String,
                value: String,
            }) -> ();
            /// Deletes a secret setting from the keychain.
            cloud_secret_remove(CloudSecretRemoveArgs { cloud: String, key: String }) -> ();
            /// Checks a cloud's settings and credentials without creating anything; a failure is
            /// the driver's exact error.
            cloud_test(CloudTestArgs { name: String }) -> $crate::CloudTest;
            /// The recipe file named on the command line, to open at start.
            app_initial_file(AppInitialFileArgs {}) -> Option<String>;
            /// The launch dialog: problems with this placement, clouds a node cannot use and
            /// why, the inputs that may be overridden, and the plan preview.
            launch_plan(LaunchPlanArgs {
                recipe: $crate::Recipe,
                placement: $crate::Placement,
            }) -> $crate::LaunchPlan;
            /// Saves the deployment when it changed and launches it; the run id. The run is
            /// owned by a background `slipway` process, as with `slipway run --detach`.
            run_launch(RunLaunchArgs {
                recipe: $crate::Recipe,
                placement: $crate::Placement,
                keep: Option<$crate::KeepRunning>,
            }) -> String;
            /// Every run (from the app or the CLI), newest first, with clouds and version.
            runs_list(RunsListArgs {}) -> Vec<$crate::RunHistoryEntry>;
            /// Everything recorded about one run but its logs.
            run_get(RunGetArgs { id: String }) -> $crate::RunDetail;
            /// The recipe a run used (its stored text, read back), for the run view's graph.
            run_recipe(RunRecipeArgs { id: String }) -> $crate::Recipe;
            /// Stored log lines of a run (or of one instance) after the line id `after`.
            run_logs(RunLogsArgs {
                id: String,
                instance: Option<String>,
                after: Option<i64>,
                limit: Option<u32>,
            }) -> Vec<$crate::LogLine>;
            /// Starts `slipway terminate RUN` in the background.
            run_terminate(RunTerminateArgs { id: String }) -> ();
            /// What `slipway scale RUN NODE CHANGE` would do (`slipway scale --dry-run`): the
            /// instances added or removed, their steps, where the hook runs. Refused as the
            /// scale itself would be.
            run_scale_plan(RunScalePlanArgs {
                id: String,
                node: String,
                change: String,
            }) -> $crate::ScalePlan;
            /// Starts `slipway scale RUN NODE CHANGE` (`+N` / `-N`) in the background, on a
            /// kept (`ready`) run.
            run_scale(RunScaleArgs {
                id: String,
                node: String,
                change: String,
            }) -> ();
            /// Starts `slipway resume RUN` in the background, on an interrupted run.
            run_resume(RunResumeArgs { id: String }) -> ();
            /// Deletes a finished run and its files; refused while it is not final.
            run_delete(RunDeleteArgs { id: String }) -> bool;
            /// Opens a fetched report, or its folder, with the desktop's default program.
            report_open(ReportOpenArgs {
                id: String,
                instance: String,
                path: String,
                folder: bool,
            }) -> ();
            /// Stops the live updates started with `token`.
            follow_stop(FollowStopArgs { token: String }) -> ();
        }
    };
}

/// Every live-update stream of the desktop, declared once: `name(ArgsStruct { .. }) -> Update;`.
/// The handler `slipway_api::name(ctx, args, send)` calls `send` (`Fn + Sync`: a handler may
/// send from more than one thread) with each update until it returns false or the stream ends;
/// the Tauri shell passes a `Channel` as `onEvent`.
#[macro_export]
macro_rules! for_each_stream {
    ($callback:ident $([$($before:tt)*])?) => {
        $callback! {
            $([$($before)*])?
            /// A run's detail whenever it changes and its new log lines, until it is final.
            run_follow(RunFollowArgs {
                id: String,
                after_log: Option<i64>,
                token: String,
            }) -> $crate::RunUpdate;
            /// The runs history whenever it changes (runs started by the CLI included).
            runs_follow(RunsFollowArgs { token: String }) -> Vec<$crate::RunHistoryEntry>;
        }
    };
}

/// Makes, from the declarations: the argument structs, [`COMMANDS`], [`dispatch`] and the
/// TypeScript of the arguments and of the `Commands` map.
macro_rules! declare_commands {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $ret:ty;
    )*) => {
        /// The argument structs of the commands, one per command, with the keys the UI sends.
        pub mod args {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("The arguments of `", stringify!($name), "`.")]
                #[derive(Clone, Debug, serde::Serialize, serde::Deserialize, ts_rs::TS)]
                #[serde(deny_unknown_fields)]
                #[ts(optional_fields)]
                pub struct $args { $($(#[$fmeta])* pub $field: $ty,)* }
            )*
        }

        /// The name of every command, in declaration order.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Runs the command `name` with the JSON arguments the UI sends, answering with the
        /// JSON it gets back; `None` when there is no such command. This is the test host: the
        /// same handlers and wire format as the desktop, without a desktop.
        pub fn dispatch(
            ctx: &Context,
            name: &str,
            args: serde_json::Value,
        ) -> Option<Result<serde_json::Value, CommandError>> {
            fn run<A: serde::de::DeserializeOwned, R: serde::Serialize>(
                name: &str,
                args: serde_json::Value,
                handler: impl FnOnce(A) -> Result<R, CommandError>,
            ) -> Result<serde_json::Value, CommandError> {
                let args = if args.is_null() { serde_json::json!({}) } else { args };
                let args: A = serde_json::from_value(args).map_err(|e| {
                    CommandError::new(ErrorCode::ArgsInvalid, format!("bad arguments to `{name}`: {e}"))
                })?;
                let result = handler(args)?;
                Ok(serde_json::to_value(result).expect("command results serialise"))
            }
            match name {
                $(stringify!($name) => Some(run(name, args, |a: args::$args| $name(ctx, a))),)*
                _ => None,
            }
        }

        /// TypeScript: each argument struct, then `Commands`, mapping each command name to its
        /// arguments and result.
        fn commands_typescript(file: &mut slipway_recipe::typescript::BindingsFile) {
            use ts_rs::TS;
            $(
                file.add::<args::$args>();
                file.uses::<$ret>();
            )*
            let cfg = file.config();
            let mut map = String::from("/**\n * Every command: the arguments the UI sends and the result it gets.\n */\ntype Commands = {\n");
            $(
                push_doc_comment(&mut map, &[$($doc),*]);
                map.push_str(&format!(
                    "  {}: {{ args: {}, result: {} }},\n",
                    stringify!($name),
                    <args::$args>::ident(cfg),
                    <$ret>::name(cfg),
                ));
            )*
            map.push_str("};");
            file.add_declaration("Commands", map);
        }
    };
}

for_each_command!(declare_commands);

/// A member's doc comment in a TypeScript map type (`Commands`, `Streams`), from its `///` lines.
fn push_doc_comment(map: &mut String, docs: &[&str]) {
    if docs.is_empty() {
        return;
    }
    map.push_str("  /**\n");
    for line in docs {
        map.push_str(&format!("   *{line}\n"));
    }
    map.push_str("   */\n");
}

/// The argument structs of the streams, [`STREAMS`], and their TypeScript `Streams` map.
macro_rules! declare_streams {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($args:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) -> $update:ty;
    )*) => {
        /// The argument structs of the streams (besides `onEvent`, the channel).
        pub mod stream_args {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("The arguments of `", stringify!($name), "`.")]
                #[derive(Clone, Debug, serde::Serialize, serde::Deserialize, ts_rs::TS)]
                #[serde(deny_unknown_fields)]
                #[ts(optional_fields)]
                pub struct $args { $($(#[$fmeta])* pub $field: $ty,)* }
            )*
        }

        /// The name of every stream, in declaration order.
        pub const STREAMS: &[&str] = &[$(stringify!($name)),*];

        fn streams_typescript(file: &mut slipway_recipe::typescript::BindingsFile) {
            use ts_rs::TS;
            $(
                file.add::<stream_args::$args>();
                file.uses::<$update>();
            )*
            let cfg = file.config();
            let mut map = String::from("/**\n * Every stream: the arguments the UI sends (besides `onEvent`) and each update.\n */\ntype Streams = {\n");
            $(
                push_doc_comment(&mut map, &[$($doc),*]);
                map.push_str(&format!(
                    "  {}: {{ args: {}, update: {} }},\n",
                    stringify!($name),
                    <stream_args::$args>::ident(cfg),
                    <$update>::name(cfg),
                ));
            )*
            map.push_str("};");
            file.add_declaration("Streams", map);
        }
    };
}

for_each_stream!(declare_streams);
pub use stream_args::{RunFollowArgs, RunsFollowArgs};

/// TypeScript declarations of the command types (`ui/src/bindings/api.ts`): the results, the
/// error, the argument structs and the `Commands` map, importing what they use from the recipe
/// and store bindings. A test fails when the committed file is stale.
pub fn typescript_bindings() -> String {
    let mut file = slipway_recipe::typescript::BindingsFile::new();
    file.add::<CommandError>();
    file.add::<ModuleSummary>();
    file.add::<ModuleBody>();
    file.add::<ModuleVersion>();
    file.add::<VersionInfo>();
    file.add::<DiffChunk>();
    file.add::<ImportResult>();
    file.add::<CloudsListing>();
    // A command result declared in the clouds bindings.
    file.uses_named::<CloudTest>();
    file.add::<Placement>();
    file.add::<UnusableCloud>();
    file.add::<LaunchNode>();
    file.add::<LaunchInput>();
    file.add::<CloudCount>();
    file.add::<LaunchPlan>();
    file.add::<RunHistoryEntry>();
    file.add::<RunUpdate>();
    file.add::<ScalePlan>();
    commands_typescript(&mut file);
    streams_typescript(&mut file);
    file.render(
        "// Generated from the command declarations of crates/slipway-api by its `generated` test. Do not\n// edit: run `UPDATE_EXPECT=1 cargo test -p slipway-api --test generated` instead.",
        &[
            ("./recipe", &slipway_recipe::typescript_bindings()),
            ("./store", &slipway_store::typescript_bindings()),
            ("./clouds", &slipway_clouds::typescript_bindings()),
        ],
    )
}
