//! The commands on a swarm target. The swarm replaces tasks itself (start-first, health-gated,
//! rolling back on failure) and reschedules them when a node is lost, so these flows ask it and
//! watch, where the one-engine flows make and swap containers: one module per command, reading
//! top-down like those, with the opening and the endpoint shared here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cli::OnEngine;
use crate::config::{Endpoint, FrontTls, Transport};
use crate::error::Explained;
use crate::flows::Ctx;
use crate::lock::ProjectLock;
use crate::probe::{self, ProbeReport, Target, Tls};
use crate::state::{self, State};
use crate::target::swarm::front::Checked;
use crate::target::swarm::{Cluster, Swarm};

mod down;
mod list;
mod logs;
mod restart;
mod rollback;
mod start;
mod status;
mod stop;
mod update;

pub(crate) fn run(cmd: &OnEngine, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        OnEngine::Start { rebuild } => start::start(ctx, *rebuild),
        OnEngine::Update { rebuild } => update::update(ctx, *rebuild),
        OnEngine::Stop => stop::stop(ctx),
        OnEngine::Restart => restart::restart(ctx),
        OnEngine::Rollback => rollback::rollback(ctx),
        OnEngine::Status { json } => status::status(ctx, *json),
        OnEngine::Logs { tail, no_follow, front } => logs::logs(ctx, *tail, !*no_follow, *front),
        OnEngine::List { json } => list::list(ctx, *json),
        OnEngine::Down { volumes, yes } => down::down(ctx, *volumes, *yes),
        OnEngine::Client { write, token_env, url } => {
            // The URL is the front's on the manager, as the last start saved it.
            let url = match url {
                Some(u) => u.clone(),
                None => saved_url(ctx)?,
            };
            crate::flows::client::client(ctx, *write, token_env.as_deref(), Some(&url))
        }
        OnEngine::Publish(args) => crate::flows::publish::publish(ctx, args),
        OnEngine::Stats { .. } => Err(Explained::usage("stats on a swarm target")
            .why("the figures come from the front's log on one engine")
            .fix("`mcpctl logs --front` shows the swarm front's request lines")
            .into()),
    }
}

/// What mcpctl keeps about the project on the swarm (in the state file, beside the port).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SwarmState {
    /// Keys the hashes in secret names.
    pub(crate) salt: String,
    /// The manager's address: the front is published there.
    #[serde(default)]
    pub(crate) addr: String,
    /// How the front checks the tasks (the era they answered in).
    #[serde(default)]
    pub(crate) checked: Option<Checked>,
}

const KEY: &str = "swarm";

pub(crate) fn swarm_state(st: &State) -> SwarmState {
    let mut s: SwarmState =
        st.rest.get(KEY).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    if s.salt.is_empty() {
        s.salt = new_salt();
    }
    s
}

fn new_salt() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        b[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An opened swarm command: the lock, the state, the swarm and its checked cluster.
pub(crate) struct Opened<'a> {
    _lock: Option<ProjectLock>,
    pub(crate) state: State,
    pub(crate) sw_state: SwarmState,
    pub(crate) swarm: Swarm<'a>,
    pub(crate) cluster: Cluster,
}

/// The opening of every swarm command: the lock (for commands that change things), the state,
/// and the engine checked to be a manager of an active swarm.
pub(crate) fn open<'a>(ctx: &'a Ctx, what: Option<&str>) -> anyhow::Result<Opened<'a>> {
    let lock = what.map(|w| ctx.lock(w)).transpose()?;
    let state = ctx.load_state();
    let sw_state = swarm_state(&state);
    let swarm = Swarm::new(&ctx.engine, &ctx.s, &sw_state.salt);
    let cluster = swarm.cluster()?;
    Ok(Opened { _lock: lock, state, sw_state, swarm, cluster })
}

