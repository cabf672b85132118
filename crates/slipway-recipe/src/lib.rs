//! Slipway recipe files, format version 1 (SPEC §2): the model, reading YAML with source
//! positions, validation that reports every problem at once, a YAML writer, and the JSON Schema.
//!
//! Architecture invariant: this crate does no I/O beyond the text it is handed, knows nothing of
//! Tauri, tokio, databases or clouds, and never panics on any input.

pub mod diagnostic;
mod emit;
pub mod model;
mod parse;
pub mod typescript;
mod validate;
mod yaml;

pub use diagnostic::{Code, Diagnostic, DiagnosticView, Pos, Severity};
pub use emit::to_yaml;
pub use model::*;
pub use parse::SourceMap;
pub use validate::{validate, SetValue, ValidateOptions};

/// The result of reading and checking a recipe: the model when the file could be read, where each
/// part came from, and every problem found.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub recipe: Option<Recipe>,
    pub source_map: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The recipe, only when no problem is an error.
    pub fn valid_recipe(&self) -> Option<&Recipe> {
        if self.has_errors() {
            None
        } else {
            self.recipe.as_ref()
        }
    }
}

/// Reads the text's shape only (YAML syntax, keys, types, names); no cross-references.
pub fn parse(text: &str) -> Checked {
    let mut diagnostics = Vec::new();
    let root = yaml::load(text, &mut diagnostics);
    let syntax_failed = diagnostics.iter().any(|d| d.code == Code::YamlSyntax);
    let mut reader = parse::Reader {
        diags: &mut diagnostics,
        map: SourceMap::default(),
    };
    let recipe = if syntax_failed {
        None
    } else {
        parse::read_recipe(root.as_ref(), &mut reader)
    };
    let source_map = reader.map;
    Checked {
        recipe,
        source_map,
        diagnostics,
    }
}

/// Reads and validates a recipe; problems come sorted by position.
pub fn check(text: &str, opts: &ValidateOptions) -> Checked {
    let mut checked = parse(text);
    if let Some(recipe) = &checked.recipe {
        let more = validate(recipe, &checked.source_map, opts);
        checked.diagnostics.extend(more);
    }
    diagnostic::sort(&mut checked.diagnostics);
    checked
}

/// The JSON Schema of format v1, generated from the model types.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Recipe);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    text
}

/// TypeScript declarations of every type of this crate that crosses the IPC boundary, in
/// dependency order. `ui/src/bindings/recipe.ts` is this text; a test fails when it is stale.
pub fn typescript_bindings() -> String {
    let mut file = typescript::BindingsFile::new();
    file.add::<Recipe>();
    file.add::<Image>();
    file.add::<CloudImage>();
    file.add::<ImageRecipes>();
    file.add::<Component>();
    file.add::<InputSpec>();
    file.add::<OutputSpec>();
    file.add::<ComponentRecipes>();
    file.add::<KeepRunning>();
    file.add::<Deployment>();
    file.add::<Node>();
    file.add::<InputValue>();
    file.add::<Position>();
    file.add::<Severity>();
    file.add::<DiagnosticView>();
    file.render(
        "// Generated from the Rust types of crates/slipway-recipe by its `generated` test. Do not edit:\n// run `UPDATE_EXPECT=1 cargo test -p slipway-recipe --test generated` instead.",
        &[],
    )
}
