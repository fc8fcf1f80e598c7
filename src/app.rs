//! What each command does, from parsed arguments to an exit code.

use crate::cli::{Cli, Command, CompareArgs, EnvArgs, ReproduceArgs, ServeArgs};
use crate::error::ParlabError;
use crate::experiments::{self, Ctx, ExperimentCommand};
use crate::measure::env::Environment;
use crate::reaper;
use crate::report;
use crate::results::ResultsDoc;
use crate::worker;
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Worker => worker::worker_main(),
        command => {
            reaper::install_interrupt_handler();
            match run(command) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("parlab: {e}");
                    e.exit_code()
                }
            }
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
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: invalid arguments");
            eprintln!("parlab: {}", first.trim_start_matches("error: "));
            2
        }
    }
}

fn run(command: Command) -> Result<u8, ParlabError> {
    match command {
        Command::Env(args) => env(&args),
        Command::Compare(args) => compare(&args),
        Command::Serve(args) => serve(&args),
        Command::Reproduce(args) => reproduce(&args),
        Command::Experiment(exp) => experiment(&exp),
        Command::Worker => Ok(worker::worker_main()),
    }
}

fn env(args: &EnvArgs) -> Result<u8, ParlabError> {
    let env = Environment::capture();
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
    let text = crate::compare::render(
        &comparison,
        &args.old.display().to_string(),
        &args.new.display().to_string(),
        args.threshold,
    );
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| ParlabError::io("writing to stdout", e))?;
    Ok(0)
}

/// Serves until interrupted (Ctrl-C ends the process with 130, as everywhere).
fn serve(args: &ServeArgs) -> Result<u8, ParlabError> {
    let sites = args.sites.sites();
    let server = crate::server::Server::start(args.addr, sites.clone())
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
        "parlab serve: listening on http://{} ({} sites; GET / lists them)",
        server.addr(),
        sites.len()
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

fn start(quiet: bool, to_stderr: bool) -> Result<Ctx, ParlabError> {
    let env = Environment::capture();
    if let Some(warning) = env.busy_warning() {
        eprintln!("parlab: warning: {warning}");
    }
    let out: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    Ok(Ctx::new(out, quiet, env, worker_exe()?))
}

fn experiment(exp: &ExperimentCommand) -> Result<u8, ParlabError> {
    exp.validate()?;
    let common = exp.common();
    let to_stderr = common.json.as_deref() == Some(Path::new("-"));
    let mut ctx = start(common.quiet, to_stderr)?;
    let result = exp.run(&mut ctx)?;
    let doc = ResultsDoc::new(ctx.env.clone(), vec![result]);
    if let Some(path) = &common.json {
        report::write_json(&doc, path)?;
    }
    Ok(if doc.has_errors() { 1 } else { 0 })
}

fn reproduce(args: &ReproduceArgs) -> Result<u8, ParlabError> {
    for id in &args.only {
        if !experiments::IDS.contains(&id.trim()) {
            return Err(ParlabError::usage(format!(
                "unknown experiment '{id}' in --only; choose from: {}",
                experiments::IDS.join(", ")
            )));
        }
    }
    let chosen: Vec<&str> = experiments::IDS
        .iter()
        .copied()
        .filter(|id| args.only.is_empty() || args.only.iter().any(|o| o.trim() == *id))
        .collect();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| ParlabError::io(format!("creating {}", args.out.display()), e))?;
    let mut ctx = start(args.quiet, false)?;
    let mut results = Vec::new();
    let mut failed = false;
    for (i, id) in chosen.iter().enumerate() {
        ctx.print(format!(
            "\n=== [{}/{}] {id} ({:?} scale) ===",
            i + 1,
            chosen.len(),
            args.scale
        ));
        let flags =
            experiments::reproduce_args(id, args.scale).expect("every registered id has flags");
        let argv = ["parlab", id].into_iter().map(String::from).chain(flags);
        let exp = match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Experiment(exp)) => exp,
            other => unreachable!("reproduce flags of {id} must parse: {other:?}"),
        };
        match exp.run(&mut ctx) {
            Ok(result) => {
                failed |= result.has_errors();
                results.push(result);
            }
            Err(e) => {
                failed = true;
                ctx.print(format!("parlab: {id} failed: {e}"));
            }
        }
    }
    let doc = ResultsDoc::new(ctx.env.clone(), results);
    let written = report::write_all(&doc, &args.out)?;
    ctx.print("");
    for path in written {
        ctx.print(format!("wrote {}", path.display()));
    }
    Ok(if failed { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Scale;

    /// `reproduce` builds each experiment's command line; every scale must parse.
    #[test]
    fn reproduce_flags_parse_at_every_scale() {
        for id in experiments::IDS {
            for scale in [Scale::Quick, Scale::Paper] {
                let flags = experiments::reproduce_args(id, scale).unwrap();
                let argv = ["parlab", id].into_iter().map(String::from).chain(flags);
                let parsed = Cli::try_parse_from(argv).map(|c| c.command);
                assert!(
                    matches!(parsed, Ok(Command::Experiment(_))),
                    "{id} at {scale:?}: {parsed:?}"
                );
            }
        }
    }
}