impl Opened<'_> {
    /// Save what serves: the port, transport, replicas, and the swarm's part.
    pub(crate) fn save(
        &mut self,
        ctx: &Ctx,
        port: u16,
        transport: Transport,
        replicas: u32,
    ) -> anyhow::Result<()> {
        let mut st = state::load(&ctx.s.paths.state_file).state;
        st.port = Some(port);
        st.transport = Some(transport);
        st.front = Some(ctx.s.front.name.clone());
        st.replicas = Some(replicas);
        self.sw_state.addr = self.cluster.front_addr().to_string();
        st.rest.insert(KEY.into(), serde_json::to_value(&self.sw_state)?);
        state::save(&ctx.s.paths.state_file, &st)?;
        self.state = st;
        Ok(())
    }
}

/// The URL clients use: the front on the manager's address.
pub(crate) fn endpoint(ctx: &Ctx, addr: &str, port: u16, transport: Transport) -> Endpoint {
    let mut e = ctx.s.endpoint(port, transport, true);
    e.host = if addr.contains(':') { format!("[{addr}]") } else { addr.to_string() };
    e
}

/// The endpoint the last start on the swarm saved.
fn saved_url(ctx: &Ctx) -> anyhow::Result<String> {
    let state = ctx.load_state();
    let sw = swarm_state(&state);
    match (state.port, sw.addr.is_empty()) {
        (Some(port), false) => Ok(endpoint(ctx, &sw.addr, port, ctx.saved_transport(&state)).url()),
        _ => Err(Explained::usage(format!("{} has not been started on a swarm", ctx.s.name))
            .fix("start it with `mcpctl start --target swarm`, or give --url")
            .into()),
    }
}

/// A probe through the front, as a client sees it (token, TLS), reached from here (through the
/// ssh host's forward when the manager is another machine).
pub(crate) fn front_target(ctx: &Ctx, addr: &str, port: u16) -> anyhow::Result<Target> {
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| anyhow::anyhow!("the swarm manager's address {addr:?} is not an IP address"))?;
    let mut t = Target::new(port, &ctx.s.mcp_path, ctx.s.transport);
    t.addr = ip;
    t.host = Some(endpoint(ctx, addr, port, Transport::StreamableHttp).authority());
    t.bearer = ctx.s.front.token.as_ref().map(|t| t.0.clone());
    t.tls = (ctx.s.front.tls != FrontTls::Off).then_some(Tls { trust_pem: None });
    if let Some(local) = ctx.engine.host.reach(ip, port)? {
        let host = t.host.clone();
        t = t.via(local);
        t.host = host;
    }
    Ok(t)
}

