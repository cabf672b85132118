//! Reads `tauri.conf.json` (a link to the repository root's; its paths are relative to this
//! directory), the capabilities and permissions, and registers Slipway's commands so that each
//! needs an explicit permission.
//!
//! The web UI is embedded from `ui/dist` (`npm run build` in `ui/`). When it was never built, a
//! page saying so is embedded instead, with a warning, so that `cargo check`, clippy and the
//! tests of the workspace work without Node.

use std::path::Path;

fn main() {
    let dist = Path::new("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("index.html").exists() {
        let out =
            Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("ui-not-built");
        std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
        std::fs::write(out.join("index.html"), PLACEHOLDER).expect("OUT_DIR is writable");
        let config = serde_json::json!({ "build": { "frontendDist": out } });
        println!("cargo:rustc-env=TAURI_CONFIG={config}");
        println!("cargo:warning=ui/dist is missing: the app shows a placeholder (run `npm ci && npm run build` in ui/ and build again)");
    }

    let names: Vec<&'static str> = [slipway_api::COMMANDS, slipway_api::STREAMS].concat();
    let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    let manifest = tauri_build::AppManifest::new().commands(names);
    let attributes = tauri_build::Attributes::new().app_manifest(manifest);
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}

const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"UTF-8\"><title>Slipway</title></head>\
<body><h1>The Slipway UI was not built</h1><p>Run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>, then build the app again.</p></body></html>\n";
