//! Which machine the engine is on, and how to reach it.
//!
//! `Local` is this machine: engine calls go as they are, ports are checked by bind() and probes
//! go to 127.0.0.1. `Ssh` is another machine reached with the system `ssh` and the user's own
//! config (keys, `~/.ssh/config`, known_hosts): mcpctl keeps one ssh master connection per host
//! (ControlMaster, persisting a while after the last command) and forwards through it
//!
//! * the engine's socket there to a unix socket here, which the engine client is pointed at
//!   (`docker -H unix://…`, `podman --remote --url unix://…`): one shared connection, so an engine
//!   call costs what it costs locally plus a round trip, not an ssh login;
//! * each port a probe needs (a published port on that host's loopback, a container's address on
//!   its network) to a port on 127.0.0.1 here: a probe never reaches this machine's port of the
//!   same number;
//! * files the front mounts, written there through ssh's stdin (never argv).
//!
//! The master outlives mcpctl (ControlPersist) so the next command finds it; its socket and the
//! forwarded engine socket live in a 0700 directory of the user's.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::error::{Explained, usage};
use crate::probe::Target;
use crate::process::Cmd;

/// How long the ssh master stays up after the last command that used it.
const PERSIST: &str = "15m";
const CONNECT_TIMEOUT_S: u32 = 10;

/// `ssh://[user@]host[:port][/socket]`, as `--host`, DOCKER_HOST and CONTAINER_HOST spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on that host (podman's URLs name it; docker's never do).
    pub socket: Option<String>,
    /// A key file to use (podman connections name one).
    pub identity: Option<PathBuf>,
}

impl SshSpec {
    pub fn parse(url: &str) -> Result<SshSpec, String> {
        let rest = url.strip_prefix("ssh://").ok_or_else(|| format!("{url:?} is not an ssh:// URL"))?;
        let (authority, socket) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(rest[i..].to_string()).filter(|s| s.len() > 1)),
            None => (rest, None),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                let port =
                    p.parse::<u16>().map_err(|_| format!("{url:?}: the port {p:?} is not a number"))?;
                (h.trim_start_matches('[').trim_end_matches(']').to_string(), Some(port))
            }
            _ => (hostport.to_string(), None),
        };
        let bad = |s: &str| s.is_empty() || s.starts_with('-') || s.chars().any(|c| c.is_whitespace());
        if bad(&host) || user.as_deref().is_some_and(bad) {
            return Err(format!("{url:?} names no usable host: write ssh://user@host[:port]"));
        }
        Ok(SshSpec { user, host, port, socket, identity: None })
    }

    /// `user@host`, as ssh takes it.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// How to run ssh to it by hand, for messages: `ssh [-p PORT] user@host`.
    pub fn ssh_line(&self, extra: &str) -> String {
        let port = self.port.map(|p| format!(" -p {p}")).unwrap_or_default();
        let extra = if extra.is_empty() { String::new() } else { format!(" {extra}") };
        format!("ssh{port}{extra} {}", self.destination())
    }

    /// `ssh://user@host[:port]`, for messages.
    pub fn label(&self) -> String {
        match self.port {
            Some(p) => format!("ssh://{}:{p}", self.destination()),
            None => format!("ssh://{}", self.destination()),
        }
    }

    /// A file-name-safe form: the state file of a project deployed there is `docker@KEY.json`.
    pub fn key(&self) -> String {
        let mut k = self.destination();
        if let Some(p) = self.port {
            k.push_str(&format!("_{p}"));
        }
        k.chars().map(|c| if c.is_ascii_alphanumeric() || "@.-_".contains(c) { c } else { '_' }).collect()
    }
}

/// Where the engine asked for is, before connecting: the flag or setting, else what the engine's
/// own environment says (DOCKER_HOST, a docker context, CONTAINER_HOST / CONTAINER_CONNECTION).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Local,
    Ssh(SshSpec),
}

impl HostSpec {
    pub fn key(&self) -> Option<String> {
        match self {
            HostSpec::Local => None,
            HostSpec::Ssh(s) => Some(s.key()),
        }
    }
}

/// What the environment the engine client reads says, gathered by the caller.
#[derive(Debug, Default, Clone)]
pub struct EngineEnv {
    /// The home the engine clients' config files are under (contexts, connections).
    pub home: PathBuf,
    pub docker_host: Option<String>,
    /// The endpoint of the docker context in use (DOCKER_CONTEXT or `currentContext`).
    pub docker_context_host: Option<(String, String)>,
    pub container_host: Option<String>,
    /// A podman connection named by CONTAINER_CONNECTION: its URI and identity.
    pub podman_connection: Option<(String, String, Option<PathBuf>)>,
}

