//! Writing generated TypeScript bindings files (`ui/src/bindings/*.ts`) from ts-rs declarations.
//!
//! Owns: the one layout every bindings file has (a header, `import type` lines for what other
//! bindings files declare, then `export`ed declarations). Each crate lists its own types; this
//! module never decides which types cross the IPC boundary.

use std::collections::BTreeSet;

use ts_rs::{Config, TS};

/// A bindings file being assembled.
pub struct BindingsFile {
    cfg: Config,
    decls: Vec<(String, String)>,
    used: BTreeSet<String>,
}

impl Default for BindingsFile {
    fn default() -> Self {
        BindingsFile::new()
    }
}

impl BindingsFile {
    /// 64-bit integers (unix-millisecond timestamps, row ids) become `number`: they stay far
    /// below 2^53.
    pub fn new() -> Self {
        BindingsFile {
            cfg: Config::default().with_large_int("number"),
            decls: Vec::new(),
            used: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Declares `T` in this file.
    pub fn add<T: TS + ?Sized + 'static>(&mut self) {
        self.decls.push((T::ident(&self.cfg), T::decl(&self.cfg)));
        self.uses::<T>();
    }

    /// Notes the types `T` refers to, without declaring `T`.
    pub fn uses<T: TS + ?Sized + 'static>(&mut self) {
        self.used
            .extend(T::dependencies(&self.cfg).into_iter().map(|d| d.ts_name));
    }

    /// Notes `T` itself (a type another bindings file declares, named by a hand-assembled
    /// declaration) and what it refers to, so it is imported.
    pub fn uses_named<T: TS + ?Sized + 'static>(&mut self) {
        self.used.insert(T::ident(&self.cfg));
        self.uses::<T>();
    }

    /// Declares a hand-assembled type (such as a map of commands) under `name`.
    pub fn add_declaration(&mut self, name: impl Into<String>, decl: impl Into<String>) {
        self.decls.push((name.into(), decl.into()));
    }

    /// The file: `header` (comment lines), then `import type` lines naming, for each
    /// `(module, its text)` in `imports`, the names this file uses and that module exports, then
    /// every declaration. Panics when a used name is declared nowhere (a test catches it).
    pub fn render(self, header: &str, imports: &[(&str, &str)]) -> String {
        let local: BTreeSet<&str> = self.decls.iter().map(|(n, _)| n.as_str()).collect();
        // Dependencies are transitive; import only the names the declarations spell out.
        let words: BTreeSet<&str> = self
            .decls
            .iter()
            .flat_map(|(_, d)| d.split(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
            .collect();
        let wanted: Vec<&str> = self
            .used
            .iter()
            .map(String::as_str)
            .filter(|n| words.contains(n) && !local.contains(n))
            .collect();
        let exported: Vec<(&str, BTreeSet<String>)> = imports
            .iter()
            .map(|(m, text)| (*m, exported_names(text)))
            .collect();
        let mut out = String::new();
        for line in header.lines() {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        let mut imported = 0;
        for (module, names) in &exported {
            let mine: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|n| names.contains(*n))
                .collect();
            if !mine.is_empty() {
                out.push_str(&format!(
                    "import type {{ {} }} from \"{module}\";\n",
                    mine.join(", ")
                ));
                imported += mine.len();
            }
        }
        assert_eq!(
            imported,
            wanted.len(),
            "a type used in the bindings is declared in no bindings file: {wanted:?}"
        );
        if imported > 0 {
            out.push('\n');
        }
        for (_, d) in self.decls {
            // A leading doc comment goes before `export`.
            let (doc, decl) = match d
                .strip_prefix("/**")
                .and_then(|rest| rest.split_once("*/\n"))
            {
                Some((doc, decl)) => (format!("/**{doc}*/\n"), decl.to_string()),
                None => (String::new(), d),
            };
            out.push_str(&doc);
            out.push_str("export ");
            out.push_str(&decl);
            out.push_str("\n\n");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

/// The names a generated bindings file exports.
pub fn exported_names(ts: &str) -> BTreeSet<String> {
    ts.lines()
        .filter_map(|l| l.strip_prefix("export type "))
        .filter_map(|rest| rest.split([' ', '<', '=']).next())
        .map(str::to_string)
        .collect()
}
