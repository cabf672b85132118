//! `slipway validate FILE [--json]`

use std::path::Path;

use slipway_recipe::ValidateOptions;

use crate::load::{load, plural};
use slipway_engine::exit;

pub fn run(file: &Path, json: bool) -> i32 {
    let loaded = match load(file, &ValidateOptions::default()) {
        Ok(l) => l,
        Err(msg) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "file": file.display().to_string(), "valid": false, "error": msg })
                );
            } else {
                eprintln!("error: {msg}");
            }
            return exit::BAD_INPUT;
        }
    };
    let checked = &loaded.checked;
    let valid = !checked.has_errors();
    if json {
        let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        println!(
            "{}",
            serde_json::json!({
                "file": loaded.display,
                "valid": valid,
                "errors": errors,
                "warnings": checked.diagnostics.len() - errors,
                "problems": checked.diagnostics,
            })
        );
    } else {
        loaded.write_problems(&mut std::io::stdout().lock());
        if let Some(r) = checked.valid_recipe() {
            let instances: u32 = r.deployment.nodes.values().map(|n| n.multiplicity).sum();
            let wires = r
                .deployment
                .nodes
                .values()
                .flat_map(|n| n.inputs.values())
                .filter(|v| matches!(v, slipway_recipe::InputValue::Wire { .. }))
                .count();
            let nodes = r.deployment.nodes.len();
            println!(
                "{}: valid: deployment `{}`, {nodes} node{}, {instances} instance{}, {wires} wire{}",
                loaded.display,
                r.name,
                plural(nodes),
                plural(instances as usize),
                plural(wires)
            );
        }
    }
    if valid {
        exit::SUCCESS
    } else {
        exit::BAD_INPUT
    }
}
