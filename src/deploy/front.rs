//! Our containers behind the front: on the front's network, publishing nothing; one or more
//! replicas of one image (a generation). Started (each probed directly, then routed to and
//! probed through the front), replaced for update, restart and rollback (a new generation
//! beside the old, switched to, the old one drained), turned on and off, and recovered after an
//! interrupted switch.
//!
//! A replacement starts all the new replicas beside all the old ones, not one at a time: a
//! client never gets old and new code by turns during an update (its calls hit any replica),
//! the capacity never drops below the replicas asked for, and the 2025 sessions of every old
//! replica drain the same way. It costs twice the memory for the length of the drain.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::{Deployed, next_name};
use crate::config::{Settings, Transport};
use crate::container::{self, Lookup};
use crate::engine::{ContainerInfo, Engine};
use crate::front::{Front, Spoken};
use crate::probe;
use crate::process::shielded;
use crate::ready;
use crate::ui::{Ui, secs};

/// Create (not start) the containers of a generation of `image`: `first` and its replicas up to
/// `n`, on the front's network. A failure removes the ones made.
fn create_all(
    engine: &Engine,
    s: &Settings,
    front: &Front,
    first: &str,
    image: &str,
    port: u16,
    n: u32,
) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = (1..=n).map(|i| container::replica_name(first, i)).collect();
    for (k, name) in names.iter().enumerate() {
        if let Err(e) = super::create(engine, s, name, image, port, Some(front.network())) {
            shielded(|| remove_all(engine, &names[..k]));
            return Err(e);
        }
    }
    Ok(names)
}

fn remove_all(engine: &Engine, names: &[String]) {
    for n in names {
        let _ = container::force_remove(engine, n);
    }
}

fn ours(engine: &Engine, s: &Settings, name: &str) -> anyhow::Result<ContainerInfo> {
    match container::lookup_named(engine, s, name)? {
        Lookup::Ours(c) => Ok(c),
        _ => Err(anyhow!("{name} is gone")),
    }
}

/// Start the containers `names` (created already), side by side, and wait until each answers
/// MCP on its own address. The first one's readiness stands for them all (one image).
fn start_and_probe(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    front: &Front,
    names: &[String],
    port: u16,
) -> anyhow::Result<(Vec<ContainerInfo>, ready::Ready)> {
    for n in names {
        container::start_existing(engine, n)?;
    }
    let clients = s.endpoint(port, Transport::StreamableHttp, true);
    let (mut cs, mut first) = (Vec::new(), None);
    for n in names {
        let c = ours(engine, s, n)?;
        let r = ready::wait_for_target(
            engine,
            s,
            ui,
            n,
            &front.direct_target(&c, port)?,
            &clients,
            s.ready_timeout,
        )?;
        first.get_or_insert(r);
        cs.push(c);
    }
    Ok((cs, first.expect("a generation has at least one container")))
}

/// What the servers speak, as the probe found: how the front health-checks them.
fn spoken(front: &Front, r: &ready::Ready) -> Option<Spoken> {
    Some(front.spoken(r.report.server.era, r.report.transport))
}

/// `1 container` / `3 replicas`, for messages.
fn what(n: usize) -> String {
    if n == 1 { "the container".to_string() } else { format!("{n} replicas") }
}

/// The generation that serves now: our container and its replicas, as they exist.
fn current(engine: &Engine, s: &Settings, first: &ContainerInfo) -> anyhow::Result<Vec<ContainerInfo>> {
    let mut all = vec![first.clone()];
    all.extend(container::extra_replicas(engine, s, &s.container)?);
    Ok(all)
}

/// The new generation's first name (`-next`), with whatever an earlier replacement left under
/// its names removed.
fn clear_next(engine: &Engine, s: &Settings) -> anyhow::Result<String> {
    let next = super::clear_next(engine, s);
    for c in container::extra_replicas(engine, s, &next)? {
        container::force_remove(engine, &c.name)?;
    }
    Ok(next)
}

