//! `slipway`: the command-line tool (SPEC §6). Thin: parses arguments, calls the core crates,
//! and prints. Exit codes: 0 success, 1 the deployment failed, 2 bad input, 3 cloud or
//! infrastructure error, 130 cancelled.

mod clouds_cmd;
mod common;
mod hooks;
mod library_cmd;
mod load;
mod plan_cmd;
mod run_cmd;
mod runs_cmd;
mod secret_cmd;
mod validate_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

// Reading large recipes is allocation-heavy; mimalloc makes it markedly faster (see the scale bench).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const AFTER_HELP: &str = "\
Getting started:
  slipway validate assets/examples/web-with-db.slipway.yaml
  slipway plan assets/examples/web-with-db.slipway.yaml
  slipway run assets/examples/web-with-db.slipway.yaml --keep never
  slipway runs
  slipway status last

State (runs, logs, reports) lives under $SLIPWAY_HOME, by default the platform data directory.

Exit codes:
  0    success
  1    the deployment ran and failed (a recipe or test failed)
  2    bad input (file, arguments)
  3    a cloud or infrastructure error
  130  cancelled

Recipe files (*.slipway.yaml): every key, wire, step, environment variable and exit code is
described in docs/recipe-format.md (installed as /usr/share/doc/slipway/recipe-format.md, and
under Help in the desktop app). Editors can complete them with
assets/schema/slipway-v1.schema.json. Examples: assets/examples/.";

