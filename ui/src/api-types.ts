// TEMPORARY until generated into ./bindings/store.ts
// Transport types of the library (module store) commands. Field names are the Rust side's
// (snake_case) on purpose: a colleague replaces this file with generated bindings.

import type { Component, DiagnosticView, Image, Deployment, Position, Recipe } from "./bindings/recipe";

export type ModuleKind = "image" | "component" | "deployment";

/** One module in the library list (its latest version). */
export interface ModuleSummary {
  kind: ModuleKind;
  name: string;
  latest_version: number;
  description: string | null;
  /** RFC 3339 timestamp. */
  updated_at: string;
}

/** A stored deployment module: the graph and its layout, without the modules it uses. */
export interface DeploymentBody {
  description?: string | null;
  deployment: Deployment;
  layout?: { [node: string]: Position };
}

export type ModuleBody = Image | Component | DeploymentBody;

/** One version of a module. */
export interface ModuleVersion {
  kind: ModuleKind;
  name: string;
  version: number;
  body: ModuleBody;
}

/** One entry of a module's history, newest first. */
export interface VersionInfo {
  version: number;
  comment: string | null;
  /** RFC 3339 timestamp. */
  created_at: string;
}

export interface DiffChunk {
  tag: "equal" | "insert" | "delete";
  text: string;
}

export interface ImportResult {
  ok: boolean;
  problems: DiagnosticView[];
  recipe?: Recipe;
}

/** How every command error crosses IPC: a stable code and a human message. */
export interface CommandError {
  code: string;
  message: string;
}