/// Until the front answers MCP for this project, as a client would reach it (with OAuth: as
/// a resource server; `found` is then what the servers spoke when probed directly).
fn probe_through(
    engine: &Engine,
    s: &Settings,
    front: &Front,
    port: u16,
    found: Transport,
    ui: &Ui,
) -> anyhow::Result<Transport> {
    let t = crate::ready::reach(&engine.host, &front.target(port))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    if let Some(route) = front.oauth_route() {
        // Only the issuer's tokens pass: the front's OAuth answers are what can be checked.
        loop {
            match crate::front::oauth::check_through(&t, &route) {
                Ok(()) => {
                    ui.success(&format!(
                        "The front answers as an OAuth resource server at {}: 401 without a token, metadata at {}",
                        route.resource,
                        route.metadata_url()
                    ));
                    return Ok(found);
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(anyhow!("the front does not answer as an OAuth resource server: {e}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
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

/// A fresh start: our containers behind the front on `port`.
pub(crate) fn start(engine: &Engine, s: &Settings, ui: &Ui, port: u16, n: u32) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    front.ensure_network()?;
    // Replicas left by an earlier, larger deployment stopped by hand.
    for c in container::extra_replicas(engine, s, &s.container)? {
        container::stop_and_remove(engine, s, &c)?;
    }
    let t0 = Instant::now();
    ui.info(&format!("Starting {} on the front's network {}...", what(n as usize), front.network()));
    let names = create_all(engine, s, &front, &s.container, &s.image, port, n)?;
    let (cs, r) = start_and_probe(engine, s, ui, &front, &names, port)?;
    let swap = t0.elapsed();
    front.put(port, &cs, spoken(&front, &r), ui)?;
    // What clients get is what the front serves.
    let transport = probe_through(engine, s, &front, port, r.report.transport, ui)?;
    Ok(Deployed { port, swap, ready: r.took, transport, image_id: None })
}

/// Replace `old` (and its replicas), serving behind the front, with `n` containers of `image`:
/// no client notices. A new container that never answers is never routed to; the old ones
/// serve throughout.
pub(crate) fn replace(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: &ContainerInfo,
    image: &str,
    port: u16,
    n: u32,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    let olds = current(engine, s, old)?;
    ensure_front(&front, &olds, port, ui)?;
    let next = clear_next(engine, s)?;
    let t0 = Instant::now();
    ui.info(&if n == 1 {
        "Starting the new container beside the old one (the front keeps routing to the old)...".to_string()
    } else {
        format!("Starting {n} new replicas beside the old ones (the front keeps routing to the old)...")
    });
    let names = create_all(engine, s, &front, &next, image, port, n)?;
    let (cs, r) = match start_and_probe(engine, s, ui, &front, &names, port) {
        Ok(ok) => ok,
        Err(e) => {
            shielded(|| remove_all(engine, &names));
            ui.warning(&format!(
                "The new {} never answered; the front never sent {} anything: the old serve on",
                if n == 1 { "container" } else { "replicas" },
                if n == 1 { "it" } else { "them" },
            ));
            return Err(e);
        }
    };
    let swap = t0.elapsed();
    shielded(|| finish(engine, s, ui, &front, &cs, &olds, spoken(&front, &r)))?;
    Ok(Deployed { port, swap, ready: r.took, transport: r.report.transport, image_id: None })
}

/// The front serves this project from `serving`, with the settings asked for now (its token,
/// TLS): started again if it is down, reloaded if they changed, untouched otherwise.
pub(crate) fn ensure_front(
    front: &Front,
    serving: &[ContainerInfo],
    port: u16,
    ui: &Ui,
) -> anyhow::Result<()> {
    let routed = front.routes()?.is_some();
    let running = front.lookup()?.is_some_and(|c| c.running);
    if !routed || !running {
        ui.warning(&format!(
            "The front {} was not running this project: putting it back first",
            front.name()
        ));
    }
    front.put(port, serving, None, ui)
}

/// Only the front's settings changed (token, TLS): the server containers stay as they are.
pub(crate) fn refresh(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    serving: &ContainerInfo,
    port: u16,
) -> anyhow::Result<()> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    ensure_front(&front, &current(engine, s, serving)?, port, ui)
}

/// The switch, then the old generation's end: drained, stopped, removed; the new one takes our
/// names.
fn finish(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    front: &Front,
    new: &[ContainerInfo],
    olds: &[ContainerInfo],
    spoken: Option<Spoken>,
) -> anyhow::Result<()> {
    let drained = front.switch(new, spoken, ui)?;
    // The old ones: the generation under our names, and any the front drained that are not
    // (left by a cut-short command).
    let mut gone: Vec<String> = olds.iter().map(|c| c.id.clone()).collect();
    gone.extend(drained.into_iter().filter(|id| !new.iter().any(|c| &c.id == id)));
    gone.sort();
    gone.dedup();
    std::thread::scope(|sc| -> anyhow::Result<()> {
        let stops: Vec<_> = gone
            .iter()
            .map(|id| sc.spawn(move || container::stop(engine, id, s.swap_stop_timeout)))
            .collect();
        for h in stops {
            h.join().map_err(|_| anyhow!("stopping an old container failed"))??;
        }
        Ok(())
    })?;
    for id in &gone {
        container::remove(engine, id)?;
    }
    for (i, c) in new.iter().enumerate() {
        let name = container::replica_name(&s.container, i as u32 + 1);
        if c.name != name {
            container::rename(engine, &c.name, &name)?;
        }
    }
    ui.success(&format!(
        "The new {} through the front; the old {} gone",
        if new.len() == 1 {
            "container serves".to_string()
        } else {
            format!("replicas ({}) serve", new.len())
        },
        if olds.len() == 1 { "one is" } else { "ones are" }
    ));
    Ok(())
}

/// Turning the front on: the new containers beside the old one (which publishes the port),
/// probed, then the old one stopped and the front started on the port. A front that fails to
/// start puts the old one back.
pub(crate) fn switch_on(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: Option<&ContainerInfo>,
    image: &str,
    port: u16,
    n: u32,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    front.check_settings()?;
    front.ensure_network()?;
    let next = clear_next(engine, s)?;
    let t0 = Instant::now();
    let names = create_all(engine, s, &front, &next, image, port, n)?;
    let (cs, r) = start_and_probe(engine, s, ui, &front, &names, port).inspect_err(|_| {
        remove_all(engine, &names);
    })?;
    if let Some(o) = old.filter(|o| o.running) {
        ui.info("Stopping the old container: the front takes its port...");
        container::stop(engine, &o.name, s.swap_stop_timeout)?;
    }
    let put = front
        .put(port, &cs, spoken(&front, &r), ui)
        .and_then(|_| probe_through(engine, s, &front, port, r.report.transport, ui));
    let transport = match put {
        Ok(t) => t,
        Err(e) => {
            shielded(|| {
                let _ = front.remove_project(ui);
                remove_all(engine, &names);
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
        for (i, c) in cs.iter().enumerate() {
            container::rename(engine, &c.name, &container::replica_name(&s.container, i as u32 + 1))?;
        }
        Ok(())
    })?;
    Ok(Deployed { port, swap: t0.elapsed(), ready: r.took, transport, image_id: None })
}

/// Turning the front off: this project leaves it (a front of its own goes, freeing the port),
/// and a container publishing the port itself replaces the ones behind it.
pub(crate) fn switch_off(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    old: &ContainerInfo,
    image: &str,
    port: u16,
) -> anyhow::Result<Deployed> {
    let front = Front::new(engine, s);
    let olds = current(engine, s, old)?;
    let next = super::clear_next(engine, s);
    let t0 = Instant::now();
    super::create(engine, s, &next, image, port, None)?;
    front.remove_project(ui)?;
    container::start_existing(engine, &next)?;
    match ready::wait_for(engine, s, ui, &next, port, s.ready_timeout) {
        Ok(r) => {
            shielded(|| -> anyhow::Result<()> {
                for o in &olds {
                    container::stop(engine, &o.name, s.swap_stop_timeout)?;
                    container::remove(engine, &o.name)?;
                }
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
                let _ = front.put(port, &olds, None, ui);
            });
            Err(e)
        }
    }
}

/// Finish what an interrupted switch left: the new generation (`-next`...) already takes the
/// front's new requests, so the old one goes and the new one takes our names. A new generation
/// the front never routed to is removed (its first, `-next`, by `container::recover_and_lookup`).
pub(crate) fn recover(engine: &Engine, s: &Settings, ui: &Ui) -> anyhow::Result<()> {
    let front = Front::new(engine, s);
    let serving = front.serving_containers()?;
    let next = next_name(s);
    let mut names = vec![next.clone(), s.container.clone()];
    names.extend((2..=serving.len().max(1) as u32).map(|i| container::replica_name(&next, i)));
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut found = container::lookup_many(engine, s, &refs)?;
    let main = found.remove(1);
    let new: Vec<ContainerInfo> = found.iter().filter_map(|l| l.ours().cloned()).collect();
    let ids: Vec<String> = new.iter().map(|c| c.id.clone()).collect();
    if !serving.is_empty() && ids == serving && new.iter().all(|c| c.running) {
        ui.warning(&format!("Finishing an interrupted update through the front: {next} serves"));
        let mut olds: Vec<ContainerInfo> = main.ours().cloned().into_iter().collect();
        olds.extend(container::extra_replicas(engine, s, &s.container)?);
        shielded(|| finish(engine, s, ui, &front, &new, &olds, None))?;
        return Ok(());
    }
    // Replicas of a new generation that never served.
    for c in container::extra_replicas(engine, s, &next)? {
        container::force_remove(engine, &c.name)?;
        ui.warning(&format!("Removed {}, left half-made by an interrupted update", c.name));
    }
    Ok(())
}
