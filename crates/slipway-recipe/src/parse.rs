//! From a YAML tree to the recipe model, with a source map.
//!
//! Owns: the shape of format v1 (which keys exist where and what type each value has).
//! Every shape problem is reported and reading goes on, so one pass finds them all; a part that
//! cannot be read is left out of the model (the problem list says why).
//! Never: checks references between modules (that is `validate.rs`).

use rustc_hash::FxHashMap;

use indexmap::IndexMap;

use crate::diagnostic::{did_you_mean, Code, Diagnostic, Pos};
use crate::model::*;
use crate::yaml::{Key, Node, Value};

/// Where each part of a recipe came from in its file, keyed by dotted model path
/// (`components.web.image`, `deployment.nodes.db`).
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    /// Path → (position of its key, position of its value).
    entries: FxHashMap<String, (Pos, Pos)>,
}

impl SourceMap {
    /// Position of the key that names `path`.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.0)
    }
    /// Position of the value at `path`.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.1)
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    fn insert(&mut self, path: String, key: Pos, value: Pos) {
        self.entries.insert(path, (key, value));
    }
}

pub(crate) struct Reader<'d> {
    pub diags: &'d mut Vec<Diagnostic>,
    pub map: SourceMap,
}

/// Reads the model out of a YAML root. Returns None when not even the top level is usable.
pub(crate) fn read_recipe(root: Option<&Node>, r: &mut Reader) -> Option<Recipe> {
    let Some(root) = root.filter(|n| !matches!(n.value, Value::Null)) else {
        r.diags.push(
            Diagnostic::error(Code::EmptyFile, "the file is empty")
                .at(Pos {
                    line: 1,
                    col: 1,
                    len: 1,
                })
                .hint("a recipe starts with `slipway: 1`; see assets/examples/ for complete files"),
        );
        return None;
    };
    let Value::Map(entries) = &root.value else {
        r.diags.push(
            Diagnostic::error(
                Code::WrongType,
                format!("a recipe file is a mapping of keys, found {}", root.kind_name()),
            )
            .at(root.pos)
            .hint("start the file with `slipway: 1` followed by `name:`, `components:` and `deployment:`"),
        );
        return None;
    };

    // The version decides how everything else is read, so it is checked first, alone.
    match entries.iter().find(|(k, _)| k.text == "slipway") {
        None => {
            r.diags.push(
                Diagnostic::error(
                    Code::MissingVersion,
                    "the file does not say its format version",
                )
                .at(root.pos)
                .hint("add `slipway: 1` as the first line"),
            );
            return None;
        }
        Some((_, v)) => {
            let ok = matches!(&v.value, Value::Scalar { text, .. } if text.trim() == "1");
            if !ok {
                let found = match &v.value {
                    Value::Scalar { text, .. } => format!("`{text}`"),
                    _ => v.kind_name().to_string(),
                };
                r.diags.push(
                    Diagnostic::error(
                        Code::UnsupportedVersion,
                        format!("unsupported format version {found}: this Slipway reads version {FORMAT_VERSION}"),
                    )
                    .at(v.pos)
                    .path("slipway")
                    .hint("write `slipway: 1`, or open the file with the Slipway release that wrote it"),
                );
                return None;
            }
        }
    }

    let f = r.fields(
        root,
        "",
        What::plain("the recipe file"),
        &[
            "slipway",
            "name",
            "description",
            "images",
            "components",
            "deployment",
            "layout",
        ],
    )?;
    let name = r
        .required_string(&f, "", "name", root.pos, What::plain("the recipe file"))
        .unwrap_or_default();
    if !name.is_empty() {
        r.check_name(&name, "name", "deployment name", NameRule::Module, false);
    }
    let description = f
        .get("description")
        .and_then(|n| r.string(n, "description"));

    let mut images = IndexMap::new();
    if let Some(n) = f.get("images") {
        for (key, node) in r.named_map(n, "images", "images") {
            let path = format!("images.{}", key.text);
            r.check_name(&key.text, &path, "image name", NameRule::Module, false);
            if let Some(img) = r.image(node, &path) {
                images.insert(key.text.clone(), img);
            }
        }
    }
    let mut components = IndexMap::new();
    match f.get("components") {
        Some(n) => {
            for (key, node) in r.named_map(n, "components", "components") {
                let path = format!("components.{}", key.text);
                r.check_name(&key.text, &path, "component name", NameRule::Module, false);
                if let Some(c) = r.component(node, &path) {
                    components.insert(key.text.clone(), c);
                }
            }
        }
        None => r.missing(root.pos, "", "components", What::plain("the recipe file")),
    }
    let deployment = match f.get("deployment") {
        Some(n) => r.deployment(n).unwrap_or_default(),
        None => {
            r.missing(root.pos, "", "deployment", What::plain("the recipe file"));
            Deployment::default()
        }
    };
    let mut layout = IndexMap::new();
    if let Some(n) = f.get("layout") {
        for (key, node) in r.named_map(n, "layout", "layout") {
            let path = format!("layout.{}", key.text);
            if let Some(p) = r.position(node, &path) {
                layout.insert(key.text.clone(), p);
            }
        }
    }
    Some(Recipe {
        slipway: FORMAT_VERSION,
        name,
        description,
        images,
        components,
        deployment,
        layout,
    })
}

