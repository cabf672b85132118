// Generated from the command declarations of crates/slipway-api by its `generated` test. Do not
// edit: run `UPDATE_EXPECT=1 cargo test -p slipway-api --test generated` instead.

import type { Component, DiagnosticView, Image, KeepRunning, Recipe } from "./recipe";
import type { DeploymentBody, DiffTag, LogLine, ModuleKind, RunDetail, RunSummary, StepKind } from "./store";
import type { CloudTest, CloudView, KindInfo } from "./clouds";

export type CommandError = { 
/**
 * One of a fixed list (`store.not_found`, `recipe.invalid`, `file.read`, …); match on it.
 */
code: string, message: string, };

export type ModuleSummary = { kind: ModuleKind, name: string, latest_version: number, 
/**
 * The latest version's description.
 */
description: string | null, 
/**
 * When the latest version was saved (RFC 3339).
 */
updated_at: string, };

export type ModuleBody = Image | Component | DeploymentBody;

export type ModuleVersion = { kind: ModuleKind, name: string, version: number, body: ModuleBody, };

export type VersionInfo = { version: number, comment: string | null, 
/**
 * RFC 3339.
 */
created_at: string, };

export type DiffChunk = { tag: DiffTag, text: string, };

export type ImportResult = { ok: boolean, problems: Array<DiagnosticView>, recipe?: Recipe, };

export type CloudsListing = { clouds: Array<CloudView>, kinds: Array<KindInfo>, 
/**
 * Why no keychain answered (with how to fix it); `null` when it did.
 */
keychain_error: string | null, };

export type Placement = { 
/**
 * The cloud of every node without an override (`local` when absent).
 */
cloud?: string, 
/**
 * Per-node overrides: node → cloud.
 */
node_clouds: Array<[string, string]>, 
/**
 * Input overrides: node, input, value. Secret values are used and forgotten.
 */
inputs: Array<[string, string, string]>, };

export type UnusableCloud = { cloud: string, reason: string, };

export type LaunchNode = { node: string, component: string, multiplicity: number, 
/**
 * The cloud it would run on with the chosen placement.
 */
cloud: string, 
/**
 * Known clouds its image has no mapping for.
 */
unusable: Array<UnusableCloud>, };

export type LaunchInput = { node: string, input: string, secret: boolean, required: boolean, 
/**
 * Generated at launch when nothing is given.
 */
generated: boolean, 
/**
 * The node's value or the component's default; never a secret's value.
 */
value: string | null, };

export type CloudCount = { cloud: string, instances: number, };

export type LaunchPlan = { problems: Array<DiagnosticView>, 
/**
 * Every known cloud (built in and configured): name, kind.
 */
clouds: Array<[string, string]>, nodes: Array<LaunchNode>, inputs: Array<LaunchInput>, keep_running: KeepRunning, per_cloud: Array<CloudCount>, steps: number, 
/**
 * The names (`web.1/deployment`) of the steps on the critical path.
 */
critical_path: Array<string>, 
/**
 * Its length in steps (each estimated at one unit).
 */
lower_bound: number, };

export type RunHistoryEntry = { run: RunSummary, 
/**
 * The distinct clouds of its instances (the default cloud before any instance exists).
 */
clouds: Array<string>, 
/**
 * The library version of the deployment it ran; `None` for a run of a file.
 */
deployment_version: number | null, };

export type RunUpdate = { "type": "detail", detail: RunDetail, } | { "type": "logs", lines: Array<LogLine>, } | { "type": "end" };

export type ScalePlan = { run_id: string, node: string, 
/**
 * `+N` / `-N`.
 */
delta: number, 
/**
 * The node's cloud: where its instances are, so where new ones go.
 */
cloud: string, 
/**
 * Instances the node has now (not terminated).
 */
live: number, 
/**
 * New instances, in index order (indexes are never reused within a run).
 */
add: Array<string>, 
/**
 * The steps each new instance runs, in order, as a launch runs them.
 */
steps: Array<StepKind>, 
/**
 * Instances terminated (the highest indexes), after the hook.
 */
remove: Array<string>, 
/**
 * `on_node_add` for `+N`, `on_node_remove` for `-N`.
 */
hook: StepKind, 
/**
 * The instances that run the hook: the ready instances of the node and of every node that
 * reads one of its outputs, whose component has that recipe (not the ones removed).
 */
hook_on: Array<string>, 
/**
 * The nodes the hook concerns (the node and its readers) whose component has no such
 * recipe: nothing runs there.
 */
hook_missing: Array<string>, };

