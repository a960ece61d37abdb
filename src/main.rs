//! `icodegen`: the pipeline runner. Argument parsing and output only; the work is done by
//! `icodegen-pipeline`. `query` is handed to `icodegen-query` (src/bin), the binary beside this
//! one that links `icodegen-sql` (DataFusion): this one stays small and starts fast.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use icodegen_pipeline::commands::{self, GcOptions, ReproOptions, RunStageOptions, diff};
use icodegen_pipeline::exec::slurm::SubmitOptions;
use icodegen_pipeline::graph::dag;
use icodegen_pipeline::spec::Resources;
use icodegen_pipeline::store::GcPolicy;
use icodegen_pipeline::{Options, PipelineError, Session};

mod cli;

use cli::QueryArgs;

/// Runs pipeline.yaml as a DAG, re-running only stale stages, with a content-addressed cache.
#[derive(Parser)]
#[command(
    name = "icodegen",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: cli::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run stale stages in topological order (independent ones in parallel with -j)
    Repro {
        /// Stages (`train@gru`), foreach/matrix groups (`train`) or out paths; default: all
        targets: Vec<String>,
        /// Run the stages even if fresh (no run-cache either)
        #[arg(short, long)]
        force: bool,
        /// Print what would run, run nothing
        #[arg(long)]
        dry_run: bool,
        /// Run the targets and what depends on them, not what they depend on
        #[arg(long, conflicts_with = "single")]
        downstream: bool,
        /// Run only the targets
        #[arg(short, long)]
        single: bool,
        /// Stages to run at once
        #[arg(short, long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
        /// After a failure, finish every stage that does not depend on it
        #[arg(short, long)]
        keep_going: bool,
        /// Where stages run: here, or as Slurm jobs (submit the stale stages, chained, and exit;
        /// with slurm, `--force` also submits while jobs of this pipeline are queued)
        #[arg(long, value_enum, default_value_t = ExecutorKind::Local)]
        executor: ExecutorKind,
        /// Before running a stale stage, look its key up in the remote's run-cache and download
        /// its outputs instead of running it
        #[arg(long)]
        pull: bool,
        /// The remote for --pull [default: the default remote]
        #[arg(short = 'r', long, value_name = "NAME", requires = "pull")]
        remote: Option<String>,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Show whether each stage is fresh, stale or never-run
    Status {
        /// Only these stages (and what they depend on)
        targets: Vec<String>,
        /// List every reason a stage is stale
        #[arg(long)]
        explain: bool,
        /// Print {"stages": {NAME: {"state": ..., "reasons": [...]}}}
        #[arg(long)]
        json: bool,
        /// Instead: which outs of the lock are not on the remote (default remote, or NAME)
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        remote: Option<String>,
    },
    /// List the latest Slurm job of each stage: id, state, log
    Jobs {
        /// Only these stages or groups
        targets: Vec<String>,
        /// Print {"jobs": {NAME: {"id": ..., "state": ..., "log": ...}}}
        #[arg(long)]
        json: bool,
    },
    /// Cancel the queued or running Slurm jobs of this pipeline (scancel)
    Cancel {
        /// Only these stages or groups; default: all
        targets: Vec<String>,
    },
    /// Print the stage graph
    Dag {
        /// Only these stages and what they depend on
        targets: Vec<String>,
        #[arg(long, value_enum, default_value_t = DagFormat::Ascii)]
        format: DagFormat,
    },
    /// Restore the outs recorded in pipeline.lock from the cache
    Checkout {
        /// Stages or groups; default: all
        targets: Vec<String>,
        /// Overwrite outs changed by hand even when their contents are not in the cache
        #[arg(short, long)]
        force: bool,
    },
    /// Remove run-cache entries by policy, then cache objects that neither pipeline.lock nor a
    /// kept run-cache entry refers to
    Gc {
        /// Print what would be removed (run-cache entries on stdout) and its size
        #[arg(long)]
        dry_run: bool,
        /// Keep the newest N run-cache entries of each stage (the lock's current run always stays)
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Remove run-cache entries older than this (e.g. 7d, 12h, 30m) unless --keep-last keeps them
        #[arg(long, value_name = "DURATION", value_parser = icodegen_pipeline::store::parse_duration)]
        older_than: Option<std::time::Duration>,
        /// Instead: remove the objects on the remote (default, or NAME) that no run-cache entry on
        /// the remote references (needs --dry-run or --yes)
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        remote: Option<String>,
        /// With --remote: really remove
        #[arg(long, requires = "remote")]
        yes: bool,
        /// With --remote: keep unreferenced objects younger than this, which a push running now
        /// may be about to reference (default 1h; e.g. 0s, 30m, 1d)
        #[arg(long, value_name = "DURATION", requires = "remote", value_parser = icodegen_pipeline::store::parse_duration)]
        grace: Option<std::time::Duration>,
    },
    /// Configure remotes (icodegen.yaml; machine-specific: .icodegen/config.local.yaml)
    Remote {
        #[command(subcommand)]
        action: RemoteAction,
    },
    /// Upload the objects of the lock's outs (and their run-cache entries) missing on the remote
    Push(TransferArgs),
    /// Download the objects of the lock's outs missing here, without checking them out
    Fetch(TransferArgs),
    /// Fetch, then check out the outs
    Pull {
        #[command(flatten)]
        transfer: TransferArgs,
        /// Overwrite outs changed by hand even when their contents are not in the cache
        #[arg(short, long)]
        force: bool,
    },
    /// Params of two git revisions
    Params {
        #[command(subcommand)]
        action: DiffAction,
    },
    /// Metrics of two git revisions
    Metrics {
        #[command(subcommand)]
        action: DiffAction,
    },
    /// Query the Parquet artifacts of the current lock with SQL
    Query(QueryArgs),
    /// Bring one stage up to date (what each cluster job runs)
    RunStage {
        name: String,
        /// Fail unless the stage's inputs still hash to this plan key
        #[arg(long, value_name = "KEY")]
        expect: Option<String>,
        /// Run even if fresh
        #[arg(short, long)]
        force: bool,
        /// Print the stage's plan key and exit
        #[arg(long)]
        print_key: bool,
        /// Before running the stage, look its key up in the remote's run-cache and download its
        /// outputs instead of running it (`repro --pull --executor slurm` passes it to each job)
        #[arg(long)]
        pull: bool,
        /// The remote for --pull [default: the default remote]
        #[arg(short = 'r', long, value_name = "NAME", requires = "pull")]
        remote: Option<String>,
    },
}

