// Generated from the command declarations of crates/slipway-api by its `generated` test. Do not
// edit: run `UPDATE_EXPECT=1 cargo test -p slipway-api --test generated` instead.

import type { Component, DiagnosticView, Image, Recipe } from "./recipe";
import type { DeploymentBody, DiffTag, ModuleKind } from "./store";
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
};
