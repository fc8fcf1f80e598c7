//! What each command does, from parsed arguments to an exit code.

use crate::checkpoint::{self, Sink};
use crate::claims;
use crate::cli::{Cli, Command, CompareArgs, EnvArgs, ReproduceArgs, ServeArgs};
use crate::error::ParlabError;
use crate::experiments::{self, Ctx, ExperimentCommand, Info};
use crate::measure::env::Environment;
use crate::outputs;
use crate::peers::{Language, PeerArgs, Peers};
use crate::progress::{Progress, RowProgress};
use crate::reaper;
use crate::report;
use crate::results::ResultsDoc;
use crate::worker;
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Worker => worker::worker_main(),
        Command::MpiRank(args) => crate::techniques::mpi::rank_main(&args),
        Command::Echo(args) => crate::techniques::pingpong::echo_main(&args),
        command => {
            install_interrupt_handler();
            let code = match run(command) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("parlab: {e}");
                    e.exit_code()
                }
            };
            // A run that ended because an interrupt killed its children must not exit
            // before the handler has written the finished rows and exited with 130.
            while reaper::interrupted() {
                std::thread::park();
            }
            code
        }
    }
}

/// Help and version go out whole; a real usage error is one line and exit code 2.
fn usage_error(e: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            2
        }
        _ => {
            eprintln!("parlab: {}", usage_line(&e));
            2
        }
    }
}

/// The one line of a clap error. Where the error quotes the user's text it is rebuilt
/// with that text escaped: clap repeats it raw, and a value holding a newline would cut
/// clap's line in two.
fn usage_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg);
    let rebuilt = match (e.kind(), arg) {
        (ErrorKind::ValueValidation, Some(arg)) => text(ContextKind::InvalidValue)
            .zip(std::error::Error::source(e))
            .map(|(value, why)| {
                format!(
                    "invalid value {} for '{arg}': {why}",
                    crate::parse::shown(value)
                )
            }),
        (ErrorKind::InvalidSubcommand, _) => text(ContextKind::InvalidSubcommand)
            .map(|name| format!("unrecognized subcommand {}", crate::parse::shown(name))),
        (ErrorKind::InvalidValue, Some(arg)) => text(ContextKind::InvalidValue).map(|value| {
            let valid = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) => format!(" (possible values: {})", v.join(", ")),
                _ => String::new(),
            };
            format!(
                "invalid value {} for '{arg}'{valid}",
                crate::parse::shown(value)
            )
        }),
        (ErrorKind::UnknownArgument, Some(arg)) => Some(format!(
            "unexpected argument {} found",
            crate::parse::shown(arg)
        )),
        _ => None,
    };
    let rendered = e.render().to_string();
    let line = rebuilt.unwrap_or_else(|| {
        rendered
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("error: invalid arguments")
            .trim_start_matches("error: ")
            .to_string()
    });
    crate::parse::one_line(&line)
}

fn run(command: Command) -> Result<u8, ParlabError> {
    match command {
        Command::Env(args) => env(&args),
        Command::Compare(args) => compare(&args),
        Command::Serve(args) => serve(&args),
        Command::Reproduce(args) => reproduce(&args),
        Command::Advise(args) => advise(&args),
        Command::Experiment(exp) => experiment(&exp),
        Command::Worker => Ok(worker::worker_main()),
        Command::MpiRank(args) => Ok(crate::techniques::mpi::rank_main(&args)),
        Command::Echo(args) => Ok(crate::techniques::pingpong::echo_main(&args)),
    }
}

fn env(args: &EnvArgs) -> Result<u8, ParlabError> {
    let mut env = Environment::capture();
    let peers = Peers::new(&args.peers, &worker_exe()?);
    env.python = peers.version(Language::Python, true);
    env.go = peers.version(Language::Go, true);
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&env).expect("environment serialises")
        )
    } else {
        env.lines()
            .into_iter()
            .try_for_each(|(k, v)| writeln!(out, "{k:<22} {v}"))
    };
    written.map_err(|e| ParlabError::io("writing to stdout", e))?;
    Ok(0)
}

fn compare(args: &CompareArgs) -> Result<u8, ParlabError> {
    let old = crate::compare::load(&args.old)?;
    let new = crate::compare::load(&args.new)?;
    let comparison = crate::compare::compare(&old, &new);
    let settings = crate::compare::Settings {
        alpha: args.alpha,
        threshold: args.threshold,
        fail_on_regression: args.fail_on_regression,
    };
    let rendered = crate::compare::render(
        &comparison,
        &args.old.display().to_string(),
        &args.new.display().to_string(),
        &settings,
    );
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| ParlabError::io("writing to stdout", e))?;
    // A regression is bad news about the results, not a usage error: code 1, as for a
    // row that failed.
    Ok(u8::from(rendered.regressions > 0))
}

