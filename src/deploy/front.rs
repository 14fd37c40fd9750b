//! Our container behind the front: on the front's network, publishing nothing. Started (probed
//! directly, then routed to and probed through the front), replaced for update, restart and
//! rollback (the new one beside the old, switched to, the old one drained), turned on and off,
//! and recovered after an interrupted switch.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::{Deployed, clear_next, next_name};
use crate::config::{Settings, Transport};
use crate::container::{self, Lookup};
use crate::engine::{ContainerInfo, Engine};
use crate::front::Front;
use crate::probe;
use crate::process::shielded;
use crate::ready;
use crate::ui::{Ui, secs};

/// Create (not start) a container of `image` named `name` on the front's network.
fn create(
    engine: &Engine,
    s: &Settings,
    front: &Front,
    name: &str,
    image: &str,
    port: u16,
) -> anyhow::Result<()> {
    super::create(engine, s, name, image, port, Some(front.network()))
}

fn ours(engine: &Engine, s: &Settings, name: &str) -> anyhow::Result<ContainerInfo> {
    match container::lookup_named(engine, s, name)? {
        Lookup::Ours(c) => Ok(c),
        _ => Err(anyhow!("{name} is gone")),
    }
}

/// Start `name` (created already) and wait until it answers MCP on its own address.
fn start_and_probe(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    front: &Front,
    name: &str,
    port: u16,
) -> anyhow::Result<(ContainerInfo, ready::Ready)> {
    container::start_existing(engine, name)?;
    let c = ours(engine, s, name)?;
    let clients = s.endpoint(port, Transport::StreamableHttp, true);
    let r = ready::wait_for_target(
        engine,
        s,
        ui,
        name,
        &front.direct_target(&c, port)?,
        &clients,
        s.ready_timeout,
    )?;
    Ok((c, r))
}

