//! Reading a recipe file and turning command-line placement flags into validation options.

use std::path::Path;

use slipway_recipe::{Checked, Diagnostic, SetValue, ValidateOptions};

use crate::PlacementArgs;

pub struct Loaded {
    pub display: String,
    pub text: String,
    pub checked: Checked,
}

/// Reads and checks `file`. `Err` carries a message for a file that cannot be read at all.
pub fn load(file: &Path, opts: &ValidateOptions) -> Result<Loaded, String> {
    let display = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| format!("{display}: cannot read the file: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{display}: the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let checked = slipway_recipe::check(&text, opts);
    Ok(Loaded {
        display,
        text,
        checked,
    })
}

impl Loaded {
    pub fn render(&self, d: &Diagnostic) -> String {
        d.render(&self.display, Some(&self.text))
    }

    /// Prints every problem to stderr, then a one-line summary if any is an error.
    pub fn print_problems(&self) {
        self.write_problems(&mut std::io::stderr().lock());
    }

    /// Every problem, then a one-line summary if any is an error. `slipway validate` writes
    /// them to standard output (they are its result); other commands to standard error.
    pub fn write_problems(&self, out: &mut dyn std::io::Write) {
        let errors = self
            .checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        let warnings = self.checked.diagnostics.len() - errors;
        for d in &self.checked.diagnostics {
            let _ = writeln!(out, "{}\n", self.render(d));
        }
        if errors > 0 {
            let _ = writeln!(
                out,
                "{}: {} error{}{}",
                self.display,
                errors,
                plural(errors),
                if warnings > 0 {
                    format!(", {warnings} warning{}", plural(warnings))
                } else {
                    String::new()
                }
            );
        }
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Validation options from `--cloud`, `--node-cloud` and `--set`.
pub fn options(p: &PlacementArgs) -> Result<ValidateOptions, String> {
    let mut opts = ValidateOptions {
        default_cloud: p.cloud.clone(),
        ..ValidateOptions::default()
    };
    for nc in &p.node_cloud {
        let (node, cloud) = nc
            .split_once('=')
            .filter(|(n, c)| !n.is_empty() && !c.is_empty())
            .ok_or_else(|| format!("--node-cloud `{nc}` is not `NODE=CLOUD`"))?;
        opts.node_clouds.insert(node.to_string(), cloud.to_string());
    }
    for s in &p.set {
        opts.sets
            .push(SetValue::parse(s).map_err(|e| format!("--set: {e}"))?);
    }
    Ok(opts)
}
