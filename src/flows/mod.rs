//! One file per command; each reads top-down: look up, build, run or swap, wait, report. The
//! context they share is here.

use std::time::Duration;

use crate::cli::OnEngine;
use crate::config::Settings;
use crate::container::{ImagePlan, Lookup};
use crate::deploy::Deploy;
use crate::engine::Engine;
use crate::lock::ProjectLock;
use crate::probe::Transport;
use crate::state::{self, State};
use crate::ui::{Ui, secs};

pub(crate) mod client;
pub(crate) mod down;
pub(crate) mod init;
pub(crate) mod list;
pub(crate) mod logs;
pub(crate) mod publish;
pub(crate) mod restart;
pub(crate) mod rollback;
pub(crate) mod start;
pub(crate) mod stats;
pub(crate) mod status;
pub(crate) mod stop;
pub(crate) mod swarm;
pub(crate) mod update;

/// What a changing command holds once opened: the project's lock (until this is dropped), the
/// saved state and our container.
pub(crate) struct Opened {
    _lock: ProjectLock,
    pub(crate) state: State,
    pub(crate) found: Lookup,
}

pub(crate) struct Ctx {
    pub(crate) s: Settings,
    pub(crate) engine: Engine,
    pub(crate) ui: Ui,
    /// Wait for another mcpctl holding the project lock (false with --no-wait).
    pub(crate) wait_for_lock: bool,
}

impl Ctx {
    /// The project, and the host when it is not this machine (for titles).
    pub(crate) fn project_on_host(&self) -> String {
        match self.engine.host.label() {
            Some(h) => format!("{} on {h}", self.s.name),
            None => self.s.name.clone(),
        }
    }

    /// One mcpctl at a time changes a project (see lock.rs).
    pub(crate) fn lock(&self, what: &str) -> anyhow::Result<crate::lock::ProjectLock> {
        crate::lock::acquire(&self.s.paths.lock_file, what, self.wait_for_lock, &self.ui)
    }

    /// `<image>:previous`: the image the last update replaced, for `mcpctl rollback`.
    pub(crate) fn previous_tag(&self) -> String {
        let image = &self.s.image;
        let repo = match image.rsplit_once(':') {
            Some((r, tag)) if !tag.contains('/') => r,
            _ => image.as_str(),
        };
        format!("{repo}:previous")
    }

    /// Remember what serves: the port (`scripts/docker.py`'s key), the transport the probe found (for
    /// `mcpctl client`) and the image id (for the record).
    pub(crate) fn save_deploy(
        &self,
        port: u16,
        image_id: Option<&str>,
        transport: Transport,
        behind: bool,
    ) -> anyhow::Result<()> {
        let mut st = state::load(&self.s.paths.state_file).state;
        st.port = Some(port);
        st.transport = Some(transport);
        st.run_digest = Some(self.run_digest(port, behind, self.replicas_of(behind, st.replicas)));
        st.front = behind.then(|| self.s.front.name.clone());
        st.replicas = self.replicas_of(behind, st.replicas);
        if let Some(id) = image_id.filter(|i| !i.is_empty()) {
            st.image_id = Some(id.to_string());
        }
        state::save(&self.s.paths.state_file, &st)
    }

    /// The opening of every command that changes what serves: the project's lock, the saved
    /// state (behind a front, the front's settings checked before anything is touched: a token
    /// asked for but missing is one line), and our container, after what an interrupted command
    /// left is finished or cleaned up. A same-named container mcpctl did not create stops it here.
    pub(crate) fn open(&self, what: &str) -> anyhow::Result<Opened> {
        let lock = self.lock(what)?;
        let state = self.load_state_checked()?;
        let found = self.deploy(&state).recover()?;
        self.refuse_foreign(&found)?;
        Ok(Opened { _lock: lock, state, found })
    }

    /// [`Ctx::open`], with what a build would read and what the engine has looked at beside the
    /// lookup: independent engine calls, side by side.
    pub(crate) fn open_to_build(&self, what: &str) -> anyhow::Result<(Opened, anyhow::Result<ImagePlan>)> {
        let lock = self.lock(what)?;
        let state = self.load_state_checked()?;
        let (found, plan) = std::thread::scope(|sc| {
            let plan = sc.spawn(|| crate::container::image_plan(&self.engine, &self.s));
            let found = self.deploy(&state).recover();
            (found, plan.join().unwrap_or_else(|_| Err(anyhow::anyhow!("looking at the image failed"))))
        });
        let found = found?;
        self.refuse_foreign(&found)?;
        Ok((Opened { _lock: lock, state, found }, plan))
    }

