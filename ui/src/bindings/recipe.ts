// Generated from the Rust types of crates/slipway-recipe by its `generated` test. Do not edit:
// run `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test generated` instead.

export type Recipe = { 
/**
 * Format version; must be 1.
 */
slipway: number, 
/**
 * Name of the deployment.
 */
name: string, description?: string | null, 
/**
 * Base machines, by name.
 */
images?: { [key in string]: Image }, 
/**
 * Machine roles built on an image, by name.
 */
components?: { [key in string]: Component }, deployment: Deployment, 
/**
 * Canvas positions of nodes; optional.
 */
layout?: { [key in string]: Position }, };

export type Image = { description?: string | null, 
/**
 * The user recipes log in as on clouds reached over SSH.
 */
login_user?: string | null, 
/**
 * Per-cloud image ids and sizes. Key: a cloud name or a driver kind; a cloud name wins.
 */
clouds?: { [key in string]: CloudImage }, recipes?: ImageRecipes, };

export type CloudImage = { 
/**
 * The cloud's image id (an AMI id, a Docker image reference, …).
 */
image?: string | null, 
/**
 * The cloud's machine size (an instance type, …).
 */
size?: string | null, };

export type ImageRecipes = { pre_install?: string | null, 
/**
 * Packages installed with the machine's package manager.
 */
packages?: Array<string>, post_install?: string | null, };

export type Component = { description?: string | null, 
/**
 * The image: `name` (latest version) or `name@3` (pinned version).
 */
image: string, inputs?: { [key in string]: InputSpec }, outputs?: { [key in string]: OutputSpec }, recipes?: ComponentRecipes, };

export type InputSpec = { description?: string | null, 
/**
 * A node must wire or give this input (or it is set with `--set`).
 */
required?: boolean, 
/**
 * The value used when a node neither wires nor gives one.
 */
default?: string | null, 
/**
 * The value is masked as `***` wherever output is shown or stored, and never saved.
 */
secret?: boolean, 
/**
 * Generate a random value of this many characters at launch.
 */
generate?: number | null, };

export type OutputSpec = { description?: string | null, };

export type ComponentRecipes = { deployment?: string | null, reporting?: string | null, on_node_add?: string | null, on_node_remove?: string | null, };

export type KeepRunning = "never" | "always" | "on-success" | "on-error";

export type Deployment = { keep_running: KeepRunning, nodes: { [key in string]: Node }, };

export type Node = { component: string, multiplicity?: number, 
/**
 * The cloud this node runs on; the run's default cloud when absent.
 */
cloud?: string | null, 
/**
 * Input values: a literal, or a wire `{ from: node.param }` / `{ from: node.2.param }`.
 */
inputs?: { [key in string]: InputValue }, };

export type InputValue = string | { 
/**
 * `node.param` (all instances, joined by `,`) or `node.N.param` (instance N).
 */
from: string, };

export type Position = { x: number, y: number, };

export type Severity = "error" | "warning";

export type DiagnosticView = { severity: Severity, 
/**
 * A stable code such as `unknown-key`.
 */
code: string, message: string, hint: string | null, 
/**
 * Dotted model path, such as `deployment.nodes.web.inputs.db_host`.
 */
path: string, line: number | null, column: number | null, };
