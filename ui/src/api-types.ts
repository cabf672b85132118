// Transport types of the commands, generated from the Rust side: the command results and the
// error from ./bindings/api (crates/slipway-api), the module vocabulary from ./bindings/store,
// clouds from ./bindings/clouds (crates/slipway-clouds).
// Never declare a transport type here by hand; change the Rust type and regenerate.

export type {
  CloudsListing,
  CommandError,
  DiffChunk,
  ImportResult,
  ModuleBody,
  ModuleSummary,
  ModuleVersion,
  VersionInfo,
  CloudCount,
  LaunchInput,
  LaunchNode,
  LaunchPlan,
  Placement,
  RunHistoryEntry,
  RunUpdate,
  ScalePlan,
  UnusableCloud,
} from "./bindings/api";
export type {
  Instance,
  InstanceState,
  LogLine,
  Param,
  Report,
  RunDetail,
  RunState,
  RunSummary,
  Step,
  StepKind,
  StepState,
} from "./bindings/store";
export type { KeepRunning } from "./bindings/recipe";
export type { DeploymentBody, ModuleKind } from "./bindings/store";
export type { CloudTest, CloudView, KindInfo, SecretState, SettingInfo } from "./bindings/clouds";