/// Design deployments as recipe files, check them, and see what a launch would do.
#[derive(Parser, Debug)]
#[command(
    name = "slipway",
    version,
    about = "Design deployments as recipe files, check and plan them, and run them on any cloud",
    after_help = AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a recipe file and list every problem with file:line:column (exit 2 if any)
    Validate {
        /// The recipe file (*.slipway.yaml)
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show what a run would create and in what order, without creating anything
    Plan {
        /// The recipe file (*.slipway.yaml)
        file: PathBuf,
        #[command(flatten)]
        placement: PlacementArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Launch a deployment: provision, run every recipe in dependency order, tear down per policy
    Run {
        /// The recipe file (*.slipway.yaml)
        file: PathBuf,
        #[command(flatten)]
        placement: PlacementArgs,
        /// What to keep at the end: never, always, on-success (default from the file), on-error
        #[arg(long, value_name = "POLICY")]
        keep: Option<String>,
        /// Start the run in the background and print its id
        #[arg(long)]
        detach: bool,
        #[command(flatten)]
        output: OutputArgs,
        #[arg(long, hide = true)]
        internal_run_id: Option<String>,
    },
    /// List runs, newest first (interrupted runs lost their process)
    Runs {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a run: states, instances, steps with timings, parameters, reports
    Status {
        /// A run id, a unique prefix of one, or `last`
        run: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print a run's logs, of one instance if given
    Logs {
        /// A run id, a unique prefix of one, or `last`
        run: String,
        /// An instance such as `web.1`
        instance: Option<String>,
        /// Keep printing new lines until the run stops
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Add a recipe file's deployment, components and images to the library (new versions, never
    /// overwriting); an invalid file changes nothing
    Import {
        /// The recipe file (*.slipway.yaml)
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write a deployment of the library, with every module it uses, as a recipe file
    Export {
        /// The deployment's name, or NAME@VERSION
        deployment: String,
        /// Where to write (default: standard output)
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Configured clouds: list, add, remove, test
    Clouds {
        #[command(subcommand)]
        command: CloudsCommand,
    },
    /// A cloud's secret settings, kept in the OS keychain only
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Add N instances to a node of a kept (`ready`) run, or remove its N highest: runs
    /// `on_node_add` / `on_node_remove` on the instances that read the node
    Scale {
        /// A run id, a unique prefix of one, or `last`
        run: String,
        /// The node to scale, such as `web`
        node: String,
        /// `+N` to add N instances, `-N` to remove the N highest
        #[arg(allow_hyphen_values = true, value_name = "+N|-N")]
        change: String,
        /// Print what the scale would do (instances, their steps, where the hook runs) and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Continue an interrupted run (its process died): finished steps stay finished, the rest
    /// runs, and the keep-running policy applies at the end
    Resume {
        /// A run id, a unique prefix of one, or `last`
        run: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Stop a run and terminate every instance it created (also after a crash)
    Terminate {
        /// A run id, a unique prefix of one, or `last`
        run: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Subcommand, Debug)]
enum CloudsCommand {
    /// The built-in `local` cloud and every configured cloud
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Configure a cloud: `slipway clouds add lab ssh --setting hosts=10.0.0.5,10.0.0.6`
    Add {
        name: String,
        /// Driver kind: local, ssh, docker, ec2, …
        kind: String,
        /// A non-secret setting (repeatable); secrets go to `slipway secret set`
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Remove a configured cloud and its keychain entries (refused while a run still uses it)
    Remove {
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check a cloud's settings and credentials without creating anything (exit 3 on failure)
    Test {
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Forget the host key pinned for a host of an `ssh` cloud (after the machine was
    /// reinstalled); the next connection pins the key it then sees
    ForgetHost {
        name: String,
        /// The host as the refusal names it: HOST:PORT
        host: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List resources tagged for runs this data directory does not know or that ended; with
    /// --yes, remove them
    Sweep {
        name: String,
        /// Remove what is listed
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Store a secret setting: reads the value from standard input (not echoed on a terminal),
    /// e.g. `slipway secret set aws secret_access_key < key.txt`
    Set {
        cloud: String,
        /// A secret setting of the cloud's kind, such as `private_key` or `secret_access_key`
        key: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a secret setting from the keychain
    Remove {
        cloud: String,
        key: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print JSON (one object per line) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Default, Clone)]
pub struct PlacementArgs {
    /// The cloud for every node that does not name one (default: local)
    #[arg(long, value_name = "C")]
    pub cloud: Option<String>,
    /// Place one node on a cloud, winning over the file: --node-cloud web=ec2
    #[arg(long = "node-cloud", value_name = "NODE=C")]
    pub node_cloud: Vec<String>,
    /// Give an input a value: --set web.db_port=5433 (repeatable)
    #[arg(long = "set", value_name = "NODE.INPUT=VALUE")]
    pub set: Vec<String>,
}

/// `clouds add --help` lists every kind's settings, from the one declaration.
fn settings_help() -> String {
    let mut out = String::from(
        "Settings of each kind (secrets are set with `slipway secret set CLOUD KEY`):\n",
    );
    for kind in slipway_clouds::KINDS {
        out.push_str(&format!("  {}:", kind.name));
        if kind.settings.is_empty() {
            out.push_str(" none\n");
            continue;
        }
        out.push('\n');
        for s in kind.settings {
            let mut notes = Vec::new();
            if s.required {
                notes.push("required".to_string());
            }
            if s.secret {
                notes.push("secret".to_string());
            }
            if let Some(d) = s.default {
                notes.push(format!("default {d}"));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            out.push_str(&format!("    {}{notes}: {}\n", s.name, s.description));
        }
    }
    out
}

fn main() -> ExitCode {
    let command = Cli::command().mut_subcommand("clouds", |c| {
        c.mut_subcommand("add", |a| a.after_help(settings_help()))
    });
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    let code = match cli.command {
        Command::Validate { file, output } => validate_cmd::run(&file, output.json),
        Command::Plan {
            file,
            placement,
            output,
        } => plan_cmd::run(&file, &placement, output.json),
        Command::Run {
            file,
            placement,
            keep,
            detach,
            output,
            internal_run_id,
        } => run_cmd::run(run_cmd::RunArgs {
            file: &file,
            placement: &placement,
            keep: keep.as_deref(),
            detach,
            json: output.json,
            internal_run_id: internal_run_id.as_deref(),
        }),
        Command::Runs { output } => runs_cmd::runs(output.json),
        Command::Status { run, output } => runs_cmd::status(&run, output.json),
        Command::Logs {
            run,
            instance,
            follow,
            output,
        } => runs_cmd::logs(&run, instance.as_deref(), follow, output.json),
        Command::Terminate { run, output } => runs_cmd::terminate(&run, output.json),
        Command::Resume { run, output } => runs_cmd::resume(&run, output.json),
        Command::Scale {
            run,
            node,
            change,
            dry_run,
            output,
        } => runs_cmd::scale(&run, &node, &change, dry_run, output.json),
        Command::Clouds { command } => match command {
            CloudsCommand::List { output } => clouds_cmd::list(output.json),
            CloudsCommand::Add {
                name,
                kind,
                settings,
                output,
            } => clouds_cmd::add(&name, &kind, &settings, output.json),
            CloudsCommand::Remove { name, output } => clouds_cmd::remove(&name, output.json),
            CloudsCommand::Test { name, output } => clouds_cmd::test(&name, output.json),
            CloudsCommand::ForgetHost { name, host, output } => {
                clouds_cmd::forget_host(&name, &host, output.json)
            }
            CloudsCommand::Sweep { name, yes, output } => {
                clouds_cmd::sweep(&name, yes, output.json)
            }
        },
        Command::Secret { command } => match command {
            SecretCommand::Set { cloud, key, output } => secret_cmd::set(&cloud, &key, output.json),
            SecretCommand::Remove { cloud, key, output } => {
                secret_cmd::remove(&cloud, &key, output.json)
            }
        },
        Command::Import { file, output } => library_cmd::import(&file, output.json),
        Command::Export {
            deployment,
            output_file,
            output,
        } => library_cmd::export(&deployment, output_file.as_deref(), output.json),
    };
    ExitCode::from(code as u8)
}
