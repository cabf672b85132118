//! The plan of a valid recipe: every instance, its steps in order (SPEC §3), and the edges wires
//! add between steps. A step waits only for the steps that produce what it reads, so the
//! deployment takes as long as its critical path, which this crate computes.
//!
//! Architecture invariant: pure computation on the recipe model; no I/O, no clock, no async.

use std::collections::HashMap;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use slipway_recipe::{InputValue, Recipe, ValidateOptions, WireRef};

/// The steps of one instance, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Create the machine; its `hostname` and `instance_id` are known afterwards.
    Provision,
    PreInstall,
    Packages,
    PostInstall,
    Deployment,
    Reporting,
}

impl StepKind {
    pub const ALL: [StepKind; 6] = [
        StepKind::Provision,
        StepKind::PreInstall,
        StepKind::Packages,
        StepKind::PostInstall,
        StepKind::Deployment,
        StepKind::Reporting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Provision => "provision",
            StepKind::PreInstall => "pre_install",
            StepKind::Packages => "packages",
            StepKind::PostInstall => "post_install",
            StepKind::Deployment => "deployment",
            StepKind::Reporting => "reporting",
        }
    }

    /// Wired inputs are resolved for these steps only: image recipes prepare the machine and read
    /// nothing from other nodes, so they never wait for another node.
    pub fn reads_wires(self) -> bool {
        matches!(self, StepKind::Deployment | StepKind::Reporting)
    }
}

pub type InstanceId = usize;
pub type StepId = usize;

#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    /// `web.2`
    pub name: String,
    pub node: String,
    /// 1-based.
    pub index: u32,
    pub cloud: String,
    /// The step ids of this instance, in order.
    pub steps: Vec<StepId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub instance: InstanceId,
    pub kind: StepKind,
    /// Estimated duration, in the caller's unit.
    pub duration: f64,
    /// Steps that must finish before this one starts.
    pub after: Vec<StepId>,
    /// Earliest start given the estimates (longest path from the start).
    pub earliest_start: f64,
}

/// A wire as planned: which instances feed which node's input.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedWire {
    pub to_node: String,
    pub input: String,
    pub from: String,
    /// Instances whose value is read, in index order.
    pub from_instances: Vec<InstanceId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub instances: Vec<Instance>,
    pub steps: Vec<Step>,
    pub wires: Vec<PlannedWire>,
    /// The chain of steps that bounds the duration from below.
    pub critical_path: Vec<StepId>,
    /// No schedule can finish sooner than this, however many machines run at once.
    pub lower_bound: f64,
    /// Instances by node, in index order.
    #[serde(skip)]
    pub by_node: IndexMap<String, Vec<InstanceId>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    pub step: String,
}

impl std::fmt::Display for CycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the steps wait for each other in a cycle (through {})",
            self.step
        )
    }
}

impl std::error::Error for CycleError {}

impl Plan {
    /// Builds the plan with every step estimated at 1 unit.
    pub fn build(recipe: &Recipe, opts: &ValidateOptions) -> Result<Plan, CycleError> {
        Plan::build_with(recipe, opts, |_, _| 1.0)
    }

