//! `slipway run FILE [--cloud C] [--node-cloud node=C]... [--set ...] [--keep POLICY] [--detach] [--json]`

use std::path::{Path, PathBuf};

use slipway_engine::{launch, Launch, SystemClock};
use slipway_recipe::KeepRunning;
use slipway_store::Store;
use tokio_util::sync::CancellationToken;

use crate::common::{bad_input, cloud_error, drivers_for, engine_context, infra, open_store};
use crate::load::{load, options};
use crate::PlacementArgs;
use slipway_engine::exit;

pub struct RunArgs<'a> {
    pub file: &'a Path,
    pub placement: &'a PlacementArgs,
    pub keep: Option<&'a str>,
    pub detach: bool,
    pub json: bool,
    /// Set in the background process that `--detach` starts.
    pub internal_run_id: Option<&'a str>,
}

pub fn run(args: RunArgs) -> i32 {
    // The background process of `--detach` reads its `--set` values from a pipe.
    let piped;
    let placement = if let Some(run_id) = args.internal_run_id {
        let sets = match read_piped_sets() {
            Ok(sets) => sets,
            // Running without the values the user gave would be a different deployment: the
            // run ends here, recorded as aborted with the reason.
            Err(e) => return abort_detached(run_id, &e),
        };
        piped = PlacementArgs {
            set: sets,
            ..args.placement.clone()
        };
        &piped
    } else {
        args.placement
    };
    let mut opts = match options(placement) {
        Ok(o) => o,
        Err(msg) => return bad_input(args.json, &msg),
    };
    let home = slipway_store::data_dir();
    match open_store(&home)
        .and_then(|s| slipway_clouds::known_clouds(&s).map_err(|e| e.to_string()))
    {
        Ok(c) => opts.clouds = Some(c.into_iter().collect()),
        Err(e) => return infra(args.json, &e),
    }
    let keep = match args.keep {
        Some(k) => match KeepRunning::parse(k) {
            Some(k) => Some(k),
            None => {
                return bad_input(
                    args.json,
                    &format!("--keep `{k}`: choose never, always, on-success or on-error"),
                )
            }
        },
        None => None,
    };
    let loaded = match load(args.file, &opts) {
        Ok(l) => l,
        Err(msg) => return bad_input(args.json, &msg),
    };
    let Some(recipe) = loaded.checked.valid_recipe().cloned() else {
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "event": "invalid", "file": loaded.display, "problems": loaded.checked.diagnostics })
            );
        } else {
            loaded.print_problems();
        }
        return exit::BAD_INPUT;
    };
    let store = match open_store(&home) {
        Ok(s) => s,
        Err(e) => return infra(args.json, &e),
    };
    let plan_clouds: Vec<String> = recipe
        .deployment
        .nodes
        .iter()
        .map(|(n, node)| opts.cloud_of(n, node).to_string())
        .collect();
    let drivers = match drivers_for(&home, &store, plan_clouds.iter().map(String::as_str)) {
        Ok(d) => d,
        Err(e) => return cloud_error(args.json, &e),
    };
    let keep = keep.unwrap_or(recipe.deployment.keep_running);
    let clock = SystemClock;
    let now = slipway_engine::Clock::now_ms(&clock);
    let (run_id, already_created) = match args.internal_run_id {
        Some(id) => (id.to_string(), true),
        None => {
            let mut nonce = [0u8; 2];
            let _ = getrandom_fill(&mut nonce);
            (
                slipway_store::new_run_id(now, u16::from_le_bytes(nonce)),
                false,
            )
        }
    };
    let run_dir = home.join("runs").join(&run_id);

    if args.detach {
        return detach(
            &args,
            &run_id,
            &loaded.text,
            &recipe,
            keep,
            &opts,
            store,
            &run_dir,
            now,
        );
    }

    let ctx = engine_context(&home, store, drivers, args.json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async move {
        let cancel = CancellationToken::new();
        let watcher = tokio::spawn(crate::common::cancel_on_signals(cancel.clone()));
        let outcome = launch(
            &ctx,
            Launch {
                run_id,
                recipe,
                recipe_text: loaded.text,
                opts,
                keep,
                run_dir,
                already_created,
                resume: None,
            },
            cancel,
        )
        .await;
        watcher.abort();
        outcome
    });
    outcome.exit_code
}

#[allow(clippy::too_many_arguments)]
fn detach(
    args: &RunArgs,
    run_id: &str,
    text: &str,
    recipe: &slipway_recipe::Recipe,
    keep: KeepRunning,
    opts: &slipway_recipe::ValidateOptions,
    mut store: Store,
    run_dir: &Path,
    now: i64,
) -> i32 {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("slipway"));
    let started = slipway_engine::start_detached(
        &mut store,
        &slipway_engine::Detach {
            exe: &exe,
            file: args.file,
            run_id,
            name: &recipe.name,
            recipe_text: text,
            keep,
            cloud: opts.default_cloud.as_deref(),
            node_clouds: &args.placement.node_cloud,
            sets: &args.placement.set,
            run_dir,
            modules: &[],
            now,
        },
    );
    match started {
        Ok(_child) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "detached", "run_id": run_id })
                );
            } else {
                println!("{run_id}");
                eprintln!(
                    "running in the background; follow it with `slipway logs {run_id} --follow`"
                );
            }
            exit::SUCCESS
        }
        Err(e) => infra(args.json, &e),
    }
}

/// The `--set` values the parent of a detached run writes to this process's standard input.
fn read_piped_sets() -> Result<Vec<String>, String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| format!("cannot read the --set values handed to the background run: {e}"))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("the --set values handed to the background run are unreadable ({e})"))
}

/// Ends a detached run that cannot start, so that `slipway status` says why.
fn abort_detached(run_id: &str, message: &str) -> i32 {
    eprintln!("error: {message}");
    let at = slipway_engine::Clock::now_ms(&SystemClock);
    let recorded = open_store(&slipway_store::data_dir()).and_then(|mut store| {
        store
            .set_run_state(run_id, slipway_store::RunState::Aborted, at, Some(message))
            .and_then(|()| store.finish_run(run_id, exit::BAD_INPUT, Some(message), at))
            .map_err(|e| e.to_string())
    });
    if let Err(e) = recorded {
        eprintln!("error: cannot record that run {run_id} did not start: {e}");
    }
    exit::BAD_INPUT
}

fn getrandom_fill(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}
