//! The command line (clap derive). Experiments bring their own flags through the registry.

use crate::experiments::{ExperimentCommand, Scale};
use crate::worker::WORKER_COMMAND;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// parlab: a parallelism lab. It reruns the experiments of the paper "N-CS159: In-Depth
/// Analysis & Comparison of Parallelism Techniques in Python & Go" on this machine, with
/// Rust implementations of each technique, and reports real statistics.
#[derive(Debug, Parser)]
#[command(name = "parlab", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok; 1 some row failed; 2 usage error; 130 interrupted.\n\
Numbers: 100000, 100_000 or 1e5. Lists take numbers and inclusive ranges: --workers 1..20,50.\n\
Durations: 5ms, 1s, 2m."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every experiment at a chosen scale and write the results document
    Reproduce(ReproduceArgs),

    /// Show what parlab knows about this machine
    Env(EnvArgs),

    /// Compare two results documents row by row: old and new median and how much it moved
    Compare(CompareArgs),

    /// Run the embedded HTTP target server on its own (for the peers and your own tools)
    Serve(ServeArgs),

    // Its help is the doc of `advise::Args`, as an experiment's is its `Args`'.
    Advise(crate::advise::Args),

    #[command(flatten)]
    Experiment(ExperimentCommand),

    /// Internal: serve jobs as a worker process for the processes technique
    #[command(name = WORKER_COMMAND, hide = true)]
    Worker,

    /// Internal: run as one MPI rank under mpirun (the mpi techniques)
    #[command(name = crate::techniques::mpi::RANK_COMMAND, hide = true)]
    MpiRank(crate::techniques::mpi::RankArgs),

    /// Internal: echo messages back for the pingpong experiment's pipe and tcp rows
    #[command(name = crate::techniques::pingpong::ECHO_COMMAND, hide = true)]
    Echo(crate::techniques::pingpong::EchoArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// quick: small sizes, a few minutes in all; paper: the paper's sizes and worker counts
    #[arg(long, value_enum, default_value_t = Scale::Quick)]
    pub scale: Scale,

    /// Run only these experiments, comma-separated (ids as in `parlab --help`)
    #[arg(long, value_name = "ID,..", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Folder for the report: results.json, results.csv, report.md, report.html, trace.json
    #[arg(long, value_name = "DIR", default_value = "parlab-report")]
    pub out: PathBuf,

    /// How the rows each experiment compares share the machine (every experiment's
    /// --schedule): interleaved, one run of each row in turn; grouped, row after row
    #[arg(long, value_enum, default_value = "interleaved", value_name = "HOW")]
    pub schedule: crate::measure::Schedule,

    /// Print only the results tables, not the paper-style lines
    #[arg(long, short)]
    pub quiet: bool,

    /// Show each claim's evidence in the closing claims table, not only the number that
    /// decided it
    #[arg(long, short)]
    pub verbose: bool,

    #[command(flatten)]
    pub peers: crate::peers::PeerArgs,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. It stays on loopback unless you
    /// name another address
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:0")]
    pub addr: std::net::SocketAddr,

    /// Most connections held at once; further clients wait (in the listen backlog) until
    /// one closes
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS as u64,
          value_parser = crate::parse::int_in(1, 1_000_000))]
    pub max_connections: u64,

    /// Close a connection that sends no request for this long, new or kept alive between
    /// requests, so idle clients cannot hold every connection
    #[arg(long, value_name = "DURATION", default_value = "10s",
          value_parser = crate::parse::duration)]
    pub idle_timeout: std::time::Duration,

    #[command(flatten)]
    pub sites: crate::server::SiteArgs,
}

/// Rows are matched by experiment, language, technique and params; rows found on one
/// side only are listed after the table.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The earlier results document (results.json of reproduce, or an experiment's --json)
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,

    /// The later results document
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,

    /// Flag with '!' every matched row whose median moved significantly by more than PCT
    /// percent, faster or slower, and with '?' one that moved that far with too few runs
    /// to test (the exit code stays 0; see --fail-on-regression)
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub threshold: Option<f64>,

    /// Significance level of the Mann-Whitney U test, over all rows together
    /// (Holm-Bonferroni); a row above it is '~', no significant change
    #[arg(long, value_name = "ALPHA", default_value_t = crate::compare::DEFAULT_ALPHA,
          value_parser = parse_alpha)]
    pub alpha: f64,

    /// Exit with code 1 when any row got significantly slower by more than PCT percent
    /// (for CI: noise and untested rows never fail)
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub fail_on_regression: Option<f64>,
}

/// A significance level: a probability strictly between 0 and 1.
fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        _ => Err(format!(
            "'{text}' is not a significance level (a number between 0 and 1, e.g. 0.05)"
        )),
    }
}

/// A percentage as a fraction: `5` and `5%` are 0.05.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p / 100.0),
        _ => Err(format!("'{text}' is not a percentage (e.g. 5 or 5%)")),
    }
}

#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// Print the environment as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub peers: crate::peers::PeerArgs,
}
