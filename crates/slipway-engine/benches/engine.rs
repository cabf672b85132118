//! Engine benchmark: `cargo bench -p slipway-engine --bench engine`. Prints a table; asserts
//! nothing about time (a failed run still panics, since its numbers would mean nothing).
//!
//! 1. A synthetic 200-instance deployment with random step durations served by the sleeping
//!    `FakeDriver`, launched by the real engine on a real store: its makespan against the
//!    critical-path lower bound that `Plan::build_with` computes from the same durations.
//! 2. The same workload under SlipStream-style global phase barriers, computed analytically and
//!    also executed through the `FakeDriver`.
//! 3. Per-step engine overhead with zero-duration steps, for a wide parallel shape and for a long
//!    sequential chain (which shows the latency of one step, store commits included).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slipway_driver::{Driver, InstanceSpec, ProvisionRequest, Provisioned, StepRequest};
use slipway_engine::fake::FakeDriver;
use slipway_engine::{launch, Context, Drivers, Launch, NoHooks, SystemClock};
use slipway_plan::{Plan, StepKind};
use slipway_recipe::{check, KeepRunning, Recipe, ValidateOptions};
use slipway_store::{RunState, Store};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 0x51_1b_0a_75;
const NODES: usize = 40;
const LAYERS: usize = 8;
const INSTANCES: u32 = 200;
const MIN_MS: u64 = 20;
const MAX_MS: u64 = 200;
const REPEATS: usize = 3;

/// SplitMix64: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads as recipe text

/// 40 nodes in 8 layers of 5, multiplicities 1-10 summing to 200. Every node of layer L > 0 reads
/// an output of a node of layer L-1 (70 %) or only a hostname (30 %), and sometimes more: an
/// output of an older layer, a hostname of any earlier node. Four images with pre_install and
/// post_install (two with packages); every component has deployment and reporting.
fn synthetic_recipe(rng: &mut Rng) -> (String, usize) {
    let mut mult: Vec<u64> = (0..NODES).map(|_| rng.range(1, 10)).collect();
    loop {
        let sum: u64 = mult.iter().sum();
        if sum == u64::from(INSTANCES) {
            break;
        }
        let k = (rng.next() % NODES as u64) as usize;
        if sum < u64::from(INSTANCES) && mult[k] < 10 {
            mult[k] += 1;
        } else if sum > u64::from(INSTANCES) && mult[k] > 1 {
            mult[k] -= 1;
        }
    }
    let per_layer = NODES / LAYERS;
    let name = |k: usize| format!("n{k:02}");
    let mut y = String::from("slipway: 1\nname: bench-synthetic\nimages:\n");
    for img in 0..4 {
        y += &format!("  img{img}:\n    recipes:\n      pre_install: echo pre-install\n");
        if img % 2 == 0 {
            y += "      packages: [curl, jq]\n";
        }
        y += "      post_install: echo post-install\n";
    }
    y += "components:\n";
    let mut nodes = String::from("deployment:\n  keep_running: never\n  nodes:\n");
    let mut n_wires = 0;
    for (k, multiplicity) in mult.iter().enumerate() {
        let layer = k / per_layer;
        let mut wires: Vec<(String, String)> = Vec::new();
        if layer > 0 {
            let prev = (layer - 1) * per_layer + (rng.next() % per_layer as u64) as usize;
            if rng.chance(70) {
                wires.push(("dep0".into(), format!("{}.out", name(prev))));
            } else {
                wires.push(("host0".into(), format!("{}.hostname", name(prev))));
            }
            if layer > 1 && rng.chance(30) {
                let older = (rng.next() % ((layer - 1) * per_layer) as u64) as usize;
                wires.push(("dep1".into(), format!("{}.out", name(older))));
            }
            if rng.chance(40) {
                let any = (rng.next() % (layer * per_layer) as u64) as usize;
                wires.push(("host1".into(), format!("{}.hostname", name(any))));
            }
        }
        y += &format!("  c{k:02}:\n    image: img{}\n", k % 4);
        if !wires.is_empty() {
            y += "    inputs:\n";
            for (input, _) in &wires {
                y += &format!("      {input}: {{ required: true }}\n");
            }
        }
        y += "    outputs:\n      out: {}\n    recipes:\n";
        y += "      deployment: |\n        echo deploying $SLIPWAY_NODE $SLIPWAY_INDEX\n        output out=$SLIPWAY_HOSTNAME\n";
        y += "      reporting: echo collecting\n";
        nodes += &format!(
            "    {}:\n      component: c{k:02}\n      multiplicity: {}\n",
            name(k),
            multiplicity
        );
        if !wires.is_empty() {
            nodes += "      inputs:\n";
            for (input, from) in &wires {
                nodes += &format!("        {input}: {{ from: {from} }}\n");
            }
        }
        n_wires += wires.len();
    }
    (y + &nodes, n_wires)
}

