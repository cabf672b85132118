// The ONE module that talks to the Rust side: every Tauri command and native dialog the designer uses.
// Owns: command names, argument keys (camelCase, as Tauri 2 maps them to snake_case Rust
// parameters) and result types. Never: UI state. Outside Tauri (a plain browser, for visual work
// only) the calls go to ./preview-backend instead; tests never use it.

import type { DiagnosticView, Recipe } from "./bindings/recipe";
import type {
  CloudsListing,
  CloudTest,
  CommandError,
  DiffChunk,
  ImportResult,
  ModuleBody,
  ModuleKind,
  ModuleSummary,
  ModuleVersion,
  VersionInfo,
  KeepRunning,
  LaunchPlan,
  LogLine,
  Placement,
  RunDetail,
  RunHistoryEntry,
  RunUpdate,
  ScalePlan,
} from "./api-types";

export type { CommandError } from "./api-types";

/** A failed command, carrying the stable code the Rust side sent. Match on `code`, never on text. */
export class ApiError extends Error implements CommandError {
  readonly code: string;
  constructor(error: CommandError) {
    super(error.message);
    this.name = "ApiError";
    this.code = error.code;
  }
}

export function toCommandError(e: unknown): CommandError {
  if (e instanceof ApiError) return { code: e.code, message: e.message };
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    return { code: String(code), message: String(message) };
  }
  if (typeof e === "string") return { code: "unknown", message: e };
  if (e instanceof Error) return { code: "unknown", message: e.message };
  return { code: "unknown", message: String(e) };
}

type Invoke = <T>(command: string, args?: Record<string, unknown>) => Promise<T>;

/** Whether the page runs inside the Tauri shell. */
export const inTauri = (): boolean =>
  typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;

let invoker: Promise<Invoke> | null = null;
function getInvoke(): Promise<Invoke> {
  invoker ??= inTauri()
    ? import("@tauri-apps/api/core").then((m) => m.invoke as Invoke)
    : import("./preview-backend").then((m) => m.previewInvoke as Invoke);
  return invoker;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  const invoke = await getInvoke();
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw new ApiError(toCommandError(e));
  }
}

// ------------------------------------------------------------------ library

export const libraryList = (args: { kind?: ModuleKind; query?: string } = {}) =>
  call<ModuleSummary[]>("library_list", args);

export const libraryGet = (args: { kind: ModuleKind; name: string; version?: number }) =>
  call<ModuleVersion>("library_get", args);

export const librarySave = (args: { kind: ModuleKind; name: string; body: ModuleBody; comment?: string }) =>
  call<number>("library_save", args);

export const libraryHistory = (args: { kind: ModuleKind; name: string }) =>
  call<VersionInfo[]>("library_history", args);

export const libraryDiff = (args: { kind: ModuleKind; name: string; a: number; b: number }) =>
  call<DiffChunk[]>("library_diff", args);

export const libraryRestore = (args: { kind: ModuleKind; name: string; version: number; comment?: string }) =>
  call<number>("library_restore", args);

// ------------------------------------------------------------------ deployments and recipe files

/** The deployment with every component and image it uses, as one Recipe. */
export const deploymentOpen = (args: { name: string; version?: number }) =>
  call<Recipe>("deployment_open", args);

/** Saves the deployment and every changed component/image as new versions; the deployment's version. */
export const deploymentSave = (args: { recipe: Recipe; comment?: string }) =>
  call<number>("deployment_save", args);

/** The same validator as `slipway validate`. */
export const recipeValidate = (args: { recipe: Recipe }) =>
  call<DiagnosticView[]>("recipe_validate", args);

/** Writes the recipe as a v1 `*.slipway.yaml` file. */
export const recipeExport = (args: { recipe: Recipe; path: string }) => call<void>("recipe_export", args);

/** Reads a recipe file; when invalid, `ok` is false and nothing was stored. */
export const recipeImport = (args: { path: string }) => call<ImportResult>("recipe_import", args);

/** A recipe file named on the command line, to open at start. */
export const appInitialFile = () => call<string | null>("app_initial_file");

// ------------------------------------------------------------------ clouds

/** Every cloud with its secrets' states, every kind's settings, and why no keychain answered. */
export const cloudsList = () => call<CloudsListing>("clouds_list", {});

/** Adds a cloud (or with `replace` changes one); settings are checked by the kind's declaration. */
export const cloudSave = (args: { name: string; kind: string; settings: [string, string][]; replace: boolean }) =>
  call<void>("cloud_save", args);

/** Removes a cloud and its keychain entries; refused while a run uses it. */
export const cloudRemove = (args: { name: string }) => call<void>("cloud_remove", args);

/** Writes a secret straight to the OS keychain (never anywhere else). */
export const cloudSecretSet = (args: { cloud: string; key: string; value: string }) =>
  call<void>("cloud_secret_set", args);

export const cloudSecretRemove = (args: { cloud: string; key: string }) => call<void>("cloud_secret_remove", args);

