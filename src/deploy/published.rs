//! Replacing the serving container with a new one on the same port and volumes, with the old one
//! kept until the new one answers MCP. The new container is created (not started) while the old
//! one serves, so the outage is only: stop old, start new, server boot. If the new one does not
//! become ready, or Ctrl-C arrives, the old one is started again: one of them always ends up
//! serving. A later command finishes or cleans up whatever an interrupted swap left (`recover`).

use std::time::{Duration, Instant};

use super::{Deployed, clear_next};
use crate::config::{Settings, Transport};
use crate::container::{self, Lookup};
use crate::engine::{ContainerInfo, Engine};
use crate::error::Explained;
use crate::process::{check_interrupt, shielded};
use crate::ready;
use crate::ui::{Ui, secs};

/// Replace `old` (ours; running, stopped or none) with a container of `image` on `port`.
pub(crate) fn replace(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: Option<&ContainerInfo>,
    image: &str,
    port: u16,
) -> anyhow::Result<Deployed> {
    let next = clear_next(engine, s);
    let t0 = Instant::now();

    ui.info(&format!("Creating the new container on port {port} while the old one serves..."));
    if let Err(e) = super::create(engine, s, &next, image, port, None) {
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
                container::rename(engine, &next, &s.container)
            })?;
            ui.success(&format!("The new container serves on port {port}"));
            Ok(Deployed { port, swap, ready, transport, image_id: None })
        }
        // The new one failed (or Ctrl-C): put the old one back, then report why, once.
        Err(e) => match shielded(|| put_back(engine, s, ui, old, stop_sent, &next, port)) {
            Ok(()) => Err(e),
            Err(back) => Err(nothing_serves(e, back)),
        },
    }
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
) -> anyhow::Result<()> {
    let _ = container::force_remove(engine, next);
    let Some(o) = old else {
        ui.warning("There was no previous container to put back");
        return Ok(());
    };
    ui.warning(&format!("Putting the previous container back on port {port}..."));
    let t0 = Instant::now();
    if stop_sent {
        wait_until_stopped(engine, s, &o.name);
    }
    container::start_existing(engine, &o.name)?;
    ready::wait_for(engine, s, ui, &o.name, port, s.ready_timeout)?;
    ui.success(&format!("The previous version answers again ({})", secs(t0.elapsed())));
    Ok(())
}

/// The new version failed and the old one did not come back: both causes, and what to do.
fn nothing_serves(new: anyhow::Error, back: anyhow::Error) -> anyhow::Error {
    let mut x = Explained::new(format!(
        "the new version failed ({new:#}) and the previous one did not come back ({back:#})"
    ))
    .why("nothing serves now")
    .fix("see `mcpctl logs`, then `mcpctl rollback` or `mcpctl restart`");
    if let Some(why) = crate::error::explained(&back).or(crate::error::explained(&new)) {
        x = x.evidence(why.evidence_title.clone().unwrap_or_default(), why.evidence.clone());
    }
    anyhow::Error::new(x)
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
