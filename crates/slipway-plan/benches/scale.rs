//! Parse, validate and plan a generated deployment of 10,000 nodes and 20,000 wires.
//! Goal (issue 2): all three together under 100 ms. Run: `cargo bench -p slipway-plan --bench scale`.

use std::fmt::Write;

// The `slipway` binary ships with mimalloc; measure what it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use slipway_plan::Plan;
use slipway_recipe::ValidateOptions;

fn generate(nodes: usize) -> String {
    let mut s = String::with_capacity(nodes * 120);
    s.push_str(
        "slipway: 1\nname: scale\nimages:\n  base:\n    recipes:\n      pre_install: echo hi\n",
    );
    s.push_str("components:\n  svc:\n    image: base\n    inputs:\n      a: {}\n      b: {}\n    outputs:\n      out: {}\n");
    s.push_str(
        "    recipes:\n      deployment: |\n        echo \"out=$a\" >> \"$SLIPWAY_OUTPUT\"\n",
    );
    s.push_str("deployment:\n  keep_running: never\n  nodes:\n");
    // A small deterministic generator, so every run measures the same graph.
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    for i in 0..nodes {
        let _ = write!(s, "    n{i}:\n      component: svc\n      inputs:\n");
        if i == 0 {
            // The first node reads its own built-ins, which never wait for anything.
            s.push_str("        a: { from: n0.index }\n        b: { from: n0.hostname }\n");
        } else {
            let a = i - 1 - next(i.min(100));
            let b = i - 1 - next(i.min(100));
            let _ = write!(
                s,
                "        a: {{ from: n{a}.out }}\n        b: {{ from: n{b}.hostname }}\n"
            );
        }
    }
    s
}

fn main() {
    let nodes = 10_000;
    let text = generate(nodes);
    let opts = ValidateOptions::default();
    let rounds = 15;
    let mut parse_t = Vec::new();
    let mut validate_t = Vec::new();
    let mut plan_t = Vec::new();
    let mut total_t = Vec::new();
    let mut summary = (0, 0, 0, 0.0);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let parsed = slipway_recipe::parse(&text);
        let t1 = Instant::now();
        let recipe = parsed.recipe.as_ref().expect("generated recipe reads");
        let diags = slipway_recipe::validate(recipe, &parsed.source_map, &opts);
        let t2 = Instant::now();
        assert!(
            parsed.diagnostics.is_empty() && diags.is_empty(),
            "{diags:?}"
        );
        let plan = Plan::build(recipe, &opts).expect("acyclic");
        let t3 = Instant::now();
        parse_t.push(t1 - t0);
        validate_t.push(t2 - t1);
        plan_t.push(t3 - t2);
        total_t.push(t3 - t0);
        let wires = plan.wires.len();
        summary = (
            plan.instances.len(),
            plan.steps.len(),
            wires,
            plan.lower_bound,
        );
    }
    let (instances, steps, wires, bound) = summary;
    println!(
        "deployment: {nodes} nodes, {wires} wires, {instances} instances, {steps} steps, {} KiB of YAML; critical path {bound} units",
        text.len() / 1024
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10}",
        "phase", "min", "median", "max"
    );
    for (name, mut v) in [
        ("parse", parse_t),
        ("validate", validate_t),
        ("plan", plan_t),
        ("total", total_t),
    ] {
        v.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<10} {:>10} {:>10} {:>10}",
            name,
            ms(v[0]),
            ms(v[v.len() / 2]),
            ms(v[v.len() - 1])
        );
    }
    println!("goal: total under 100 ms");
}
