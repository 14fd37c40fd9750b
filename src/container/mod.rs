//! Our container on one engine: look it up, build its image when its inputs changed
//! (`image.rs`), run it on a free port, stop and remove it. Flows call these; none of them prints a header or an error, so each flow
//! reads top-down like the original script's `cmd_*`.

use std::collections::BTreeSet;

use anyhow::{Context, anyhow};

use crate::config::{LABEL_PROJECT, Settings};
use crate::engine::{self, ContainerInfo, Engine, Failure, RunOptions};
use crate::error::Explained;
use crate::ports;
use crate::ui::Ui;

mod image;

pub(crate) use image::*;

/// What exists under our container's name.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    Missing,
    Ours(ContainerInfo),
    /// A same-named container mcpctl did not create: never stopped or removed by us.
    Foreign(ContainerInfo),
}

impl Lookup {
    pub(crate) fn ours(&self) -> Option<&ContainerInfo> {
        match self {
            Lookup::Ours(c) => Some(c),
            _ => None,
        }
    }
}

/// One `container inspect`: existence, state, health, labels and ports in a single engine call.
/// It is also the "does the engine answer" check.
pub(crate) fn lookup(engine: &Engine, s: &Settings) -> anyhow::Result<Lookup> {
    lookup_named(engine, s, &s.container)
}

/// The same for another of our names (the new container of a swap).
pub(crate) fn lookup_named(engine: &Engine, s: &Settings, name: &str) -> anyhow::Result<Lookup> {
    Ok(lookup_many(engine, s, &[name])?.remove(0))
}

/// Several names in one engine call (our container and its `-next`: podman's calls cost
/// 0.1 s each). The engines print the ones that exist and name the missing ones on stderr.
pub(crate) fn lookup_many(engine: &Engine, s: &Settings, names: &[&str]) -> anyhow::Result<Vec<Lookup>> {
    let stdout = match engine.call_expecting(engine.inspect_many_args(names), &[Failure::NoSuchContainer])? {
        Ok(out) => out.stdout,
        // Some or all are missing: the found ones are still on stdout.
        Err(missing) => missing.process.stdout,
    };
    let found = if stdout.trim().is_empty() { Vec::new() } else { engine::parse_inspect(&stdout)? };
    Ok(names
        .iter()
        .map(|name| match found.iter().find(|c| c.name == *name) {
            None => Lookup::Missing,
            Some(c) if c.project_label() == Some(s.name.as_str()) => Lookup::Ours(c.clone()),
            Some(c) => Lookup::Foreign(c.clone()),
        })
        .collect())
}

/// Replica `i` (from 1) of a generation named after `first`: the first keeps the name, the
/// others are `FIRST-rI` (a new generation's are `NAME-next`, `NAME-next-r2`...).
pub(crate) fn replica_name(first: &str, i: u32) -> String {
    if i <= 1 { first.to_string() } else { format!("{first}-r{i}") }
}

