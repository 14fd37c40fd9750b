//! Which machine the engine is on, and how to reach it.
//!
//! `Local` is this machine: engine calls go as they are, ports are checked by bind() and probes
//! go to 127.0.0.1. `Ssh` is another machine reached with the system `ssh` and the user's own
//! config (keys, `~/.ssh/config`, known_hosts):
//!
//! * `ssh.rs`: the one ssh master connection per host (ControlMaster, persisting a while after
//!   the last command) and what goes through it: the engine's socket forwarded here, each port a
//!   probe needs forwarded to 127.0.0.1 here (a probe never reaches this machine's port of the
//!   same number), files the front mounts written there through ssh's stdin (never argv);
//! * `ports.rs`: which ports are free there.
//!
//! Which socket is the engine's, and which host the engine's own settings name, is the engine's
//! business (`engine/endpoint.rs`): this room knows machines, not engines.

mod ports;
mod ssh;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use ports::{PortChecker, parse_proc_net_tcp};
pub(crate) use ssh::{EngineSocket, Facts, Remote, SshSpec};

/// Where the engine asked for is, before connecting: the flag or setting, else what the engine's
/// own environment says (DOCKER_HOST, a docker context, CONTAINER_HOST / CONTAINER_CONNECTION).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostSpec {
    Local,
    Ssh(SshSpec),
}

impl HostSpec {
    pub(crate) fn key(&self) -> Option<String> {
        match self {
            HostSpec::Local => None,
            HostSpec::Ssh(s) => Some(s.key()),
        }
    }
}

/// The host, connected: what engine calls, probes and the front go through.
#[derive(Debug, Clone, Default)]
pub(crate) enum Host {
    #[default]
    Local,
    Ssh(Arc<Remote>),
}

impl Host {
    pub(crate) fn connect(
        spec: &HostSpec,
        engine: &EngineSocket<'_>,
        ssh_config: Option<&Path>,
        runtime_dir: &Path,
    ) -> anyhow::Result<Host> {
        match spec {
            HostSpec::Local => Ok(Host::Local),
            HostSpec::Ssh(s) => Ok(Host::Ssh(Arc::new(Remote::connect(s, engine, ssh_config, runtime_dir)?))),
        }
    }

    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Host::Local)
    }

    /// `ssh://user@host` for messages, or None here.
    pub(crate) fn label(&self) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.spec().label()),
        }
    }

    /// The name clients on other machines use for it: the ssh config's HostName, else the host
    /// (None for this machine).
    pub(crate) fn remote_name(&self) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.facts().hostname.clone()),
        }
    }

    /// The ssh command line that forwards `port` on that host's loopback to this machine.
    pub(crate) fn forward_hint(&self, port: u16) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.spec().ssh_line(&format!("-N -L {port}:127.0.0.1:{port}"))),
        }
    }

    /// The engine's socket there, forwarded to this machine (None here: the client's own).
    pub(crate) fn engine_socket(&self) -> Option<&Path> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(r.engine_socket()),
        }
    }

    /// Where to connect, from here, to `addr:port` as seen on that host: the address itself
    /// here; a forward through the ssh master to 127.0.0.1 from another host (None here).
    pub(crate) fn reach(&self, addr: IpAddr, port: u16) -> anyhow::Result<Option<SocketAddr>> {
        match self {
            Host::Local => Ok(None),
            Host::Ssh(r) => {
                let addr = if addr.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { addr };
                Ok(Some(SocketAddr::from((Ipv4Addr::LOCALHOST, r.forward(addr, port)?))))
            }
        }
    }

    /// Whether `port` can be published on `addr` there: bind() here; on another host its
    /// listening sockets, read once per call of this function.
    pub(crate) fn port_checker(&self) -> anyhow::Result<PortChecker> {
        match self {
            Host::Local => Ok(PortChecker::Local),
            Host::Ssh(r) => Ok(PortChecker::Listening(r.listening()?)),
        }
    }

    /// The directory the engine mounts for `local` (a directory of mcpctl's here): `local`
    /// itself here; on another host `rel` under that user's home, where `push_dir` puts the files.
    pub(crate) fn mount_dir(&self, local: &Path, rel: &str) -> String {
        match self {
            Host::Local => local.display().to_string(),
            Host::Ssh(r) => {
                format!("{}/{}", r.facts().home.trim_end_matches('/'), rel.trim_start_matches('/'))
            }
        }
    }

    /// `UID:GID` of the user the engine's files belong to there (the front runs as it).
    pub(crate) fn owner(&self) -> Option<String> {
        match self {
            Host::Local => None,
            Host::Ssh(r) => Some(format!("{}:{}", r.facts().uid, r.facts().gid)),
        }
    }

    /// Make `remote` hold exactly the files of `local` (0700 directory, 0600 files), writing
    /// their content through ssh's stdin. Nothing to do here: the engine mounts `local` itself.
    pub(crate) fn push_dir(&self, local: &Path, remote: &str) -> anyhow::Result<()> {
        match self {
            Host::Local => Ok(()),
            Host::Ssh(r) => r.push_dir(local, remote),
        }
    }

    /// A unix socket there (the front's runtime API), reachable here at `local`.
    pub(crate) fn reach_socket(&self, remote: &str, local: &Path) -> anyhow::Result<()> {
        match self {
            Host::Local => Ok(()),
            Host::Ssh(r) => r.forward_socket(remote, local),
        }
    }
}

/// The directory for ssh masters: $XDG_RUNTIME_DIR/mcpctl, else /tmp/mcpctl-UID (unix socket
/// paths must stay under 108 bytes, so not under a deep home).
pub(crate) fn runtime_dir(home: &Path) -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("mcpctl");
    }
    let uid = std::fs::metadata(home).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    PathBuf::from(format!("/tmp/mcpctl-{uid}"))
}
