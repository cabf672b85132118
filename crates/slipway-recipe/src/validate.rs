//! Checks that hold between the parts of a recipe: references, wires, cycles, clouds, secrets.
//!
//! Owns: every rule of SPEC §2 that spans more than one key. Works on the model plus an optional
//! source map, so the desktop app (no file) and the CLI (a file) get the same list.
//! Never: stops at the first problem, or looks at anything but the recipe and the options.

use std::collections::{HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::*;
use crate::parse::SourceMap;

/// A value given on the command line with `--set node.input=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetValue {
    pub node: String,
    pub input: String,
    pub value: String,
}

impl SetValue {
    /// Parses `node.input=value`.
    pub fn parse(text: &str) -> Result<SetValue, String> {
        let (target, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not `node.input=value`"))?;
        let (node, input) = target
            .split_once('.')
            .ok_or_else(|| format!("`{target}` is not `node.input` (in `--set {text}`)"))?;
        if node.is_empty() || input.is_empty() {
            return Err(format!(
                "`{target}` is not `node.input` (in `--set {text}`)"
            ));
        }
        Ok(SetValue {
            node: node.to_string(),
            input: input.to_string(),
            value: value.to_string(),
        })
    }
}

/// What validation knows beyond the file: the chosen clouds and `--set` values.
#[derive(Clone, Debug, Default)]
pub struct ValidateOptions {
    /// The run's default cloud (`--cloud`); `local` when absent.
    pub default_cloud: Option<String>,
    /// Per-node cloud choices (`--node-cloud node=C`), winning over the file.
    pub node_clouds: HashMap<String, String>,
    /// Configured clouds, name → driver kind. With `None`, cloud names that are not driver kinds
    /// are not checked (the file may name clouds configured on another machine).
    pub clouds: Option<HashMap<String, String>>,
    pub sets: Vec<SetValue>,
}

impl ValidateOptions {
    /// The cloud a node runs on: `--node-cloud`, then the node's `cloud:`, then `--cloud`, then `local`.
    pub fn cloud_of<'a>(&'a self, name: &str, node: &'a Node) -> &'a str {
        self.node_clouds
            .get(name)
            .map(String::as_str)
            .or(node.cloud.as_deref())
            .or(self.default_cloud.as_deref())
            .unwrap_or("local")
    }

    /// The driver kind of a cloud name, if known.
    pub fn kind_of<'a>(&'a self, cloud: &'a str) -> Option<&'a str> {
        if let Some(kind) = self.clouds.as_ref().and_then(|c| c.get(cloud)) {
            return Some(kind);
        }
        DRIVER_KINDS.contains(&cloud).then_some(cloud)
    }
}

/// Runs every cross-reference check; returns the problems found.
pub fn validate(recipe: &Recipe, map: &SourceMap, opts: &ValidateOptions) -> Vec<Diagnostic> {
    let mut v = Validator {
        recipe,
        map,
        opts,
        diags: Vec::new(),
    };
    v.components();
    v.nodes();
    v.cycles();
    v.sets();
    v.layout();
    v.diags
}

struct Validator<'a> {
    recipe: &'a Recipe,
    map: &'a SourceMap,
    opts: &'a ValidateOptions,
    diags: Vec<Diagnostic>,
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let mut v: Vec<&str> = names.map(String::as_str).take(12).collect();
    if v.is_empty() {
        return "none".to_string();
    }
    v.sort_unstable();
    v.join(", ")
}

impl<'a> Validator<'a> {
    fn at_key(&mut self, d: Diagnostic, path: String) {
        let pos = self.map.key(&path);
        self.diags.push(d.at_opt(pos).path(path));
    }
    fn at_value(&mut self, d: Diagnostic, path: String) {
        let pos = self.map.value(&path);
        self.diags.push(d.at_opt(pos).path(path));
    }