#[derive(Subcommand)]
enum RemoteAction {
    /// Add (or change) a remote: a path, file://, s3://bucket/prefix, gs://bucket/prefix, az://container/prefix
    Add {
        name: String,
        url: String,
        /// Make it the default remote
        #[arg(short, long)]
        default: bool,
        /// Write to .icodegen/config.local.yaml (this machine only) instead of icodegen.yaml
        #[arg(long)]
        local: bool,
        /// An option: endpoint=URL, region=R, allow_http=true, timeout=SECONDS, retries=N, or any
        /// object_store option (repeatable)
        #[arg(short = 'o', long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// List the remotes (`*` marks the default)
    List,
    /// Remove a remote
    Remove { name: String },
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

#[derive(Args)]
struct TransferArgs {
    /// Stages or groups; default: all
    targets: Vec<String>,
    /// The remote [default: the default remote]
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
    /// Transfers at once [default: the remote's `jobs`, or 8]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

#[derive(Subcommand)]
enum DiffAction {
    /// Changed values between revisions A [HEAD] and B [the working tree]
    Diff {
        a: Option<String>,
        b: Option<String>,
        /// Unchanged values too
        #[arg(long)]
        all: bool,
        #[arg(long, conflicts_with = "md")]
        json: bool,
        /// A Markdown table
        #[arg(long)]
        md: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExecutorKind {
    Local,
    Slurm,
}

/// Defaults for stages without their own `resources` (which win), over `slurm:` in params.yaml.
#[derive(Args)]
#[command(next_help_heading = "Slurm defaults (with --executor slurm)")]
struct SlurmArgs {
    /// --cpus-per-task
    #[arg(long, value_name = "N")]
    cpus: Option<u32>,
    /// --mem (e.g. 8G)
    #[arg(long, value_name = "SIZE")]
    mem: Option<String>,
    /// --gres=gpu:N
    #[arg(long, value_name = "N")]
    gpus: Option<u32>,
    /// --time (e.g. 2:00:00)
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// --partition
    #[arg(long, value_name = "NAME")]
    partition: Option<String>,
    /// --account
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// Another sbatch option for every job (repeatable), e.g. --sbatch-arg=--qos=long
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    sbatch_arg: Vec<String>,
    /// Submit foreach/matrix siblings as separate jobs, not as one job array
    #[arg(long)]
    no_array: bool,
}

impl SlurmArgs {
    fn any(&self) -> bool {
        self.cpus.is_some()
            || self.mem.is_some()
            || self.gpus.is_some()
            || self.time.is_some()
            || self.partition.is_some()
            || self.account.is_some()
            || !self.sbatch_arg.is_empty()
            || self.no_array
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DagFormat {
    Ascii,
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbosity = cli.global.verbosity();
    let result = match &cli.command {
        Command::Query(query) => run_query(&cli.global, query),
        _ => run(cli.command, &cli.global.options()),
    };
    cli::finish(result, verbosity)
}

/// `icodegen query`: replaced by `icodegen-query` (beside this executable) with the same
/// options; returns only if that could not start.
fn run_query(global: &cli::Global, query: &QueryArgs) -> anyhow::Result<u8> {
    use std::os::unix::process::CommandExt;
    // Beside the executable as it resolves, else beside the link that ran it, else on PATH.
    let exe = std::env::current_exe().ok();
    #[expect(
        clippy::disallowed_methods,
        reason = "a failure is discarded: the link itself is tried next"
    )]
    let program = exe
        .iter()
        .flat_map(|exe| [exe.canonicalize().ok(), Some(exe.clone())])
        .flatten()
        .map(|exe| exe.with_file_name("icodegen-query"))
        .find(|program| program.is_file())
        .unwrap_or_else(|| PathBuf::from("icodegen-query"));
    let mut args: Vec<OsString> = Vec::new();
    if let Some(pipeline) = &global.pipeline {
        args.extend([OsString::from("--pipeline"), pipeline.into()]);
    }
    if let Some(cache) = &global.cache {
        args.extend([OsString::from("--cache"), cache.into()]);
    }
    if global.quiet {
        args.push("--quiet".into());
    }
    args.extend((0..global.verbose).map(|_| OsString::from("--verbose")));
    if query.tables {
        args.push("--tables".into());
    }
    let format = query
        .format
        .to_possible_value()
        .expect("query formats have names");
    args.extend([OsString::from("--format"), format.get_name().into()]);
    if let Some(output) = &query.output {
        args.extend([OsString::from("--output"), output.into()]);
    }
    if let Some(sql) = &query.sql {
        args.extend([OsString::from("--"), sql.into()]);
    }
    let error = std::process::Command::new(&program).args(&args).exec();
    Err(anyhow::anyhow!(
        "cannot run `{}`: {error}\nhint: `icodegen query` runs the `icodegen-query` binary that `cargo build` puts beside `icodegen`",
        program.display()
    ))
}

fn run(command: Command, options: &Options) -> anyhow::Result<u8> {
    let session = Session::open(options)?;
    match command {
        Command::Repro {
            targets,
            force,
            dry_run,
            downstream,
            single,
            jobs,
            keep_going,
            executor,
            pull,
            remote,
            slurm,
        } => {
            if pull {
                commands::set_pull(&session, remote.as_deref())?;
            }
            if executor == ExecutorKind::Local && slurm.any() {
                return Err(anyhow::Error::new(PipelineError::Usage(
                    "the Slurm options (--cpus, --mem, --gpus, --time, --partition, --account, --sbatch-arg, --no-array) only apply with `--executor slurm`".to_owned(),
                )));
            }
            let slurm = (executor == ExecutorKind::Slurm).then(|| SubmitOptions {
                defaults: Resources {
                    cpus: slurm.cpus,
                    mem: slurm.mem,
                    gpus: slurm.gpus,
                    time: slurm.time,
                    partition: slurm.partition,
                    account: slurm.account,
                    extra: slurm.sbatch_arg,
                },
                arrays: !slurm.no_array,
                ..SubmitOptions::default()
            });
            let options = ReproOptions {
                targets,
                force,
                dry_run,
                downstream,
                single,
                jobs: jobs as usize,
                keep_going,
                slurm,
            };
            commands::repro(&session, &options)?;
        }
        Command::Jobs { targets, json } => print!("{}", commands::jobs(&session, &targets, json)?),
        Command::Cancel { targets } => commands::cancel(&session, &targets)?,
        Command::Status {
            targets,
            remote: Some(remote),
            ..
        } => {
            let remote = (!remote.is_empty()).then_some(remote);
            print!(
                "{}",
                commands::remote_status(&session, &targets, remote.as_deref())?
            );
        }
        Command::Status {
            targets,
            explain,
            json,
            remote: None,
        } => {
            print!("{}", commands::status(&session, &targets, explain, json)?);
        }
        Command::Dag { targets, format } => {
            let format = match format {
                DagFormat::Ascii => dag::Format::Ascii,
                DagFormat::Dot => dag::Format::Dot,
                DagFormat::Mermaid => dag::Format::Mermaid,
            };
            print!("{}", commands::dag(&session, &targets, format)?);
        }
        Command::Checkout { targets, force } => commands::checkout(&session, &targets, force)?,
        Command::Gc {
            dry_run,
            remote: Some(remote),
            yes,
            grace,
            ..
        } => {
            let remote = (!remote.is_empty()).then_some(remote);
            commands::gc_remote(&session, remote.as_deref(), dry_run, yes, grace)?;
        }
        Command::Remote { action } => match action {
            RemoteAction::Add {
                name,
                url,
                default,
                local,
                options,
            } => commands::remote_add(&session, &name, &url, default, local, &options)?,
            RemoteAction::List => print!("{}", commands::remote_list(&session)?),
            RemoteAction::Remove { name } => commands::remote_remove(&session, &name)?,
        },
        Command::Push(args) => commands::push(
            &session,
            &args.targets,
            args.remote.as_deref(),
            args.jobs.map(usize::from),
        )?,
        Command::Fetch(args) => commands::fetch(
            &session,
            &args.targets,
            args.remote.as_deref(),
            args.jobs.map(usize::from),
        )?,
        Command::Pull { transfer, force } => commands::pull(
            &session,
            &transfer.targets,
            transfer.remote.as_deref(),
            transfer.jobs.map(usize::from),
            force,
        )?,
        Command::Params {
            action:
                DiffAction::Diff {
                    a,
                    b,
                    all,
                    json,
                    md,
                },
        } => {
            let rows = diff::params_diff(&session, a.as_deref(), b.as_deref(), all)?;
            print!("{}", diff::render(&rows, diff_format(json, md), false));
        }
        Command::Metrics {
            action:
                DiffAction::Diff {
                    a,
                    b,
                    all,
                    json,
                    md,
                },
        } => {
            let rows = diff::metrics_diff(&session, a.as_deref(), b.as_deref(), all)?;
            print!("{}", diff::render(&rows, diff_format(json, md), true));
        }
        Command::Gc {
            dry_run,
            keep_last,
            older_than,
            remote: None,
            yes: _,
            grace: _,
        } => commands::gc(
            &session,
            &GcOptions {
                dry_run,
                policy: GcPolicy {
                    keep_last,
                    older_than,
                },
            },
        )?,
        Command::Query(_) => unreachable!("`query` runs icodegen-query"),
        Command::RunStage {
            name,
            expect,
            force,
            print_key,
            pull,
            remote,
        } => {
            if pull {
                commands::set_pull(&session, remote.as_deref())?;
            }
            let options = RunStageOptions {
                name,
                expect,
                force,
                print_key,
            };
            return Ok(commands::run_stage(&session, &options)?);
        }
    }
    Ok(0)
}

fn diff_format(json: bool, md: bool) -> diff::DiffFormat {
    if json {
        diff::DiffFormat::Json
    } else if md {
        diff::DiffFormat::Markdown
    } else {
        diff::DiffFormat::Table
    }
}