/** Checks settings and credentials without creating anything: ok, or the driver's exact error. */
export const cloudTest = (args: { name: string }) => call<CloudTest>("cloud_test", args);

// ------------------------------------------------------------------ runs

/** The launch dialog's content: problems with this placement, clouds, inputs, the plan preview. */
export const launchPlan = (args: { recipe: Recipe; placement: Placement }) => call<LaunchPlan>("launch_plan", args);

/** Saves the deployment when changed and launches it (owned by a background `slipway`); the run id. */
export const runLaunch = (args: { recipe: Recipe; placement: Placement; keep?: KeepRunning }) =>
  call<string>("run_launch", args);

export const runsList = () => call<RunHistoryEntry[]>("runs_list", {});
export const runGet = (args: { id: string }) => call<RunDetail>("run_get", args);
export const runRecipe = (args: { id: string }) => call<Recipe>("run_recipe", args);
export const runLogs = (args: { id: string; instance?: string; after?: number; limit?: number }) =>
  call<LogLine[]>("run_logs", args);
/** Starts `slipway terminate RUN` in the background; the run view shows the rest. */
export const runTerminate = (args: { id: string }) => call<void>("run_terminate", args);
/** What `slipway scale RUN NODE +N|-N` would do (`--dry-run`); refused as the scale would be. */
export const runScalePlan = (args: { id: string; node: string; change: string }) =>
  call<ScalePlan>("run_scale_plan", args);
/** Starts `slipway scale RUN NODE +N|-N` in the background on a kept (`ready`) run. */
export const runScale = (args: { id: string; node: string; change: string }) => call<void>("run_scale", args);
/** Starts `slipway resume RUN` in the background on an interrupted run; it becomes the owner. */
export const runResume = (args: { id: string }) => call<void>("run_resume", args);
export const runDelete = (args: { id: string }) => call<boolean>("run_delete", args);
export const reportOpen = (args: { id: string; instance: string; path: string; folder: boolean }) =>
  call<void>("report_open", args);

let followCount = 0;

/**
 * Starts a live stream (a Tauri `Channel`, not global events); the function it returns stops it.
 * Outside Tauri there are no runs: nothing is sent.
 */
function follow<T>(command: string, args: Record<string, unknown>, onUpdate: (update: T) => void): () => void {
  if (!inTauri()) return () => {};
  const token = `${command}-${Date.now()}-${++followCount}`;
  let stopped = false;
  void import("@tauri-apps/api/core").then(({ Channel }) => {
    if (stopped) return;
    const channel = new Channel<T>();
    channel.onmessage = (update) => {
      if (!stopped) onUpdate(update);
    };
    return call<void>(command, { ...args, token, onEvent: channel });
  });
  return () => {
    stopped = true;
    void call<void>("follow_stop", { token }).catch(() => {});
  };
}

/** A run's detail whenever it changes and its new log lines, until it is final. */
export const runFollow = (args: { id: string; afterLog?: number }, onUpdate: (u: RunUpdate) => void) =>
  follow<RunUpdate>("run_follow", args, onUpdate);

/** The runs history whenever it changes (runs started by the CLI included). */
export const runsFollow = (onUpdate: (runs: RunHistoryEntry[]) => void) => follow<RunHistoryEntry[]>("runs_follow", {}, onUpdate);

// ------------------------------------------------------------------ native dialogs

const RECIPE_FILTER = { name: "Slipway recipe (*.slipway.yaml)", extensions: ["slipway.yaml"] };
const YAML_FILTER = { name: "YAML", extensions: ["yaml", "yml"] };

export async function chooseRecipeToImport(): Promise<string | null> {
  if (!inTauri()) return (await import("./preview-backend")).previewChooseFile();
  const { open } = await import("@tauri-apps/plugin-dialog");
  const picked = await open({ multiple: false, directory: false, filters: [RECIPE_FILTER, YAML_FILTER], title: "Import a recipe" });
  return typeof picked === "string" ? picked : null;
}

export async function chooseExportPath(suggestedName: string): Promise<string | null> {
  if (!inTauri()) return `${suggestedName}.slipway.yaml`;
  const { save } = await import("@tauri-apps/plugin-dialog");
  const path = await save({
    filters: [RECIPE_FILTER],
    defaultPath: `${suggestedName}.slipway.yaml`,
    title: "Export the recipe",
  });
  if (!path) return null;
  // Some platforms keep only the last extension of a filter: make sure the name is right.
  return /\.ya?ml$/i.test(path) ? path : `${path}.slipway.yaml`;
}

/** Asks a yes/no question with the native dialog (the browser's outside Tauri). */
export async function confirmDialog(message: string, title = "Slipway"): Promise<boolean> {
  if (!inTauri()) return window.confirm(message);
  const { ask } = await import("@tauri-apps/plugin-dialog");
  return ask(message, { title, kind: "warning" });
}