/// What a part of the file is, for messages ("node `web`", What::plain("the deployment")). Formatted only when
/// a problem is reported, so reading a large valid file allocates no message text.
#[derive(Clone, Copy)]
pub(crate) struct What<'a> {
    kind: &'static str,
    name: Option<&'a str>,
}

impl<'a> What<'a> {
    pub(crate) fn plain(kind: &'static str) -> Self {
        What { kind, name: None }
    }
    pub(crate) fn named(kind: &'static str, name: &'a str) -> Self {
        What {
            kind,
            name: Some(name),
        }
    }
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(n) => write!(f, "{} `{}`", self.kind, n),
            None => f.write_str(self.kind),
        }
    }
}

/// The fields of one mapping, by key.
pub(crate) struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| *n)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum NameRule {
    /// Modules, nodes, outputs: `[a-z][a-z0-9_-]*`.
    Module,
    /// Inputs, exported to the environment: `[a-z_][a-z0-9_]*`.
    Input,
}

impl NameRule {
    pub fn matches(self, name: &str) -> bool {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > 64 {
            return false;
        }
        match self {
            NameRule::Module => {
                b[0].is_ascii_lowercase()
                    && b.iter().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-'
                    })
            }
            NameRule::Input => {
                (b[0].is_ascii_lowercase() || b[0] == b'_')
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
            }
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            NameRule::Module => "[a-z][a-z0-9_-]*",
            NameRule::Input => "[a-z_][a-z0-9_]*",
        }
    }
}

/// A conforming spelling of a bad name, offered as a hint.
fn suggest_name(name: &str, rule: NameRule) -> String {
    let mut out: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| match (c, rule) {
            ('a'..='z' | '0'..='9' | '_', _) => c,
            ('-', NameRule::Module) => '-',
            _ => '_',
        })
        .collect();
    if !out.starts_with(|c: char| {
        c.is_ascii_lowercase() || (c == '_' && matches!(rule, NameRule::Input))
    }) {
        out.insert(0, 'n');
    }
    out.truncate(64);
    out
}

