// Generated from the Rust types of crates/slipway-store by its `generated` test. Do not edit:
// run `UPDATE_EXPECT=1 cargo test -p slipway-store --test generated` instead.

import type { Component, Deployment, Image, KeepRunning, Position } from "./recipe";

export type RunState = "initializing" | "provisioning" | "executing" | "reporting" | "ready" | "finalizing" | "done" | "aborted" | "cancelled";

export type InstanceState = "pending" | "provisioning" | "booting" | "installing" | "deploying" | "reporting" | "ready" | "terminating" | "terminated" | "failed";

export type StepKind = "provision" | "pre_install" | "packages" | "post_install" | "deployment" | "reporting" | "on_node_add" | "on_node_remove";

export type StepState = "pending" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

export type ParamKind = "input" | "output" | "builtin";

export type LogStream = "stdout" | "stderr" | "system";

export type RunSummary = { id: string, name: string, state: RunState, keep_running: KeepRunning, default_cloud: string, created_at: number, 
/**
 * When the run first left `initializing`.
 */
started_at: number | null, 
/**
 * When it reached a final state.
 */
ended_at: number | null, exit_code: number | null, error: string | null, owner_pid: number | null, owner_start_time: number | null, 
/**
 * Not final and not kept `ready`, and the process that drove it is gone (as seen when this
 * row was read).
 */
interrupted: boolean, };

export type Instance = { name: string, node: string, index: number, cloud: string, state: InstanceState, 
/**
 * The driver's id of the machine (container id, EC2 instance id, sandbox path, …).
 */
resource_id: string | null, hostname: string | null, 
/**
 * The step that failed, when `state` is `failed`.
 */
failed_step: StepKind | null, 
/**
 * Why it failed.
 */
reason: string | null, updated_at: number, };

export type Step = { instance: string, kind: StepKind, state: StepState, started_at: number | null, ended_at: number | null, exit_code: number | null, };

export type Transition = { id: number, instance: string | null, 
/**
 * `None` when the subject was created.
 */
from: string | null, to: string, at: number, detail: string | null, };

export type Param = { instance: string, name: string, kind: ParamKind, 
/**
 * `***` when `secret`.
 */
value: string, secret: boolean, updated_at: number, };

export type Report = { instance: string, 
/**
 * Relative to the instance's report directory.
 */
path: string, size: number, at: number, };

export type RunDetail = { run: RunSummary, recipe_text: string, 
/**
 * In the order they were added.
 */
instances: Array<Instance>, 
/**
 * In the order they were added.
 */
steps: Array<Step>, params: Array<Param>, 
/**
 * Oldest first.
 */
transitions: Array<Transition>, reports: Array<Report>, 
/**
 * The library module versions the run used; empty for a run of a file.
 */
modules: Array<ModuleRef>, };

export type LogLine = { id: number, run_id: string, instance: string | null, step: StepKind | null, stream: LogStream, line: string, at: number, };

export type ModuleKind = "image" | "component" | "deployment";

export type ModuleRef = { kind: ModuleKind, name: string, version: number, };

export type ModuleSummary = { kind: ModuleKind, name: string, 
/**
 * The newest version.
 */
latest: number, 
/**
 * The newest version's description.
 */
description: string | null, 
/**
 * When the newest version was saved.
 */
updated_at: number, };

export type ModuleVersion = { version: number, comment: string | null, created_at: number, };

export type DeploymentBody = { description?: string | null, deployment: Deployment, 
/**
 * Canvas positions of nodes.
 */
layout?: { [key in string]: Position }, };

export type ModuleBody = { "kind": "image", "body": Image } | { "kind": "component", "body": Component } | { "kind": "deployment", "body": DeploymentBody };

export type StoredModule = { name: string, version: number, comment: string | null, created_at: number, 
/**
 * Carries the kind.
 */
body: ModuleBody, };

export type ImportedModule = { kind: ModuleKind, name: string, version: number, 
/**
 * `false` when the body equalled the latest version, so no version was made.
 */
created_new: boolean, };

export type DiffTag = "equal" | "insert" | "delete";

export type DiffRow = { tag: DiffTag, 
/**
 * 1-based line in the older text; `None` for an inserted line.
 */
old_line: number | null, 
/**
 * 1-based line in the newer text; `None` for a deleted line.
 */
new_line: number | null, text: string, };

export type Cloud = { name: string, 
/**
 * The driver kind: `local`, `ssh`, `docker`, `ec2`, ….
 */
kind: string, 
/**
 * The driver's settings, never secrets.
 */
settings: Record<string, unknown>, created_at: number, updated_at: number, };
