//! Replacing the serving container with a new one on the same port and volumes, with the old one
//! kept until the new one answers MCP. The new container is created (not started) while the old
//! one serves, so the outage is only: stop old, start new, server boot. If the new one does not
//! become ready, or Ctrl-C arrives, the old one is started again: one of them always ends up
//! serving. A later command finishes or cleans up whatever an interrupted swap left (`recover`).

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Settings;
use crate::container::{self, Lookup};
use crate::engine::{ContainerInfo, Engine, RunOptions};
use crate::error::{Interrupted, Reported};
use crate::probe::Transport;
use crate::process::{check_interrupt, shielded};
use crate::ready;
use crate::ui::{Ui, secs};

/// The name the new container has until it replaces the old one.
pub fn next_name(s: &Settings) -> String {
    format!("{}-next", s.container)
}

pub struct Swapped {
    pub swap: Duration,
    pub ready: Duration,
    pub transport: Transport,
}

/// Replace `old` (ours; running, stopped or none) with a container of `image` on `port`.
pub fn replace(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: Option<&ContainerInfo>,
    image: &str,
    port: u16,
) -> anyhow::Result<Swapped> {
    let next = next_name(s);
    let _ = container::force_remove(engine, &next);
    let t0 = Instant::now();

    ui.info(&format!("Creating the new container on port {port} while the old one serves..."));
    let create = RunOptions {
        create_only: true,
        name: next.clone(),
        image: image.to_string(),
        ..RunOptions::new(s, port)
    };
    if let Err(e) = engine.run(&engine.run_or_create(s, &create)) {
        let _ = container::force_remove(engine, &next);
        return Err(e.context("Failed to create the new container (the old one was not touched)"));
    }

    // From here until the new one answers, a failure or Ctrl-C puts the old one back.
    let mut stop_sent = false;
    let attempt = (|| -> anyhow::Result<(Duration, Duration, Transport)> {
        check_interrupt()?;
        if let Some(o) = old.filter(|o| o.running || o.restarting) {
            ui.info(&format!("Stopping the old container (timeout {} s)...", s.swap_stop_timeout));
            stop_sent = true;
            container::stop(engine, &o.name, s.swap_stop_timeout)?;
        }
        check_interrupt()?;
        ui.info("Starting the new container...");
        container::start_existing(engine, &next)?;
        let swap = t0.elapsed();
        let r = ready::wait_for(engine, s, ui, &next, port, s.ready_timeout)?;
        let (report, ready) = (r.report, r.took);
        Ok((swap, ready, report.transport))
    })();

    match attempt {
        Ok((swap, ready, transport)) => {
            // The new one serves; the rest is bookkeeping and must finish even on Ctrl-C.
            shielded(|| -> anyhow::Result<()> {
                if let Some(o) = old {
                    container::remove(engine, &o.name)?;
                }
                rename(engine, &next, &s.container)
            })?;
            ui.success(&format!("The new container serves on port {port}"));
            Ok(Swapped { swap, ready, transport })
        }
        Err(e) => {
            let interrupted = e.chain().any(|c| c.is::<Interrupted>());
            if !e.chain().any(|c| c.is::<Reported>()) && !interrupted {
                ui.error(&format!("{e:#}"));
            }
            shielded(|| put_back(engine, s, ui, old, stop_sent, &next, port));
            if interrupted { Err(anyhow::Error::new(Interrupted)) } else { Err(anyhow::Error::new(Reported)) }
        }
    }
}

fn rename(engine: &Engine, from: &str, to: &str) -> anyhow::Result<()> {
    engine.call(engine.rename_args(from, to)).with_context(|| format!("Failed to rename {from} to {to}"))?;
    Ok(())
}

/// Remove the new container and start the old one again; report either way. `stop_sent`: a stop
/// of the old one was sent, and may still be in progress even though its client returned (Ctrl-C
/// kills the client, not the daemon's stop): starting it before the stop settles would be a no-op
/// on a container that then exits.
fn put_back(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: Option<&ContainerInfo>,
    stop_sent: bool,
    next: &str,
    port: u16,
) {
    let _ = container::force_remove(engine, next);
    let Some(o) = old else {
        ui.warning("There was no previous container to put back");
        return;
    };
    ui.warning(&format!("Putting the previous container back on port {port}..."));
    let t0 = Instant::now();
    if stop_sent {
        wait_until_stopped(engine, s, &o.name);
    }
    if let Err(e) = container::start_existing(engine, &o.name) {
        ui.error(&format!("{e:#}: nothing serves now; run `mcpctl restart` or `mcpctl rollback`"));
        return;
    }
    match ready::wait_for(engine, s, ui, &o.name, port, s.ready_timeout) {
        Ok(_) => ui.success(&format!("The previous version answers again ({})", secs(t0.elapsed()))),
        Err(_) => ui.error("The previous version did not come back either; see its logs with `mcpctl logs`"),
    }
}

/// Poll until `name` no longer runs: the engine's stop takes up to the stop timeout, then a kill.
/// If it still runs well after that, the stop never reached the engine and it keeps serving.
fn wait_until_stopped(engine: &Engine, s: &Settings, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(s.swap_stop_timeout as u64) + STOP_SETTLE_GRACE;
    while Instant::now() < deadline {
        match container::lookup_named(engine, s, name) {
            Ok(Lookup::Ours(c)) if c.running || c.restarting => {}
            _ => return,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How long past the stop timeout a stop may take to show (the kill, the engine's bookkeeping).
const STOP_SETTLE_GRACE: Duration = Duration::from_secs(5);

/// Look our container up, first finishing or cleaning up what an interrupted swap left: a
/// `-next` container running alone gets the real name; one that is not serving is removed (and
/// the old one, stopped for the swap, started again). Also removes our container if it was
/// created and never started (an interrupted `run`). One inspect when nothing was left over.
pub fn recover_and_lookup(engine: &Engine, s: &Settings, ui: &Ui) -> anyhow::Result<Lookup> {
    let next = next_name(s);
    let mut both = container::lookup_many(engine, s, &[&s.container, &next])?;
    let (main, next_found) = (both.remove(0), both.remove(0));
    let mut changed = false;
    match next_found {
        Lookup::Ours(n) if matches!(main, Lookup::Missing) && n.running => {
            rename(engine, &next, &s.container)?;
            ui.warning(&format!("Finished an interrupted update: {next} is now {}", s.container));
            changed = true;
        }
        Lookup::Ours(n) => {
            container::force_remove(engine, &n.name)?;
            ui.warning(&format!("Removed {next}, left half-made by an interrupted update or rollback"));
            if let Lookup::Ours(m) = &main
                && !m.running
                && m.status == "exited"
            {
                // The old one was stopped for the swap and never started again.
                ui.info(&format!("Starting {} again", s.container));
                container::start_existing(engine, &s.container)?;
            }
            changed = true;
        }
        _ => {}
    }
    if let Lookup::Ours(m) = &main
        && (m.status == "created" || m.status == "configured")
    {
        container::force_remove(engine, &m.name)?;
        ui.warning(&format!("Removed {}, created but never started by an interrupted command", s.container));
        changed = true;
    }
    let found = if changed { container::lookup(engine, s)? } else { main };
    if let Lookup::Ours(c) = &found
        && let Some(dir) = c.labels.get(crate::config::LABEL_DIR)
        && std::path::Path::new(dir) != s.project_dir
    {
        ui.warning(&format!(
            "{} was started from {dir}, not from {}: one project name in two places shares one \
             container; give one of them another --name",
            s.container,
            s.project_dir.display()
        ));
    }
    Ok(found)
}
