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
pub(crate) mod oauth;
pub(crate) mod runtime;
pub(crate) mod stats;

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::config::{Era, FrontSettings, FrontTls, LABEL_FRONT, Settings};
use crate::container;
use crate::engine::{ContainerInfo, Engine, Failure, FrontRun};
use crate::probe::{Target, Tls};
use crate::process::check_interrupt;
use crate::ui::Ui;
pub(crate) use config::Spoken;
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
        if let Some(o) = self.spec.oauth.as_ref().filter(|o| !o.is_off()) {
            // The issuer answers, and publishes keys the front can pin, and a resource given is
            // served here: before anything changes.
            oauth::check_resource_path(self.s, o)?;
            oauth::discover_cached(o)?;
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

    /// The front runs, on `port`, with this project routed to `serving` (its replicas, probed
    /// already), health-checked the way `spoken` says (None: as before, or for a project it
    /// does not route yet as a direct probe finds). Starts or reloads the front as needed.
    pub(crate) fn put(
        &self,
        port: u16,
        serving: &[ContainerInfo],
        spoken: Option<Spoken>,
        ui: &Ui,
    ) -> anyhow::Result<()> {
        self.check_settings()?;
        let ips = self.ips(serving)?;
        let known = self.routes()?.is_some();
        let spoken = match (spoken, serving.first()) {
            (Some(sp), _) => Some(sp),
            (None, Some(first)) if !known => Some(self.spoken_by(first, port)),
            _ => None,
        };
        let mut st = self.load()?;
        st.publish = format!("{}:{}", self.s.publish_address, self.port(port));
        st.image = self.spec.image.clone();
        st.tls = self.spec.tls != FrontTls::Off;
        let b = st.projects.entry(self.s.name.clone()).or_default();
        b.prefix = self.prefix();
        b.port = self.s.container_port;
        b.token = self.spec.token.is_some();
        b.oauth = match &self.spec.oauth {
            Some(o) if o.is_off() => None,
            Some(o) => Some(oauth::OAuthRoute {
                issuer: o.issuer.clone(),
                resource: oauth::resource(self.s, o, port)?,
                scopes: o.scopes.clone(),
                pass_token: o.pass_token,
            }),
            // Not asked either way: as deployed (a command without the flags never drops it),
            // unless a static token takes over.
            None if b.token => None,
            None => b.oauth.take(),
        };
        if let Some(sp) = spoken {
            b.set_spoken(sp);
        }
        let color = b.serving_color();
        b.slots.clear();
        for (i, (c, ip)) in serving.iter().zip(&ips).enumerate() {
            let slot = Slot { container: c.id.clone(), ip: ip.to_string(), state: SlotState::Ready };
            b.slots.insert(config::slot_name(color, i as u32 + 1), slot);
        }
        b.capacity = b.capacity.max(serving.len() as u32);
        self.apply(&st, ui, true)
    }

    /// Each container's address on the front's network.
    fn ips(&self, cs: &[ContainerInfo]) -> anyhow::Result<Vec<std::net::IpAddr>> {
        cs.iter()
            .map(|c| {
                c.ip_on(self.network()).ok_or_else(|| anyhow!("{} is not on {}", c.name, self.network()))
            })
            .collect()
    }

    /// What these servers speak, from a probe's findings: the era, and the transport with the
    /// endpoint path the check asks (`auto` that fell back to SSE uses `/sse`).
    pub(crate) fn spoken(&self, era: Era, transport: crate::config::Transport) -> Spoken {
        use crate::config::{Transport, TransportSetting};
        let path = match (self.s.transport, transport) {
            (TransportSetting::Auto, Transport::Sse)
                if self.s.mcp_path == Transport::StreamableHttp.path() =>
            {
                Transport::Sse.path().to_string()
            }
            _ => self.s.mcp_path.clone(),
        };
        Spoken { era, sse: transport == Transport::Sse, path }
    }

    /// What `serving` speaks, asked directly (a project put back on a front that lost its
    /// state); what the settings say when it cannot be reached from here.
    fn spoken_by(&self, serving: &ContainerInfo, port: u16) -> Spoken {
        use crate::config::{Transport, TransportSetting};
        let client = self
            .direct_target(serving, port)
            .ok()
            .and_then(|t| crate::probe::Client::connect(&t, Duration::from_secs(10)).ok());
        match client {
            Some(c) => {
                let s = self.spoken(c.server.era, c.transport());
                c.close();
                s
            }
            None => {
                let t = if self.s.transport == TransportSetting::Sse {
                    Transport::Sse
                } else {
                    Transport::StreamableHttp
                };
                self.spoken(Era::Handshake, t)
            }
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
        let keys_changed = self.oauth_files(st, own)?;
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
            Some(c)
                if c.running
                    && !keys_changed
                    && before.same_as(&files::Snapshot::take(&self.dirs.config)) => {}
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

    /// This project's OAuth files (when `own`), and none of projects without OAuth. Returns
    /// whether its key files changed.
    fn oauth_files(&self, st: &FrontState, own: bool) -> anyhow::Result<bool> {
        let mut changed = false;
        let route = st.projects.get(&self.s.name).and_then(|b| b.oauth.as_ref());
        if let (true, Some(o), Some(route)) = (own, self.spec.oauth.as_ref().filter(|o| !o.is_off()), route) {
            changed = oauth::provision(&self.dirs, &self.s.name, o, route, &oauth::discover_cached(o)?)?;
        }
        let keep: Vec<&str> =
            st.projects.iter().filter(|(_, b)| b.oauth.is_some()).map(|(n, _)| n.as_str()).collect();
        oauth::cleanup(&self.dirs, &keep);
        Ok(changed)
    }

    /// This project's OAuth at the front, as its state says (None: no OAuth).
    pub(crate) fn oauth_route(&self) -> Option<oauth::OAuthRoute> {
        self.routes().ok().flatten().and_then(|b| b.oauth)
    }

    /// For `status`: the issuer, the key ids the front uses and when they were fetched.
    pub(crate) fn oauth_status(&self) -> Option<serde_json::Value> {
        oauth::describe(&self.dirs, &self.s.name)
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
        let want: Vec<String> = st
            .projects
            .get(&self.s.name)
            .map(|b| b.serving().into_iter().map(|(n, _)| n.to_string()).collect())
            .unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            check_interrupt()?;
            let rt = self.runtime();
            match rt.worker_pid().and_then(|pid| Ok((pid, rt.stats()?))) {
                Ok((pid, _)) if Some(pid) == replaced => last = "the reload has not taken effect yet".into(),
                Ok((_, rows)) => {
                    let up = !want.is_empty()
                        && want.iter().all(|w| {
                            rows.iter()
                                .any(|r| r.backend == be && &r.server == w && r.status.starts_with("UP"))
                        });
                    let shown = rows.iter().any(|r| r.backend == be);
                    if up || (want.is_empty() && routed) || (!routed && !shown) {
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

    /// New sessions and stateless requests to `new` (its replicas, probed directly already); the
    /// old generation drains until its sessions end or the drain timeout, then takes nothing.
    /// `spoken`: what the new ones speak, when probed (how the front checks them). Returns
    /// the old containers' ids.
    pub(crate) fn switch(
        &self,
        new: &[ContainerInfo],
        spoken: Option<Spoken>,
        ui: &Ui,
    ) -> anyhow::Result<Vec<String>> {
        let ips = self.ips(new)?;
        let mut st = self.load()?;
        let be = self.backend_name();
        let b = st
            .projects
            .get_mut(&self.s.name)
            .ok_or_else(|| anyhow!("the front does not route {}", self.s.name))?;
        let new_ids: Vec<String> = new.iter().map(|c| c.id.clone()).collect();
        if b.serving_containers() == new_ids {
            // Switched already, by an update that was cut short: say so to the runtime again and
            // end the drain it left (its sessions still get their drain).
            let serving: Vec<(String, Slot)> =
                b.serving().into_iter().map(|(n, s)| (n.to_string(), s.clone())).collect();
            let old: Vec<(String, Slot)> =
                b.draining().into_iter().map(|(n, s)| (n.to_string(), s.clone())).collect();
            let rt = self.runtime();
            for (slot, s) in &serving {
                self.route(&rt, &be, slot, s.ip.parse()?)?;
            }
            self.end(&rt, &be, &old, ui)?;
            let b = st.projects.get_mut(&self.s.name).expect("looked up above");
            old.iter().for_each(|(o, _)| drop(b.slots.remove(o)));
            self.write(&st)?;
            return Ok(old.into_iter().map(|(_, s)| s.container).collect());
        }
        let color = b.free_color();
        let old: Vec<(String, Slot)> =
            b.serving().into_iter().map(|(n, s)| (n.to_string(), s.clone())).collect();
        // Whatever an earlier cut-short command left in the free generation is replaced now;
        // its containers go with the old ones.
        let stale: Vec<String> = b
            .slots
            .iter()
            .filter(|(n, _)| config::color_of(n) == color)
            .map(|(_, s)| s.container.clone())
            .collect();
        b.slots.retain(|n, _| config::color_of(n) != color);
        // The intent first: a front restarted or reloaded from here on runs the new arrangement.
        for (i, (c, ip)) in new.iter().zip(&ips).enumerate() {
            let slot = Slot { container: c.id.clone(), ip: ip.to_string(), state: SlotState::Ready };
            b.slots.insert(config::slot_name(color, i as u32 + 1), slot);
        }
        for (o, s) in &old {
            b.slots.insert(o.clone(), Slot { state: SlotState::Drain, ..s.clone() });
        }
        let grows = new.len() as u32 > b.capacity;
        b.capacity = b.capacity.max(new.len() as u32);
        let era_changes = spoken.is_some_and(|sp| b.set_spoken(sp));
        if grows || era_changes {
            // More replicas than slots, or servers of another era (checked another way): a
            // reload (the stick tables go over to the new worker; the servers keep their ids,
            // so the sessions keep their servers; the draining ones are not checked).
            ui.info("Reloading the front for the new servers (more replicas, or another MCP era)...");
            self.apply(&st, ui, true)?;
        } else {
            self.write(&st)?;
        }
        let rt = self.runtime();
        for (i, ip) in ips.iter().enumerate() {
            self.route(&rt, &be, &config::slot_name(color, i as u32 + 1), *ip)?;
        }
        if !old.is_empty() {
            let names: Vec<&str> = old.iter().map(|(n, _)| n.as_str()).collect();
            ui.success(&format!(
                "The front sends new sessions and requests to the new {} ({color}); {} drain{}",
                if new.len() == 1 { "container".to_string() } else { format!("replicas ({})", new.len()) },
                names.join(", "),
                if names.len() == 1 { "s" } else { "" }
            ));
        }
        self.end(&rt, &be, &old, ui)?;
        let b = st.projects.get_mut(&self.s.name).expect("looked up above");
        old.iter().for_each(|(o, _)| drop(b.slots.remove(o)));
        self.write(&st)?;
        Ok(old.into_iter().map(|(_, s)| s.container).chain(stale).collect())
    }

    /// The slot takes new requests at `ip`.
    fn route(&self, rt: &Runtime, be: &str, slot: &str, ip: std::net::IpAddr) -> anyhow::Result<()> {
        rt.set_addr(be, slot, ip, self.s.container_port)?;
        rt.set_state(be, slot, RuntimeState::Ready)?;
        rt.set_health_up(be, slot)?;
        Ok(())
    }

    /// The old generation drains together, then takes nothing.
    fn end(&self, rt: &Runtime, be: &str, old: &[(String, Slot)], ui: &Ui) -> anyhow::Result<()> {
        if old.is_empty() {
            return Ok(());
        }
        let slots: Vec<&str> = old.iter().map(|(n, _)| n.as_str()).collect();
        for o in &slots {
            rt.set_state(be, o, RuntimeState::Drain)?;
        }
        self.drain(rt, be, &slots, ui)?;
        for o in &slots {
            self.retire(rt, be, o)?;
        }
        Ok(())
    }

    /// Wait until the draining slots have no connection and no session used lately, or the
    /// timeout.
    fn drain(&self, rt: &Runtime, be: &str, slots: &[&str], ui: &Ui) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.spec.drain_timeout;
        let ids = rt.server_ids(be)?;
        let what = slots.join(", ");
        let spinner =
            ui.spinner(&format!("Draining {what} (up to {})...", crate::ui::secs(self.spec.drain_timeout)));
        while Instant::now() < deadline {
            check_interrupt()?;
            let (mut conns, mut sessions, mut all) = (0, 0, true);
            for slot in slots {
                let stat = rt.server(be, slot)?;
                let sticky = match ids.get(*slot) {
                    Some(id) => rt.sticky(be, *id)?,
                    None => Vec::new(),
                };
                if let Some(stat) = &stat {
                    all &= runtime::drained(stat, &sticky, TABLE_EXPIRE, IDLE);
                    conns += stat.current_sessions;
                    sessions += sticky.len();
                }
            }
            if all {
                spinner.finish();
                ui.success(&format!("{what} drained: no connection and no session in use"));
                return Ok(());
            }
            spinner.set_message(&format!("Draining {what}: {conns} connections, {sessions} sessions..."));
            std::thread::sleep(Duration::from_millis(250));
        }
        spinner.finish();
        ui.info(&format!(
            "Drain timeout ({}) reached: the sessions left on {what} start over",
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

    /// The containers that serve through the front, per the state (for recovery and status).
    pub(crate) fn serving_containers(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.routes()?.map(|b| b.serving_containers()).unwrap_or_default())
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
