//! The recipe model, format version 1 (SPEC §2).
//!
//! Owns: the plain data types of a recipe file. They carry no source positions (those live in a
//! [`crate::SourceMap`] beside them), so a recipe built by the GUI and one read from a file are
//! the same value. Never: I/O, validation logic, or secret values (a file never holds a secret).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Built-in parameters every instance has, in the order they are documented.
pub const BUILT_IN_PARAMETERS: &[&str] = &["hostname", "instance_id", "index", "node", "cloud"];

/// Driver kinds that create machines from an image and so need a `clouds:` entry on the image.
pub const KINDS_NEEDING_IMAGE: &[&str] =
    &["docker", "ec2", "openstack", "gce", "hetzner", "libvirt"];

/// Every driver kind this build knows the name of.
pub const DRIVER_KINDS: &[&str] = &[
    "local",
    "ssh",
    "docker",
    "ec2",
    "openstack",
    "gce",
    "hetzner",
    "libvirt",
];

/// A self-contained, shareable recipe file: a deployment plus every image and component it uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Slipway recipe file, format version 1")]
pub struct Recipe {
    /// Format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub slipway: u32,
    /// Name of the deployment: `[a-z][a-z0-9_-]*`, at most 64 characters.
    #[schemars(pattern(r"^[a-z][a-z0-9_-]*$"))]
    pub name: String,
    /// Free text describing the deployment, shown in the library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Base machines, by name: per-cloud image ids and sizes, login user, image recipes.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "module_map::<Image>")]
    pub images: IndexMap<String, Image>,
    /// Machine roles built on an image, by name: inputs, outputs and deployment recipes.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "module_map::<Component>")]
    pub components: IndexMap<String, Component>,
    /// The graph of nodes: which components run, how many times, where, with which inputs.
    pub deployment: Deployment,
    /// Canvas positions of nodes, by node name, as the desktop app writes them; optional.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "module_map::<Position>")]
    pub layout: IndexMap<String, Position>,
}

/// Names of modules, nodes and outputs.
pub const MODULE_NAME_PATTERN: &str = "^[a-z][a-z0-9_-]*$";
/// Names of inputs, exported to the environment as they are.
pub const INPUT_NAME_PATTERN: &str = "^[a-z_][a-z0-9_]*$";

fn named_map<T: JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
    pattern: &str,
) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": { "pattern": pattern },
        "additionalProperties": generator.subschema_for::<T>(),
    })
}

fn module_map<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    named_map::<T>(generator, MODULE_NAME_PATTERN)
}

fn input_map<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    named_map::<T>(generator, INPUT_NAME_PATTERN)
}

/// A cloud-agnostic base machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Free text describing the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The user recipes log in as on clouds reached over SSH (`ssh`, `ec2`); unused on `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
    /// Per-cloud image ids and sizes. Key: a cloud name or a driver kind; a cloud name wins.
    /// Needed only for drivers that create machines from an image (`docker`, `ec2`, …), not
    /// for `local` or `ssh`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub clouds: IndexMap<String, CloudImage>,
    /// Recipes that prepare the machine: `pre_install`, `packages`, `post_install`, in this order.
    #[serde(default, skip_serializing_if = "ImageRecipes::is_empty")]
    pub recipes: ImageRecipes,
}

/// How an image is realised on one cloud.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct CloudImage {
    /// The cloud's image id (an AMI id, a Docker image reference, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The cloud's machine size (an instance type, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// Recipes that turn the base machine into the image, run before any deployment recipe.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ImageRecipes {
    /// Shell script run first on a fresh machine (`/bin/sh -e`, or the `#!` line's interpreter).
    /// Reads the component's literal, default and generated inputs, never wired ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_install: Option<String>,
    /// Packages installed with the machine's package manager, after `pre_install`. On `local`
    /// nothing is installed: the step checks that each one is present and fails naming the
    /// missing ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Shell script run after the packages are installed, before the component's `deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_install: Option<String>,
}