/// Serves until interrupted (Ctrl-C ends the process with 130, as everywhere).
fn serve(args: &ServeArgs) -> Result<u8, ParlabError> {
    let sites = args.sites.sites();
    let limits = crate::server::Limits {
        max_connections: args.max_connections as usize,
        idle_timeout: args.idle_timeout,
    };
    let server = crate::server::Server::start_with(args.addr, sites.clone(), limits)
        .map_err(|e| ParlabError::io(format!("listening on {}", args.addr), e))?;
    if !server.addr().ip().is_loopback() {
        eprintln!(
            "parlab: warning: serving on {}, reachable from other machines",
            server.addr()
        );
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "parlab serve: listening on http://{} ({} sites, at most {} connections at once, idle ones closed after {}; GET / lists them)",
        server.addr(),
        sites.len(),
        args.max_connections,
        humantime::format_duration(args.idle_timeout)
    );
    for site in sites.iter().take(8) {
        let _ = writeln!(
            out,
            "  {} -> {} after {}",
            server.url(&site.name),
            site.status,
            humantime::format_duration(site.latency)
        );
    }
    if sites.len() > 8 {
        let _ = writeln!(out, "  ... and {} more", sites.len() - 8);
    }
    let _ = out.flush();
    drop(out);
    server.wait();
    Ok(0)
}

fn worker_exe() -> Result<PathBuf, ParlabError> {
    std::env::current_exe()
        .map_err(|e| ParlabError::io("finding the parlab binary to start workers", e))
}

fn start(quiet: bool, to_stderr: bool, peers: &PeerArgs) -> Result<Ctx, ParlabError> {
    let env = Environment::capture();
    if let Some(warning) = env.busy_warning() {
        eprintln!("parlab: warning: {warning}");
    }
    let out: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let exe = worker_exe()?;
    let mut ctx = Ctx::new(out, quiet, env, exe);
    ctx.peers = Peers::new(peers, &ctx.worker_exe);
    Ok(ctx)
}

/// The results document, with the versions of the peers that ran.
fn document(ctx: &Ctx, experiments: Vec<crate::results::ExperimentResult>) -> ResultsDoc {
    let mut env = ctx.env.clone();
    env.python = ctx.peers.version(Language::Python, false);
    env.go = ctx.peers.version(Language::Go, false);
    ResultsDoc::new(env, experiments)
}

fn experiment(exp: &ExperimentCommand) -> Result<u8, ParlabError> {
    exp.validate()?;
    let common = exp.common();
    if let Some(path) = &common.json {
        outputs::check_file("--json", path)?;
    }
    let to_stderr = common.json.as_deref() == Some(Path::new("-"));
    let mut ctx = start(common.quiet, to_stderr, &common.peers)?;
    if let Some(path) = &common.json {
        let info = exp.info();
        checkpoint::begin(
            ctx.env.clone(),
            &[(info.id, info.paper_ref)],
            Sink::Json(path.clone()),
        );
    }
    // On a terminal, the row running and its time; not with `--json -`, whose stdout is
    // the document.
    if !to_stderr && let Some(progress) = RowProgress::new(exp.id()) {
        ctx.show_progress(progress);
    }
    let result = exp.run(&mut ctx);
    ctx.end_progress();
    let result = result?;
    let _ = checkpoint::take_interrupted();
    let doc = document(&ctx, vec![result]);
    if let Some(path) = &common.json {
        report::write_json(&doc, path)?;
    }
    Ok(if doc.has_errors() { 1 } else { 0 })
}

fn advise(args: &crate::advise::Args) -> Result<u8, ParlabError> {
    args.validate()?;
    let json = args.common.json.as_deref();
    if let Some(path) = json {
        outputs::check_file("--json", path)?;
    }
    let to_stderr = json == Some(Path::new("-"));
    let mut ctx = start(args.common.quiet, to_stderr, &args.peer_args())?;
    if !to_stderr
        && args.from.is_none()
        && let Some(progress) = RowProgress::new(crate::advise::ID)
    {
        ctx.show_progress(progress);
    }
    let doc = crate::advise::run(args, &mut ctx);
    ctx.end_progress();
    let doc = doc?;
    if let Some(path) = json {
        report::write_json(&doc, path)?;
    }
    Ok(if doc.has_errors() { 1 } else { 0 })
}

