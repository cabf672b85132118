//! `slipway import FILE` and `slipway export DEPLOYMENT [-o FILE]`: recipe files in and out of the
//! module library that the desktop app shows.

use std::path::Path;

use slipway_engine::Clock;
use slipway_recipe::ValidateOptions;

use crate::common::{bad_input, infra, open_store};
use crate::load::load;
use slipway_engine::exit;

pub fn import(file: &Path, json: bool) -> i32 {
    let loaded = match load(file, &ValidateOptions::default()) {
        Ok(l) => l,
        Err(e) => return bad_input(json, &e),
    };
    let Some(recipe) = loaded.checked.valid_recipe() else {
        // Nothing is stored from an invalid file.
        if json {
            println!(
                "{}",
                serde_json::json!({ "file": loaded.display, "imported": false, "problems": loaded.checked.diagnostics })
            );
        } else {
            loaded.print_problems();
            eprintln!("nothing was imported");
        }
        return exit::BAD_INPUT;
    };
    let mut store = match open_store(&slipway_store::data_dir()) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let comment = format!("imported from {}", loaded.display);
    let at = slipway_engine::SystemClock.now_ms();
    match store.import_recipe(recipe, Some(&comment), at) {
        Ok(modules) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "file": loaded.display, "imported": true, "modules": modules })
                );
            } else {
                for m in &modules {
                    let what = if m.created_new {
                        "new version"
                    } else {
                        "unchanged"
                    };
                    println!(
                        "{:<11} {:<24} v{:<4} {what}",
                        m.kind.as_str(),
                        m.name,
                        m.version
                    );
                }
            }
            exit::SUCCESS
        }
        Err(e) => infra(json, &e.to_string()),
    }
}

pub fn export(deployment: &str, out: Option<&Path>, json: bool) -> i32 {
    let (name, version) = match deployment.split_once('@') {
        Some((n, v)) => match v.parse::<u32>() {
            Ok(v) => (n, Some(v)),
            Err(_) => {
                return bad_input(
                    json,
                    &format!("`{deployment}` is not `NAME` or `NAME@VERSION`"),
                )
            }
        },
        None => (deployment, None),
    };
    let store = match open_store(&slipway_store::data_dir()) {
        Ok(s) => s,
        Err(e) => return infra(json, &e),
    };
    let recipe = match store.export_recipe(name, version) {
        Ok(r) => r,
        Err(e) if e.kind() == slipway_store::ErrorKind::NotFound => {
            return bad_input(json, &format!("{e} (list the library with the desktop app, or import a file with `slipway import`)"))
        }
        Err(e) => return infra(json, &e.to_string()),
    };
    let text = slipway_recipe::to_yaml(&recipe);
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                return infra(json, &format!("{}: {e}", path.display()));
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "deployment": name, "file": path.display().to_string() })
                );
            } else {
                eprintln!("wrote {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    exit::SUCCESS
}