impl EngineEnv {
    /// Read what docker and podman clients would read: their variables and config files.
    pub fn read(home: &Path) -> EngineEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        EngineEnv {
            home: home.to_path_buf(),
            docker_host: var("DOCKER_HOST"),
            docker_context_host: docker_context(home, var("DOCKER_CONTEXT")),
            container_host: var("CONTAINER_HOST"),
            podman_connection: var("CONTAINER_CONNECTION").map(|name| podman_connection(home, &name)),
        }
    }
}

/// The docker context in use and its endpoint, from the client's own files: DOCKER_CONTEXT, else
/// `currentContext` in ~/.docker/config.json; its meta.json sits under the sha256 of its name.
fn docker_context(home: &Path, env: Option<String>) -> Option<(String, String)> {
    let config_dir =
        std::env::var_os("DOCKER_CONFIG").map(PathBuf::from).unwrap_or_else(|| home.join(".docker"));
    let name = env.or_else(|| {
        let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.get("currentContext")?.as_str().map(str::to_string)
    })?;
    if name == "default" {
        return None;
    }
    use sha2::Digest;
    let hash = format!("{:x}", sha2::Sha256::digest(name.as_bytes()));
    let meta = config_dir.join("contexts").join("meta").join(hash).join("meta.json");
    let host = std::fs::read_to_string(meta)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.pointer("/Endpoints/docker/Host")?.as_str().map(str::to_string))
        // A context that cannot be read: say which, rather than silently going local.
        .unwrap_or_default();
    Some((name, host))
}

/// A podman connection from containers.conf (`[engine.service_destinations.NAME]`) or podman's
/// own podman-connections.json.
fn podman_connection(home: &Path, name: &str) -> (String, String, Option<PathBuf>) {
    let conf = home.join(".config/containers/containers.conf");
    let found =
        std::fs::read_to_string(conf).ok().and_then(|t| t.parse::<toml::Table>().ok()).and_then(|t| {
            let d = t.get("engine")?.get("service_destinations")?.get(name)?;
            let uri = d.get("uri")?.as_str()?.to_string();
            let identity = d.get("identity").and_then(|i| i.as_str()).map(PathBuf::from);
            Some((uri, identity))
        });
    match found {
        Some((uri, identity)) => (name.to_string(), uri, identity),
        None => (name.to_string(), String::new(), None),
    }
}

/// The host to use: `requested` (--host, MCPCTL_HOST, `host` in the settings) wins; else the
/// engine client's own environment, for the engine that runs. A TCP endpoint on another machine
/// is refused: mcpctl must reach the ports the server publishes there, which needs ssh.
pub fn resolve(requested: Option<&str>, kind: EngineKind, env: &EngineEnv) -> anyhow::Result<HostSpec> {
    if let Some(r) = requested.map(str::trim).filter(|r| !r.is_empty()) {
        if r == "local" || r == "localhost" {
            return Ok(HostSpec::Local);
        }
        if !r.contains("://") {
            // A name: the engine's own name for a host (a docker context, a podman connection).
            let named = match kind {
                EngineKind::Docker => docker_context(&env.home, Some(r.to_string()))
                    .filter(|(_, h)| !h.is_empty())
                    .map(|(_, h)| (h, None)),
                EngineKind::Podman => Some(podman_connection(&env.home, r))
                    .filter(|(_, u, _)| !u.is_empty())
                    .map(|(_, u, i)| (u, i)),
                EngineKind::Nerdctl => None,
            };
            if let Some((url, identity)) = named {
                return from_engine_url(&format!("--host {r}"), &url).map(|h| match h {
                    HostSpec::Ssh(mut s) => {
                        s.identity = identity;
                        HostSpec::Ssh(s)
                    }
                    local => local,
                });
            }
        }
        return SshSpec::parse(r).map(HostSpec::Ssh).map_err(|e| {
            usage(format!(
                "--host {e}: give ssh://user@host[:port], the name of a {} (or `local` for this machine)",
                if kind == EngineKind::Podman { "podman connection" } else { "docker context" }
            ))
        });
    }
    let from = |what: &str, url: &str, identity: Option<PathBuf>| -> anyhow::Result<HostSpec> {
        from_engine_url(what, url).map(|h| match h {
            HostSpec::Ssh(mut s) => {
                s.identity = identity;
                HostSpec::Ssh(s)
            }
            local => local,
        })
    };
    match kind {
        EngineKind::Docker => {
            if let Some(h) = &env.docker_host {
                return from("DOCKER_HOST", h, None);
            }
            if let Some((name, h)) = &env.docker_context_host {
                if h.is_empty() {
                    return Err(usage(format!(
                        "the docker context {name:?} is in use but its endpoint cannot be read: check \
                         `docker context inspect {name}`, or pick one with --host or `docker context use default`"
                    )));
                }
                return from(&format!("the docker context {name:?}"), h, None);
            }
        }
        EngineKind::Podman => {
            if let Some(h) = &env.container_host {
                return from("CONTAINER_HOST", h, None);
            }
            if let Some((name, uri, identity)) = &env.podman_connection {
                if uri.is_empty() {
                    return Err(usage(format!(
                        "CONTAINER_CONNECTION names {name:?}, which `podman system connection list` \
                         does not have: add it, or pass --host ssh://user@host"
                    )));
                }
                return from(&format!("the podman connection {name:?}"), uri, identity.clone());
            }
        }
        EngineKind::Nerdctl => {}
    }
    Ok(HostSpec::Local)
}

