//! Problems found in a recipe, as data.
//!
//! Owns: the diagnostic type, its stable codes, and the one-line `FILE:LINE:COLUMN` rendering.
//! Never: stops at the first problem; every check appends to a list.

use serde::Serialize;

/// A place in the source text: 1-based line and column (in characters), and a length for carets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    #[serde(skip)]
    pub len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// Stable problem codes. Callers match on these, never on message text.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum Code { $($variant,)* }
        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }
        }
    };
}

codes! {
    EmptyFile => "empty-file",
    YamlSyntax => "yaml-syntax",
    MissingVersion => "missing-version",
    UnsupportedVersion => "unsupported-version",
    UnknownKey => "unknown-key",
    MissingKey => "missing-key",
    WrongType => "wrong-type",
    BadValue => "bad-value",
    BadName => "bad-name",
    DuplicateName => "duplicate-name",
    ReservedName => "reserved-name",
    UnknownImage => "unknown-image",
    UnknownComponent => "unknown-component",
    UnknownNode => "unknown-node",
    UnknownParameter => "unknown-parameter",
    BadWire => "bad-wire",
    IndexOutOfRange => "index-out-of-range",
    UnconnectedInput => "unconnected-input",
    WireCycle => "wire-cycle",
    UnknownCloud => "unknown-cloud",
    MissingCloudMapping => "missing-cloud-mapping",
    SecretInFile => "secret-in-file",
    EmptyDeployment => "empty-deployment",
    RedundantDefault => "redundant-default",
}

/// How a diagnostic crosses the IPC boundary and appears in `--json` output.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct DiagnosticView {
    pub severity: Severity,
    /// A stable code such as `unknown-key`.
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    /// Dotted model path, such as `deployment.nodes.web.inputs.db_host`.
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticView {
            severity: d.severity,
            code: d.code.as_str().to_string(),
            message: d.message.clone(),
            hint: d.hint.clone(),
            path: d.path.clone(),
            line: d.pos.map(|p| p.line),
            column: d.pos.map(|p| p.col),
        }
    }
}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DiagnosticView::from(self).serialize(s)
    }
}

/// One problem. `path` is the dotted location in the recipe model (for example
/// `deployment.nodes.web.inputs.db_host`), so a GUI can focus the node without any source text;
/// `pos` is set when the recipe came from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
    pub path: String,
    pub pos: Option<Pos>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            hint: None,
            path: String::new(),
            pos: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    pub fn at_opt(mut self, pos: Option<Pos>) -> Self {
        self.pos = pos.or(self.pos);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `FILE:LINE:COLUMN: error[CODE]: message`, then the source line with a caret and the hint
    /// when there is one.
    pub fn render(&self, file: &str, source: Option<&str>) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = match self.pos {
            Some(p) => format!("{file}:{}:{}: ", p.line, p.col),
            None => format!("{file}: "),
        };
        out.push_str(&format!("{sev}[{}]: {}", self.code.as_str(), self.message));
        if let (Some(p), Some(src)) = (self.pos, source) {
            if let Some(line) = src.lines().nth((p.line as usize).saturating_sub(1)) {
                let gutter = p.line.to_string();
                let pad = " ".repeat(gutter.len());
                let shown: String = line.chars().take(200).collect();
                let indent: String = shown
                    .chars()
                    .take((p.col as usize).saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let room = shown.chars().count().saturating_sub(indent.chars().count());
                let carets = "^".repeat((p.len as usize).clamp(1, room.max(1)));
                out.push_str(&format!(
                    "\n {pad} |\n {gutter} | {shown}\n {pad} | {indent}{carets}"
                ));
            }
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("\n  = hint: {h}"));
        }
        out
    }
}

/// Sorts problems by position (unpositioned last), keeping the discovery order for ties.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| {
        d.pos
            .map(|p| (p.line, p.col))
            .unwrap_or((u32::MAX, u32::MAX))
    });
}

/// The closest candidate to a misspelt name, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost 1 (`imgae` is one typo away from `image`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(did_you_mean("imgae", ["image", "inputs"]), Some("image"));
        assert_eq!(did_you_mean("zzz", ["image", "inputs"]), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c:?}");
        }
    }
}