impl ImageRecipes {
    pub fn is_empty(&self) -> bool {
        self.pre_install.is_none() && self.packages.is_empty() && self.post_install.is_none()
    }
}

/// One machine role built on an image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Free text describing the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The image: `name` (latest version) or `name@3` (pinned version).
    #[schemars(pattern(r"^[a-z][a-z0-9_-]*(@[1-9][0-9]*)?$"))]
    pub image: String,
    /// Input parameters, by name (`[a-z_][a-z0-9_]*`); each reaches the recipes as an
    /// environment variable of the same name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "input_map::<InputSpec>")]
    pub inputs: IndexMap<String, InputSpec>,
    /// Output parameters, by name; a recipe sets them by appending `name=value` to
    /// `$SLIPWAY_OUTPUT`, and other nodes wire them with `{ from: node.name }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "module_map::<OutputSpec>")]
    pub outputs: IndexMap<String, OutputSpec>,
    /// Recipes: `deployment`, `reporting`, `on_node_add`, `on_node_remove`. A component without
    /// recipes is a bare machine.
    #[serde(default, skip_serializing_if = "ComponentRecipes::is_empty")]
    pub recipes: ComponentRecipes,
}

/// An input parameter of a component, passed to its recipes as an environment variable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Free text describing the input, shown in the inspector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A node must wire or give this input (or it is set with `--set`); default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The value used when a node neither wires nor gives one. Not allowed on a secret input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Scalar>")]
    pub default: Option<String>,
    /// The value is masked as `***` wherever output is shown or stored, and never saved; a file
    /// may not hold its value (use `generate` or `--set`). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    /// Generate a random value of this many characters (`[A-Za-z0-9]`) at launch, used when no
    /// other value is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4096))]
    pub generate: Option<u32>,
}

/// An output parameter, set by a recipe through `$SLIPWAY_OUTPUT`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Free text describing the output, shown in the inspector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Recipes of a component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ComponentRecipes {
    /// Shell script that deploys the role, after the image recipes and once every wire it reads
    /// has a value; sets outputs through `$SLIPWAY_OUTPUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Shell script run after `deployment` (also after a failed run, where `deployment` ran);
    /// files it leaves in `$SLIPWAY_REPORT_DIR` become the run's reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting: Option<String>,
    /// Shell script run on the existing instances when a kept run is scaled up, with
    /// `SLIPWAY_SCALED_NODE` and `SLIPWAY_ADDED` set and wired inputs re-resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_node_add: Option<String>,
    /// Shell script run on the existing instances before a kept run is scaled down, with
    /// `SLIPWAY_SCALED_NODE` and `SLIPWAY_REMOVED` set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_node_remove: Option<String>,
}

impl ComponentRecipes {
    pub fn is_empty(&self) -> bool {
        self.deployment.is_none()
            && self.reporting.is_none()
            && self.on_node_add.is_none()
            && self.on_node_remove.is_none()
    }
}

/// What is kept at the end of a run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS,
)]
#[serde(rename_all = "kebab-case")]
pub enum KeepRunning {
    /// Tear everything down.
    Never,
    /// Keep everything.
    Always,
    /// Keep only if the run succeeded.
    #[default]
    OnSuccess,
    /// Keep only if the run failed, for debugging.
    OnError,
}

impl KeepRunning {
    pub const ALL: [KeepRunning; 4] = [
        KeepRunning::Never,
        KeepRunning::Always,
        KeepRunning::OnSuccess,
        KeepRunning::OnError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeepRunning::Never => "never",
            KeepRunning::Always => "always",
            KeepRunning::OnSuccess => "on-success",
            KeepRunning::OnError => "on-error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether instances stay up at the end of a run that succeeded (or not).
    pub fn keeps(self, succeeded: bool) -> bool {
        match self {
            KeepRunning::Never => false,
            KeepRunning::Always => true,
            KeepRunning::OnSuccess => succeeded,
            KeepRunning::OnError => !succeeded,
        }
    }
}

/// The graph of nodes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// What is kept at the end of a run: `never`, `always`, `on-success` (the default) or
    /// `on-error`; `slipway run --keep` overrides it.
    #[serde(default)]
    pub keep_running: KeepRunning,
    /// The nodes, by name; at least one.
    #[schemars(schema_with = "module_map::<Node>")]
    pub nodes: IndexMap<String, Node>,
}