/// Until the front answers MCP for this project, as a client would reach it.
fn probe_through(
    engine: &Engine,
    s: &Settings,
    front: &Front,
    port: u16,
    ui: &Ui,
) -> anyhow::Result<Transport> {
    let t = crate::ready::reach(&engine.host, &front.target(port))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match probe::probe(&t, Duration::from_secs(5)) {
            Ok(r) => {
                ui.success(&format!(
                    "The front answers at {}: {} ({})",
                    r.url,
                    r.server.protocol(),
                    secs(r.latency)
                ));
                return Ok(r.transport);
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(anyhow!(
                    "the front does not answer MCP at {}: {e}",
                    s.endpoint(port, Transport::StreamableHttp, true)
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A fresh start: our container behind the front on `port`.
pub(crate) fn start(engine: &Engine, s: &Settings, ui: &Ui, port: u16) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    front.ensure_network()?;
    let t0 = Instant::now();
    ui.info(&format!("Starting the container on the front's network {}...", front.network()));
    create(engine, s, &front, &s.container, &s.image, port)?;
    let (c, r) = start_and_probe(engine, s, ui, &front, &s.container, port)?;
    let swap = t0.elapsed();
    front.put(port, &c, ui)?;
    // What clients get is what the front serves.
    let transport = probe_through(engine, s, &front, port, ui)?;
    Ok(Deployed { port, swap, ready: r.took, transport, image_id: None })
}

/// Replace `old`, serving behind the front, with a container of `image`: no client notices.
/// A new container that never answers is never routed to; the old one serves throughout.
pub(crate) fn replace(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: &ContainerInfo,
    image: &str,
    port: u16,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    ensure_front(&front, old, port, ui)?;
    let next = clear_next(engine, s);
    let t0 = Instant::now();
    ui.info("Starting the new container beside the old one (the front keeps routing to the old)...");
    create(engine, s, &front, &next, image, port)?;
    let (c, r) = match start_and_probe(engine, s, ui, &front, &next, port) {
        Ok(ok) => ok,
        Err(e) => {
            shielded(|| container::force_remove(engine, &next)).ok();
            ui.warning(
                "The new container never answered; the front never sent it anything: the old one serves on",
            );
            return Err(e);
        }
    };
    let swap = t0.elapsed();
    shielded(|| finish(engine, s, ui, &front, &c, Some(old)))?;
    Ok(Deployed { port, swap, ready: r.took, transport: r.report.transport, image_id: None })
}

/// The front serves this project from `old`, with the settings asked for now (its token, TLS):
/// started again if it is down, reloaded if they changed, untouched otherwise.
pub(crate) fn ensure_front(front: &Front, old: &ContainerInfo, port: u16, ui: &Ui) -> anyhow::Result<()> {
    let routed = front.routes()?.is_some();
    let running = front.lookup()?.is_some_and(|c| c.running);
    if !routed || !running {
        ui.warning(&format!(
            "The front {} was not running this project: putting it back first",
            front.name()
        ));
    }
    front.put(port, old, ui)
}

/// Only the front's settings changed (token, TLS): the server container stays as it is.
pub(crate) fn refresh(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    serving: &ContainerInfo,
    port: u16,
) -> anyhow::Result<()> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    ensure_front(&front, serving, port, ui)
}

/// The switch, then the old container's end: drained, stopped, removed; the new one takes our name.
fn finish(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    front: &Front,
    new: &ContainerInfo,
    old: Option<&ContainerInfo>,
) -> anyhow::Result<()> {
    let old_id = front.switch(new, ui)?;
    let old_name = old.map(|o| o.name.clone());
    if let Some(name) = old_name.or(old_id) {
        container::stop(engine, &name, s.swap_stop_timeout)?;
        container::remove(engine, &name)?;
    }
    if new.name != s.container {
        container::rename(engine, &new.name, &s.container)?;
    }
    ui.success("The new container serves through the front; the old one is gone");
    Ok(())
}

/// Turning the front on: the new container beside the old (which publishes the port), probed,
/// then the old one stopped and the front started on the port. A front that fails to start puts
/// the old one back.
pub(crate) fn switch_on(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: Option<&ContainerInfo>,
    image: &str,
    port: u16,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    front.ensure_network()?;
    let next = clear_next(engine, s);
    let t0 = Instant::now();
    create(engine, s, &front, &next, image, port)?;
    let (c, r) = start_and_probe(engine, s, ui, &front, &next, port).inspect_err(|_| {
        let _ = container::force_remove(engine, &next);
    })?;
    if let Some(o) = old.filter(|o| o.running) {
        ui.info("Stopping the old container: the front takes its port...");
        container::stop(engine, &o.name, s.swap_stop_timeout)?;
    }
    let put = front.put(port, &c, ui).and_then(|_| probe_through(engine, s, &front, port, ui));
    let transport = match put {
        Ok(t) => t,
        Err(e) => {
            shielded(|| {
                let _ = front.remove_project(ui);
                let _ = container::force_remove(engine, &next);
                if let Some(o) = old {
                    let _ = container::start_existing(engine, &o.name);
                }
            });
            return Err(e.context("the front did not come up; the container without it was started again"));
        }
    };
    shielded(|| -> anyhow::Result<()> {
        if let Some(o) = old {
            container::remove(engine, &o.name)?;
        }
        container::rename(engine, &next, &s.container)
    })?;
    Ok(Deployed { port, swap: t0.elapsed(), ready: r.took, transport, image_id: None })
}

/// Turning the front off: this project leaves it (a front of its own goes, freeing the port),
/// and a container publishing the port itself replaces the one behind it.
pub(crate) fn switch_off(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: &ContainerInfo,
    image: &str,
    port: u16,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    let next = clear_next(engine, s);
    let t0 = Instant::now();
    super::create(engine, s, &next, image, port, None)?;
    front.remove_project(ui)?;
    container::start_existing(engine, &next)?;
    match ready::wait_for(engine, s, ui, &next, port, s.ready_timeout) {
        Ok(r) => {
            shielded(|| -> anyhow::Result<()> {
                container::stop(engine, &old.name, s.swap_stop_timeout)?;
                container::remove(engine, &old.name)?;
                container::rename(engine, &next, &s.container)
            })?;
            Ok(Deployed {
                port,
                swap: t0.elapsed(),
                ready: r.took,
                transport: r.report.transport,
                image_id: None,
            })
        }
        Err(e) => {
            shielded(|| {
                let _ = container::force_remove(engine, &next);
                let _ = front.put(port, old, ui);
            });
            Err(e)
        }
    }
}

/// Finish what an interrupted switch left: the new container (`-next`) already takes the
/// front's new sessions, so the old one goes and the new one takes our name. Anything else is
/// for `container::recover_and_lookup` (a `-next` the front never routed to is just removed).
pub(crate) fn recover(engine: &Engine, s: &Settings, ui: &Ui) -> anyhow::Result<()> {
    let front = Front::new(engine, s);
    let Some(serving) = front.serving_container()? else { return Ok(()) };
    let next = next_name(s);
    let mut both = container::lookup_many(engine, s, &[&s.container, &next])?;
    let (main, next_found) = (both.remove(0), both.remove(0));
    if let Lookup::Ours(n) = next_found
        && n.id == serving
        && n.running
    {
        ui.warning(&format!("Finishing an interrupted update through the front: {next} serves"));
        shielded(|| finish(engine, s, ui, &front, &n, main.ours()))?;
    }
    Ok(())
}