fn from_engine_url(what: &str, url: &str) -> anyhow::Result<HostSpec> {
    if url.starts_with("unix://") || url.starts_with("npipe://") {
        // Another socket on this machine: the engine client is pointed there already.
        return Ok(HostSpec::Local);
    }
    if url.starts_with("ssh://") {
        return SshSpec::parse(url).map(HostSpec::Ssh).map_err(|e| usage(format!("{what}: {e}")));
    }
    if let Some(rest) = url.strip_prefix("tcp://") {
        let host = rest.split([':', '/']).next().unwrap_or("");
        if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()) {
            return Ok(HostSpec::Local);
        }
        return Err(usage(format!(
            "{what} is {url}: an engine on another machine over TCP; mcpctl must also reach the \
             ports the server publishes there, which needs ssh: use --host ssh://user@{host}"
        )));
    }
    Err(usage(format!("{what} is {url:?}, which mcpctl cannot use: give ssh://user@host or unix:///path")))
}

/// The host, connected: what engine calls, probes and the front go through.
#[derive(Debug, Clone, Default)]
pub enum Host {
    #[default]
    Local,
    Ssh(Arc<Remote>),
}

impl Host {
    pub fn connect(
        spec: &HostSpec,
        kind: EngineKind,
        ssh_config: Option<&Path>,
        runtime_dir: &Path,
    ) -> anyhow::Result<Host> {
        match spec {
            HostSpec::Local => Ok(Host::Local),
            HostSpec::Ssh(s) => {
                if kind == EngineKind::Nerdctl {
                    return Err(usage(format!(
                        "--host {}: nerdctl has no remote mode (it talks to containerd on this machine); \
                         use docker or podman for another host",
                        s.label()
                    )));
                }
                Ok(Host::Ssh(Arc::new(Remote::connect(s, kind, ssh_config, runtime_dir)?)))
            }
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Host::Local)
    }

    /// `ssh://user@host` for messages, or None here.
    pub fn label(&self) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.spec.label()),
        }
    }

    /// The name clients on other machines use for it: the ssh config's HostName, else the host.
    pub fn public_name(&self) -> String {
        match self {
            Host::Local => "localhost".into(),
            Host::Ssh(r) => r.info.hostname.clone(),
        }
    }

    /// The ssh command line that forwards `port` on that host's loopback to this machine.
    pub fn forward_hint(&self, port: u16) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.spec.ssh_line(&format!("-N -L {port}:127.0.0.1:{port}"))),
        }
    }

    /// The host name in the URLs clients use for a server published on `publish`: localhost for
    /// this machine or that host's loopback, else the host's name (or the address given).
    pub fn endpoint_name(&self, publish: IpAddr) -> String {
        match self {
            Host::Ssh(r) if publish.is_unspecified() => r.info.hostname.clone(),
            Host::Ssh(_) if !publish.is_loopback() => publish.to_string(),
            _ => "localhost".into(),
        }
    }

    /// Global engine flags that send every call to this host.
    pub fn engine_args(&self, kind: EngineKind) -> Vec<String> {
        match self {
            Host::Local => Vec::new(),
            Host::Ssh(r) => kind.remote_socket_args(&r.engine_socket.display().to_string()),
        }
    }

    /// `t`, reachable from here: on another host its address and port become a forward through
    /// the ssh master, keeping the Host header clients send there.
    pub fn reach(&self, t: &Target) -> anyhow::Result<Target> {
        match self {
            Host::Local => Ok(t.clone()),
            Host::Ssh(r) => {
                let mut out = t.clone();
                let addr = if t.addr.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { t.addr };
                out.port = r.forward(addr, t.port)?;
                out.addr = IpAddr::V4(Ipv4Addr::LOCALHOST);
                if out.host.is_none() {
                    out.host = Some(format!("localhost:{}", t.port));
                }
                Ok(out)
            }
        }
    }

    /// Whether `port` can be published on `addr` there: bind() here; on another host its
    /// listening sockets, read once per call of this function.
    pub fn port_checker(&self) -> anyhow::Result<PortChecker> {
        match self {
            Host::Local => Ok(PortChecker::Local),
            Host::Ssh(r) => Ok(PortChecker::Listening(r.listening()?)),
        }
    }

    /// The directory the engine mounts for `local` (a directory of mcpctl's here): `local`
    /// itself here; on another host `rel` under that user's home, where `push_dir` puts the files.
    pub fn mount_dir(&self, local: &Path, rel: &str) -> String {
        match self {
            Host::Local => local.display().to_string(),
            Host::Ssh(r) => format!("{}/{}", r.info.home.trim_end_matches('/'), rel.trim_start_matches('/')),
        }
    }

    /// `UID:GID` of the user the engine's files belong to there (the front runs as it).
    pub fn owner(&self) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(format!("{}:{}", r.info.uid, r.info.gid)),
        }
    }

    /// Make `remote` hold exactly the files of `local` (0700 directory, 0600 files), writing
    /// their content through ssh's stdin. Nothing to do here: the engine mounts `local` itself.
    pub fn push_dir(&self, local: &Path, remote: &str) -> anyhow::Result<()> {
        match self {
            Host::Local => Ok(()),
            Host::Ssh(r) => r.push_dir(local, remote),
        }
    }

    /// A unix socket there (the front's runtime API), reachable here at `local`.
    pub fn reach_socket(&self, remote: &str, local: &Path) -> anyhow::Result<()> {
        match self {
            Host::Local => Ok(()),
            Host::Ssh(r) => r.forward_socket(remote, local),
        }
    }
}