/// `nodes` nodes of `multiplicity` instances, each provision → pre_install → deployment.
fn parallel_recipe(nodes: usize, multiplicity: u32) -> String {
    let mut y = String::from(
        "slipway: 1\nname: bench-parallel\nimages:\n  base:\n    recipes:\n      pre_install: echo pre\n\
         components:\n  c:\n    image: base\n    outputs: { o: {} }\n    recipes:\n      deployment: output o=1\n\
         deployment:\n  keep_running: never\n  nodes:\n",
    );
    for k in 0..nodes {
        y += &format!("    p{k:03}: {{ component: c, multiplicity: {multiplicity} }}\n");
    }
    y
}

/// A chain of `len` single-instance nodes, each deployment reading the previous one's output:
/// provision → deployment per instance, and the deployments strictly one after another.
fn chain_recipe(len: usize) -> String {
    let mut y = String::from(
        "slipway: 1\nname: bench-chain\nimages:\n  base: {}\n\
         components:\n  c:\n    image: base\n    inputs: { x: {} }\n    outputs: { o: {} }\n    recipes:\n      deployment: output o=1\n\
         deployment:\n  keep_running: never\n  nodes:\n",
    );
    for k in 0..len {
        if k == 0 {
            y += "    k0000: { component: c }\n";
        } else {
            y += &format!(
                "    k{k:04}: {{ component: c, inputs: {{ x: {{ from: k{:04}.o }} }} }}\n",
                k - 1
            );
        }
    }
    y
}

fn parse(text: &str) -> Recipe {
    let checked = check(text, &ValidateOptions::default());
    assert!(
        !checked.has_errors(),
        "benchmark recipe is invalid: {:?}",
        checked.diagnostics
    );
    checked.recipe.expect("valid recipe")
}

// ---------------------------------------------------------------------------------------------
// Running the real engine

/// Launches `recipe` once on a fresh store in a temp dir; returns when `launch` was called and
/// its wall clock.
fn run_engine(
    rt: &Runtime,
    recipe: &Recipe,
    text: &str,
    fake: Arc<FakeDriver>,
) -> (Instant, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let mut drivers = Drivers::new();
    drivers.insert("local".into(), fake);
    let ctx = Context {
        store: Arc::new(Mutex::new(store)),
        drivers,
        hooks: Arc::new(NoHooks),
        clock: Arc::new(SystemClock),
        keeper: None,
    };
    let l = Launch {
        run_id: "bench".into(),
        recipe: recipe.clone(),
        recipe_text: text.to_string(),
        opts: ValidateOptions::default(),
        keep: KeepRunning::Never,
        run_dir: dir.path().join("runs/bench"),
        already_created: false,
        resume: None,
    };
    let t0 = Instant::now();
    let out = rt.block_on(launch(&ctx, l, CancellationToken::new()));
    let wall = t0.elapsed();
    assert_eq!(
        (out.exit_code, out.state),
        (0, RunState::Done),
        "benchmark run failed: {:?}",
        out.error
    );
    (t0, wall)
}

/// "instance step" → milliseconds.
type DurationTable = HashMap<String, u64>;

fn key(instance: &str, step: &str) -> String {
    format!("{instance} {step}")
}

/// "instance step" → when the driver was asked to run it (provision included).
type Starts = Arc<Mutex<HashMap<String, Instant>>>;