    /// The opening of stop and down: the front's settings are not needed to leave it, and a
    /// foreign container is theirs to refuse (after this project left the front).
    pub(crate) fn open_to_remove(&self, what: &str) -> anyhow::Result<Opened> {
        let lock = self.lock(what)?;
        let state = self.load_state();
        let found = self.deploy(&state).recover()?;
        Ok(Opened { _lock: lock, state, found })
    }

    fn refuse_foreign(&self, found: &Lookup) -> anyhow::Result<()> {
        match found {
            Lookup::Foreign(c) => Err(crate::container::foreign_error(&self.engine, &self.s, c)),
            _ => Ok(()),
        }
    }

    /// How what serves is replaced, decided from the state and the settings.
    pub(crate) fn deploy<'a>(&'a self, state: &'a State) -> Deploy<'a> {
        Deploy::new(&self.engine, &self.s, &self.ui, state)
    }

    /// Whether this command serves through the front: as asked, else as deployed.
    pub(crate) fn behind(&self, state: &State) -> bool {
        self.s.front_wanted.unwrap_or(state.front.is_some())
    }

    /// The saved state, and when the project runs behind a front, that front's settings and
    /// image checked before anything is touched (a token asked for but missing is one line, exit
    /// 2; an image that cannot be pulled is one line, and the project stays as it was).
    fn load_state_checked(&self) -> anyhow::Result<State> {
        let state = self.load_state();
        if self.behind(&state) {
            let front = self.front();
            front.check_settings()?;
            front.check_image(&self.ui)?;
        }
        Ok(state)
    }

    /// How the containers on `port` are run with these settings (see `digest::run_digest`); a
    /// count of replicas other than one is part of it (changing it replaces them).
    pub(crate) fn run_digest(&self, port: u16, behind: bool, replicas: Option<u32>) -> String {
        let mut o = crate::engine::RunOptions::new(&self.s, port);
        o.network = behind.then(|| self.s.front.name.clone());
        let mut args = self.engine.run_args(&self.s, &o);
        if let Some(n) = replicas.filter(|n| *n > 1) {
            args.push(format!("replicas={n}"));
        }
        crate::digest::run_digest(&args, &crate::engine::run_env(&self.s, port))
    }

    /// How many containers serve: as asked, else as deployed, behind the front; one without it.
    pub(crate) fn replicas_of(&self, behind: bool, deployed: Option<u32>) -> Option<u32> {
        behind.then(|| self.s.replicas.or(deployed).unwrap_or(1))
    }

    /// The saved state; an unusable file is a warning, never a failure.
    pub(crate) fn load_state(&self) -> State {
        let loaded = state::load(&self.s.paths.state_file);
        if let Some(w) = loaded.warning {
            self.ui.warning(&w);
        }
        loaded.state
    }

