//! The top floor: flags → settings in one place, then one flow, then one exit code. It lives in
//! the library (src/main.rs only calls it) so that the library's public surface is what the
//! binary and the tests use, and everything else is `pub(crate)`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, OnEngine};
use crate::engine::endpoint;
use crate::error::{self, Explained};
use crate::flows::{self, Ctx};
use crate::ui::{self, Ui};
use crate::{config, engine, host, process};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ui::init_colors(cli.global.color);
    process::set_verbose(cli.global.verbose);
    process::install_interrupt_handler();
    let ui = Ui::new(cli.global.quiet, cli.global.verbose, cli.command.json());
    match run(&cli, &ui) {
        Ok(()) => error::to_exit(error::OK),
        Err(e) => {
            let code = error::exit_code(&e);
            if code == error::INTERRUPTED {
                if !matches!(cli.command, Command::OnEngine(OnEngine::Logs { .. })) {
                    ui.warning("Cancelled by user");
                }
            } else {
                report(&ui, &e, cli.global.verbose);
            }
            error::to_exit(code)
        }
    }
}

/// The one place an error is printed: what shows why, the cause in one line, then the fix.
fn report(ui: &Ui, e: &anyhow::Error, verbose: bool) {
    // Bad input prints as one line, like any unexplained error.
    match error::explained(e).filter(|x| !x.bad_input) {
        Some(x) => {
            if let Some(title) = &x.evidence_title {
                ui.error_detail_title(title);
            }
            for line in &x.evidence {
                ui.raw_err(line);
            }
            // The context the flow added ("Update"), then the cause.
            let outer: Vec<String> =
                e.chain().take_while(|c| !c.is::<error::Explained>()).map(|c| c.to_string()).collect();
            let cause = outer.into_iter().chain([x.cause()]).collect::<Vec<_>>().join(": ");
            ui.error(&cause);
            if let Some(fix) = &x.fix {
                ui.error_fix(fix);
            }
        }
        None => ui.error(&format!("{e:#}")),
    }
    if let Some(call) = engine::failed_call(e).filter(|_| verbose) {
        ui.error_detail_title(&format!("The engine call was: {call}"));
    }
}

/// What `completions` and `man` printed: `mcpctl man | head` closes the pipe early, which is not
/// a failure.
fn written(res: std::io::Result<()>) -> anyhow::Result<()> {
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

fn run(cli: &Cli, ui: &Ui) -> anyhow::Result<()> {
    // completions and man need no project; init needs no engine; the rest work on the engine.
    let init = match &cli.command {
        Command::Completions { shell } => return written(crate::cli::print_completions(*shell)),
        Command::Man => return written(crate::cli::print_man()),
        Command::Init(args) => Ok(args),
        Command::OnEngine(cmd) => Err(cmd),
    };
    let dir = match &cli.global.project_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let dir = dir.canonicalize().map_err(|e| {
        Explained::usage(format!("project directory {} cannot be used", dir.display()))
            .why(e.to_string())
            .fix("pass an existing directory with -C")
    })?;
    let home = std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
        Explained::usage("HOME is not set").why("mcpctl keeps its state in ~/.config").fix("set HOME")
    })?;
    let files = config::read_project(&dir)?;
    let overrides = &cli.global.settings;
    // Every value is checked before any engine call: a bad one is one line, nothing touched.
    let cmd = match init {
        // Writing files needs no engine.
        Ok(args) => return flows::init::init(&config::resolve_for_init(&dir, &files, overrides)?, ui, args),
        Err(cmd) => cmd,
    };
    let project = config::resolve(&dir, &files, overrides)?;
    let place = config::EngineHost::resolve(&dir, &files, overrides);
    let mut engine = engine::detect(place.engine.as_deref())?;
    let spec = endpoint::resolve(place.host.as_deref(), engine.kind, &endpoint::EngineEnv::read(&home))?;
    engine.host =
        endpoint::connect(engine.kind, &spec, place.ssh_config.as_deref(), &host::runtime_dir(&home))?;
    let facts = config::HostFacts { key: spec.key(), remote_name: engine.host.remote_name() };
    let settings = config::Settings::resolve(project, &home, &facts);
    let ctx = Ctx { s: settings, engine, ui: ui.clone(), wait_for_lock: !cli.global.no_wait };
    flows::run(cmd, &ctx)
}