/// Our containers named as replicas 2 and up of `first`, as they exist now (one inspect).
pub(crate) fn extra_replicas(
    engine: &Engine,
    s: &Settings,
    first: &str,
) -> anyhow::Result<Vec<ContainerInfo>> {
    let names: Vec<String> = (2..=crate::config::MAX_REPLICAS).map(|i| replica_name(first, i)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(lookup_many(engine, s, &names)?.into_iter().filter_map(|l| l.ours().cloned()).collect())
}

pub(crate) fn foreign_error(engine: &Engine, s: &Settings, c: &ContainerInfo) -> anyhow::Error {
    let who = match c.project_label() {
        Some(other) => format!("it belongs to mcpctl project {other:?}"),
        None => format!("it has no {LABEL_PROJECT} label"),
    };
    Explained::usage(format!(
        "a container named {} exists but mcpctl did not create it for {:?} ({who})",
        s.container, s.name
    ))
    .why("mcpctl never stops or removes it")
    .fix(format!(
        "remove it yourself (`{} rm -f {}`) or pick another name with --name",
        engine.name(),
        s.container
    ))
    .into()
}

/// Why `run` failed.
pub(crate) enum RunFailure {
    PortTaken,
    Other(anyhow::Error),
}

/// Run the container on `port`. A failed run leaves a "created" container behind on every
/// engine (recorded in fixtures/engine-outputs), so it is removed here.
pub(crate) fn run(engine: &Engine, s: &Settings, port: u16) -> Result<String, RunFailure> {
    let expected = [
        Failure::NameTaken,
        Failure::PortTaken,
        Failure::NoSuchImage,
        Failure::RegistryUnreachable,
        Failure::NotInRegistry,
        Failure::Other,
    ];
    let failed = match engine.run_expecting(&engine.run_or_create(s, &RunOptions::new(s, port)), &expected) {
        Ok(Ok(out)) => return Ok(out.stdout.trim().to_string()),
        Ok(Err(failed)) => failed,
        Err(e) => return Err(RunFailure::Other(e)),
    };
    if failed.failure == Failure::NameTaken {
        // Someone else's container took the name between our lookup and our run: leave it be.
        return Err(RunFailure::Other(
            Explained::usage(format!(
                "a container named {} appeared while mcpctl was starting one ({})",
                s.container,
                failed.reason()
            ))
            .why("mcpctl does not remove it")
            .fix("run `mcpctl status` and try again")
            .into(),
        ));
    }
    let _ = force_remove(engine, &s.container);
    Err(match failed.failure {
        Failure::PortTaken => RunFailure::PortTaken,
        Failure::NoSuchImage => RunFailure::Other(anyhow!(
            "no image {} to run ({}): build it with `mcpctl start` or `mcpctl update`",
            s.image,
            failed.reason()
        )),
        _ => RunFailure::Other(
            anyhow::Error::new(failed).context(format!("Failed to start container {}", s.container)),
        ),
    })
}

fn no_free_port(s: &Settings) -> anyhow::Error {
    anyhow!(
        "no free port in {}-{} on {}: all {} are in use; free one, or set another base port \
         (--base-port or base-port in [tool.mcpctl])",
        s.base_port,
        s.base_port as u32 + crate::config::PORT_TRIES as u32 - 1,
        s.publish_address,
        crate::config::PORT_TRIES
    )
}

pub(crate) fn check_some_port_free(
    engine: &Engine,
    s: &Settings,
    preferred: Option<u16>,
) -> anyhow::Result<()> {
    let free = engine.host.port_checker()?;
    ports::choose(s.publish_address, s.base_port, preferred, &BTreeSet::new(), |a, p| free.is_free(a, p))
        .map(|_| ())
        .ok_or_else(|| no_free_port(s))
}

/// Run on the preferred port if free, else the first free one from the base port; when the engine
/// still finds the port taken (a race, or a bind the probe cannot see), take the next.
pub(crate) fn run_on_free_port(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    preferred: Option<u16>,
) -> anyhow::Result<u16> {
    if s.publish_address.is_unspecified() {
        ui.warning(&format!(
            "publishing on {}: anyone on the network can reach this unauthenticated server",
            s.publish_address
        ));
    }
    let mut skip = BTreeSet::new();
    loop {
        let free = engine.host.port_checker()?;
        let port = ports::choose(s.publish_address, s.base_port, preferred, &skip, |a, p| free.is_free(a, p))
            .ok_or_else(|| no_free_port(s))?;
        if let Some(p) = preferred
            && p != port
            && skip.is_empty()
        {
            ui.warning(&format!(
                "saved port {p} is in use by something else: moving to port {port} (update your client's URL)"
            ));
        }
        ui.info(&format!("Starting container on port {port}..."));
        match run(engine, s, port) {
            Ok(_) => {
                ui.success(&format!("Container started on port {port}"));
                return Ok(port);
            }
            Err(RunFailure::PortTaken) => {
                ui.warning(&format!("port {port} was taken when the engine bound it; trying the next one"));
                skip.insert(port);
            }
            Err(RunFailure::Other(e)) => return Err(e),
        }
    }
}

/// Stop and remove our container. Failure is reported as failure.
pub(crate) fn stop_and_remove(engine: &Engine, s: &Settings, c: &ContainerInfo) -> anyhow::Result<()> {
    if c.running || c.restarting || c.status == "paused" {
        stop(engine, &c.name, s.stop_timeout)?;
    }
    remove(engine, &c.name)
}

pub(crate) fn stop(engine: &Engine, name: &str, timeout: u32) -> anyhow::Result<()> {
    let _gone_is_stopped = engine
        .call_expecting(engine.stop_args(name, timeout), &[Failure::NoSuchContainer])
        .with_context(|| format!("Failed to stop {name}"))?;
    Ok(())
}

pub(crate) fn remove(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _gone_is_removed = engine
        .call_expecting(engine.rm_args(name), &[Failure::NoSuchContainer])
        .with_context(|| format!("Failed to remove {name}"))?;
    Ok(())
}

/// Start an existing (created or stopped) container of ours.
pub(crate) fn start_existing(engine: &Engine, name: &str) -> anyhow::Result<()> {
    engine.call(engine.start_args(name)).with_context(|| format!("Failed to start {name}"))?;
    Ok(())
}

/// `rm -f`, only for a container we just created ourselves; one that is not there is gone.
pub(crate) fn force_remove(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _gone = engine.call_expecting(engine.force_rm_args(name), &[Failure::NoSuchContainer])?;
    Ok(())
}

/// The last `n` log lines, stdout and stderr together.
pub(crate) fn log_tail(engine: &Engine, name: &str, n: u32) -> Vec<String> {
    log_lines(engine, name, Some(n), n)
}

/// The last `n` lines of the whole log, read without `--tail`: podman 4.3's `--tail` joins the
/// pieces of a line written in several writes (Python writes a traceback's last line so) out of
/// order and without their newline. For a container that just started, whose log is short.
pub(crate) fn log_last(engine: &Engine, name: &str, n: u32) -> Vec<String> {
    log_lines(engine, name, None, n)
}

fn log_lines(engine: &Engine, name: &str, tail: Option<u32>, n: u32) -> Vec<String> {
    match engine.cmd(engine.logs_args(name, false, tail)).output() {
        Ok(out) => {
            let mut lines: Vec<String> =
                out.stdout.lines().chain(out.stderr.lines()).map(str::to_string).collect();
            // stdout and stderr arrive separately; keep the newest n overall.
            let len = lines.len();
            if len > n as usize {
                lines.drain(..len - n as usize);
            }
            lines
        }
        Err(_) => Vec::new(),
    }
}

/// The last lines of a container that has just failed. Its engine may hold them a moment after
/// the exit (podman's conmon writes the log file itself, and under load it lags): an answer with
/// no line of text is asked again for a short while, so a traceback is not shown as "(empty)".
pub(crate) fn log_tail_settled(engine: &Engine, name: &str, n: u32) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let lines = log_tail(engine, name, n);
        if lines.iter().any(|l| !l.trim().is_empty()) || std::time::Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Give a container another name (the new container of a swap takes ours).
pub(crate) fn rename(engine: &Engine, from: &str, to: &str) -> anyhow::Result<()> {
    engine.call(engine.rename_args(from, to)).with_context(|| format!("Failed to rename {from} to {to}"))?;
    Ok(())
}