/// A sleeping fake serving `durations`, recording when each step reached the driver.
fn fake_with(
    durations: &Arc<DurationTable>,
    concurrency: usize,
    max_batch: usize,
) -> (Arc<FakeDriver>, Starts) {
    let (d, starts) = (durations.clone(), Starts::default());
    let record = starts.clone();
    let mut fake = FakeDriver::new(move |inst, step| {
        let k = key(inst, step);
        let ms = d.get(&k).copied();
        record.lock().expect("starts").insert(k, Instant::now());
        Duration::from_millis(ms.unwrap_or_else(|| panic!("no duration for {inst} {step}")))
    });
    Arc::get_mut(&mut fake).expect("fresh driver").concurrency = concurrency;
    fake.max_batch
        .store(max_batch, std::sync::atomic::Ordering::Relaxed);
    (fake, starts)
}

/// Where a run's time went, along the plan's critical path p0 … pn:
/// wall = start-up + Σ durations (the lower bound) + Σ waits + tail, exactly, where start-up is
/// launch → p0 reaching the driver, a wait is pi reaching the driver minus p(i-1) reaching it
/// plus its duration (coordinator queueing, store commits, task hand-offs, timer rounding), and the
/// tail is the end of pn → `launch` returning (report fetch, teardown, final commits).
struct Breakdown {
    startup: f64,
    waits: f64,
    hops: usize,
    largest_wait: (f64, String),
    tail: f64,
}

fn breakdown(
    plan: &Plan,
    dur: &DurationTable,
    starts: &HashMap<String, Instant>,
    t0: Instant,
    wall: Duration,
) -> Breakdown {
    let name = |sid: usize| {
        let s = &plan.steps[sid];
        key(&plan.instances[s.instance].name, s.kind.as_str())
    };
    let at = |sid: usize| ms(starts[&name(sid)] - t0);
    let path = &plan.critical_path;
    let mut b = Breakdown {
        startup: at(path[0]),
        waits: 0.0,
        hops: path.len() - 1,
        largest_wait: (0.0, String::new()),
        tail: 0.0,
    };
    for pair in path.windows(2) {
        let ready = at(pair[0]) + dur[&name(pair[0])] as f64;
        let wait = at(pair[1]) - ready;
        b.waits += wait;
        if wait > b.largest_wait.0 {
            b.largest_wait = (wait, plan.step_name(pair[1]));
        }
    }
    let last = *path.last().expect("a step");
    b.tail = ms(wall) - (at(last) + dur[&name(last)] as f64);
    b
}

/// (min, median, max); the median's index in `v` too.
fn median(v: &[Duration]) -> (Duration, Duration, Duration, usize) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by_key(|&i| v[i]);
    let mid = order[order.len() / 2];
    (v[order[0]], v[mid], v[order[order.len() - 1]], mid)
}

/// The cost of one store commit as the engine makes them: a step-state change in its own
/// transaction, on a run with `n` instances, in a fresh store in a temp dir.
fn commit_cost(n: u32) -> Duration {
    use slipway_store::{NewInstance, NewRun, StepKind as Kind, StepState};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path()).expect("store");
    let (pid, start_time) = slipway_store::current_process_identity();
    store
        .create_run(&NewRun {
            id: "commits".into(),
            name: "commits".into(),
            keep_running: KeepRunning::Never,
            recipe_text: String::new(),
            default_cloud: "local".into(),
            created_at: 0,
            owner_pid: pid,
            owner_start_time: start_time,
        })
        .expect("run");
    let instances: Vec<NewInstance> = (1..=n)
        .map(|i| NewInstance {
            name: format!("x.{i}"),
            node: "x".into(),
            index: i,
            cloud: "local".into(),
        })
        .collect();
    store
        .add_instances("commits", &instances, 0)
        .expect("instances");
    let steps: Vec<(&str, Kind)> = instances
        .iter()
        .map(|i| (i.name.as_str(), Kind::Deployment))
        .collect();
    store.add_steps("commits", &steps).expect("steps");
    let t0 = Instant::now();
    for (at, (inst, kind)) in steps.iter().enumerate() {
        for state in [StepState::Running, StepState::Succeeded] {
            store
                .set_step_state("commits", inst, *kind, state, at as i64, None)
                .expect("commit");
        }
    }
    t0.elapsed() / (2 * n)
}

/// How long this process's threads have waited for a CPU while runnable (Linux schedstat), to
/// tell a slow engine from a busy machine; zero where unavailable.
fn cpu_wait() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// SlipStream-style barriers

const PHASES: [StepKind; 6] = StepKind::ALL;