export type LibraryListArgs = { kind?: ModuleKind, query?: string, };

export type LibraryGetArgs = { kind: ModuleKind, name: string, version?: number, };

export type LibrarySaveArgs = { kind: ModuleKind, name: string, body: ModuleBody, comment?: string, };

export type LibraryHistoryArgs = { kind: ModuleKind, name: string, };

export type LibraryDiffArgs = { kind: ModuleKind, name: string, a: number, b: number, };

export type LibraryRestoreArgs = { kind: ModuleKind, name: string, version: number, comment?: string, };

export type DeploymentOpenArgs = { name: string, version?: number, };

export type DeploymentSaveArgs = { recipe: Recipe, comment?: string, };

export type RecipeValidateArgs = { recipe: Recipe, };

export type RecipeExportArgs = { recipe: Recipe, path: string, };

export type RecipeImportArgs = { path: string, };

export type CloudsListArgs = Record<symbol, never>;

export type CloudSaveArgs = { name: string, kind: string, settings: Array<[string, string]>, replace: boolean, };

export type CloudRemoveArgs = { name: string, };

export type CloudSecretSetArgs = { cloud: string, key: string, value: string, };

export type CloudSecretRemoveArgs = { cloud: string, key: string, };

export type CloudTestArgs = { name: string, };

export type AppInitialFileArgs = Record<symbol, never>;

export type LaunchPlanArgs = { recipe: Recipe, placement: Placement, };

export type RunLaunchArgs = { recipe: Recipe, placement: Placement, keep?: KeepRunning, };

export type RunsListArgs = Record<symbol, never>;

export type RunGetArgs = { id: string, };

export type RunRecipeArgs = { id: string, };

export type RunLogsArgs = { id: string, instance?: string, after?: number, limit?: number, };

export type RunTerminateArgs = { id: string, };

export type RunScalePlanArgs = { id: string, node: string, change: string, };

export type RunScaleArgs = { id: string, node: string, change: string, };

export type RunResumeArgs = { id: string, };

export type RunDeleteArgs = { id: string, };

export type ReportOpenArgs = { id: string, instance: string, path: string, folder: boolean, };

export type FollowStopArgs = { token: string, };

/**
 * Every command: the arguments the UI sends and the result it gets.
 */
