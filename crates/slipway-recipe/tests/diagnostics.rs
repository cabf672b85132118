//! Data-driven diagnostics tests: every `tests/invalid/*.slipway.yaml` at the repository root is
//! checked and its rendered problems are compared with the `.expected` file beside it.
//! A first line `# slipway-test: --cloud C --node-cloud n=C --set n.i=v` passes options.
//! Refresh the expectations with `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test diagnostics`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use slipway_recipe::{check, Code, SetValue, ValidateOptions};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".slipway.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixtures missing in {}", dir.display());
    files
}

fn options(text: &str) -> ValidateOptions {
    let mut opts = ValidateOptions::default();
    let Some(args) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# slipway-test:"))
    else {
        return opts;
    };
    let words: Vec<&str> = args.split_whitespace().collect();
    for pair in words.chunks(2) {
        match pair {
            ["--cloud", c] => opts.default_cloud = Some(c.to_string()),
            ["--node-cloud", nc] => {
                let (n, c) = nc.split_once('=').unwrap();
                opts.node_clouds.insert(n.into(), c.into());
            }
            ["--set", s] => opts.sets.push(SetValue::parse(s).unwrap()),
            other => panic!("unknown fixture option {other:?}"),
        }
    }
    opts
}

#[test]
fn invalid_files_report_the_expected_problems() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut seen_codes = HashSet::new();
    let mut failures = Vec::new();
    for file in fixtures() {
        let text = std::fs::read_to_string(&file).unwrap();
        let checked = check(&text, &options(&text));
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(checked.has_errors(), "{name}: expected at least one error");
        let mut rendered = String::new();
        for d in &checked.diagnostics {
            seen_codes.insert(d.code);
            rendered.push_str(&d.render(&name, Some(&text)));
            rendered.push_str("\n\n");
        }
        let expected_path = file.with_file_name(name.replace(".slipway.yaml", ".expected"));
        if update {
            std::fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != rendered {
            failures.push(format!(
                "--- {name}: expected\n{expected}\n--- got\n{rendered}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(refresh with UPDATE_EXPECT=1 if the change is intended)",
        failures.join("\n")
    );
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !seen_codes.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no fixture exercises: {missing:?}");
}

#[test]
fn examples_are_valid_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/examples");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let checked = check(&text, &ValidateOptions::default());
        assert!(
            checked.diagnostics.is_empty(),
            "{}: {:?}",
            path.display(),
            checked.diagnostics
        );
        let recipe = checked.recipe.unwrap();
        let written = slipway_recipe::to_yaml(&recipe);
        let again = check(&written, &ValidateOptions::default());
        assert!(
            again.diagnostics.is_empty(),
            "{written}\n{:?}",
            again.diagnostics
        );
        assert_eq!(again.recipe.as_ref(), Some(&recipe), "{}", path.display());
        // Writing is stable: the second write equals the first.
        assert_eq!(
            slipway_recipe::to_yaml(again.recipe.as_ref().unwrap()),
            written
        );
        count += 1;
    }
    assert!(count >= 3);
}

#[test]
fn diagnostics_name_file_line_and_column() {
    let text = "slipway: 1\nname: x\ncomponents:\n  web:\n    imgae: base\ndeployment:\n  nodes:\n    web: { component: web }\n";
    let checked = check(text, &ValidateOptions::default());
    let typo = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnknownKey)
        .expect("the typo is reported");
    let first = typo.render("f.slipway.yaml", None);
    assert!(
        first.starts_with("f.slipway.yaml:5:5: error[unknown-key]: unknown key `imgae`"),
        "{first}"
    );
    assert!(first.contains("did you mean `image`?"), "{first}");
}
