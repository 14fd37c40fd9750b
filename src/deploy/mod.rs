//! Replacing what serves, whatever serves it. A flow asks for one of three things — start the
//! first container (`fresh`), replace the one that serves with a container of another image
//! (`replace`), or find out what an interrupted replacement left (`recover`) — and gets one
//! [`Deployed`] back. How it is done is decided once, from what serves now and what was asked
//! ([`Mode`]):
//!
//! * `published.rs`: the container publishes the port itself; the new one is created while the
//!   old one serves, then they swap (a moment with nothing on the port), the old one put back if
//!   the new one does not answer;
//! * `front.rs`: behind the front; the new one starts beside the old, is probed directly, takes
//!   new sessions, and the old one drains — no client notices. Turning the front on or off is
//!   a replacement too;
//! * `recover.rs`: what an interrupted command left (a `-next` container, a half-done switch).

mod front;
mod published;
mod recover;

use std::time::Duration;

use anyhow::anyhow;

use crate::config::{Settings, Transport};
use crate::container::{self, Lookup};
use crate::engine::{ContainerInfo, Engine};
use crate::front::Front;
use crate::state::State;
use crate::ui::Ui;

pub(crate) use recover::{clear_next, next_name};

/// Create (not start) a container of `image` named `name` for `port`, on `network` when given
/// (the front's): the new one of a replacement, made while the old one serves.
fn create(
    engine: &Engine,
    s: &Settings,
    name: &str,
    image: &str,
    port: u16,
    network: Option<&str>,
) -> anyhow::Result<()> {
    let o = crate::engine::RunOptions {
        create_only: true,
        name: name.to_string(),
        image: image.to_string(),
        network: network.map(str::to_string),
        ..crate::engine::RunOptions::new(s, port)
    };
    engine.run(&engine.run_or_create(s, &o)).map(|_| ())
}

/// What serves after a deployment, and what it took.
#[derive(Debug, Clone)]
pub(crate) struct Deployed {
    /// The host port clients use (the front's, behind it).
    pub(crate) port: u16,
    /// From the first change to the new container running.
    pub(crate) swap: Duration,
    /// Until it answered MCP.
    pub(crate) ready: Duration,
    /// What the probe found it speaks (through the front, when behind it).
    pub(crate) transport: Transport,
    /// The image the container runs, when the readiness wait saw it.
    pub(crate) image_id: Option<String>,
}

/// How a replacement goes, decided once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Published on its port, and stays so.
    Published,
    /// Behind the front, and stays so.
    Front,
    /// Published now; asked to go behind the front.
    FrontOn,
    /// Behind the front now; asked to publish the port itself again.
    FrontOff,
}

impl Mode {
    /// `behind`: whether this command serves through the front (as asked, else as deployed);
    /// `deployed_behind`: whether the last deployment did.
    pub(crate) fn of(behind: bool, deployed_behind: bool) -> Mode {
        match (behind, deployed_behind) {
            (true, true) => Mode::Front,
            (true, false) => Mode::FrontOn,
            (false, true) => Mode::FrontOff,
            (false, false) => Mode::Published,
        }
    }

    /// Whether what serves at the end is behind the front.
    pub(crate) fn behind(self) -> bool {
        matches!(self, Mode::Front | Mode::FrontOn)
    }
}

/// One project's deployment on one engine, with the mode decided.
pub(crate) struct Deploy<'a> {
    engine: &'a Engine,
    s: &'a Settings,
    ui: &'a Ui,
    state: &'a State,
    pub(crate) mode: Mode,
    /// How many containers serve at the end (more than one only behind the front).
    pub(crate) replicas: u32,
}