export type Commands = {
  /**
   * The library's modules of one kind (or all) whose name or description contains
   * `query`, sorted by kind then name.
   */
  library_list: { args: LibraryListArgs, result: Array<ModuleSummary> },
  /**
   * One version of a module (the latest when `version` is absent).
   */
  library_get: { args: LibraryGetArgs, result: ModuleVersion },
  /**
   * Saves a module body as its next version; the version it is now at (unchanged when
   * the body equals the latest).
   */
  library_save: { args: LibrarySaveArgs, result: number },
  /**
   * Every version of a module, newest first.
   */
  library_history: { args: LibraryHistoryArgs, result: Array<VersionInfo> },
  /**
   * The line diff from version `a` to version `b`.
   */
  library_diff: { args: LibraryDiffArgs, result: Array<DiffChunk> },
  /**
   * Makes an old version the latest again, as a new version; the version now latest.
   */
  library_restore: { args: LibraryRestoreArgs, result: number },
  /**
   * A deployment with every component and image it uses, as one recipe.
   */
  deployment_open: { args: DeploymentOpenArgs, result: Recipe },
  /**
   * Saves the deployment and every changed component and image as new versions; the
   * deployment's version.
   */
  deployment_save: { args: DeploymentSaveArgs, result: number },
  /**
   * The problems of a recipe: the same validator as `slipway validate`.
   */
  recipe_validate: { args: RecipeValidateArgs, result: Array<DiagnosticView> },
  /**
   * Writes a recipe as a v1 `*.slipway.yaml` file; refuses a recipe with errors.
   */
  recipe_export: { args: RecipeExportArgs, result: null },
  /**
   * Reads a recipe file: when it is invalid, `ok` is false and nothing is stored; else
   * its modules are imported into the library (as new versions when changed).
   */
  recipe_import: { args: RecipeImportArgs, result: ImportResult },
  /**
   * Every cloud (built in and configured) with its secrets' states, every driver
   * kind's settings, and why the keychain did not answer, if it did not.
   */
  clouds_list: { args: CloudsListArgs, result: CloudsListing },
  /**
   * Adds a cloud, or with `replace` changes a configured one; settings are checked
   * against the kind's declaration and nothing is stored when any is wrong.
   */
  cloud_save: { args: CloudSaveArgs, result: null },
  /**
   * Removes a configured cloud and its keychain entries; refused while a run uses it.
   */
  cloud_remove: { args: CloudRemoveArgs, result: null },
  /**
   * Stores a secret setting of a configured cloud in the OS keychain (only there).
   */
  cloud_secret_set: { args: CloudSecretSetArgs, result: null },
  /**
   * Deletes a secret setting from the keychain.
   */
  cloud_secret_remove: { args: CloudSecretRemoveArgs, result: null },
  /**
   * Checks a cloud's settings and credentials without creating anything; a failure is
   * the driver's exact error.
   */
  cloud_test: { args: CloudTestArgs, result: CloudTest },
  /**
   * The recipe file named on the command line, to open at start.
   */
  app_initial_file: { args: AppInitialFileArgs, result: string | null },
  /**
   * The launch dialog: problems with this placement, clouds a node cannot use and
   * why, the inputs that may be overridden, and the plan preview.
   */
  launch_plan: { args: LaunchPlanArgs, result: LaunchPlan },
  /**
   * Saves the deployment when it changed and launches it; the run id. The run is
   * owned by a background `slipway` process, as with `slipway run --detach`.
   */
  run_launch: { args: RunLaunchArgs, result: string },
  /**
   * Every run (from the app or the CLI), newest first, with clouds and version.
   */
  runs_list: { args: RunsListArgs, result: Array<RunHistoryEntry> },
  /**
   * Everything recorded about one run but its logs.
   */
  run_get: { args: RunGetArgs, result: RunDetail },
  /**
   * The recipe a run used (its stored text, read back), for the run view's graph.
   */
  run_recipe: { args: RunRecipeArgs, result: Recipe },
  /**
   * Stored log lines of a run (or of one instance) after the line id `after`.
   */
  run_logs: { args: RunLogsArgs, result: Array<LogLine> },
  /**
   * Starts `slipway terminate RUN` in the background.
   */
  run_terminate: { args: RunTerminateArgs, result: null },
  /**
   * What `slipway scale RUN NODE CHANGE` would do (`slipway scale --dry-run`): the
   * instances added or removed, their steps, where the hook runs. Refused as the
   * scale itself would be.
   */
  run_scale_plan: { args: RunScalePlanArgs, result: ScalePlan },
  /**
   * Starts `slipway scale RUN NODE CHANGE` (`+N` / `-N`) in the background, on a
   * kept (`ready`) run.
   */
  run_scale: { args: RunScaleArgs, result: null },
  /**
   * Starts `slipway resume RUN` in the background, on an interrupted run.
   */
  run_resume: { args: RunResumeArgs, result: null },
  /**
   * Deletes a finished run and its files; refused while it is not final.
   */
  run_delete: { args: RunDeleteArgs, result: boolean },
  /**
   * Opens a fetched report, or its folder, with the desktop's default program.
   */
  report_open: { args: ReportOpenArgs, result: null },
  /**
   * Stops the live updates started with `token`.
   */
  follow_stop: { args: FollowStopArgs, result: null },
};

export type RunFollowArgs = { id: string, after_log?: number, token: string, };

export type RunsFollowArgs = { token: string, };

/**
 * Every stream: the arguments the UI sends (besides `onEvent`) and each update.
 */
export type Streams = {
  /**
   * A run's detail whenever it changes and its new log lines, until it is final.
   */
  run_follow: { args: RunFollowArgs, update: RunUpdate },
  /**
   * The runs history whenever it changes (runs started by the CLI included).
   */
  runs_follow: { args: RunsFollowArgs, update: Array<RunHistoryEntry> },
};