pub enum PortChecker {
    Local,
    Listening(BTreeSet<(IpAddr, u16)>),
}

impl PortChecker {
    pub fn is_free(&self, addr: IpAddr, port: u16) -> bool {
        match self {
            PortChecker::Local => crate::ports::is_free(addr, port),
            PortChecker::Listening(l) => !l
                .iter()
                .any(|(a, p)| *p == port && (a.is_unspecified() || addr.is_unspecified() || *a == addr)),
        }
    }
}

/// What mcpctl learned about the host when it connected (kept beside the master).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Info {
    home: String,
    uid: String,
    gid: String,
    /// The engine's socket there.
    socket: String,
    hostname: String,
}

#[derive(Debug)]
pub struct Remote {
    spec: SshSpec,
    ssh: PathBuf,
    config: Option<PathBuf>,
    /// The master's directory: `m` (its control socket), `engine.sock`, `info.json`.
    dir: PathBuf,
    engine_socket: PathBuf,
    info: Info,
    /// Port forwards this process opened (cancelled when it ends): (remote addr, port) → local.
    forwards: Mutex<Vec<((IpAddr, u16), u16)>>,
}

/// Why ssh could not connect, from its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshFailure {
    HostKey,
    Auth,
    Unreachable,
}

impl SshFailure {
    pub fn of(stderr: &str) -> SshFailure {
        let s = stderr.to_ascii_lowercase();
        if s.contains("host key verification failed")
            || s.contains("host key is known")
            || s.contains("remote host identification has changed")
            || s.contains("no matching host key")
        {
            SshFailure::HostKey
        } else if s.contains("permission denied") || s.contains("too many authentication failures") {
            SshFailure::Auth
        } else {
            SshFailure::Unreachable
        }
    }
}