    fn components(&mut self) {
        for (cname, c) in &self.recipe.components {
            let base = format!("components.{cname}");
            if !c.image.is_empty() {
                let (iname, version) = split_image_ref(&c.image);
                if let Some(ver) = version {
                    if ver.is_empty()
                        || ver.starts_with('0')
                        || !ver.bytes().all(|b| b.is_ascii_digit())
                    {
                        self.at_value(
                            Diagnostic::error(
                                Code::BadValue,
                                format!("`{}` is not `image` or `image@VERSION`", c.image),
                            )
                            .hint(format!(
                                "pin a version with a positive number, for example `{iname}@1`"
                            )),
                            format!("{base}.image"),
                        );
                    }
                }
                if !self.recipe.images.contains_key(iname) {
                    let mut d = Diagnostic::error(
                        Code::UnknownImage,
                        format!("component `{cname}` uses image `{iname}`, which this file does not define"),
                    );
                    d = d.hint(
                        match did_you_mean(iname, self.recipe.images.keys().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "define it under `images:` (defined images: {})",
                                list(self.recipe.images.keys())
                            ),
                        },
                    );
                    self.at_value(d, format!("{base}.image"));
                }
            }
            for (iname, spec) in &c.inputs {
                let p = format!("{base}.inputs.{iname}");
                if c.outputs.contains_key(iname) {
                    self.at_key(
                        Diagnostic::error(
                            Code::DuplicateName,
                            format!("component `{cname}` has an input and an output both named `{iname}`"),
                        )
                        .hint("parameters of a component share one namespace: rename one of them"),
                        p.clone(),
                    );
                }
                if spec.secret && spec.default.is_some() {
                    self.at_value(
                        Diagnostic::error(
                            Code::SecretInFile,
                            format!("secret input `{iname}` has a default value written in the file"),
                        )
                        .hint("a recipe file never holds a secret: use `generate: N`, or pass it with `--set`"),
                        format!("{p}.default"),
                    );
                } else if spec.required && spec.default.is_some() {
                    self.at_key(
                        Diagnostic::warning(
                            Code::RedundantDefault,
                            format!("input `{iname}` is required but has a default, so it is never missing"),
                        )
                        .hint("remove `required: true` or the default"),
                        format!("{p}.required"),
                    );
                }
            }
            for oname in c.outputs.keys() {
                if BUILT_IN_PARAMETERS.contains(&oname.as_str()) {
                    self.at_key(
                        Diagnostic::error(
                            Code::ReservedName,
                            format!("output `{oname}` has the name of a built-in parameter"),
                        )
                        .hint(format!(
                            "every instance already has {}; choose another name",
                            BUILT_IN_PARAMETERS.join(", ")
                        )),
                        format!("{base}.outputs.{oname}"),
                    );
                }
            }
        }
    }

    fn nodes(&mut self) {
        let d = &self.recipe.deployment;
        if d.nodes.is_empty() {
            let pos = self
                .map
                .key("deployment.nodes")
                .or(self.map.key("deployment"));
            self.diags.push(
                Diagnostic::error(Code::EmptyDeployment, "the deployment has no nodes")
                    .at_opt(pos)
                    .path("deployment.nodes")
                    .hint("add a node under `deployment: nodes:`, for example `web: { component: web }`"),
            );
        }
        for (nname, node) in &d.nodes {
            let base = format!("deployment.nodes.{nname}");
            let component = self.recipe.components.get(&node.component);
            if component.is_none() && !node.component.is_empty() {
                let hint = match did_you_mean(
                    &node.component,
                    self.recipe.components.keys().map(String::as_str),
                ) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "define it under `components:` (defined components: {})",
                        list(self.recipe.components.keys())
                    ),
                };
                self.at_value(
                    Diagnostic::error(
                        Code::UnknownComponent,
                        format!(
                            "node `{nname}` uses component `{}`, which this file does not define",
                            node.component
                        ),
                    )
                    .hint(hint),
                    format!("{base}.component"),
                );
            }
            self.node_cloud(nname, node, component);
            for (iname, value) in &node.inputs {
                let p = format!("{base}.inputs.{iname}");
                let spec = match component {
                    Some(c) => match c.inputs.get(iname) {
                        Some(spec) => Some(spec),
                        None => {
                            let hint =
                                match did_you_mean(iname, c.inputs.keys().map(String::as_str)) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => format!(
                                        "component `{}` has inputs: {}",
                                        node.component,
                                        list(c.inputs.keys())
                                    ),
                                };
                            self.at_key(
                                Diagnostic::error(
                                    Code::UnknownParameter,
                                    format!(
                                        "component `{}` has no input `{iname}`",
                                        node.component
                                    ),
                                )
                                .hint(hint),
                                p.clone(),
                            );
                            None
                        }
                    },
                    None => None,
                };
                match value {
                    InputValue::Value(_) => {
                        if spec.is_some_and(|s| s.secret) {
                            self.at_value(
                                Diagnostic::error(
                                    Code::SecretInFile,
                                    format!("secret input `{iname}` of node `{nname}` has its value written in the file"),
                                )
                                .hint(format!("a recipe file never holds a secret: pass it with `--set {nname}.{iname}=VALUE`, or use `generate: N`")),
                                p,
                            );
                        }
                    }
                    InputValue::Wire { from } => {
                        self.wire(nname, iname, from, &format!("{p}.from"))
                    }
                }
            }
            if let Some(c) = component {
                for (iname, spec) in &c.inputs {
                    let given = node.inputs.contains_key(iname)
                        || spec.default.is_some()
                        || spec.generate.is_some()
                        || self
                            .opts
                            .sets
                            .iter()
                            .any(|s| &s.node == nname && &s.input == iname);
                    if spec.required && !given {
                        self.at_key(
                            Diagnostic::error(
                                Code::UnconnectedInput,
                                format!("required input `{iname}` of node `{nname}` is neither wired nor given"),
                            )
                            .hint(format!(
                                "wire it with `{iname}: {{ from: NODE.OUTPUT }}`, give a value, or pass `--set {nname}.{iname}=VALUE`"
                            )),
                            base.clone(),
                        );
                    }
                }
            }
        }
    }

    fn node_cloud(&mut self, nname: &str, node: &Node, component: Option<&Component>) {
        let cloud = self.opts.cloud_of(nname, node);
        let from_file = !self.opts.node_clouds.contains_key(nname) && node.cloud.is_some();
        let path = format!("deployment.nodes.{nname}.cloud");
        let Some(kind) = self.opts.kind_of(cloud) else {
            if self.opts.clouds.is_some() || !from_file {
                let known: Vec<String> = self
                    .opts
                    .clouds
                    .iter()
                    .flat_map(|c| c.keys().cloned())
                    .chain(["local".to_string()])
                    .collect();
                let d = Diagnostic::error(
                    Code::UnknownCloud,
                    format!("node `{nname}` is placed on cloud `{cloud}`, which is not configured"),
                )
                .hint(format!(
                    "configured clouds: {}; add one with `slipway clouds add`",
                    list(known.iter())
                ));
                if from_file {
                    self.at_value(d, path);
                } else {
                    self.diags.push(d.path(path));
                }
            }
            return;
        };
        if !KINDS_NEEDING_IMAGE.contains(&kind) {
            return;
        }
        let Some(c) = component else { return };
        let (iname, _) = split_image_ref(&c.image);
        let Some(image) = self.recipe.images.get(iname) else {
            return;
        };
        if image.clouds.contains_key(cloud) || image.clouds.contains_key(kind) {
            return;
        }
        let entry = if cloud == kind {
            format!("`{kind}`")
        } else {
            format!("`{cloud}` or `{kind}`")
        };
        let d = Diagnostic::error(
            Code::MissingCloudMapping,
            format!("node `{nname}` runs on cloud `{cloud}` ({kind}), but image `{iname}` has no `clouds:` entry for {entry}"),
        )
        .hint(format!("add `{kind}: {{ image: ... }}` under `images: {iname}: clouds:`, or choose another cloud"));
        let ipath = format!("images.{iname}.clouds");
        if self.map.key(&ipath).is_some() {
            self.at_key(d, ipath);
        } else {
            self.at_key(d, format!("images.{iname}"));
        }
    }

    fn wire(&mut self, nname: &str, iname: &str, from: &str, path: &str) {
        let Some(w) = WireRef::parse(from) else {
            self.at_value(
                Diagnostic::error(Code::BadWire, format!("`from: {from}` is not `node.parameter` or `node.N.parameter`"))
                    .hint("for example `from: db.hostname` (all instances) or `from: web.2.url` (instance 2)"),
                path.to_string(),
            );
            return;
        };
        let Some(src) = self.recipe.deployment.nodes.get(&w.node) else {
            let hint = match did_you_mean(
                &w.node,
                self.recipe.deployment.nodes.keys().map(String::as_str),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("nodes: {}", list(self.recipe.deployment.nodes.keys())),
            };
            self.at_value(
                Diagnostic::error(
                    Code::UnknownNode,
                    format!("input `{iname}` of node `{nname}` is wired from node `{}`, which does not exist", w.node),
                )
                .hint(hint),
                path.to_string(),
            );
            return;
        };
        if let Some(i) = w.index {
            if i > src.multiplicity {
                self.at_value(
                    Diagnostic::error(
                        Code::IndexOutOfRange,
                        format!(
                            "wire `{from}` reads instance {i} of node `{}`, which has {} instance{}",
                            w.node,
                            src.multiplicity,
                            if src.multiplicity == 1 { "" } else { "s" }
                        ),
                    )
                    .hint(format!("use an index from 1 to {}, or raise the node's multiplicity", src.multiplicity)),
                    path.to_string(),
                );
            }
        }
        if w.is_built_in() {
            return;
        }
        if let Some(c) = self.recipe.components.get(&src.component) {
            if !c.outputs.contains_key(&w.param) {
                let candidates = c
                    .outputs
                    .keys()
                    .map(String::as_str)
                    .chain(BUILT_IN_PARAMETERS.iter().copied());
                let hint = match did_you_mean(&w.param, candidates) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "node `{}` offers outputs: {}; and built-ins: {}",
                        w.node,
                        list(c.outputs.keys()),
                        BUILT_IN_PARAMETERS.join(", ")
                    ),
                };
                self.at_value(
                    Diagnostic::error(
                        Code::UnknownParameter,
                        format!(
                            "node `{}` (component `{}`) has no output `{}`",
                            w.node, src.component, w.param
                        ),
                    )
                    .hint(hint),
                    path.to_string(),
                );
            }
        }
    }

    /// A node whose deployment needs a recipe output of a node that (transitively) needs its own
    /// outputs can never start. Built-in parameters are known once instances are provisioned, so
    /// wires of built-ins never close a cycle.
    fn cycles(&mut self) {
        let nodes = &self.recipe.deployment.nodes;
        let mut graph: DiGraph<&str, (String, String)> =
            DiGraph::with_capacity(nodes.len(), nodes.len());
        let ids: HashMap<&str, NodeIndex> = nodes
            .keys()
            .map(|n| (n.as_str(), graph.add_node(n.as_str())))
            .collect();
        for (nname, node) in nodes {
            for (iname, value) in &node.inputs {
                let InputValue::Wire { from } = value else {
                    continue;
                };
                let Some(w) = WireRef::parse(from) else {
                    continue;
                };
                if w.is_built_in() {
                    continue;
                }
                if let Some(&src) = ids.get(w.node.as_str()) {
                    let path = format!("deployment.nodes.{nname}.inputs.{iname}.from");
                    graph.add_edge(src, ids[nname.as_str()], (path, from.clone()));
                }
            }
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let self_loop = scc.len() == 1 && graph.find_edge(scc[0], scc[0]).is_some();
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            let cycle = find_cycle(&graph, &members, *scc.iter().min().expect("non-empty"));
            let mut names: Vec<&str> = cycle.iter().map(|&(n, _)| graph[n]).collect();
            names.push(names[0]);
            let mut msg = format!("wire cycle: {}", names.join(" → "));
            if members.len() > cycle.len() {
                let mut others: Vec<&str> = members
                    .iter()
                    .map(|&n| graph[n])
                    .filter(|n| !names.contains(n))
                    .collect();
                others.sort_unstable();
                msg.push_str(&format!(" (also caught in it: {})", others.join(", ")));
            }
            let first_edge = cycle[0].1;
            let (path, _) = graph[first_edge].clone();
            let wires: Vec<String> = cycle
                .iter()
                .map(|&(_, e)| {
                    let (p, from) = &graph[e];
                    let consumer = p.split('.').nth(2).unwrap_or("");
                    let input = p.split('.').nth(4).unwrap_or("");
                    format!("{consumer}.{input} ← {from}")
                })
                .collect();
            self.at_value(
                Diagnostic::error(Code::WireCycle, msg).hint(format!(
                    "each of these nodes waits for another's outputs ({}); remove one of these wires",
                    wires.join(", ")
                )),
                path,
            );
        }
    }

    fn sets(&mut self) {
        for s in &self.opts.sets {
            let path = format!("--set {}.{}", s.node, s.input);
            let Some(node) = self.recipe.deployment.nodes.get(&s.node) else {
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownNode,
                        format!(
                            "`--set {}.{}`: there is no node `{}`",
                            s.node, s.input, s.node
                        ),
                    )
                    .path(path)
                    .hint(format!(
                        "nodes: {}",
                        list(self.recipe.deployment.nodes.keys())
                    )),
                );
                continue;
            };
            if let Some(c) = self.recipe.components.get(&node.component) {
                if !c.inputs.contains_key(&s.input) {
                    self.diags.push(
                        Diagnostic::error(
                            Code::UnknownParameter,
                            format!(
                                "`--set {}.{}`: component `{}` has no input `{}`",
                                s.node, s.input, node.component, s.input
                            ),
                        )
                        .path(path)
                        .hint(format!("inputs: {}", list(c.inputs.keys()))),
                    );
                }
            }
        }
    }

    fn layout(&mut self) {
        for name in self.recipe.layout.keys() {
            if !self.recipe.deployment.nodes.contains_key(name) {
                self.at_key(
                    Diagnostic::warning(
                        Code::UnknownNode,
                        format!("layout names node `{name}`, which does not exist"),
                    )
                    .hint("remove it from `layout:`; positions of missing nodes are ignored"),
                    format!("layout.{name}"),
                );
            }
        }
    }
}

/// A cycle through `start` inside one strongly connected component, as (node, edge to next).
fn find_cycle(
    graph: &DiGraph<&str, (String, String)>,
    members: &HashSet<NodeIndex>,
    start: NodeIndex,
) -> Vec<(NodeIndex, petgraph::graph::EdgeIndex)> {
    use petgraph::visit::EdgeRef;
    // Breadth-first search for the shortest way back to `start`.
    let mut prev: HashMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex)> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut edges: Vec<_> = graph
            .edges(n)
            .filter(|e| members.contains(&e.target()))
            .collect();
        edges.sort_by_key(|e| (e.target().index(), e.id().index()));
        for e in edges {
            let t = e.target();
            if t == start {
                let mut path = vec![(n, e.id())];
                let mut cur = n;
                while cur != start {
                    let (p, pe) = prev[&cur];
                    path.push((p, pe));
                    cur = p;
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(v) = prev.entry(t) {
                v.insert((n, e.id()));
                queue.push_back(t);
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each member")
}