/// The barrier model. Every instance finishes phase k before any starts phase k+1, in the order
/// provision, pre_install, packages, post_install, deployment, reporting. A phase lasts as long as
/// its slowest instance, except deployment: there SlipStream also made a node wait for the
/// deployments it reads outputs from, so the deployment phase lasts as long as the longest chain
/// of wired deployments. (The plain "sum of per-phase maxima" would undercount: with wired
/// deployments it can fall below the critical path itself.)
fn barrier_analytic(recipe: &Recipe, dur: &DurationTable) -> (f64, f64) {
    let plan = Plan::build(recipe, &ValidateOptions::default()).expect("plan");
    let mut total = 0.0;
    let mut naive = 0.0;
    for kind in PHASES {
        let max = plan
            .steps
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| dur[&key(&plan.instances[s.instance].name, kind.as_str())] as f64)
            .fold(0.0, f64::max);
        naive += max;
        if kind == StepKind::Deployment {
            // Longest path when only deployments take time: the wired deployment chain.
            let chain = Plan::build_with(recipe, &ValidateOptions::default(), |inst, k| {
                if k == StepKind::Deployment {
                    dur[&key(&inst.name, k.as_str())] as f64
                } else {
                    0.0
                }
            })
            .expect("plan")
            .lower_bound;
            total += chain;
        } else {
            total += max;
        }
    }
    (total, naive)
}

