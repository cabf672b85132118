//! Input values and the environment of a step (SPEC §2 joining rules, §3 environment).
//!
//! Owns: which value each input gets (`--set`, then the node's literal or wire, then a generated
//! secret, then the default) and how wired values are joined. Never: does I/O or touches the
//! store; secrets found here are handed to the masker by the caller.

use indexmap::IndexMap;
use slipway_recipe::{InputValue, Recipe, SetValue, WireRef};

/// What is known about one instance while the run goes on.
#[derive(Clone, Debug, Default)]
pub struct InstanceValues {
    pub node: String,
    pub index: u32,
    pub cloud: String,
    /// Set once the instance is provisioned.
    pub hostname: Option<String>,
    pub instance_id: Option<String>,
    /// Outputs set by its recipes.
    pub outputs: IndexMap<String, String>,
}

impl InstanceValues {
    pub fn name(&self) -> String {
        format!("{}.{}", self.node, self.index)
    }

    /// A built-in parameter or an output.
    pub fn param(&self, name: &str) -> Option<String> {
        match name {
            "hostname" => self.hostname.clone(),
            "instance_id" => self.instance_id.clone(),
            "index" => Some(self.index.to_string()),
            "node" => Some(self.node.clone()),
            "cloud" => Some(self.cloud.clone()),
            other => self.outputs.get(other).cloned(),
        }
    }
}

/// One resolved input.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedInput {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

/// Resolves the inputs of `node` for one step. With `with_wires == false` (image recipes),
/// wired inputs are left out: image recipes prepare the machine and never wait for other nodes.
/// `instances(node)` gives the instances of a node in index order.
pub fn resolve_inputs<'a>(
    recipe: &Recipe,
    node_name: &str,
    sets: &[SetValue],
    generated: &IndexMap<(String, String), String>,
    with_wires: bool,
    instances: impl Fn(&str) -> Vec<&'a InstanceValues>,
) -> Result<Vec<ResolvedInput>, String> {
    let node = &recipe.deployment.nodes[node_name];
    let component = &recipe.components[&node.component];
    let mut out = Vec::with_capacity(component.inputs.len());
    for (input, spec) in &component.inputs {
        let set = sets
            .iter()
            .rev()
            .find(|s| s.node == node_name && &s.input == input);
        let value = if let Some(s) = set {
            Some(s.value.clone())
        } else {
            match node.inputs.get(input) {
                Some(InputValue::Value(v)) => Some(v.clone()),
                Some(InputValue::Wire { from }) => {
                    if !with_wires {
                        continue;
                    }
                    Some(wired_value(from, &instances)?)
                }
                None => generated
                    .get(&(node_name.to_string(), input.clone()))
                    .cloned()
                    .or_else(|| spec.default.clone()),
            }
        };
        if value.is_none() && spec.required {
            return Err(format!(
                "required input `{input}` of node `{node_name}` has no value; pass `--set {node_name}.{input}=VALUE`"
            ));
        }
        out.push(ResolvedInput {
            name: input.clone(),
            value: value.unwrap_or_default(),
            secret: spec.secret,
        });
    }
    Ok(out)
}

/// `node.param` joins every instance's value with `,` in index order; `node.N.param` takes one.
pub fn wired_value<'a>(
    from: &str,
    instances: &impl Fn(&str) -> Vec<&'a InstanceValues>,
) -> Result<String, String> {
    let w = WireRef::parse(from).ok_or_else(|| format!("`{from}` is not a wire reference"))?;
    let all = instances(&w.node);
    let chosen: Vec<&InstanceValues> = match w.index {
        Some(i) => all.into_iter().filter(|v| v.index == i).collect(),
        None => all,
    };
    if chosen.is_empty() {
        return Err(format!(
            "wire `{from}`: node `{}` has no such instance",
            w.node
        ));
    }
    let mut values = Vec::with_capacity(chosen.len());
    for v in chosen {
        match v.param(&w.param) {
            Some(x) => values.push(x),
            None => {
                return Err(format!(
                    "wire `{from}`: {} never set its output `{}` (a recipe must append `{}=VALUE` to \"$SLIPWAY_OUTPUT\")",
                    v.name(),
                    w.param,
                    w.param
                ))
            }
        }
    }
    Ok(values.join(","))
}

/// The built-in `SLIPWAY_*` variables of an instance.
pub fn builtin_env(run_id: &str, v: &InstanceValues) -> Vec<(String, String)> {
    vec![
        ("SLIPWAY_RUN_ID".into(), run_id.to_string()),
        ("SLIPWAY_NODE".into(), v.node.clone()),
        ("SLIPWAY_INDEX".into(), v.index.to_string()),
        ("SLIPWAY_INSTANCE".into(), v.name()),
        (
            "SLIPWAY_HOSTNAME".into(),
            v.hostname.clone().unwrap_or_default(),
        ),
        (
            "SLIPWAY_INSTANCE_ID".into(),
            v.instance_id.clone().unwrap_or_default(),
        ),
        ("SLIPWAY_CLOUD".into(), v.cloud.clone()),
    ]
}

/// A random value of `len` characters from `[A-Za-z0-9]`, for `generate: N` inputs.
pub fn generate_secret(len: u32) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len as usize);
    let mut buf = [0u8; 64];
    while out.len() < len as usize {
        getrandom::fill(&mut buf).expect("the OS random source works");
        // Rejection sampling keeps every character equally likely.
        for b in buf {
            if (b as usize) < 248 && out.len() < len as usize {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(node: &str, index: u32, url: Option<&str>) -> InstanceValues {
        let mut v = InstanceValues {
            node: node.into(),
            index,
            cloud: "local".into(),
            hostname: Some(format!("127.0.0.{index}")),
            instance_id: Some(format!("{node}-{index}")),
            outputs: IndexMap::new(),
        };
        if let Some(u) = url {
            v.outputs.insert("url".into(), u.into());
        }
        v
    }

    #[test]
    fn joins_in_index_order_and_picks_one_instance() {
        let web = [
            inst("web", 1, Some("http://a/")),
            inst("web", 2, Some("http://b/")),
        ];
        let lookup =
            |n: &str| -> Vec<&InstanceValues> { web.iter().filter(|v| v.node == n).collect() };
        assert_eq!(
            wired_value("web.url", &lookup).unwrap(),
            "http://a/,http://b/"
        );
        assert_eq!(wired_value("web.2.url", &lookup).unwrap(), "http://b/");
        assert_eq!(
            wired_value("web.hostname", &lookup).unwrap(),
            "127.0.0.1,127.0.0.2"
        );
        assert_eq!(wired_value("web.index", &lookup).unwrap(), "1,2");
    }

    #[test]
    fn a_missing_output_is_a_clear_error() {
        let web = [inst("web", 1, None)];
        let lookup =
            |n: &str| -> Vec<&InstanceValues> { web.iter().filter(|v| v.node == n).collect() };
        let err = wired_value("web.url", &lookup).unwrap_err();
        assert!(err.contains("web.1 never set its output `url`"), "{err}");
    }

    #[test]
    fn generated_secrets_have_the_asked_length_and_differ() {
        let a = generate_secret(16);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_secret(16));
    }
}
