//! The reader and validator never panic: arbitrary bytes and randomly mutated valid files give a
//! recipe or a problem list. And any model the writer emits reads back as the same model.

use proptest::prelude::*;
use slipway_recipe::{check, to_yaml, ValidateOptions};

const EXAMPLES: &[&str] = &[
    include_str!("../../../assets/examples/hello.slipway.yaml"),
    include_str!("../../../assets/examples/web-with-db.slipway.yaml"),
    include_str!("../../../assets/examples/multiline-outputs.slipway.yaml"),
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let yamlish =
        proptest::string::string_regex("[a-z0-9 :{}\\[\\],.&*!|>'\"#@%`?~-]{1,6}|\n|\t").unwrap();
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), yamlish).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0usize..6).prop_map(|(a, n)| Mutation::Indent(a, n)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match m {
        Mutation::Delete(at, n) => {
            let at = at % chars.len().max(1);
            let end = (at + n).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::Insert(at, s) => {
            let at = at % (chars.len() + 1);
            chars[..at].iter().collect::<String>() + s + &chars[at..].iter().collect::<String>()
        }
        Mutation::DuplicateLine(i) => {
            let i = i % lines.len();
            let l = lines[i].clone();
            lines.insert(i, l);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
            lines.join("\n")
        }
        Mutation::Indent(i, n) => {
            let i = i % lines.len();
            lines[i] = " ".repeat(*n) + lines[i].trim_start();
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let checked = check(&text, &ValidateOptions::default());
        prop_assert!(checked.recipe.is_some() || checked.has_errors());
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0..EXAMPLES.len(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut text = EXAMPLES[which].to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        let checked = check(&text, &ValidateOptions::default());
        prop_assert!(checked.recipe.is_some() || checked.has_errors());
        // Whatever could be read writes back and reads again as the same model.
        if let Some(recipe) = checked.valid_recipe() {
            let again = check(&to_yaml(recipe), &ValidateOptions::default());
            prop_assert_eq!(again.recipe.as_ref(), Some(recipe));
        }
    }

    #[test]
    fn any_text_survives_the_writer(
        description in "\\PC{0,40}",
        script in proptest::collection::vec("[ -~\t]{0,30}", 0..5),
        trailing in 0usize..3,
        default in "\\PC{0,20}",
    ) {
        let mut recipe = check(EXAMPLES[0], &ValidateOptions::default()).recipe.unwrap();
        recipe.description = Some(description);
        let comp = recipe.components.get_mut("greeter").unwrap();
        comp.recipes.deployment = Some(script.join("\n") + &"\n".repeat(trailing));
        comp.inputs.get_mut("who").unwrap().default = Some(default);
        let text = to_yaml(&recipe);
        let again = check(&text, &ValidateOptions::default());
        prop_assert!(!again.has_errors(), "{}\n{:?}", text, again.diagnostics);
        prop_assert_eq!(again.recipe.as_ref(), Some(&recipe), "{}", text);
    }
}

#[test]
fn deep_nesting_is_a_problem_not_a_crash() {
    let text = "slipway: 1\nname: x\ndescription: ".to_string() + &"[".repeat(100_000);
    assert!(check(&text, &ValidateOptions::default()).has_errors());
}

#[test]
fn an_alias_bomb_is_a_problem_not_a_crash() {
    // Each level refers to the previous one four times: 10 × 4^29 values if expanded.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..30 {
        let p = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let checked = check(&text, &ValidateOptions::default());
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.message.contains("expand to too many values")),
        "{:?}",
        checked.diagnostics
    );
}