/// Executes the same phases with barriers through the `FakeDriver` (no store, no engine): each
/// phase starts every instance's step at once and waits for all of them; within the deployment
/// phase a deployment waits for the deployments it reads outputs from.
async fn barrier_executed(recipe: &Recipe, fake: Arc<FakeDriver>) -> Duration {
    let plan = Arc::new(Plan::build(recipe, &ValidateOptions::default()).expect("plan"));
    let t0 = Instant::now();
    // Phase 1: provision every instance, one request each, all at once.
    let mut handles = Vec::new();
    for inst in &plan.instances {
        let (fake, spec) = (
            fake.clone(),
            InstanceSpec {
                name: inst.name.clone(),
                node: inst.node.clone(),
                index: inst.index,
                image: None,
                login_user: None,
            },
        );
        handles.push(tokio::spawn(async move {
            let mut r = fake
                .provision(ProvisionRequest {
                    progress: Default::default(),
                    run_id: "barrier".into(),
                    run_dir: "/nonexistent".into(),
                    instances: vec![spec],
                })
                .await;
            r.pop().expect("one result").expect("provisioned")
        }));
    }
    let mut provisioned: Vec<Provisioned> = Vec::new();
    for h in handles {
        provisioned.push(h.await.expect("task"));
    }
    let provisioned = Arc::new(provisioned);
    // Later phases.
    for kind in &PHASES[1..] {
        let steps: Vec<usize> = (0..plan.steps.len())
            .filter(|&s| plan.steps[s].kind == *kind)
            .collect();
        // One "done" signal per step of this phase, for the deployment phase's wires.
        let signals: HashMap<usize, tokio::sync::watch::Sender<bool>> = steps
            .iter()
            .map(|&s| (s, tokio::sync::watch::channel(false).0))
            .collect();
        let mut handles = Vec::new();
        for &sid in &steps {
            let waits: Vec<_> = plan.steps[sid]
                .after
                .iter()
                .filter_map(|a| signals.get(a).map(|tx| tx.subscribe()))
                .collect();
            let done = signals[&sid].clone();
            let (fake, provisioned, plan) = (fake.clone(), provisioned.clone(), plan.clone());
            handles.push(tokio::spawn(async move {
                for mut w in waits {
                    w.wait_for(|v| *v).await.expect("signal");
                }
                let s = &plan.steps[sid];
                let (lines, _) = tokio::sync::mpsc::channel(1);
                let r = fake
                    .run_step(
                        StepRequest {
                            run_id: "barrier".into(),
                            run_dir: "/nonexistent".into(),
                            instance: provisioned[s.instance].clone(),
                            step: s.kind.as_str().into(),
                            script: "echo step".into(),
                            env: Vec::new(),
                            packages: Vec::new(),
                        },
                        lines,
                        CancellationToken::new(),
                    )
                    .await
                    .expect("step");
                assert_eq!(r.exit_code, 0);
                done.send_replace(true);
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
    }
    t0.elapsed()
}

// ---------------------------------------------------------------------------------------------
// The table

struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    fn new() -> Table {
        Table { rows: Vec::new() }
    }
    fn row(&mut self, what: impl Into<String>, value: String, ratio: String, goal: String) {
        self.rows.push([what.into(), value, ratio, goal]);
    }
    fn section(&mut self, title: impl Into<String>) {
        self.rows
            .push([title.into(), String::new(), String::new(), String::new()]);
    }
    fn print(&self) {
        let head = ["measurement", "value", "÷ lower bound", "goal"];
        let mut w = head.map(|h| h.chars().count());
        for r in &self.rows {
            if r[1].is_empty() {
                continue;
            }
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String; 4]| {
            let pad = |s: &str, n: usize, right: bool| {
                let fill = " ".repeat(n.saturating_sub(s.chars().count()));
                if right {
                    format!("{fill}{s}")
                } else {
                    format!("{s}{fill}")
                }
            };
            format!(
                "| {} | {} | {} | {} |",
                pad(&cells[0], w[0], false),
                pad(&cells[1], w[1], true),
                pad(&cells[2], w[2], true),
                pad(&cells[3], w[3], false)
            )
        };
        let sep = format!(
            "|{}|{}|{}|{}|",
            "-".repeat(w[0] + 2),
            "-".repeat(w[1] + 2),
            "-".repeat(w[2] + 2),
            "-".repeat(w[3] + 2)
        );
        println!("{}", line(&head.map(String::from)));
        println!("{sep}");
        for r in &self.rows {
            if r[1].is_empty() {
                println!("| **{}**", r[0]);
            } else {
                println!("{}", line(r));
            }
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let workers = rt.metrics().num_workers();
    let mut t = Table::new();

    // 1. Synthetic deployment.
    let mut rng = Rng(SEED);
    let (text, n_wires) = synthetic_recipe(&mut rng);
    let recipe = parse(&text);
    let opts = ValidateOptions::default();
    let shape = Plan::build(&recipe, &opts).expect("plan");
    let mut durations: DurationTable = HashMap::new();
    for s in &shape.steps {
        let name = &shape.instances[s.instance].name;
        durations.insert(key(name, s.kind.as_str()), rng.range(MIN_MS, MAX_MS));
    }
    let durations = Arc::new(durations);
    let estimate =
        |inst: &slipway_plan::Instance, k: StepKind| durations[&key(&inst.name, k.as_str())] as f64;
    let plan = Plan::build_with(&recipe, &opts, estimate).expect("plan");
    let lb = plan.lower_bound;
    let n = plan.instances.len();
    let wait0 = cpu_wait();
    let runs: Vec<(Instant, Duration, Starts)> = (0..REPEATS)
        .map(|_| {
            let (fake, starts) = fake_with(&durations, n, 1);
            let (t0, wall) = run_engine(&rt, &recipe, &text, fake);
            (t0, wall, starts)
        })
        .collect();
    let walls: Vec<Duration> = runs.iter().map(|r| r.1).collect();
    let (lo, mid, hi, mid_at) = median(&walls);
    let b = {
        let (t0, wall, starts) = &runs[mid_at];
        breakdown(
            &plan,
            &durations,
            &starts.lock().expect("starts"),
            *t0,
            *wall,
        )
    };

    // The same for a cloud that batches: 64 calls at once, each creating ceil(200/64) = 4
    // instances (`Driver::max_batch`); a batch returns when its slowest instance is up.
    let batch_size = n.div_ceil(64.min(n));
    let batch_of: HashMap<&str, usize> = plan
        .instances
        .iter()
        .enumerate()
        .map(|(i, inst)| (inst.name.as_str(), i / batch_size))
        .collect();
    let mut batch_max: HashMap<usize, u64> = HashMap::new();
    for inst in &plan.instances {
        let m = batch_max.entry(batch_of[inst.name.as_str()]).or_default();
        *m = (*m).max(durations[&key(&inst.name, "provision")]);
    }
    let lb_batched = Plan::build_with(&recipe, &opts, |inst, k| {
        if k == StepKind::Provision {
            batch_max[&batch_of[inst.name.as_str()]] as f64
        } else {
            estimate(inst, k)
        }
    })
    .expect("plan")
    .lower_bound;
    let (_, batched) = run_engine(&rt, &recipe, &text, fake_with(&durations, 64, batch_size).0);
    let wait1 = cpu_wait();

    t.section(format!(
        "1. synthetic deployment: {NODES} nodes in {LAYERS} layers, {n} instances, {} steps, {n_wires} wires; step durations {MIN_MS}-{MAX_MS} ms (seed {SEED:#x})",
        plan.steps.len()
    ));
    t.row(
        format!(
            "critical-path lower bound (Plan::build_with, same durations; {} steps)",
            plan.critical_path.len()
        ),
        format!("{lb:.0} ms"),
        "1.000".into(),
        String::new(),
    );
    let r = ms(mid) / lb;
    t.row(
        format!("engine makespan, 1 instance per provision call (median of {REPEATS})"),
        format!("{:.0} ms", ms(mid)),
        format!("{r:.3}"),
        format!("≤ 1.05  {}", verdict(r <= 1.05)),
    );
    t.row(
        format!("  min / max of {REPEATS}"),
        format!("{:.0} / {:.0} ms", ms(lo), ms(hi)),
        format!("{:.3} / {:.3}", ms(lo) / lb, ms(hi) / lb),
        String::new(),
    );
    t.row(
        "  median run: start-up, launch → first critical step at the driver",
        format!("{:.1} ms", b.startup),
        String::new(),
        String::new(),
    );
    t.row(
        format!(
            "  median run: waits between the {} critical-path hops",
            b.hops
        ),
        format!("{:.1} ms", b.waits),
        String::new(),
        format!(
            "largest {:.1} ms, before {}",
            b.largest_wait.0, b.largest_wait.1
        ),
    );
    t.row(
        "  median run: tail, last step done → launch returned (reports, teardown)",
        format!("{:.1} ms", b.tail),
        String::new(),
        String::new(),
    );
    let ready = ms(mid) - b.tail;
    t.row(
        "  median run: time to ready, launch → last step done (wall − tail)",
        format!("{ready:.0} ms"),
        format!("{:.3}", ready / lb),
        String::new(),
    );
    t.row(
        format!("engine makespan, provision batches of {batch_size} (concurrency 64)"),
        format!("{:.0} ms", ms(batched)),
        format!("{:.3}", ms(batched) / lb),
        format!(
            "batched bound {lb_batched:.0} ms ({:.3})",
            ms(batched) / lb_batched
        ),
    );
    t.row(
        "CPU wait of this process's threads during section 1 (other load on the machine)",
        format!("{:.0} ms", ms(wait1 - wait0)),
        String::new(),
        String::new(),
    );

    // 2. SlipStream-style barriers.
    let (barrier, naive) = barrier_analytic(&recipe, &durations);
    let executed = rt.block_on(barrier_executed(&recipe, fake_with(&durations, n, 1).0));
    t.section("2. same workload, SlipStream-style global phase barriers (model: Σ over the 6 phases of the slowest instance; deployment phase = longest wired deployment chain)");
    t.row(
        "barrier makespan, analytic",
        format!("{barrier:.0} ms"),
        format!("{:.3}", barrier / lb),
        "(for comparison)".into(),
    );
    t.row(
        "barrier makespan, executed through the FakeDriver (no store)",
        format!("{:.0} ms", ms(executed)),
        format!("{:.3}", ms(executed) / lb),
        String::new(),
    );
    t.row(
        "  naive Σ of per-phase maxima (ignores wired deployments)",
        format!("{naive:.0} ms"),
        format!("{:.3}", naive / lb),
        String::new(),
    );
    t.row(
        "engine speed-up over barriers (analytic ÷ engine median)",
        format!("{:.2}×", barrier / ms(mid)),
        String::new(),
        String::new(),
    );

    // 3. Per-step overhead with zero-duration steps.
    t.section("3. engine overhead per step, zero-duration steps (store commits included)");
    let wait2 = cpu_wait();
    let ptext = parallel_recipe(20, 100);
    let precipe = parse(&ptext);
    let pplan = Plan::build(&precipe, &opts).expect("plan");
    let psteps = pplan.steps.len();
    let pwalls: Vec<Duration> = (0..REPEATS)
        .map(|_| run_engine(&rt, &precipe, &ptext, FakeDriver::instant()).1)
        .collect();
    let (_, pmid, _, _) = median(&pwalls);
    let per = ms(pmid) / psteps as f64;
    t.row(
        format!(
            "parallel, FakeDriver::instant(): {} instances × 3 steps = {psteps} steps, wall (median of {REPEATS})",
            pplan.instances.len()
        ),
        format!("{:.0} ms", ms(pmid)),
        String::new(),
        String::new(),
    );
    t.row(
        "  per step (wall ÷ steps)",
        format!("{per:.3} ms"),
        String::new(),
        format!("< 1 ms  {}", verdict(per < 1.0)),
    );

    // The chain: a zero-duration fake that records when each deployment reaches it, so the
    // steady-state latency of one sequential step can be read off.
    let len = 1000;
    let ctext = chain_recipe(len);
    let crecipe = parse(&ctext);
    let csteps = Plan::build(&crecipe, &opts).expect("plan").steps.len();
    let mut cwalls = Vec::new();
    let mut intervals: Vec<f64> = Vec::new();
    for _ in 0..REPEATS {
        let starts = Starts::default();
        let record = starts.clone();
        let fake = FakeDriver::new(move |inst, step| {
            if step == "deployment" {
                record
                    .lock()
                    .expect("starts")
                    .insert(inst.to_string(), Instant::now());
            }
            Duration::ZERO
        });
        cwalls.push(run_engine(&rt, &crecipe, &ctext, fake).1);
        let starts = starts.lock().expect("starts");
        let at = |k: usize| starts[&format!("k{k:04}.1")];
        intervals.extend((1..len).map(|k| ms(at(k) - at(k - 1))));
    }
    let stalls: Vec<f64> = intervals.iter().copied().filter(|&x| x > 2.0).collect();
    intervals.sort_by(f64::total_cmp);
    let pct = |p: usize| intervals[(intervals.len() - 1) * p / 100];
    let (_, cmid, _, _) = median(&cwalls);
    t.row(
        format!("chain, zero-duration fake: {len} nodes, provision + deployment = {csteps} steps, wall (median of {REPEATS})"),
        format!("{:.0} ms", ms(cmid)),
        String::new(),
        String::new(),
    );
    let per_all = ms(cmid) / csteps as f64;
    t.row(
        "  per step (wall ÷ all steps)",
        format!("{per_all:.3} ms"),
        String::new(),
        format!("< 1 ms  {}", verdict(per_all < 1.0)),
    );
    let per_seq = ms(cmid) / len as f64;
    t.row(
        format!("  wall ÷ {len} sequential deployments (incl. provisioning and teardown)"),
        format!("{per_seq:.3} ms"),
        String::new(),
        "(upper bound of the latency)".into(),
    );
    t.row(
        "  latency of one sequential step: deployment k → k+1 at the driver, median",
        format!("{:.3} ms", pct(50)),
        String::new(),
        format!("< 1 ms  {}", verdict(pct(50) < 1.0)),
    );
    t.row(
        "    p90 / p99",
        format!("{:.3} / {:.3} ms", pct(90), pct(99)),
        String::new(),
        String::new(),
    );
    t.row(
        "    steps slower than 2 ms per run (stalls: WAL checkpoints, preemption), total",
        format!(
            "{:.0} stalls, {:.0} ms",
            stalls.len() as f64 / REPEATS as f64,
            stalls.iter().sum::<f64>() / REPEATS as f64
        ),
        String::new(),
        String::new(),
    );
    let commit = commit_cost(2000);
    let wait3 = cpu_wait();
    t.row(
        "store: one step-state commit (set_step_state in its own transaction), mean of 4,000",
        format!("{:.3} ms", ms(commit)),
        String::new(),
        String::new(),
    );
    t.row(
        "CPU wait of this process's threads during section 3 (other load on the machine)",
        format!("{:.0} ms", ms(wait3 - wait2)),
        String::new(),
        String::new(),
    );

    println!();
    println!(
        "Slipway engine benchmark — release build, tokio multi-thread runtime ({workers} workers), mimalloc, SQLite store in a temp dir"
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average at the end: {}", load.join(" "));
    }
    println!();
    t.print();
    println!();
}