/// One node: a component instantiated `multiplicity` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The component this node instantiates, defined under `components:`.
    pub component: String,
    /// How many instances (`web.1`, `web.2`, …); default 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    #[schemars(range(min = 1))]
    pub multiplicity: u32,
    /// The cloud this node runs on; the run's default cloud when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    /// Input values: a literal, or a wire `{ from: node.param }` / `{ from: node.2.param }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(schema_with = "input_map::<InputValue>")]
    pub inputs: IndexMap<String, InputValue>,
}

impl Node {
    pub fn new(component: impl Into<String>) -> Self {
        Node {
            component: component.into(),
            multiplicity: 1,
            cloud: None,
            inputs: IndexMap::new(),
        }
    }
}

/// The value of a node's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(untagged)]
pub enum InputValue {
    /// A literal value.
    Value(#[schemars(with = "Scalar")] String),
    /// A wire from another node's output or built-in parameter.
    Wire {
        /// `node.param` (all instances, joined by `,`) or `node.N.param` (instance N).
        #[schemars(pattern(r"^[a-z][a-z0-9_-]*(\.[1-9][0-9]*)?\.[a-z_][a-z0-9_-]*$"))]
        from: String,
    },
}

/// A YAML scalar read as text.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// A canvas position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Horizontal position on the canvas.
    pub x: f64,
    /// Vertical position on the canvas.
    pub y: f64,
}

/// A parsed `from:` reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WireRef {
    pub node: String,
    /// `Some(n)` for `node.n.param` (1-based), `None` for all instances.
    pub index: Option<u32>,
    pub param: String,
}

impl WireRef {
    /// Splits `node.param` or `node.N.param`; checks shape only, not that the names exist.
    pub fn parse(text: &str) -> Option<WireRef> {
        let parts: Vec<&str> = text.split('.').collect();
        let (node, index, param) = match parts.as_slice() {
            [node, param] => (*node, None, *param),
            [node, index, param] => {
                if index.starts_with('0') || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (*node, Some(index.parse::<u32>().ok()?), *param)
            }
            _ => return None,
        };
        if node.is_empty() || param.is_empty() {
            return None;
        }
        Some(WireRef {
            node: node.to_string(),
            index,
            param: param.to_string(),
        })
    }

    pub fn is_built_in(&self) -> bool {
        BUILT_IN_PARAMETERS.contains(&self.param.as_str())
    }
}

impl std::fmt::Display for WireRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}.{}.{}", self.node, i, self.param),
            None => write!(f, "{}.{}", self.node, self.param),
        }
    }
}

/// Splits `name@3` into the name and the pinned version.
pub fn split_image_ref(text: &str) -> (&str, Option<&str>) {
    match text.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (text, None),
    }
}

fn one() -> u32 {
    1
}
fn is_one(n: &u32) -> bool {
    *n == 1
}
fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_refs() {
        let w = WireRef::parse("web.2.url").unwrap();
        assert_eq!(
            (w.node.as_str(), w.index, w.param.as_str()),
            ("web", Some(2), "url")
        );
        assert_eq!(WireRef::parse("db.port").unwrap().index, None);
        for bad in [
            "db",
            "db.",
            ".port",
            "db.0.port",
            "db.x.port",
            "a.1.b.c",
            "db.01.port",
        ] {
            assert!(WireRef::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn keep_policy() {
        assert!(KeepRunning::OnSuccess.keeps(true));
        assert!(!KeepRunning::OnSuccess.keeps(false));
        assert!(KeepRunning::OnError.keeps(false));
        assert_eq!(KeepRunning::parse("on-error"), Some(KeepRunning::OnError));
    }
}
