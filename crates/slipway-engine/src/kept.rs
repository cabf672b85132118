//! The secret values of a run that day-2 operations need again (SPEC §4): generated values and
//! `--set` values of secret inputs. `slipway scale` and `slipway resume` resolve inputs exactly as
//! the launch did, so these are kept, for as long as the run has instances, by a
//! [`SecretKeeper`] (the OS keychain in the hosts), and forgotten when the run ends.
//!
//! Never: write them to the store, a file or a log; the engine only hands them to the keeper.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_recipe::{Recipe, SetValue};

/// Where the secret values of a run are kept while it has instances. Hosts implement it over
/// the OS keychain (`slipway-secrets`, entry `run/RUN_ID`); an engine without one keeps nothing,
/// and says so in the run's log.
pub trait SecretKeeper: Send + Sync {
    /// Keeps `values` (a JSON document) for `run_id`, replacing what was kept before.
    fn keep(&self, run_id: &str, values: &str) -> Result<(), String>;
    /// What is kept for `run_id`, if anything.
    fn recall(&self, run_id: &str) -> Result<Option<String>, String>;
    /// Forgets what is kept for `run_id` (nothing kept is not an error).
    fn forget(&self, run_id: &str) -> Result<(), String>;
}

/// The values that cannot be found again anywhere but in the keeper.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptSecrets {
    /// `node.input` → the value made for a `generate: N` input.
    pub generated: BTreeMap<String, String>,
    /// `node.input` → the `--set` value of a secret input (the last one given wins, as at launch).
    pub sets: BTreeMap<String, String>,
}

impl KeptSecrets {
    pub fn is_empty(&self) -> bool {
        self.generated.is_empty() && self.sets.is_empty()
    }

    /// The `--set` values of secret inputs among `sets`, and every generated value.
    pub fn of_launch(
        recipe: &Recipe,
        sets: &[SetValue],
        generated: &indexmap::IndexMap<(String, String), String>,
    ) -> KeptSecrets {
        let mut kept = KeptSecrets::default();
        for ((node, input), v) in generated {
            kept.generated.insert(format!("{node}.{input}"), v.clone());
        }
        for s in sets
            .iter()
            .filter(|s| is_secret_input(recipe, &s.node, &s.input))
        {
            kept.sets
                .insert(format!("{}.{}", s.node, s.input), s.value.clone());
        }
        kept
    }

    /// The generated values keyed as the engine keeps them while a run goes on.
    pub fn generated_map(&self) -> indexmap::IndexMap<(String, String), String> {
        self.generated
            .iter()
            .filter_map(|(k, v)| {
                let (n, i) = k.split_once('.')?;
                Some(((n.to_string(), i.to_string()), v.clone()))
            })
            .collect()
    }

    /// The kept `--set` values as the engine reads them.
    pub fn set_values(&self) -> Vec<SetValue> {
        self.sets
            .iter()
            .filter_map(|(k, v)| {
                let (n, i) = k.split_once('.')?;
                Some(SetValue {
                    node: n.to_string(),
                    input: i.to_string(),
                    value: v.clone(),
                })
            })
            .collect()
    }
}

/// Whether `node.input` is a secret input of the recipe.
pub fn is_secret_input(recipe: &Recipe, node: &str, input: &str) -> bool {
    recipe
        .deployment
        .nodes
        .get(node)
        .and_then(|n| recipe.components.get(&n.component))
        .and_then(|c| c.inputs.get(input))
        .is_some_and(|spec| spec.secret)
}

/// Whether anything of the recipe needs a kept value to be resolved again: a `generate` input,
/// or a secret input given with `--set`.
pub fn needs_kept_values(recipe: &Recipe) -> bool {
    recipe.deployment.nodes.values().any(|n| {
        recipe
            .components
            .get(&n.component)
            .is_some_and(|c| c.inputs.values().any(|i| i.generate.is_some() || i.secret))
    })
}