    /// Builds the plan; `estimate(instance, kind)` gives each step's expected duration.
    pub fn build_with(
        recipe: &Recipe,
        opts: &ValidateOptions,
        mut estimate: impl FnMut(&Instance, StepKind) -> f64,
    ) -> Result<Plan, CycleError> {
        let mut instances = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut by_node: IndexMap<String, Vec<InstanceId>> =
            IndexMap::with_capacity(recipe.deployment.nodes.len());
        // Per node: which of its step kinds produce outputs and which read wires.
        let mut shape: HashMap<&str, (StepKind, Option<StepKind>)> = HashMap::new();

        for (nname, node) in &recipe.deployment.nodes {
            let component = recipe.components.get(&node.component);
            let image = component.and_then(|c| {
                recipe
                    .images
                    .get(slipway_recipe::model::split_image_ref(&c.image).0)
            });
            let present = |kind: StepKind| -> bool {
                match kind {
                    StepKind::Provision => true,
                    StepKind::PreInstall => image.is_some_and(|i| i.recipes.pre_install.is_some()),
                    StepKind::Packages => image.is_some_and(|i| !i.recipes.packages.is_empty()),
                    StepKind::PostInstall => {
                        image.is_some_and(|i| i.recipes.post_install.is_some())
                    }
                    StepKind::Deployment => {
                        component.is_some_and(|c| c.recipes.deployment.is_some())
                    }
                    StepKind::Reporting => component.is_some_and(|c| c.recipes.reporting.is_some()),
                }
            };
            let kinds: Vec<StepKind> = StepKind::ALL.into_iter().filter(|k| present(*k)).collect();
            // Outputs are final once the last step up to `deployment` has run.
            let producer = *kinds
                .iter()
                .rev()
                .find(|k| **k <= StepKind::Deployment)
                .expect("provision is always present");
            let reader = kinds.iter().copied().find(|k| k.reads_wires());
            shape.insert(nname.as_str(), (producer, reader));

            let cloud = opts.cloud_of(nname, node).to_string();
            let ids = by_node.entry(nname.clone()).or_default();
            for index in 1..=node.multiplicity {
                let id = instances.len();
                let mut inst = Instance {
                    name: format!("{nname}.{index}"),
                    node: nname.clone(),
                    index,
                    cloud: cloud.clone(),
                    steps: Vec::with_capacity(kinds.len()),
                };
                for (i, &kind) in kinds.iter().enumerate() {
                    let sid = steps.len();
                    let after = if i == 0 { Vec::new() } else { vec![sid - 1] };
                    let duration = estimate(&inst, kind);
                    steps.push(Step {
                        instance: id,
                        kind,
                        duration,
                        after,
                        earliest_start: 0.0,
                    });
                    inst.steps.push(sid);
                }
                instances.push(inst);
                ids.push(id);
            }
        }

        let step_of = |instances: &[Instance],
                       steps: &[Step],
                       inst: InstanceId,
                       kind: StepKind|
         -> Option<StepId> {
            instances[inst]
                .steps
                .iter()
                .copied()
                .find(|&s| steps[s].kind == kind)
        };

        let mut wires = Vec::new();
        for (nname, node) in &recipe.deployment.nodes {
            for (input, value) in &node.inputs {
                let InputValue::Wire { from } = value else {
                    continue;
                };
                let Some(w) = WireRef::parse(from) else {
                    continue;
                };
                let Some(src_ids) = by_node.get(&w.node) else {
                    continue;
                };
                let from_instances: Vec<InstanceId> = match w.index {
                    Some(i) => src_ids.get(i as usize - 1).copied().into_iter().collect(),
                    None => src_ids.clone(),
                };
                // Which step of the source makes the value available.
                let src_kind = match w.param.as_str() {
                    "index" | "node" | "cloud" => None, // known before anything runs
                    "hostname" | "instance_id" => Some(StepKind::Provision),
                    _ => Some(shape[w.node.as_str()].0),
                };
                if let (Some(src_kind), Some(reader)) = (src_kind, shape[nname.as_str()].1) {
                    for &consumer in &by_node[nname] {
                        let Some(dst) = step_of(&instances, &steps, consumer, reader) else {
                            continue;
                        };
                        for &producer in &from_instances {
                            if let Some(src) = step_of(&instances, &steps, producer, src_kind) {
                                if !steps[dst].after.contains(&src) {
                                    steps[dst].after.push(src);
                                }
                            }
                        }
                    }
                }
                wires.push(PlannedWire {
                    to_node: nname.clone(),
                    input: input.clone(),
                    from: from.clone(),
                    from_instances,
                });
            }
        }

        let (critical_path, lower_bound) = schedule(&mut steps, &instances)?;
        Ok(Plan {
            instances,
            steps,
            wires,
            critical_path,
            lower_bound,
            by_node,
        })
    }

    pub fn step_name(&self, id: StepId) -> String {
        let s = &self.steps[id];
        format!("{} {}", self.instances[s.instance].name, s.kind.as_str())
    }

    /// Steps grouped by earliest start, in time order.
    pub fn waves(&self) -> Vec<(f64, Vec<StepId>)> {
        let mut order: Vec<StepId> = (0..self.steps.len()).collect();
        order.sort_by(|&a, &b| {
            self.steps[a]
                .earliest_start
                .total_cmp(&self.steps[b].earliest_start)
                .then(a.cmp(&b))
        });
        let mut waves: Vec<(f64, Vec<StepId>)> = Vec::new();
        for id in order {
            let t = self.steps[id].earliest_start;
            match waves.last_mut() {
                Some((wt, ids)) if *wt == t => ids.push(id),
                _ => waves.push((t, vec![id])),
            }
        }
        waves
    }

    /// Steps that wait for `id` to finish.
    pub fn dependents(&self) -> Vec<Vec<StepId>> {
        let mut out = vec![Vec::new(); self.steps.len()];
        for (id, s) in self.steps.iter().enumerate() {
            for &a in &s.after {
                out[a].push(id);
            }
        }
        out
    }
}