impl Remote {
    fn connect(
        spec: &SshSpec,
        kind: EngineKind,
        config: Option<&Path>,
        runtime_dir: &Path,
    ) -> anyhow::Result<Remote> {
        let ssh = which::which("ssh").map_err(|_| {
            usage(format!(
                "--host {}: the ssh client is not installed; install it (Debian: apt-get install openssh-client)",
                spec.label()
            ))
        })?;
        if let Some(c) = config.filter(|c| !c.is_file()) {
            return Err(usage(format!(
                "ssh config {}: no such file; fix ssh-config or MCPCTL_SSH_CONFIG",
                c.display()
            )));
        }
        let dir = runtime_dir.join(short_hash(&format!(
            "{}|{:?}|{:?}|{}",
            spec.label(),
            config,
            spec.identity,
            kind.name()
        )));
        std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| anyhow!("cannot make {} private: {e}", dir.display()))?;
        let engine_socket = dir.join("engine.sock");
        let mut r = Remote {
            spec: spec.clone(),
            ssh,
            config: config.map(Path::to_path_buf),
            engine_socket,
            info: Info::default(),
            dir,
            forwards: Mutex::new(Vec::new()),
        };
        if let Some(info) = r.set_up_before() {
            r.info = info;
            return Ok(r);
        }
        // One mcpctl at a time sets the master up; the others then find it ready.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(r.dir.join("connect.lock"))
            .map_err(|e| anyhow!("cannot open {}: {e}", r.dir.join("connect.lock").display()))?;
        lock.lock().map_err(|e| anyhow!("cannot lock {}: {e}", r.dir.join("connect.lock").display()))?;
        if let Some(info) = r.set_up_before() {
            r.info = info;
            return Ok(r);
        }
        r.start_master()?;
        r.info = r.learn(kind)?;
        r.forward_socket(&r.info.socket, &r.engine_socket)?;
        let _ = std::fs::write(r.dir.join("info.json"), serde_json::to_string(&r.info).unwrap_or_default());
        Ok(r)
    }

    /// What an earlier command learned, when its master and engine forward still answer:
    /// nothing to start.
    fn set_up_before(&self) -> Option<Info> {
        std::os::unix::net::UnixStream::connect(&self.engine_socket).ok()?;
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("info.json")).ok()?).ok()
    }

    /// `ssh [-F config] [-p port] [-i key] -o ControlPath=… DEST`, then `rest`.
    fn ssh_cmd(&self, rest: &[&str]) -> Cmd {
        let mut c = Cmd::new(&self.ssh);
        if let Some(f) = &self.config {
            c = c.arg("-F").arg(f);
        }
        if let Some(p) = self.spec.port {
            c = c.arg("-p").arg(p.to_string());
        }
        if let Some(i) = &self.spec.identity {
            c = c.arg("-i").arg(i);
        }
        c = c.arg("-o").arg(format!("ControlPath={}", self.dir.join("m").display()));
        c = c.arg("-o").arg(format!("ConnectTimeout={CONNECT_TIMEOUT_S}"));
        // Without a terminal nothing can answer a prompt: fail instead of hanging.
        if !console::user_attended_stderr() {
            c = c.arg("-o").arg("BatchMode=yes");
        }
        c.args(rest.iter().copied()).arg(self.spec.destination())
    }

    /// `ssh … -O CMD … DEST`: a request to the running master.
    fn control(&self, args: &[&str]) -> anyhow::Result<()> {
        self.ssh_cmd(args).checked().map(|_| ()).map_err(|e| anyhow!("{}", ssh_reason(&e)))
    }

    /// A command there, through the master, with `stdin` as its input.
    fn exec(&self, command: &str, stdin: Option<Vec<u8>>) -> anyhow::Result<String> {
        let mut c = self.ssh_cmd(&[]).arg("--").arg(command);
        if let Some(b) = stdin {
            c = c.stdin_bytes(b);
        }
        c.checked()
            .map(|o| o.stdout)
            .map_err(|e| anyhow!("`{command}` on {} failed: {}", self.spec.label(), ssh_reason(&e)))
    }

    fn start_master(&self) -> anyhow::Result<()> {
        if self.control(&["-O", "check"]).is_ok() {
            return Ok(());
        }
        // A control socket left by a master that died would make the new one a plain connection.
        let _ = std::fs::remove_file(self.dir.join("m"));
        let out = self
            .ssh_cmd(&[
                "-M",
                "-o",
                &format!("ControlPersist={PERSIST}"),
                "-o",
                "ServerAliveInterval=15",
                "-f",
                "-N",
            ])
            .output()?;
        if out.success() {
            return Ok(());
        }
        let line = crate::process::last_meaningful_line(&out.stderr);
        let (label, dest) = (self.spec.label(), self.spec.ssh_line(""));
        let dest = dest.trim_start_matches("ssh ");
        let e = match SshFailure::of(&out.stderr) {
            SshFailure::HostKey => Explained::new(format!(
                "the host key of {label} is not known here, or has changed ({line}): mcpctl never \
                 accepts a host key it cannot check, since whoever answered would get your engine"
            ))
            .fix(format!(
                "compare the key's fingerprint with the host's (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub \
                 there), then add it: `ssh {dest}` once and answer yes"
            )),
            SshFailure::Auth => Explained::new(format!("{label} refused the ssh login: {line}")).fix(format!(
                "mcpctl logs in with your ssh keys and ~/.ssh/config as they are: add your public key to \
                 the host's ~/.ssh/authorized_keys or name the key (IdentityFile) in ~/.ssh/config; check with `ssh {dest}`"
            )),
            SshFailure::Unreachable => Explained::new(format!("cannot reach {label} over ssh: {line}")).fix(format!(
                "check the address and port, and that sshd runs there; check with `ssh {dest}`"
            )),
        };
        Err(anyhow::Error::new(e))
    }

    /// The user's home, ids and the engine's socket there, in one round trip.
    fn learn(&self, kind: EngineKind) -> anyhow::Result<Info> {
        let out = self.exec(
            "printf '%s\\n' \"$HOME\" \"$(id -u)\" \"$(id -g)\" \"${DOCKER_HOST:-}\" \"${CONTAINER_HOST:-}\" \"${XDG_RUNTIME_DIR:-}\"",
            None,
        )?;
        let l: Vec<&str> = out.lines().collect();
        let get = |i: usize| l.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        let (home, uid, gid, docker_host, container_host, xdg) =
            (get(0), get(1), get(2), get(3), get(4), get(5));
        let socket = match (&self.spec.socket, kind) {
            (Some(s), _) => s.clone(),
            (None, EngineKind::Podman) => {
                container_host.strip_prefix("unix://").map(str::to_string).unwrap_or_else(|| {
                    if uid == "0" || xdg.is_empty() {
                        "/run/podman/podman.sock".into()
                    } else {
                        format!("{xdg}/podman/podman.sock")
                    }
                })
            }
            (None, _) => docker_host
                .strip_prefix("unix://")
                .map(str::to_string)
                .unwrap_or_else(|| "/var/run/docker.sock".into()),
        };
        let check = format!("test -S {}", crate::process::shell_quote(&socket));
        if self.exec(&check, None).is_err() {
            let start = match kind {
                EngineKind::Podman => {
                    "start its service there (systemctl enable --now podman.socket, or `podman system service --time=0`)"
                }
                _ => "start it there (systemctl start docker)",
            };
            return Err(anyhow::Error::new(
                Explained::new(format!(
                    "{} on {} is not running: no socket at {socket} there",
                    kind.name(),
                    self.spec.label()
                ))
                .fix(format!(
                    "{start}, or name its socket in the URL: --host ssh://{}/path/to/socket",
                    self.spec.destination()
                )),
            ));
        }
        Ok(Info { home, uid, gid, socket, hostname: self.hostname() })
    }

    /// `ssh -G` resolves the config's HostName without connecting.
    fn hostname(&self) -> String {
        let mut c = Cmd::new(&self.ssh);
        if let Some(f) = &self.config {
            c = c.arg("-F").arg(f);
        }
        let out = c.arg("-G").arg(self.spec.destination()).output().ok();
        out.and_then(|o| {
            o.stdout.lines().find_map(|l| l.strip_prefix("hostname ").map(|h| h.trim().to_string()))
        })
        .unwrap_or_else(|| self.spec.host.clone())
    }

    /// A local port on 127.0.0.1 forwarded to `addr:port` as seen from that host.
    fn forward(&self, addr: IpAddr, port: u16) -> anyhow::Result<u16> {
        if let Some((_, l)) = self.forwards.lock().unwrap().iter().find(|(k, _)| *k == (addr, port)) {
            return Ok(*l);
        }
        let target = match addr {
            IpAddr::V6(a) => format!("[{a}]"),
            IpAddr::V4(a) => a.to_string(),
        };
        let mut last = String::new();
        // The port is free when chosen; another process may take it before ssh binds: try again.
        for _ in 0..5 {
            let local =
                TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).map(|a| a.port())?;
            let spec = format!("127.0.0.1:{local}:{target}:{port}");
            match self.control(&["-O", "forward", "-L", &spec]) {
                Ok(()) => {
                    self.forwards.lock().unwrap().push(((addr, port), local));
                    return Ok(local);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(anyhow!("cannot forward {target}:{port} on {} to this machine: {last}", self.spec.label()))
    }

    fn forward_socket(&self, remote: &str, local: &Path) -> anyhow::Result<()> {
        if std::os::unix::net::UnixStream::connect(local).is_ok() {
            return Ok(());
        }
        let spec = format!("{}:{remote}", local.display());
        // A forward whose local socket file was removed is still the master's: cancel it first.
        let _ = self.control(&["-O", "cancel", "-L", &spec]);
        let _ = std::fs::remove_file(local);
        self.control(&["-O", "forward", "-L", &spec])
            .map_err(|e| anyhow!("cannot forward the socket {remote} of {}: {e}", self.spec.label()))
    }

    /// The listening TCP sockets there, from the kernel's own tables.
    fn listening(&self) -> anyhow::Result<BTreeSet<(IpAddr, u16)>> {
        let out = self.exec("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null", None)?;
        Ok(parse_proc_net_tcp(&out))
    }

    fn push_dir(&self, local: &Path, remote: &str) -> anyhow::Result<()> {
        let q = crate::process::shell_quote;
        let dir = remote.trim_end_matches('/');
        let mut files = Vec::new();
        let entries =
            std::fs::read_dir(local).map_err(|e| anyhow!("cannot read {}: {e}", local.display()))?;
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        // The directory stays (a running front has it mounted); files that are gone here go there.
        let keep: String = files.iter().map(|f| format!(" ! -name {}", q(f))).collect();
        self.exec(
            &format!(
                "umask 077 && mkdir -p {d} && find {d} -mindepth 1 -maxdepth 1 -type f{keep} -delete",
                d = q(dir)
            ),
            None,
        )?;
        for name in files {
            let path = local.join(&name);
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            // Whole or not at all: HAProxy may read the directory at any reload.
            let (tmp, dest) = (q(&format!("{dir}/.{name}.new")), q(&format!("{dir}/{name}")));
            self.exec(&format!("umask 077 && cat > {tmp} && mv -f {tmp} {dest}"), Some(bytes))?;
        }
        Ok(())
    }
}

impl Drop for Remote {
    /// Port forwards belong to this command; the master and the engine socket stay for the next.
    fn drop(&mut self) {
        let forwards = std::mem::take(&mut *self.forwards.lock().unwrap());
        for ((addr, port), local) in forwards {
            let target = match addr {
                IpAddr::V6(a) => format!("[{a}]"),
                IpAddr::V4(a) => a.to_string(),
            };
            let _ = self.control(&["-O", "cancel", "-L", &format!("127.0.0.1:{local}:{target}:{port}")]);
        }
    }
}

/// ssh's own last line, without the shell line around it.
fn ssh_reason(e: &anyhow::Error) -> String {
    match e.downcast_ref::<crate::process::ProcessError>() {
        Some(pe) => pe.reason(),
        None => e.to_string(),
    }
}

fn short_hash(s: &str) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(s.as_bytes()))[..12].to_string()
}