fn reproduce(args: &ReproduceArgs) -> Result<u8, ParlabError> {
    for id in &args.only {
        if experiments::info(id.trim()).is_none() {
            let ids: Vec<&str> = experiments::ALL.iter().map(|i| i.id).collect();
            return Err(ParlabError::usage(format!(
                "unknown experiment '{id}' in --only; choose from: {}",
                ids.join(", ")
            )));
        }
    }
    let chosen: Vec<&Info> = experiments::ALL
        .iter()
        .copied()
        .filter(|i| args.only.is_empty() || args.only.iter().any(|o| o.trim() == i.id))
        .collect();
    let planned: Vec<(&str, &str)> = chosen.iter().map(|i| (i.id, i.paper_ref)).collect();
    outputs::prepare_dir("--out", &args.out)?;
    let mut ctx = start(args.quiet, false, &args.peers)?;
    checkpoint::begin(ctx.env.clone(), &planned, Sink::Report(args.out.clone()));
    let started = Instant::now();
    let progress = Progress::new(chosen.len());
    ctx.set_out(progress.writer());
    let mut results = Vec::new();
    let mut failed = false;
    for (i, info) in chosen.iter().enumerate() {
        let id = info.id;
        progress.start(id);
        ctx.print(format!(
            "\n=== [{}/{}] {id} ({:?} scale) ===",
            i + 1,
            chosen.len(),
            args.scale
        ));
        let flags = (info.reproduce_args)(args.scale);
        // The flag's own spelling, from the same clap definition that parses it.
        let schedule = clap::ValueEnum::to_possible_value(&args.schedule)
            .expect("every schedule has a name")
            .get_name()
            .to_string();
        let argv = ["parlab", id]
            .into_iter()
            .map(String::from)
            .chain(flags)
            .chain(["--schedule".to_string(), schedule]);
        let exp = match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Experiment(exp)) => exp,
            other => unreachable!("reproduce flags of {id} must parse: {other:?}"),
        };
        match exp.run(&mut ctx) {
            Ok(result) => {
                failed |= result.has_errors();
                checkpoint::finished(&result);
                results.push(result);
            }
            Err(e) => {
                failed = true;
                checkpoint::abandoned(id);
                ctx.print(format!("parlab: {id} failed: {e}"));
            }
        }
        progress.finish_one();
    }
    progress.finish();
    ctx.set_out(Box::new(std::io::stdout()));
    // Finished: an interrupt from here on must not replace the full report with a partial one.
    let _ = checkpoint::take_interrupted();
    let mut doc = document(&ctx, results);
    doc.claims = claims::evaluate(&doc);
    ctx.print("\nClaims of the paper, checked on this machine:");
    let layout = report::terminal::ClaimsLayout::for_stdout(args.verbose);
    ctx.print(report::terminal::claims_table(&doc.claims, &layout));
    let written = report::write_all(&doc, &args.out)?;
    ctx.print(format!(
        "\n{} experiments in {:.0} s; wrote {}",
        doc.experiments.len(),
        started.elapsed().as_secs_f64(),
        listed(&written)
    ));
    Ok(if failed { 1 } else { 0 })
}

/// Paths as one line: `a, b, c`.
fn listed(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// On Ctrl-C or SIGTERM: keep what was finished, kill and reap every child, write the
/// partial results where the run would have written them, and exit with 130.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        reaper::interrupting();
        // Taken first, so rows that fail because their workers are being killed are not
        // mistaken for results.
        let partial = checkpoint::take_interrupted();
        reaper::kill_all();
        if let Some((mut doc, sink)) = partial {
            let written = match &sink {
                Sink::Json(path) => {
                    report::write_json(&doc, path).map(|()| path.display().to_string())
                }
                Sink::Report(dir) => {
                    // What was measured settles some claims; the rest say not-tested.
                    doc.claims = claims::evaluate(&doc);
                    report::write_all(&doc, dir).map(|p| listed(&p))
                }
            };
            match written {
                Ok(to) => eprintln!("parlab: interrupted; the finished rows are in {to}"),
                Err(e) => eprintln!("parlab: interrupted; could not write the finished rows: {e}"),
            }
        } else {
            eprintln!("parlab: interrupted");
        }
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Scale;

    /// `reproduce` builds each experiment's command line; every scale must parse.
    #[test]
    fn reproduce_flags_parse_at_every_scale() {
        for info in experiments::ALL {
            let id = info.id;
            for scale in [Scale::Quick, Scale::Paper] {
                let flags = (info.reproduce_args)(scale);
                let argv = ["parlab", id].into_iter().map(String::from).chain(flags);
                let parsed = Cli::try_parse_from(argv).map(|c| c.command);
                assert!(
                    matches!(&parsed, Ok(Command::Experiment(e)) if e.id() == id),
                    "{id} at {scale:?}: {parsed:?}"
                );
            }
        }
    }
}
