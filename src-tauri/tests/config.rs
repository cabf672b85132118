//! The shell's configuration, checked without starting it: least-privilege capabilities that
//! still allow every declared command, a strict CSP, the window and the icon.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

fn here(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn json_file(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(here(rel)).unwrap()).unwrap()
}

#[test]
fn every_declared_command_is_allowed_and_nothing_else() {
    let toml = std::fs::read_to_string(here("permissions/slipway-commands.toml")).unwrap();
    let mut listed: Vec<String> = toml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"allow-"))
        .map(|l| l.trim_end_matches(['"', ',']).replace('-', "_"))
        .collect();
    listed.sort();
    let mut declared: Vec<String> = slipway_api::COMMANDS
        .iter()
        .chain(slipway_api::STREAMS)
        .map(|c| c.to_string())
        .collect();
    declared.sort();
    assert_eq!(listed, declared);
}

#[test]
fn the_window_may_do_only_what_the_designer_needs() {
    let cap = json_file("capabilities/designer.json");
    assert_eq!(cap["windows"], json!(["main"]));
    assert_eq!(
        cap["permissions"],
        json!([
            "core:default",
            "slipway-commands",
            "dialog:allow-open",
            "dialog:allow-save",
            "dialog:allow-message"
        ])
    );
    let others: Vec<_> = std::fs::read_dir(here("capabilities"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(others.len(), 1, "one capability file: {others:?}");
}

#[test]
fn the_config_is_the_repository_roots_and_strict() {
    let root = json_file("../tauri.conf.json");
    assert_eq!(
        json_file("tauri.conf.json"),
        root,
        "src-tauri/tauri.conf.json links to it"
    );
    let csp = &root["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], json!("'self'"));
    assert_eq!(csp["script-src"], json!("'self'"));
    assert_eq!(csp["connect-src"], json!("ipc: http://ipc.localhost"));
    assert_eq!(csp["object-src"], json!("'none'"));
    for (directive, sources) in csp.as_object().unwrap() {
        // Tauri's IPC is the one origin besides the app's own.
        let sources = sources
            .as_str()
            .unwrap()
            .replace("http://ipc.localhost", "");
        assert!(
            !sources.contains("http:") && !sources.contains("https:"),
            "{directive}: {sources}"
        );
        assert!(!sources.contains('*'), "{directive}: {sources}");
    }
    assert_eq!(root["build"]["frontendDist"], json!("../ui/dist"));
    assert_eq!(root["build"]["devUrl"], json!("http://localhost:1420"));
    let window = &root["app"]["windows"][0];
    assert_eq!(window["label"], json!("main"));
    assert_eq!(window["title"], json!("Slipway"));
}

#[test]
fn the_icon_is_an_rgba_png() {
    let root = json_file("../tauri.conf.json");
    let icon = root["bundle"]["icon"][0].as_str().unwrap();
    let png = std::fs::read(here(icon)).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(png[24], 8, "8 bits per channel");
    assert_eq!(png[25], 6, "colour type 6: RGBA");
}
