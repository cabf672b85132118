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
} from "./bindings/api";
export type { DeploymentBody, ModuleKind } from "./bindings/store";
export type { CloudTest, CloudView, KindInfo, SecretState, SettingInfo } from "./bindings/clouds";
