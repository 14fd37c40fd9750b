//! The front: a reverse proxy (HAProxy) in a container of its own, on an engine network shared with
//! the server's container, publishing the project's port. Updates go through it without a client
//! noticing: the new container is probed directly, new sessions go to it, sessions opened before
//! keep reaching the old one (stickiness on `Mcp-Session-Id`) until they end or the drain timeout.
//! It also holds the bearer token and HTTPS.
//!
//! * `config.rs`: what it routes (its state) and the haproxy.cfg rendered from that;
//! * `files.rs`: its directory here (config, token, certificate, runtime socket);
//! * `runtime.rs`: HAProxy's runtime API, which switches and drains without a reload;
//! * `stats.rs`: per-tool figures read from its log.

pub(crate) mod config;
pub(crate) mod files;
pub(crate) mod runtime;
pub(crate) mod stats;

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::config::{FrontSettings, FrontTls, LABEL_FRONT, Settings};
use crate::container;
use crate::engine::{ContainerInfo, Engine, Failure, FrontRun};
use crate::probe::{Target, Tls};
use crate::process::check_interrupt;
use crate::ui::Ui;
use config::{Backend, FrontState, Slot, SlotState};
use files::Dirs;
use runtime::{Runtime, SlotState as RuntimeState};

/// A sticky session not used for this long counts as ended when draining.
const IDLE: Duration = Duration::from_secs(3);
/// The stick table's `expire` (templates/haproxy.cfg.j2).
const TABLE_EXPIRE: Duration = Duration::from_secs(30 * 60);

/// One project's view of its front.
pub(crate) struct Front<'a> {
    engine: &'a Engine,
    s: &'a Settings,
    spec: &'a FrontSettings,
    dirs: Dirs,
}