/// Probe through the front until it answers MCP, or the deadline.
pub(crate) fn probe_front(target: &Target, deadline: Duration) -> anyhow::Result<ProbeReport> {
    let t0 = std::time::Instant::now();
    loop {
        crate::process::check_interrupt()?;
        match probe::probe(target, Duration::from_secs(5)) {
            Ok(r) => return Ok(r),
            // DNS-rebinding protection in the server refuses the Host clients send: waiting
            // will not change that.
            Err(probe::ProbeError::Status { code: 421, .. }) => {
                let host = target.host.clone().unwrap_or_default();
                return Err(Explained::new(format!("the server refuses the Host {host} clients send through the front (421)"))
                    .why("its DNS-rebinding protection allows other hosts")
                    .fix(format!("add {{host}}:{{port}} to MCP_ALLOWED_HOSTS in [env] (mcpctl puts {host} there), then `mcpctl update`"))
                    .into());
            }
            Err(e) if t0.elapsed() > deadline => {
                return Err(Explained::new(format!("the server does not answer MCP through the front at {}", target.shown_url()))
                    .why(e.to_string())
                    .fix("`mcpctl status` shows the tasks and the front's view of them; `mcpctl logs` what they said")
                    .into());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// What the probe found, as the front checks it.
pub(crate) fn checked_of(ctx: &Ctx, r: &ProbeReport) -> Checked {
    let sse = r.transport == Transport::Sse;
    let path = if sse && ctx.s.mcp_path == "/mcp" { "/sse".to_string() } else { ctx.s.mcp_path.clone() };
    Checked { era: r.server.era, sse, path }
}

/// Keeps the front's new requests off the tasks the swarm replaced, while an update rolls and
/// after: their slots drain (sessions go on) until their address leaves the front, then are made
/// ready again for the tasks the DNS puts there later.
pub(crate) struct Drainer {
    addrs: std::collections::BTreeMap<String, String>,
    drained: Vec<String>,
    last: Option<std::time::Instant>,
}

impl Drainer {
    pub(crate) fn new() -> Drainer {
        Drainer { addrs: Default::default(), drained: Vec::new(), last: None }
    }

    /// Drain the slots of replaced tasks; at most every 2 s (each look is a few engine calls).
    /// Says whether it could look (every running task's address known, the front's view read).
    pub(crate) fn step(
        &mut self,
        ctx: &Ctx,
        swarm: &Swarm,
        tasks: &[crate::target::swarm::parse::Task],
    ) -> bool {
        if self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
            return false;
        }
        self.last = Some(std::time::Instant::now());
        // Every task the swarm wants, starting ones too (a new task may be in the DNS already).
        let mut live = Vec::new();
        for t in tasks.iter().filter(|t| t.wanted()) {
            if !self.addrs.contains_key(&t.id)
                && let Some(a) = swarm.task_address(&t.id)
            {
                self.addrs.insert(t.id.clone(), a);
            }
            live.extend(self.addrs.get(&t.id).cloned());
        }
        // Until every wanted task's address is known, a slot may be a new one not looked up yet.
        let running: Vec<&String> =
            tasks.iter().filter(|t| t.wanted() && t.running()).map(|t| &t.id).collect();
        if running.is_empty() || running.iter().any(|id| !self.addrs.contains_key(*id)) {
            return false;
        }
        let Some(drained) = crate::target::swarm::front::drain_replaced(&ctx.engine, &swarm.names, &live)
        else {
            return false;
        };
        for slot in drained {
            if !self.drained.contains(&slot) {
                self.drained.push(slot);
            }
        }
        true
    }

    /// After the roll: drain what is left, wait until the drained addresses are gone from the
    /// front (its hold is the drain timeout), and make their slots ready again.
    pub(crate) fn finish(mut self, ctx: &Ctx, swarm: &Swarm) -> anyhow::Result<()> {
        // A task just started may not have its address yet: look until it does.
        let t0 = std::time::Instant::now();
        loop {
            crate::process::check_interrupt()?;
            self.last = None;
            let tasks = swarm.tasks(&swarm.names.service)?;
            if self.step(ctx, swarm, &tasks) || t0.elapsed() > Duration::from_secs(15) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if self.drained.is_empty() {
            return Ok(());
        }
        let spinner = ctx.ui.spinner(&format!(
            "The replaced tasks drain: their sessions go on for up to {}...",
            crate::ui::secs(ctx.s.front.drain_timeout)
        ));
        let deadline = std::time::Instant::now() + ctx.s.front.drain_timeout + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            crate::process::check_interrupt()?;
            let view = crate::target::swarm::front::servers(&ctx.engine, &swarm.names).unwrap_or_default();
            if !view.iter().any(|v| v.drain && self.drained.contains(&v.slot)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        spinner.finish();
        crate::target::swarm::front::undrain(&ctx.engine, &swarm.names, &self.drained);
        Ok(())
    }
}

/// The endpoint lines every successful start/update/restart/rollback ends with.
pub(crate) fn print_endpoint(ctx: &Ctx, addr: &str, port: u16, transport: Transport) {
    let ui = &ctx.ui;
    let url = endpoint(ctx, addr, port, transport).url();
    ui.blank();
    ui.result_info(&format!("MCP endpoint: {url}"));
    ui.blank();
    ui.info("Add to Claude Code:");
    ui.command_line(&crate::flows::claude_add_line(
        &ctx.s.name,
        transport,
        &url,
        ctx.token_env(true).as_deref(),
    ));
    ctx.print_front_hints(true);
    if ctx.s.front.token.is_none() {
        ui.info(&format!(
            "The front listens on every address of the manager's node ({addr}): set a token (token-env or \
             token-file) before it faces other networks"
        ));
    }
    ui.blank();
}