/// Earliest starts by a topological walk; returns the critical path and its length.
fn schedule(steps: &mut [Step], instances: &[Instance]) -> Result<(Vec<StepId>, f64), CycleError> {
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(steps.len(), steps.len() * 2);
    for _ in 0..steps.len() {
        graph.add_node(());
    }
    for (id, s) in steps.iter().enumerate() {
        for &a in &s.after {
            graph.add_edge(NodeIndex::new(a), NodeIndex::new(id), ());
        }
    }
    let order = petgraph::algo::toposort(&graph, None).map_err(|c| {
        let s = &steps[c.node_id().index()];
        CycleError {
            step: format!("{} {}", instances[s.instance].name, s.kind.as_str()),
        }
    })?;
    let mut via: Vec<Option<StepId>> = vec![None; steps.len()];
    let mut best_end = 0.0f64;
    let mut best_last: Option<StepId> = None;
    for n in order {
        let id = n.index();
        let mut start = 0.0f64;
        for &a in &steps[id].after {
            let end = steps[a].earliest_start + steps[a].duration;
            if via[id].is_none() || end > start {
                start = end;
                via[id] = Some(a);
            }
        }
        steps[id].earliest_start = start;
        let end = start + steps[id].duration;
        if best_last.is_none() || end > best_end {
            best_end = end;
            best_last = Some(id);
        }
    }
    let mut path = Vec::new();
    let mut cur = best_last;
    while let Some(id) = cur {
        path.push(id);
        cur = via[id];
    }
    path.reverse();
    Ok((path, best_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(text: &str) -> Recipe {
        let checked = slipway_recipe::check(text, &ValidateOptions::default());
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        checked.recipe.unwrap()
    }

    const THREE_TIER: &str = r#"
slipway: 1
name: t
images:
  i:
    recipes: { pre_install: "true" }
components:
  db:
    image: i
    outputs: { port: {} }
    recipes: { deployment: "true" }
  web:
    image: i
    inputs: { h: {}, p: {} }
    outputs: { url: {} }
    recipes: { deployment: "true" }
  test:
    image: i
    inputs: { urls: {} }
    recipes: { deployment: "true", reporting: "true" }
deployment:
  nodes:
    db: { component: db }
    web:
      component: web
      multiplicity: 2
      inputs: { h: { from: db.hostname }, p: { from: db.port } }
    test:
      component: test
      inputs: { urls: { from: web.url } }
"#;

    #[test]
    fn steps_wait_only_for_what_they_read() {
        let plan = Plan::build(&recipe(THREE_TIER), &ValidateOptions::default()).unwrap();
        assert_eq!(plan.instances.len(), 4);
        let names: Vec<String> = plan
            .critical_path
            .iter()
            .map(|&s| plan.step_name(s))
            .collect();
        // provision → pre_install → db deployment → web deployment → test deployment → reporting
        assert_eq!(plan.lower_bound, 6.0);
        assert_eq!(names.last().unwrap(), "test.1 reporting");
        assert!(names.contains(&"db.1 deployment".to_string()), "{names:?}");
        // Image recipes of every instance start together, right after provisioning.
        let pre: Vec<f64> = plan
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::PreInstall)
            .map(|s| s.earliest_start)
            .collect();
        assert_eq!(pre, vec![1.0; 4]);
        // The test deployment waits for both web deployments, not for the db's reporting.
        let test_dep = plan
            .steps
            .iter()
            .position(|s| {
                s.kind == StepKind::Deployment && plan.instances[s.instance].node == "test"
            })
            .unwrap();
        let mut waits: Vec<String> = plan.steps[test_dep]
            .after
            .iter()
            .map(|&a| plan.step_name(a))
            .collect();
        waits.sort();
        assert_eq!(
            waits,
            ["test.1 pre_install", "web.1 deployment", "web.2 deployment"]
        );
    }

    #[test]
    fn one_instance_wire_reads_one_instance() {
        let text = THREE_TIER.replace("{ from: web.url }", "{ from: web.2.url }");
        let plan = Plan::build(&recipe(&text), &ValidateOptions::default()).unwrap();
        let wire = plan.wires.iter().find(|w| w.to_node == "test").unwrap();
        assert_eq!(wire.from_instances.len(), 1);
        assert_eq!(plan.instances[wire.from_instances[0]].name, "web.2");
    }

    #[test]
    fn estimates_shape_the_critical_path() {
        let plan = Plan::build_with(
            &recipe(THREE_TIER),
            &ValidateOptions::default(),
            |inst, kind| {
                if inst.name == "web.2" && kind == StepKind::PreInstall {
                    10.0
                } else {
                    1.0
                }
            },
        )
        .unwrap();
        let names: Vec<String> = plan
            .critical_path
            .iter()
            .map(|&s| plan.step_name(s))
            .collect();
        assert!(
            names.contains(&"web.2 pre_install".to_string()),
            "{names:?}"
        );
        assert_eq!(plan.lower_bound, 1.0 + 10.0 + 1.0 + 1.0 + 1.0);
    }
}