impl<'a> Front<'a> {
    pub(crate) fn new(engine: &'a Engine, s: &'a Settings) -> Front<'a> {
        Front { engine, s, spec: &s.front, dirs: Dirs::of(&s.paths.front_dir) }
    }

    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    /// The network the front and its servers share (named like the front).
    pub(crate) fn network(&self) -> &str {
        &self.spec.name
    }

    fn backend_name(&self) -> String {
        format!("be_{}", self.s.name)
    }

    /// `/NAME` on a shared front; the root on one of its own.
    pub(crate) fn prefix(&self) -> String {
        self.s.front_prefix()
    }

    /// The host port clients use: a shared front's, or the project's own.
    pub(crate) fn port(&self, project_port: u16) -> u16 {
        self.spec.client_port(project_port)
    }

    fn runtime(&self) -> Runtime {
        if !self.engine.host.is_local() {
            // On another host the socket here is a forward of the one there (best effort: a
            // front not started yet has none, and the runtime calls say so themselves).
            let remote = format!("{}/admin.sock", self.mount("run"));
            let _ = self.engine.host.reach_socket(&remote, &self.dirs.socket());
        }
        Runtime::new(self.dirs.socket())
    }

    /// One of the front's directories as the engine mounts it (on another host, a copy there).
    fn mount(&self, sub: &str) -> String {
        let root = self.dirs.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let local = self.dirs.root.join(sub);
        self.engine.host.mount_dir(&local, &format!(".local/share/mcpctl/fronts/{root}/{sub}"))
    }

    /// On another host, its copy of the config directory made the same as the one here.
    fn push(&self) -> anyhow::Result<()> {
        let host = &self.engine.host;
        if host.is_local() {
            return Ok(());
        }
        host.push_dir(&self.dirs.config, &self.mount("config"))?;
        host.push_dir(&self.dirs.run, &self.mount("run"))
    }

    /// The settings' problems that stop the front, in one line (a token asked for but missing).
    pub(crate) fn check_settings(&self) -> anyhow::Result<()> {
        if let Some(p) = &self.spec.token_problem {
            return Err(p.clone().into());
        }
        Ok(())
    }

    /// The front's image is on the engine's host, pulled if it is not. Checked before anything is
    /// changed: an image that cannot be had leaves the project as it was (its container serving
    /// on its port, or nothing made), and says why in one line.
    pub(crate) fn check_image(&self, ui: &Ui) -> anyhow::Result<()> {
        let (e, image) = (self.engine, &self.spec.image);
        let have = e.call_expecting(e.image_inspect_args(image), &[Failure::NoSuchImage, Failure::Other])?;
        if have.is_ok() {
            return Ok(());
        }
        let on = e.host.label().map(|h| format!(" on {h}")).unwrap_or_default();
        ui.info(&format!("Pulling the front's image {image}{on}..."));
        let expected =
            [Failure::RegistryUnreachable, Failure::NotInRegistry, Failure::NoSuchImage, Failure::Other];
        let Err(failed) = e.call_expecting(e.pull_args(image), &expected)? else { return Ok(()) };
        let why = match failed.failure {
            Failure::RegistryUnreachable => "its registry cannot be reached",
            Failure::NotInRegistry | Failure::NoSuchImage => "its registry has no such image",
            _ => "the pull failed",
        };
        Err(anyhow!(
            "the front's image {image} is not here{on} and cannot be pulled: {why} ({}); pass \
             --front-image IMAGE naming an image the engine has (`{} images` lists them); nothing was changed",
            failed.reason(),
            e.name()
        ))
    }

    /// A probe of the project through the front, as a client sees it (TLS, token, prefix).
    pub(crate) fn target(&self, port: u16) -> Target {
        let mut t =
            Target::new(self.port(port), &format!("{}{}", self.prefix(), self.s.mcp_path), self.s.transport);
        t.bearer = self.spec.token.as_ref().map(|t| t.0.clone());
        t.tls = match &self.spec.tls {
            FrontTls::Off => None,
            FrontTls::SelfSigned => Some(Tls { trust_pem: std::fs::read(self.dirs.generated_cert()).ok() }),
            FrontTls::Files { .. } => Some(Tls { trust_pem: None }),
        };
        t
    }

    /// A probe straight at a container on the front's network, before the front sends it anything.
    pub(crate) fn direct_target(&self, c: &ContainerInfo, port: u16) -> anyhow::Result<Target> {
        let ip = c
            .ip_on(self.network())
            .ok_or_else(|| anyhow!("{} has no address on the network {}", c.name, self.network()))?;
        let mut t = Target::new(self.s.container_port, &self.s.mcp_path, self.s.transport);
        t.addr = ip;
        // The Host clients send through the front, which DNS-rebinding protection allows.
        t.host = Some(format!("localhost:{}", self.port(port)));
        Ok(t)
    }

    /// The network, made if missing.
    pub(crate) fn ensure_network(&self) -> anyhow::Result<()> {
        let e = self.engine;
        if e.call_expecting(e.network_inspect_args(self.network()), &[Failure::Other])?.is_ok() {
            return Ok(());
        }
        e.call(e.network_create_args(self.network()))
            .with_context(|| format!("cannot create the network {}", self.network()))?;
        Ok(())
    }

    /// The front runs, on `port`, with this project routed to `serving` (probed already). Starts
    /// or reloads the front as needed.
    pub(crate) fn put(&self, port: u16, serving: &ContainerInfo, ui: &Ui) -> anyhow::Result<()> {
        self.check_settings()?;
        let ip = serving
            .ip_on(self.network())
            .ok_or_else(|| anyhow!("{} is not on {}", serving.name, self.network()))?;
        let (sse, path) = self.transport_of(serving, port);
        let mut st = self.load()?;
        st.publish = format!("{}:{}", self.s.publish_address, self.port(port));
        st.image = self.spec.image.clone();
        st.tls = self.spec.tls != FrontTls::Off;
        let b = st.projects.entry(self.s.name.clone()).or_default();
        b.prefix = self.prefix();
        b.port = self.s.container_port;
        b.token = self.spec.token.is_some();
        (b.sse, b.path) = (sse, path);
        let slot = b.serving().map(|(n, _)| n.to_string()).unwrap_or_else(|| "blue".into());
        b.slots.clear();
        b.slots.insert(
            slot,
            Slot { container: serving.id.clone(), ip: ip.to_string(), state: SlotState::Ready },
        );
        self.apply(&st, ui, true)
    }

    /// The transport `serving` speaks and its endpoint's path, which its health check asks: as
    /// set, or with `auto` as a direct probe finds (the probe has just found it answering).
    fn transport_of(&self, serving: &ContainerInfo, port: u16) -> (bool, String) {
        use crate::config::{Transport, TransportSetting};
        let found = match self.s.transport {
            TransportSetting::Sse => Transport::Sse,
            TransportSetting::StreamableHttp => Transport::StreamableHttp,
            TransportSetting::Auto => self
                .direct_target(serving, port)
                .ok()
                .and_then(|t| crate::probe::Client::connect(&t, Duration::from_secs(10)).ok())
                .map(|c| {
                    let t = c.transport();
                    c.close();
                    t
                })
                .unwrap_or(Transport::StreamableHttp),
        };
        match (self.s.transport, found) {
            // auto found SSE where the path was left as streamable HTTP's: the probe's fallback.
            (TransportSetting::Auto, Transport::Sse)
                if self.s.mcp_path == Transport::StreamableHttp.path() =>
            {
                (true, Transport::Sse.path().to_string())
            }
            (_, t) => (t == Transport::Sse, self.s.mcp_path.clone()),
        }
    }

    /// Write the state and the config, then make the front run it: started, or reloaded. `own`:
    /// this project is put with its settings (the front's TLS, its token); otherwise it leaves,
    /// and the other projects' files stay as they are.
    fn apply(&self, st: &FrontState, ui: &Ui, own: bool) -> anyhow::Result<()> {
        self.dirs.create()?;
        let before = files::Snapshot::take(&self.dirs.config);
        if own {
            files::provision(&self.dirs, self.spec, self.s.cert_host.as_deref())?;
        }
        let token = self.spec.token.as_ref().filter(|_| own).map(|t| (self.s.name.as_str(), t));
        files::tokens(&self.dirs, st, token)?;
        let cfg = self.dirs.config.join("haproxy.cfg");
        let was = self.load()?;
        files::write_private(&cfg, &config::render(self.name(), st))?;
        let restore = |why: anyhow::Error| {
            before.restore();
            let _ = self.push();
            why
        };
        self.push()?;
        let mut found = self.lookup()?;
        // A published port and an image are fixed when the container is made.
        let remake = if !was.publish.is_empty() && was.publish != st.publish {
            Some(format!("moves from {} to {}", was.publish, st.publish))
        } else if !was.image.is_empty() && was.image != st.image {
            Some(format!("changes from the image {} to {}", was.image, st.image))
        } else {
            None
        };
        if let (Some(c), Some(why)) = (found.as_ref(), remake) {
            ui.info(&format!("The front {why}: making it again"));
            container::stop_and_remove(self.engine, self.s, c)?;
            found = None;
        }
        // The worker serving before a reload: the reload is in effect once another one answers.
        let mut replaced = None;
        match found {
            // Nothing it reads changed: a reload would only cost a little.
            Some(c) if c.running && before.same_as(&files::Snapshot::take(&self.dirs.config)) => {}
            Some(c) if c.running => {
                if let Err(e) = self.check_config(Some(&c.name), st) {
                    // The running front keeps its config; so do its files.
                    return Err(restore(e));
                }
                ui.info(&format!("Reloading the front {} (its config changed)...", self.name()));
                replaced = self.runtime().worker_pid().ok();
                self.engine
                    .call(self.engine.kill_args(self.name(), "USR2"))
                    .context("cannot reload the front")?;
            }
            Some(_) => {
                if let Err(e) = self.check_config(None, st) {
                    return Err(restore(e));
                }
                ui.info(&format!("Starting the front {}...", self.name()));
                container::start_existing(self.engine, self.name())?;
            }
            None => {
                if let Err(e) = self.check_config(None, st) {
                    return Err(restore(e));
                }
                self.run(st, ui)?
            }
        }
        config::save(&self.dirs.state(), st)?;
        self.wait_routing(st, replaced)
    }

    fn front_run(&self, st: &FrontState) -> anyhow::Result<FrontRun> {
        Ok(FrontRun {
            name: self.name().to_string(),
            image: self.spec.image.clone(),
            network: self.network().to_string(),
            publish: st.publish.clone(),
            listen: config::LISTEN,
            config_dir: self.mount("config"),
            socket_dir: self.mount("run"),
            user: match self.engine.host.owner() {
                Some(o) => o,
                None => self.dirs.owner()?,
            },
        })
    }

    fn run(&self, st: &FrontState, ui: &Ui) -> anyhow::Result<()> {
        ui.info(&format!("Starting the front {} ({}) on {}...", self.name(), self.spec.image, st.publish));
        let e = self.engine;
        let run = self.front_run(st)?;
        let _ = std::fs::remove_file(self.dirs.socket());
        match e.call_expecting(e.front_run_args(&run), &[Failure::PortTaken, Failure::NameTaken])? {
            Ok(_) => Ok(()),
            Err(failed) => {
                let _ = container::force_remove(e, self.name());
                Err(crate::error::Explained::new(format!(
                    "cannot start the front {} on {}",
                    self.name(),
                    st.publish
                ))
                .why(failed.reason())
                .fix("free the port, or set another base port")
                .into())
            }
        }
    }

    /// HAProxy's own check of the files, in the running front or in a container of its own
    /// before the first start (a rejected file is never loaded).
    fn check_config(&self, running: Option<&str>, st: &FrontState) -> anyhow::Result<()> {
        let e = self.engine;
        let cfg = format!("{}/haproxy.cfg", crate::engine::FRONT_CONFIG_IN);
        let args = match running {
            Some(front) => e.exec_args(front, &["haproxy", "-c", "-f", &cfg]),
            None => e.front_check_args(&self.front_run(st)?),
        };
        match e.call_expecting(args, &[Failure::Other])? {
            Ok(_) => Ok(()),
            Err(rejected) => {
                let why = alert_line(&rejected.process.stdout, &rejected.process.stderr);
                Err(match running {
                    Some(_) => {
                        anyhow!("the front rejects its new config ({why}); it keeps serving with the old one")
                    }
                    None => anyhow!("the front rejects its config ({why}); it was not started"),
                })
            }
        }
    }

    /// Until the runtime API answers from a worker other than `replaced` (the one before a
    /// reload) and shows this project's backend up, or, once it leaves, no longer shows it: the
    /// new config (its routes, its tokens) is in effect when the command returns.
    fn wait_routing(&self, st: &FrontState, replaced: Option<u32>) -> anyhow::Result<()> {
        let be = self.backend_name();
        let routed = st.projects.contains_key(&self.s.name);
        let want = st.projects.get(&self.s.name).and_then(|b| b.serving()).map(|(n, _)| n.to_string());
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            check_interrupt()?;
            let rt = self.runtime();
            match rt.worker_pid().and_then(|pid| Ok((pid, rt.stats()?))) {
                Ok((pid, _)) if Some(pid) == replaced => last = "the reload has not taken effect yet".into(),
                Ok((_, rows)) => {
                    let up = rows.iter().any(|r| {
                        r.backend == be && Some(&r.server) == want.as_ref() && r.status.starts_with("UP")
                    });
                    let shown = rows.iter().any(|r| r.backend == be);
                    if up || (want.is_none() && routed) || (!routed && !shown) {
                        return Ok(());
                    }
                    last =
                        if routed { format!("{be} is not up yet") } else { format!("{be} is still routed") };
                }
                Err(e) => last = format!("{e:#}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let what = if routed { "does not route" } else { "still routes" };
        Err(self.down_error(&format!("the front {what} {} ({last})", self.s.name)))
    }

    /// The front's failure in one line, with its last log lines to show why.
    fn down_error(&self, what: &str) -> anyhow::Error {
        let lines = container::log_tail(self.engine, self.name(), 10);
        anyhow::Error::new(
            crate::error::Explained::new(what.to_string())
                .fix("see `mcpctl logs --front`; `mcpctl restart` starts it again".to_string())
                .evidence(format!("Last lines of the front {}:", self.name()), lines),
        )
    }

    pub(crate) fn lookup(&self) -> anyhow::Result<Option<ContainerInfo>> {
        let e = self.engine;
        let out = match e.call_expecting(e.inspect_args(self.name()), &[Failure::NoSuchContainer])? {
            Ok(out) => out.stdout,
            Err(_) => return Ok(None),
        };
        Ok(crate::engine::parse_inspect(&out)?.into_iter().find(|c| c.labels.contains_key(LABEL_FRONT)))
    }

    pub(crate) fn load(&self) -> anyhow::Result<FrontState> {
        config::load(&self.dirs.state())
    }

    /// Whether the front runs this project now.
    pub(crate) fn routes(&self) -> anyhow::Result<Option<Backend>> {
        Ok(self.load()?.projects.get(&self.s.name).cloned())
    }

    /// New sessions to `new` (probed directly already); the old slot drains until its sessions
    /// end or the drain timeout, then takes nothing. Returns the old container's id.
    pub(crate) fn switch(&self, new: &ContainerInfo, ui: &Ui) -> anyhow::Result<Option<String>> {
        let ip =
            new.ip_on(self.network()).ok_or_else(|| anyhow!("{} is not on {}", new.name, self.network()))?;
        let mut st = self.load()?;
        let be = self.backend_name();
        let b = st
            .projects
            .get_mut(&self.s.name)
            .ok_or_else(|| anyhow!("the front does not route {}", self.s.name))?;
        if let Some((slot, _)) = b.serving().filter(|(_, s)| s.container == new.id) {
            // Switched already, by an update that was cut short: say so to the runtime again and
            // end the drain it left.
            let (slot, old) = (slot.to_string(), b.draining().map(|(n, s)| (n.to_string(), s.clone())));
            let rt = self.runtime();
            rt.set_addr(&be, &slot, ip, self.s.container_port)?;
            rt.set_state(&be, &slot, RuntimeState::Ready)?;
            rt.set_health_up(&be, &slot)?;
            if let Some((o, _)) = &old {
                // Its sessions still get their drain: the update cut short had not finished it.
                rt.set_state(&be, o, RuntimeState::Drain)?;
                self.drain(&rt, &be, o, ui)?;
                self.retire(&rt, &be, o)?;
                b.slots.remove(o);
            }
            self.write(&st)?;
            return Ok(old.map(|(_, s)| s.container));
        }
        let (slot, old) = (b.free_slot(), b.serving().map(|(n, s)| (n.to_string(), s.clone())));
        // The intent first: a front restarted or reloaded from here on runs the new arrangement.
        b.slots.insert(
            slot.to_string(),
            Slot { container: new.id.clone(), ip: ip.to_string(), state: SlotState::Ready },
        );
        if let Some((o, s)) = &old {
            b.slots.insert(o.clone(), Slot { state: SlotState::Drain, ..s.clone() });
        }
        self.write(&st)?;
        let rt = self.runtime();
        rt.set_addr(&be, slot, ip, self.s.container_port)?;
        rt.set_state(&be, slot, RuntimeState::Ready)?;
        rt.set_health_up(&be, slot)?;
        if let Some((o, _)) = &old {
            rt.set_state(&be, o, RuntimeState::Drain)?;
            ui.success(&format!(
                "The front sends new sessions to the new container (slot {slot}); {o} drains"
            ));
            self.drain(&rt, &be, o, ui)?;
            self.retire(&rt, &be, o)?;
        }
        let b = st.projects.get_mut(&self.s.name).expect("set above");
        if let Some((o, _)) = &old {
            b.slots.remove(o);
        }
        self.write(&st)?;
        Ok(old.map(|(_, s)| s.container))
    }

    /// Wait until the draining slot has no connection and no session used lately, or the timeout.
    fn drain(&self, rt: &Runtime, be: &str, slot: &str, ui: &Ui) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.spec.drain_timeout;
        let id = rt.server_ids(be)?.get(slot).copied();
        let spinner =
            ui.spinner(&format!("Draining {slot} (up to {})...", crate::ui::secs(self.spec.drain_timeout)));
        while Instant::now() < deadline {
            check_interrupt()?;
            let stat = rt.server(be, slot)?;
            let sticky = match id {
                Some(id) => rt.sticky(be, id)?,
                None => Vec::new(),
            };
            if let Some(stat) = &stat {
                if runtime::drained(stat, &sticky, TABLE_EXPIRE, IDLE) {
                    spinner.finish();
                    ui.success(&format!("{slot} drained: no connection and no session in use"));
                    return Ok(());
                }
                spinner.set_message(&format!(
                    "Draining {slot}: {} connections, {} sessions...",
                    stat.current_sessions,
                    sticky.len()
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        spinner.finish();
        ui.info(&format!(
            "Drain timeout ({}) reached: the sessions left on {slot} start over",
            crate::ui::secs(self.spec.drain_timeout)
        ));
        Ok(())
    }

    /// The slot takes nothing more: its sessions are shut and forgotten (their next request gets
    /// 404 from the new server, and the client starts a new session).
    fn retire(&self, rt: &Runtime, be: &str, slot: &str) -> anyhow::Result<()> {
        rt.set_state(be, slot, RuntimeState::Maint)?;
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && rt.server(be, slot)?.is_some_and(|s| s.current_sessions > 0) {
            std::thread::sleep(Duration::from_millis(100));
        }
        rt.shutdown_sessions(be, slot)?;
        if let Some(id) = rt.server_ids(be)?.get(slot) {
            rt.clear_sticky(be, *id)?;
        }
        Ok(())
    }

    /// State and config on disk, without a reload (the runtime API has set the same).
    fn write(&self, st: &FrontState) -> anyhow::Result<()> {
        files::write_private(&self.dirs.config.join("haproxy.cfg"), &config::render(self.name(), st))?;
        self.push()?;
        config::save(&self.dirs.state(), st)
    }

    /// Stop routing this project. A front that routes nothing any more is removed, with its
    /// network (its directory, and a certificate it made, stay for next time). Returns whether
    /// it was removed.
    pub(crate) fn remove_project(&self, ui: &Ui) -> anyhow::Result<bool> {
        let mut st = self.load()?;
        if st.projects.remove(&self.s.name).is_none() && self.lookup()?.is_none() {
            return Ok(false);
        }
        if !st.projects.is_empty() {
            self.apply(&st, ui, false)?;
            return Ok(false);
        }
        if let Some(c) = self.lookup()? {
            container::stop_and_remove(self.engine, self.s, &c)?;
        }
        self.remove_network()?;
        // No project left to protect: no token file stays behind.
        files::tokens(&self.dirs, &st, None)?;
        config::save(&self.dirs.state(), &st)?;
        ui.success(&format!("Removed the front {}, which routes nothing any more", self.name()));
        Ok(true)
    }

    /// The network, unless a container (a stopped server, another front's user) is still on it.
    pub(crate) fn remove_network(&self) -> anyhow::Result<()> {
        let e = self.engine;
        if self.lookup()?.is_none() {
            let _in_use = e.call_expecting(e.network_rm_args(self.network()), &[Failure::Other])?;
        }
        Ok(())
    }

    /// The runtime view of this project's slots, for `status`.
    pub(crate) fn slots(&self) -> anyhow::Result<Vec<runtime::ServerStat>> {
        let be = self.backend_name();
        Ok(self
            .runtime()
            .stats()?
            .into_iter()
            .filter(|r| r.backend == be && r.kind == runtime::StatKind::Server)
            .collect())
    }

    /// The container that serves through the front, per the state (for recovery and status).
    pub(crate) fn serving_container(&self) -> anyhow::Result<Option<String>> {
        Ok(self.routes()?.and_then(|b| b.serving().map(|(_, s)| s.container.clone())))
    }
}

/// HAProxy's `[ALERT]` line, the one that says why a config is rejected.
fn alert_line(stdout: &str, stderr: &str) -> String {
    let all = format!("{stdout}\n{stderr}");
    all.lines()
        .find(|l| l.contains("[ALERT]"))
        .or_else(|| all.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output")
        .trim()
        .to_string()
}

#[cfg(test)]
mod switch_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_line_says_why() {
        let out = "[NOTICE]   (1) : haproxy version is 2.6.12\n[ALERT]    (1) : config : parsing [/x/haproxy.cfg:3] : unknown keyword 'bogus'\n[ALERT]    (1) : config : Fatal errors found in configuration.\n";
        assert!(alert_line("", out).contains("unknown keyword 'bogus'"));
        assert_eq!(alert_line("", ""), "no output");
    }
}