    pub(crate) fn front(&self) -> crate::front::Front<'_> {
        crate::front::Front::new(&self.engine, &self.s)
    }

    /// The transport the last deploy found (for the endpoint when nothing is probed).
    pub(crate) fn saved_transport(&self, state: &State) -> Transport {
        state.transport.unwrap_or(Transport::StreamableHttp)
    }

    /// The port clients use now: the one our container publishes (what their URL points at);
    /// for a container that is gone, the saved one, so the URL survives stop and start.
    pub(crate) fn serving_port(
        &self,
        c: Option<&crate::engine::ContainerInfo>,
        state: &State,
    ) -> Option<u16> {
        self.deploy(state).serving_port(c)
    }

    /// The URL clients use (`Settings::endpoint`, config/endpoint.rs).
    pub(crate) fn endpoint(&self, port: u16, transport: Transport, behind: bool) -> String {
        self.s.endpoint(port, transport, behind).url()
    }

    /// The variable clients read the token from, when the front asks for one: token-env, or for
    /// a token-file a name made from the project's (`ECHO_SERVER_TOKEN`).
    pub(crate) fn token_env(&self, behind: bool) -> Option<String> {
        if !behind || self.s.front.token.is_none() {
            return None;
        }
        Some(self.s.token_env.clone().unwrap_or_else(|| token_var(&self.s.name)))
    }

    /// What a client needs besides the URL: where the token is, when it is in a file rather than
    /// a variable; the certificate to trust, when it is mcpctl's own.
    pub(crate) fn print_front_hints(&self, behind: bool) {
        if let (Some(var), Some(file), None) =
            (self.token_env(behind), &self.s.front.token_file, &self.s.token_env)
        {
            self.ui.info(&format!(
                "The front wants the bearer token: export {var}=\"$(cat {})\" where the client runs",
                file.display()
            ));
        }
        if let Some(r) = behind.then(|| self.front().oauth_route()).flatten() {
            self.ui.info(&crate::front::oauth::client_hint(&r));
        }
        if behind && self.s.front.tls == crate::config::FrontTls::SelfSigned {
            let cert = crate::front::files::Dirs::of(&self.s.paths.front_dir).generated_cert();
            self.ui.info(&format!(
                "The certificate is mcpctl's own: trust {} (Node clients: NODE_EXTRA_CA_CERTS={})",
                cert.display(),
                cert.display()
            ));
        }
    }

    /// The endpoint lines every successful start/restart/update ends with.
    pub(crate) fn print_endpoint(&self, port: u16, transport: Transport, behind: bool) {
        let endpoint = self.endpoint(port, transport, behind);
        self.ui.blank();
        self.ui.result_info(&format!("MCP endpoint: {endpoint}"));
        self.ui.blank();
        self.ui.info("Add to Claude Code:");
        self.ui.command_line(&claude_add_line(
            &self.s.name,
            transport,
            &endpoint,
            self.token_env(behind).as_deref(),
        ));
        self.print_front_hints(behind);
        if let (Some(label), Some(hint)) = (self.engine.host.label(), self.engine.host.forward_hint(port))
            && self.s.publish_address.is_loopback()
        {
            self.ui.info(&format!(
                "It listens on the loopback of {label} only: from here, `{hint}`; for clients \
                 elsewhere publish on 0.0.0.0 (publish-address) behind the front with a token"
            ));
        }
        self.ui.blank();
    }

    pub(crate) fn print_timings(&self, phases: &[(&str, Duration)]) {
        let parts: Vec<String> = phases.iter().map(|(n, d)| format!("{n} {}", secs(*d))).collect();
        self.ui.info(&format!("Took {}", parts.join(", ")));
    }
}

/// `echo-server` → `ECHO_SERVER_TOKEN`.
pub(crate) fn token_var(name: &str) -> String {
    let mut v: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if v.starts_with(|c: char| c.is_ascii_digit()) {
        v.insert(0, '_');
    }
    v + "_TOKEN"
}

/// `claude mcp add NAME --transport http|sse URL [--header "Authorization: Bearer ${VAR}"]`
pub(crate) fn claude_add_line(
    name: &str,
    transport: Transport,
    url: &str,
    token_env: Option<&str>,
) -> String {
    let mut line = format!("claude mcp add {name} --transport {} {url}", transport.client_kind());
    if let Some(var) = token_env {
        line.push_str(&format!(" --header \"Authorization: Bearer ${{{var}}}\""));
    }
    line
}

pub(crate) fn run(cmd: &OnEngine, ctx: &Ctx) -> anyhow::Result<()> {
    // On a swarm the cluster replaces tasks itself: its flows ask it and watch (flows/swarm).
    if ctx.s.target == crate::config::TargetKind::Swarm {
        return swarm::run(cmd, ctx);
    }
    match cmd {
        OnEngine::Start { rebuild } => start::start(ctx, *rebuild),
        OnEngine::Stop => stop::stop(ctx),
        OnEngine::Restart => restart::restart(ctx),
        OnEngine::Update { rebuild } => update::update(ctx, *rebuild),
        OnEngine::Status { json } => status::status(ctx, *json),
        OnEngine::Logs { tail, no_follow, front } => logs::logs(ctx, *tail, !*no_follow, *front),
        OnEngine::List { json } => list::list(ctx, *json),
        OnEngine::Stats { json } => stats::stats(ctx, *json),
        OnEngine::Rollback => rollback::rollback(ctx),
        OnEngine::Down { volumes, yes } => down::down(ctx, *volumes, *yes),
        OnEngine::Publish(args) => publish::publish(ctx, args),
        OnEngine::Client { write, token_env, url } => {
            client::client(ctx, *write, token_env.as_deref(), url.as_deref())
        }
    }
}