impl Reader<'_> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(crate) fn check_name(
        &mut self,
        name: &str,
        path: &str,
        what: &str,
        rule: NameRule,
        _value: bool,
    ) {
        if rule.matches(name) {
            return;
        }
        let pos = self.map.key(path);
        let why = if name.len() > 64 {
            "is longer than 64 characters".to_string()
        } else {
            format!("does not match `{}`", rule.pattern())
        };
        self.err(
            Diagnostic::error(Code::BadName, format!("{what} `{name}` {why}"))
                .at_opt(pos)
                .path(path)
                .hint(format!(
                    "use lower-case letters, digits{}, for example `{}`",
                    match rule {
                        NameRule::Module => ", `_` and `-`",
                        NameRule::Input => " and `_` (it becomes an environment variable)",
                    },
                    suggest_name(name, rule)
                )),
        );
    }

    /// Reports a missing key at the key that names the incomplete part (else at `at`).
    fn missing(&mut self, at: Pos, path: &str, key: &str, what: What) {
        let at = self.map.key(path).unwrap_or(at);
        self.err(
            Diagnostic::error(Code::MissingKey, format!("{what} has no `{key}`"))
                .at(at)
                .path(path)
                .hint(format!("add `{key}:`")),
        );
    }

    /// Checks that `node` is a mapping with only `allowed` keys; records positions.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: What,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => {
                return Some(Fields {
                    entries: Vec::new(),
                })
            }
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "{what} must be a mapping of keys, found {}",
                            node.kind_name()
                        ),
                    )
                    .at(node.pos)
                    .path(path)
                    .hint(format!("expected keys: {}", allowed.join(", "))),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let child = join(path, &key.text);
            if allowed.contains(&key.text.as_str()) {
                self.map.insert(child, key.pos, value.pos);
                out.push((key.text.as_str(), value));
            } else {
                let hint = match did_you_mean(&key.text, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? {what} takes: {}", allowed.join(", ")),
                    None => format!("{what} takes: {}", allowed.join(", ")),
                };
                self.err(
                    Diagnostic::error(
                        Code::UnknownKey,
                        format!("unknown key `{}` in {what}", key.text),
                    )
                    .at(key.pos)
                    .path(child)
                    .hint(hint),
                );
            }
        }
        Some(Fields { entries: out })
    }

    /// A mapping from user-chosen names to values; records key and value positions.
    fn named_map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
    ) -> Vec<(&'n Key, &'n Node)> {
        match &node.value {
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let child = join(path, &k.text);
                    self.map.insert(child, k.pos, v.pos);
                    out.push((k, v));
                }
                out
            }
            Value::Null => Vec::new(),
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`{what}` must be a mapping from names to definitions, found {}",
                            node.kind_name()
                        ),
                    )
                    .at(node.pos)
                    .path(path),
                );
                Vec::new()
            }
        }
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            Value::Null => None,
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`{}` must be text, found {}", last(path), node.kind_name()),
                    )
                    .at(node.pos)
                    .path(path),
                );
                None
            }
        }
    }

    fn required_string(
        &mut self,
        f: &Fields,
        path: &str,
        key: &str,
        at: Pos,
        what: What,
    ) -> Option<String> {
        let child = join(path, key);
        match f.get(key) {
            Some(n) => {
                let s = self.string(n, &child);
                if s.as_deref().is_none_or(str::is_empty)
                    && matches!(n.value, Value::Null | Value::Scalar { .. })
                {
                    self.err(
                        Diagnostic::error(Code::MissingKey, format!("`{key}` is empty"))
                            .at(n.pos)
                            .path(child)
                            .hint(format!("give `{key}` a value")),
                    );
                    return None;
                }
                s
            }
            None => {
                self.missing(at, path, key, what);
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar { text, plain: true }
                if matches!(text.as_str(), "true" | "True" | "TRUE") =>
            {
                Some(true)
            }
            Value::Scalar { text, plain: true }
                if matches!(text.as_str(), "false" | "False" | "FALSE") =>
            {
                Some(false)
            }
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`{}` must be true or false, found {}",
                            last(path),
                            describe(node)
                        ),
                    )
                    .at(node.pos)
                    .path(path),
                );
                None
            }
        }
    }

    fn count(&mut self, node: &Node, path: &str, min: u32, max: u32) -> Option<u32> {
        let parsed = match &node.value {
            Value::Scalar { text, .. } => text.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n >= i64::from(min) && n <= i64::from(max) => Some(n as u32),
            Some(n) => {
                self.err(
                    Diagnostic::error(
                        Code::BadValue,
                        format!(
                            "`{}` is {n}, but must be between {min} and {max}",
                            last(path)
                        ),
                    )
                    .at(node.pos)
                    .path(path),
                );
                None
            }
            None => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`{}` must be a whole number, found {}",
                            last(path),
                            describe(node)
                        ),
                    )
                    .at(node.pos)
                    .path(path),
                );
                None
            }
        }
    }

    fn number(&mut self, node: &Node, path: &str) -> Option<f64> {
        match &node.value {
            Value::Scalar { text, plain: true } => match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    self.err(
                        Diagnostic::error(
                            Code::WrongType,
                            format!(
                                "`{}` must be a number, found {}",
                                last(path),
                                describe(node)
                            ),
                        )
                        .at(node.pos)
                        .path(path),
                    );
                    None
                }
            },
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "`{}` must be a number, found {}",
                            last(path),
                            describe(node)
                        ),
                    )
                    .at(node.pos)
                    .path(path),
                );
                None
            }
        }
    }

    fn image(&mut self, node: &Node, path: &str) -> Option<Image> {
        let f = self.fields(
            node,
            path,
            What::named("image", last(path)),
            &["description", "login_user", "clouds", "recipes"],
        )?;
        let mut img = Image {
            description: f
                .get("description")
                .and_then(|n| self.string(n, &join(path, "description"))),
            login_user: f
                .get("login_user")
                .and_then(|n| self.string(n, &join(path, "login_user"))),
            ..Image::default()
        };
        if let Some(n) = f.get("clouds") {
            let cpath = join(path, "clouds");
            for (key, cn) in self.named_map(n, &cpath, "clouds") {
                let p = join(&cpath, &key.text);
                self.check_name(&key.text, &p, "cloud name", NameRule::Module, false);
                if let Some(cf) = self.fields(
                    cn,
                    &p,
                    What::named("cloud entry", &key.text),
                    &["image", "size"],
                ) {
                    let ci = CloudImage {
                        image: cf
                            .get("image")
                            .and_then(|n| self.string(n, &join(&p, "image"))),
                        size: cf
                            .get("size")
                            .and_then(|n| self.string(n, &join(&p, "size"))),
                    };
                    img.clouds.insert(key.text.clone(), ci);
                }
            }
        }
        if let Some(n) = f.get("recipes") {
            let rpath = join(path, "recipes");
            if let Some(rf) = self.fields(
                n,
                &rpath,
                What::plain("image recipes"),
                &["pre_install", "packages", "post_install"],
            ) {
                img.recipes.pre_install = rf
                    .get("pre_install")
                    .and_then(|n| self.string(n, &join(&rpath, "pre_install")));
                img.recipes.post_install = rf
                    .get("post_install")
                    .and_then(|n| self.string(n, &join(&rpath, "post_install")));
                if let Some(pn) = rf.get("packages") {
                    img.recipes.packages = self.packages(pn, &join(&rpath, "packages"));
                }
            }
        }
        Some(img)
    }

    fn packages(&mut self, node: &Node, path: &str) -> Vec<String> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`packages` must be a list, found {}", node.kind_name()),
                    )
                    .at(node.pos)
                    .path(path)
                    .hint("write `packages: [curl, postgresql]`"),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Scalar { text, .. } if is_package_name(text) => out.push(text.clone()),
                Value::Scalar { text, .. } => self.err(
                    Diagnostic::error(Code::BadValue, format!("`{text}` is not a package name"))
                        .at(item.pos)
                        .path(path)
                        .hint("a package name starts with a letter or digit and has no spaces, for example `postgresql-15`"),
                ),
                _ => self.err(
                    Diagnostic::error(Code::WrongType, format!("a package must be a name, found {}", item.kind_name()))
                        .at(item.pos)
                        .path(path),
                ),
            }
        }
        out
    }

    fn component(&mut self, node: &Node, path: &str) -> Option<Component> {
        let f = self.fields(
            node,
            path,
            What::named("component", last(path)),
            &["description", "image", "inputs", "outputs", "recipes"],
        )?;
        let image = self
            .required_string(
                &f,
                path,
                "image",
                node.pos,
                What::named("component", last(path)),
            )
            .unwrap_or_default();
        let mut c = Component {
            description: f
                .get("description")
                .and_then(|n| self.string(n, &join(path, "description"))),
            image,
            ..Component::default()
        };
        if let Some(n) = f.get("inputs") {
            let ipath = join(path, "inputs");
            for (key, inode) in self.named_map(n, &ipath, "inputs") {
                let p = join(&ipath, &key.text);
                self.check_name(&key.text, &p, "input name", NameRule::Input, false);
                if let Some(spec) = self.input_spec(inode, &p) {
                    c.inputs.insert(key.text.clone(), spec);
                }
            }
        }
        if let Some(n) = f.get("outputs") {
            let opath = join(path, "outputs");
            for (key, onode) in self.named_map(n, &opath, "outputs") {
                let p = join(&opath, &key.text);
                self.check_name(&key.text, &p, "output name", NameRule::Module, false);
                if let Some(of) = self.fields(
                    onode,
                    &p,
                    What::named("output", &key.text),
                    &["description"],
                ) {
                    let spec = OutputSpec {
                        description: of
                            .get("description")
                            .and_then(|n| self.string(n, &join(&p, "description"))),
                    };
                    c.outputs.insert(key.text.clone(), spec);
                }
            }
        }
        if let Some(n) = f.get("recipes") {
            let rpath = join(path, "recipes");
            if let Some(rf) = self.fields(
                n,
                &rpath,
                What::plain("component recipes"),
                &["deployment", "reporting", "on_node_add", "on_node_remove"],
            ) {
                let mut get = |k: &str| rf.get(k).and_then(|n| self.string(n, &join(&rpath, k)));
                c.recipes = ComponentRecipes {
                    deployment: get("deployment"),
                    reporting: get("reporting"),
                    on_node_add: get("on_node_add"),
                    on_node_remove: get("on_node_remove"),
                };
            }
        }
        Some(c)
    }

    fn input_spec(&mut self, node: &Node, path: &str) -> Option<InputSpec> {
        let f = self.fields(
            node,
            path,
            What::named("input", last(path)),
            &["description", "required", "default", "secret", "generate"],
        )?;
        Some(InputSpec {
            description: f
                .get("description")
                .and_then(|n| self.string(n, &join(path, "description"))),
            required: f
                .get("required")
                .and_then(|n| self.bool(n, &join(path, "required")))
                .unwrap_or(false),
            default: f
                .get("default")
                .and_then(|n| self.string(n, &join(path, "default"))),
            secret: f
                .get("secret")
                .and_then(|n| self.bool(n, &join(path, "secret")))
                .unwrap_or(false),
            generate: f
                .get("generate")
                .and_then(|n| self.count(n, &join(path, "generate"), 1, 4096)),
        })
    }

    fn deployment(&mut self, node: &Node) -> Option<Deployment> {
        let f = self.fields(
            node,
            "deployment",
            What::plain("the deployment"),
            &["keep_running", "nodes"],
        )?;
        let mut d = Deployment::default();
        if let Some(n) = f.get("keep_running") {
            if let Some(text) = self.string(n, "deployment.keep_running") {
                match KeepRunning::parse(&text) {
                    Some(k) => d.keep_running = k,
                    None => self.err(
                        Diagnostic::error(
                            Code::BadValue,
                            format!("`keep_running` cannot be `{text}`"),
                        )
                        .at(n.pos)
                        .path("deployment.keep_running")
                        .hint("choose one of: never, always, on-success, on-error"),
                    ),
                }
            }
        }
        match f.get("nodes") {
            Some(n) => {
                for (key, nnode) in self.named_map(n, "deployment.nodes", "nodes") {
                    let p = format!("deployment.nodes.{}", key.text);
                    self.check_name(&key.text, &p, "node name", NameRule::Module, false);
                    if let Some(nd) = self.node(nnode, &p) {
                        d.nodes.insert(key.text.clone(), nd);
                    }
                }
            }
            None => self.missing(
                node.pos,
                "deployment",
                "nodes",
                What::plain("the deployment"),
            ),
        }
        Some(d)
    }

    fn node(&mut self, node: &Node, path: &str) -> Option<crate::model::Node> {
        let f = self.fields(
            node,
            path,
            What::named("node", last(path)),
            &["component", "multiplicity", "cloud", "inputs"],
        )?;
        let mut nd = crate::model::Node::new(
            self.required_string(
                &f,
                path,
                "component",
                node.pos,
                What::named("node", last(path)),
            )
            .unwrap_or_default(),
        );
        if let Some(n) = f.get("multiplicity") {
            nd.multiplicity = self
                .count(n, &join(path, "multiplicity"), 1, 10_000)
                .unwrap_or(1);
        }
        nd.cloud = f
            .get("cloud")
            .and_then(|n| self.string(n, &join(path, "cloud")));
        if let Some(n) = f.get("inputs") {
            let ipath = join(path, "inputs");
            for (key, vnode) in self.named_map(n, &ipath, "inputs") {
                let p = join(&ipath, &key.text);
                let value = match &vnode.value {
                    Value::Scalar { text, .. } => Some(InputValue::Value(text.clone())),
                    Value::Null => Some(InputValue::Value(String::new())),
                    Value::Map(_) => {
                        let wf = self.fields(vnode, &p, What::plain("a wire"), &["from"]);
                        match wf.as_ref().and_then(|wf| wf.get("from")) {
                            Some(fnode) => self
                                .string(fnode, &join(&p, "from"))
                                .map(|from| InputValue::Wire { from }),
                            None => {
                                if wf.is_some() {
                                    self.missing(vnode.pos, &p, "from", What::plain("a wire"));
                                }
                                None
                            }
                        }
                    }
                    Value::Seq(_) => {
                        self.err(
                            Diagnostic::error(
                                Code::WrongType,
                                format!("input `{}` must be a value or a wire, found a list", key.text),
                            )
                            .at(vnode.pos)
                            .path(&p)
                            .hint("give a single value, `\"a,b\"`, or wire it with `{ from: node.output }`"),
                        );
                        None
                    }
                };
                if let Some(v) = value {
                    nd.inputs.insert(key.text.clone(), v);
                }
            }
        }
        Some(nd)
    }

    fn position(&mut self, node: &Node, path: &str) -> Option<Position> {
        let f = self.fields(node, path, What::plain("a layout position"), &["x", "y"])?;
        let x = match f.get("x") {
            Some(n) => self.number(n, &join(path, "x")),
            None => {
                self.missing(node.pos, path, "x", What::plain("a layout position"));
                None
            }
        };
        let y = match f.get("y") {
            Some(n) => self.number(n, &join(path, "y")),
            None => {
                self.missing(node.pos, path, "y", What::plain("a layout position"));
                None
            }
        };
        Some(Position { x: x?, y: y? })
    }
}

pub(crate) fn is_package_name(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b.len() <= 200
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b".+-_:=~*/@".contains(c))
}

fn describe(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } => format!("`{}`", text.chars().take(40).collect::<String>()),
        _ => node.kind_name().to_string(),
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        let mut s = String::with_capacity(path.len() + key.len() + 1);
        s.push_str(path);
        s.push('.');
        s.push_str(key);
        s
    }
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}