impl<'a> Deploy<'a> {
    pub(crate) fn new(engine: &'a Engine, s: &'a Settings, ui: &'a Ui, state: &'a State) -> Deploy<'a> {
        let deployed_behind = state.front.is_some();
        let mode = Mode::of(s.front_wanted.unwrap_or(deployed_behind), deployed_behind);
        let replicas = if mode.behind() { s.replicas.or(state.replicas).unwrap_or(1) } else { 1 };
        Deploy { engine, s, ui, state, mode, replicas }
    }

    fn front(&self) -> Front<'a> {
        Front::new(self.engine, self.s)
    }

    /// Our container, after finishing or cleaning up what an interrupted command left (behind
    /// the front, the front's way first).
    pub(crate) fn recover(&self) -> anyhow::Result<Lookup> {
        if self.state.front.is_some() {
            front::recover(self.engine, self.s, self.ui)?;
        }
        recover::recover_and_lookup(self.engine, self.s, self.ui)
    }

    /// The port clients use now: the one our container publishes (what their URL points at);
    /// for a container that is gone, the saved one, so the URL survives stop and start.
    pub(crate) fn serving_port(&self, c: Option<&ContainerInfo>) -> Option<u16> {
        c.and_then(|c| c.host_port(self.s.container_port)).or(self.state.port)
    }

    /// The host port the front publishes: a shared front's; a front of its own keeps the
    /// project's port (the saved one if free, else the first free one).
    pub(crate) fn front_port(&self) -> anyhow::Result<u16> {
        if let (true, Some(p)) = (self.s.front.shared, self.s.front.port) {
            return Ok(p);
        }
        let own_front_runs = self.front().lookup()?.is_some_and(|c| c.running);
        match self.state.port {
            Some(p) if own_front_runs => Ok(p),
            _ => self.free_port("the front"),
        }
    }

    /// The saved port if free there, else the first free one from the base port.
    fn free_port(&self, what: &str) -> anyhow::Result<u16> {
        let free = self.engine.host.port_checker()?;
        crate::ports::choose(
            self.s.publish_address,
            self.s.base_port,
            self.state.port,
            &Default::default(),
            |a, p| free.is_free(a, p),
        )
        .ok_or_else(|| {
            anyhow!("no free port from {} for {what}: free one, or set another base port", self.s.base_port)
        })
    }

    /// Nothing serves: start a container of our image, published on a free port (`preferred`
    /// when it is free) or behind the front. `started` is told the port as soon as it is chosen
    /// (so a failure after it still leaves the next command knowing it); `waiting` heads the
    /// wait for a published one.
    pub(crate) fn fresh(
        &self,
        preferred: Option<u16>,
        waiting: &str,
        started: impl FnOnce(u16) -> anyhow::Result<()>,
    ) -> anyhow::Result<Deployed> {
        let (engine, s, ui) = (self.engine, self.s, self.ui);
        if self.mode.behind() {
            let port = self.front_port()?;
            started(port)?;
            return front::start(engine, s, ui, port, self.replicas);
        }
        let t = std::time::Instant::now();
        let port = container::run_on_free_port(engine, s, ui, preferred)?;
        started(port)?;
        let swap = t.elapsed();
        ui.header(waiting);
        let r = crate::ready::wait(engine, s, ui, port)?;
        Ok(Deployed { port, swap, ready: r.took, transport: r.report.transport, image_id: r.image_id })
    }

    /// Nothing serves, and a given image is to: on the saved port (or a free one), or behind
    /// the front.
    pub(crate) fn fresh_of(&self, image: &str) -> anyhow::Result<Deployed> {
        if self.mode.behind() {
            container::tag(self.engine, image, &self.s.image)?;
            return self.fresh(self.state.port, "Waiting Until It Answers MCP", |_| Ok(()));
        }
        let port = self.free_port("the container")?;
        published::replace(self.engine, self.s, self.ui, None, image, port)
    }

    /// Replace `old` (ours) with a container of `image`, the way the mode says: a swap on the
    /// published port, through the front (no client notices), or turning the front on or off.
    pub(crate) fn replace(&self, old: &ContainerInfo, image: &str) -> anyhow::Result<Deployed> {
        let (engine, s, ui) = (self.engine, self.s, self.ui);
        let port = self.serving_port(Some(old)).unwrap_or(s.base_port);
        let done = match self.mode {
            Mode::Front => front::replace(engine, s, ui, old, image, port, self.replicas),
            Mode::FrontOn => {
                ui.info("Turning the front on: it takes the port, the container moves behind it");
                // A front of its own takes the old container's port once that one stops.
                let front_port = if s.front.shared { self.front_port()? } else { port };
                front::switch_on(engine, s, ui, Some(old), image, front_port, self.replicas)
            }
            Mode::FrontOff => {
                ui.info("Turning the front off: the container publishes the port itself again");
                front::switch_off(engine, s, ui, old, image, port)
            }
            Mode::Published => published::replace(engine, s, ui, Some(old), image, port),
        }?;
        // Behind the front, clients use the front's port.
        let port = if self.mode.behind() { self.front_port().unwrap_or(done.port) } else { done.port };
        Ok(Deployed { port, ..done })
    }

    /// Only the front's own settings may have changed (token, TLS): it reloads if they did; the
    /// server container stays as it is.
    pub(crate) fn refresh_front(&self, serving: &ContainerInfo, port: u16) -> anyhow::Result<()> {
        if self.mode == Mode::Front {
            front::refresh(self.engine, self.s, self.ui, serving, port)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_follows_what_serves_and_what_is_asked() {
        assert_eq!(Mode::of(false, false), Mode::Published);
        assert_eq!(Mode::of(true, true), Mode::Front);
        assert_eq!(Mode::of(true, false), Mode::FrontOn);
        assert_eq!(Mode::of(false, true), Mode::FrontOff);
        assert!(Mode::FrontOn.behind() && Mode::Front.behind());
        assert!(!Mode::FrontOff.behind() && !Mode::Published.behind());
    }
}