/// The LISTEN sockets (state 0A) of /proc/net/tcp and tcp6: `sl local_address rem_address st …`
/// with addresses as hex, IPv4 in host byte order (little-endian here).
pub fn parse_proc_net_tcp(text: &str) -> BTreeSet<(IpAddr, u16)> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f[3] != "0A" {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else { continue };
        let Ok(port) = u16::from_str_radix(p, 16) else { continue };
        let addr = match a.len() {
            8 => u32::from_str_radix(a, 16).ok().map(|v| IpAddr::V4(Ipv4Addr::from(v.swap_bytes()))),
            32 => {
                let mut b = [0u8; 16];
                let ok = (0..4).all(|i| {
                    u32::from_str_radix(&a[i * 8..i * 8 + 8], 16)
                        .map(|w| b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes()))
                        .is_ok()
                });
                ok.then(|| {
                    let v6 = std::net::Ipv6Addr::from(b);
                    v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6))
                })
            }
            _ => None,
        };
        if let Some(addr) = addr {
            out.insert((addr, port));
        }
    }
    out
}

/// The directory for ssh masters: $XDG_RUNTIME_DIR/mcpctl, else /tmp/mcpctl-UID (unix socket
/// paths must stay under 108 bytes, so not under a deep home).
pub fn runtime_dir(home: &Path) -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("mcpctl");
    }
    let uid = std::fs::metadata(home).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    PathBuf::from(format!("/tmp/mcpctl-{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls() {
        let s = SshSpec::parse("ssh://deploy@prod.example.org:2222").unwrap();
        assert_eq!(
            (s.user.as_deref(), s.host.as_str(), s.port, s.socket.as_deref()),
            (Some("deploy"), "prod.example.org", Some(2222), None)
        );
        assert_eq!(s.destination(), "deploy@prod.example.org");
        assert_eq!(s.label(), "ssh://deploy@prod.example.org:2222");
        assert_eq!(s.key(), "deploy@prod.example.org_2222");
        // podman's connection URIs name the socket.
        let p = SshSpec::parse("ssh://root@10.0.0.2:22/run/podman/podman.sock").unwrap();
        assert_eq!(p.socket.as_deref(), Some("/run/podman/podman.sock"));
        assert_eq!(SshSpec::parse("ssh://box").unwrap().destination(), "box");
        assert!(SshSpec::parse("ssh://").is_err());
        assert!(SshSpec::parse("ssh://-oProxyCommand=x").is_err());
        assert!(SshSpec::parse("ssh://a:b").is_err());
        assert!(SshSpec::parse("tcp://a").is_err());
    }

    #[test]
    fn host_from_the_engine_environment() {
        use EngineKind::*;
        let none = EngineEnv::default();
        assert_eq!(resolve(None, Docker, &none).unwrap(), HostSpec::Local);
        let ssh = |h: &str| HostSpec::Ssh(SshSpec::parse(h).unwrap());
        // The flag wins over the environment.
        let env = EngineEnv { docker_host: Some("ssh://a@one".into()), ..Default::default() };
        assert_eq!(resolve(Some("ssh://b@two"), Docker, &env).unwrap(), ssh("ssh://b@two"));
        assert_eq!(resolve(None, Docker, &env).unwrap(), ssh("ssh://a@one"));
        assert_eq!(resolve(Some("local"), Docker, &env).unwrap(), HostSpec::Local);
        // Each engine reads its own variables.
        assert_eq!(resolve(None, Podman, &env).unwrap(), HostSpec::Local);
        let penv = EngineEnv {
            container_host: Some("ssh://root@b:22/run/podman/podman.sock".into()),
            ..Default::default()
        };
        assert_eq!(resolve(None, Podman, &penv).unwrap(), ssh("ssh://root@b:22/run/podman/podman.sock"));
        // Another local socket stays local; TCP to another machine is refused in one line.
        let unix =
            EngineEnv { docker_host: Some("unix:///run/user/1000/docker.sock".into()), ..Default::default() };
        assert_eq!(resolve(None, Docker, &unix).unwrap(), HostSpec::Local);
        let lo = EngineEnv { docker_host: Some("tcp://127.0.0.1:2375".into()), ..Default::default() };
        assert_eq!(resolve(None, Docker, &lo).unwrap(), HostSpec::Local);
        let tcp = EngineEnv { docker_host: Some("tcp://10.1.2.3:2376".into()), ..Default::default() };
        let e = resolve(None, Docker, &tcp).unwrap_err().to_string();
        assert!(e.contains("ssh://user@10.1.2.3"), "{e}");
        let ctx = EngineEnv {
            docker_context_host: Some(("prod".into(), "ssh://ops@prod".into())),
            ..Default::default()
        };
        assert_eq!(resolve(None, Docker, &ctx).unwrap(), ssh("ssh://ops@prod"));
        let broken =
            EngineEnv { docker_context_host: Some(("gone".into(), String::new())), ..Default::default() };
        assert!(resolve(None, Docker, &broken).unwrap_err().to_string().contains("\"gone\""));
        let conn = EngineEnv {
            podman_connection: Some((
                "srv".into(),
                "ssh://core@srv:22/run/podman/podman.sock".into(),
                Some("/k".into()),
            )),
            ..Default::default()
        };
        match resolve(None, Podman, &conn).unwrap() {
            HostSpec::Ssh(s) => assert_eq!(s.identity.as_deref(), Some(Path::new("/k"))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_host_by_the_engine_s_own_name_for_it() {
        let home = tempfile::tempdir().unwrap();
        use sha2::Digest;
        let hash = format!("{:x}", sha2::Sha256::digest(b"prod"));
        let meta = home.path().join(".docker/contexts/meta").join(hash);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"prod","Endpoints":{"docker":{"Host":"ssh://ops@prod.example"}}}"#,
        )
        .unwrap();
        let conf = home.path().join(".config/containers");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("containers.conf"),
            "[engine]\nactive_service = \"srv\"\n[engine.service_destinations.srv]\nuri = \"ssh://core@srv:2222/run/podman/podman.sock\"\nidentity = \"/home/u/.ssh/id\"\n",
        )
        .unwrap();
        let env = EngineEnv { home: home.path().to_path_buf(), ..Default::default() };
        let HostSpec::Ssh(d) = resolve(Some("prod"), EngineKind::Docker, &env).unwrap() else { panic!() };
        assert_eq!(d.destination(), "ops@prod.example");
        let HostSpec::Ssh(p) = resolve(Some("srv"), EngineKind::Podman, &env).unwrap() else { panic!() };
        assert_eq!((p.port, p.socket.as_deref()), (Some(2222), Some("/run/podman/podman.sock")));
        assert_eq!(p.identity.as_deref(), Some(Path::new("/home/u/.ssh/id")));
        // CONTAINER_CONNECTION names one the same way.
        let env2 =
            EngineEnv { podman_connection: Some(podman_connection(home.path(), "srv")), ..env.clone() };
        assert!(matches!(resolve(None, EngineKind::Podman, &env2).unwrap(), HostSpec::Ssh(_)));
        let e = resolve(Some("nope"), EngineKind::Docker, &env).unwrap_err().to_string();
        assert!(e.contains("the name of a docker context"), "{e}");
    }

    #[test]
    fn ssh_failures_from_its_own_words() {
        assert_eq!(SshFailure::of("Host key verification failed.\r\n"), SshFailure::HostKey);
        assert_eq!(
            SshFailure::of(
                "No ED25519 host key is known for 10.231.5.2 and you have requested strict checking.\nHost key verification failed."
            ),
            SshFailure::HostKey
        );
        assert_eq!(SshFailure::of("root@10.231.5.2: Permission denied (publickey)."), SshFailure::Auth);
        assert_eq!(
            SshFailure::of("ssh: connect to host 10.231.99.2 port 22: No route to host"),
            SshFailure::Unreachable
        );
    }

    #[test]
    fn listening_sockets_from_proc() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:4A38 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 0100007F:4A39 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n\
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n\
   1: 0000000000000000FFFF00000202E70A:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0\n";
        let l = parse_proc_net_tcp(text);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(l.contains(&(lo, 19000)));
        assert!(l.contains(&("0.0.0.0".parse().unwrap(), 22)));
        assert!(!l.iter().any(|(_, p)| *p == 19001), "an established socket is not a listener");
        assert!(l.contains(&("::".parse().unwrap(), 8080)));
        assert!(l.contains(&("10.231.2.2".parse().unwrap(), 80)));
        let c = PortChecker::Listening(l);
        assert!(!c.is_free(lo, 19000));
        assert!(!c.is_free(lo, 22), "a wildcard listener blocks every address");
        assert!(!c.is_free("0.0.0.0".parse().unwrap(), 19000));
        assert!(c.is_free(lo, 19002));
    }
}
