//! `slipway plan FILE [--cloud C] [--node-cloud node=C]... [--set node.input=value]... [--json]`

use std::path::Path;

use slipway_plan::Plan;
use slipway_recipe::Recipe;

use crate::common::bad_input;
use crate::load::{load, options, plural};
use crate::PlacementArgs;
use slipway_engine::exit;

pub fn run(file: &Path, placement: &PlacementArgs, json: bool) -> i32 {
    let mut opts = match options(placement) {
        Ok(o) => o,
        Err(msg) => return bad_input(json, &msg),
    };
    // Configured clouds are known by name; without a readable store, only driver kinds are.
    if let Ok(clouds) = crate::common::open_store(&slipway_store::data_dir())
        .map_err(slipway_clouds::CloudError::Infrastructure)
        .and_then(|s| slipway_clouds::known_clouds(&s))
    {
        opts.clouds = Some(clouds.into_iter().collect());
    }
    let loaded = match load(file, &opts) {
        Ok(l) => l,
        Err(msg) => return bad_input(json, &msg),
    };
    let Some(recipe) = loaded.checked.valid_recipe() else {
        if json {
            println!(
                "{}",
                serde_json::json!({ "file": loaded.display, "valid": false, "problems": loaded.checked.diagnostics })
            );
        } else {
            loaded.print_problems();
        }
        return exit::BAD_INPUT;
    };
    let plan = match Plan::build(recipe, &opts) {
        Ok(p) => p,
        Err(e) => return bad_input(json, &format!("{}: {e}", loaded.display)),
    };
    if json {
        println!("{}", plan_json(recipe, &plan));
    } else {
        loaded.print_problems();
        print!("{}", plan_text(&loaded.display, recipe, &plan));
    }
    exit::SUCCESS
}

pub fn plan_json(recipe: &Recipe, plan: &Plan) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(id, s)| {
            serde_json::json!({
                "id": id,
                "name": plan.step_name(id),
                "instance": plan.instances[s.instance].name,
                "kind": s.kind,
                "after": s.after.iter().map(|&a| plan.step_name(a)).collect::<Vec<_>>(),
                "earliest_start": s.earliest_start,
            })
        })
        .collect();
    let instances: Vec<serde_json::Value> = plan
        .instances
        .iter()
        .map(|i| {
            serde_json::json!({
                "name": i.name, "node": i.node, "index": i.index, "cloud": i.cloud,
                "component": recipe.deployment.nodes[&i.node].component,
            })
        })
        .collect();
    let wires: Vec<serde_json::Value> = plan
        .wires
        .iter()
        .map(|w| {
            serde_json::json!({
                "to": format!("{}.{}", w.to_node, w.input),
                "from": w.from,
                "from_instances": w.from_instances.iter().map(|&i| plan.instances[i].name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let waves: Vec<serde_json::Value> = plan
        .waves()
        .into_iter()
        .map(|(t, ids)| serde_json::json!({ "start": t, "steps": ids.iter().map(|&s| plan.step_name(s)).collect::<Vec<_>>() }))
        .collect();
    serde_json::json!({
        "name": recipe.name,
        "instances": instances,
        "steps": steps,
        "wires": wires,
        "waves": waves,
        "critical_path": plan.critical_path.iter().map(|&s| plan.step_name(s)).collect::<Vec<_>>(),
        "lower_bound": plan.lower_bound,
    })
}

pub fn plan_text(display: &str, recipe: &Recipe, plan: &Plan) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "Plan for deployment `{}` ({display})\n", recipe.name);
    let _ = writeln!(out, "Instances ({}):", plan.instances.len());
    let w = plan.by_node.keys().map(String::len).max().unwrap_or(4);
    for (node, ids) in &plan.by_node {
        let n = &recipe.deployment.nodes[node];
        let names: Vec<&str> = ids
            .iter()
            .map(|&i| plan.instances[i].name.as_str())
            .collect();
        let cloud = ids
            .first()
            .map(|&i| plan.instances[i].cloud.as_str())
            .unwrap_or("-");
        let _ = writeln!(
            out,
            "  {node:<w$}  {} × {}  on {cloud}: {}",
            n.multiplicity,
            n.component,
            names.join(", ")
        );
    }
    if !plan.wires.is_empty() {
        let _ = writeln!(out, "\nWires ({}):", plan.wires.len());
        for wire in &plan.wires {
            let from: Vec<&str> = wire
                .from_instances
                .iter()
                .map(|&i| plan.instances[i].name.as_str())
                .collect();
            let joined = if from.len() > 1 {
                ", joined by `,`"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {}.{} ← {}  (from {}{joined})",
                wire.to_node,
                wire.input,
                wire.from,
                from.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nSteps by earliest start (each step estimated at 1 unit):"
    );
    for (t, ids) in plan.waves() {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for &id in &ids {
            let s = &plan.steps[id];
            let inst = plan.instances[s.instance].name.as_str();
            match groups.iter_mut().find(|(k, _)| *k == s.kind.as_str()) {
                Some((_, v)) => v.push(inst),
                None => groups.push((s.kind.as_str(), vec![inst])),
            }
        }
        let parts: Vec<String> = groups
            .into_iter()
            .map(|(k, insts)| format!("{k} {}", abbreviate(&insts)))
            .collect();
        let _ = writeln!(out, "  t={t:<4} {}", parts.join("; "));
    }
    let path: Vec<String> = plan
        .critical_path
        .iter()
        .map(|&s| plan.step_name(s))
        .collect();
    let _ = writeln!(
        out,
        "\nCritical path ({} step{}, lower bound {} unit{}):\n  {}",
        path.len(),
        plural(path.len()),
        plan.lower_bound,
        plural(plan.lower_bound as usize),
        path.join(" → ")
    );
    out
}

fn abbreviate(items: &[&str]) -> String {
    if items.len() <= 8 {
        items.join(", ")
    } else {
        format!("{}, … and {} more", items[..6].join(", "), items.len() - 6)
    }
}
