// Generated from the Rust types of crates/slipway-recipe by its `generated` test. Do not edit:
// run `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test generated` instead.

export type Recipe = { 
/**
 * Format version; must be 1.
 */
slipway: number, 
/**
 * Name of the deployment: `[a-z][a-z0-9_-]*`, at most 64 characters.
 */
name: string, 
/**
 * Free text describing the deployment, shown in the library.
 */
description?: string | null, 
/**
 * Base machines, by name: per-cloud image ids and sizes, login user, image recipes.
 */
images?: { [key in string]: Image }, 
/**
 * Machine roles built on an image, by name: inputs, outputs and deployment recipes.
 */
components?: { [key in string]: Component }, 
/**
 * The graph of nodes: which components run, how many times, where, with which inputs.
 */
deployment: Deployment, 
/**
 * Canvas positions of nodes, by node name, as the desktop app writes them; optional.
 */
layout?: { [key in string]: Position }, };

export type Image = { 
/**
 * Free text describing the image.
 */
description?: string | null, 
/**
 * The user recipes log in as on clouds reached over SSH (`ssh`, `ec2`); unused on `local`.
 */
login_user?: string | null, 
/**
 * Per-cloud image ids and sizes. Key: a cloud name or a driver kind; a cloud name wins.
 * Needed only for drivers that create machines from an image (`docker`, `ec2`, …), not
 * for `local` or `ssh`.
 */
clouds?: { [key in string]: CloudImage }, 
/**
 * Recipes that prepare the machine: `pre_install`, `packages`, `post_install`, in this order.
 */
recipes?: ImageRecipes, };

export type CloudImage = { 
/**
 * The cloud's image id (an AMI id, a Docker image reference, …).
 */
image?: string | null, 
/**
 * The cloud's machine size (an instance type, …).
 */
size?: string | null, };

export type ImageRecipes = { 
/**
 * Shell script run first on a fresh machine (`/bin/sh -e`, or the `#!` line's interpreter).
 * Reads the component's literal, default and generated inputs, never wired ones.
 */
pre_install?: string | null, 
/**
 * Packages installed with the machine's package manager, after `pre_install`. On `local`
 * nothing is installed: the step checks that each one is present and fails naming the
 * missing ones.
 */
packages?: Array<string>, 
/**
 * Shell script run after the packages are installed, before the component's `deployment`.
 */
post_install?: string | null, };

export type Component = { 
/**
 * Free text describing the component.
 */
description?: string | null, 
/**
 * The image: `name` (latest version) or `name@3` (pinned version).
 */
image: string, 
/**
 * Input parameters, by name (`[a-z_][a-z0-9_]*`); each reaches the recipes as an
 * environment variable of the same name.
 */
inputs?: { [key in string]: InputSpec }, 
/**
 * Output parameters, by name; a recipe sets them by appending `name=value` to
 * `$SLIPWAY_OUTPUT`, and other nodes wire them with `{ from: node.name }`.
 */
outputs?: { [key in string]: OutputSpec }, 
/**
 * Recipes: `deployment`, `reporting`, `on_node_add`, `on_node_remove`. A component without
 * recipes is a bare machine.
 */
recipes?: ComponentRecipes, };

export type InputSpec = { 
/**
 * Free text describing the input, shown in the inspector.
 */
description?: string | null, 
/**
 * A node must wire or give this input (or it is set with `--set`); default false.
 */
required?: boolean, 
/**
 * The value used when a node neither wires nor gives one. Not allowed on a secret input.
 */
default?: string | null, 
/**
 * The value is masked as `***` wherever output is shown or stored, and never saved; a file
 * may not hold its value (use `generate` or `--set`). Default false.
 */
secret?: boolean, 
/**
 * Generate a random value of this many characters (`[A-Za-z0-9]`) at launch, used when no
 * other value is given.
 */
generate?: number | null, };

export type OutputSpec = { 
/**
 * Free text describing the output, shown in the inspector.
 */
description?: string | null, };

export type ComponentRecipes = { 
/**
 * Shell script that deploys the role, after the image recipes and once every wire it reads
 * has a value; sets outputs through `$SLIPWAY_OUTPUT`.
 */
deployment?: string | null, 
/**
 * Shell script run after `deployment` (also after a failed run, where `deployment` ran);
 * files it leaves in `$SLIPWAY_REPORT_DIR` become the run's reports.
 */
reporting?: string | null, 
/**
 * Shell script run on the existing instances when a kept run is scaled up, with
 * `SLIPWAY_SCALED_NODE` and `SLIPWAY_ADDED` set and wired inputs re-resolved.
 */
on_node_add?: string | null, 
/**
 * Shell script run on the existing instances before a kept run is scaled down, with
 * `SLIPWAY_SCALED_NODE` and `SLIPWAY_REMOVED` set.
 */
on_node_remove?: string | null, };

export type KeepRunning = "never" | "always" | "on-success" | "on-error";

export type Deployment = { 
/**
 * What is kept at the end of a run: `never`, `always`, `on-success` (the default) or
 * `on-error`; `slipway run --keep` overrides it.
 */
keep_running: KeepRunning, 
/**
 * The nodes, by name; at least one.
 */
nodes: { [key in string]: Node }, };

export type Node = { 
/**
 * The component this node instantiates, defined under `components:`.
 */
component: string, 
/**
 * How many instances (`web.1`, `web.2`, …); default 1.
 */
multiplicity?: number, 
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

export type Position = { 
/**
 * Horizontal position on the canvas.
 */
x: number, 
/**
 * Vertical position on the canvas.
 */
y: number, };

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
