//! The ssh master connection to another host: one per host (ControlMaster, persisting a while
//! after the last command so the next command finds it), the sockets and ports forwarded through
//! it, commands run there and files pushed there through ssh's stdin. Its control socket and the
//! forwarded engine socket live in a 0700 directory of the user's.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use crate::error::Explained;
use crate::process::Cmd;

/// How long the ssh master stays up after the last command that used it.
const PERSIST: &str = "15m";
const CONNECT_TIMEOUT_S: u32 = 10;

/// `ssh://[user@]host[:port][/socket]`, as `--host`, DOCKER_HOST and CONTAINER_HOST spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshSpec {
    pub(crate) user: Option<String>,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    /// The engine's socket on that host (podman's URLs name it; docker's never do).
    pub(crate) socket: Option<String>,
    /// A key file to use (podman connections name one).
    pub(crate) identity: Option<PathBuf>,
}

impl SshSpec {
    pub(crate) fn parse(url: &str) -> Result<SshSpec, String> {
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
    pub(crate) fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// How to run ssh to it by hand, for messages: `ssh [-p PORT] user@host`.
    pub(crate) fn ssh_line(&self, extra: &str) -> String {
        let port = self.port.map(|p| format!(" -p {p}")).unwrap_or_default();
        let extra = if extra.is_empty() { String::new() } else { format!(" {extra}") };
        format!("ssh{port}{extra} {}", self.destination())
    }

    /// `ssh://user@host[:port]`, for messages.
    pub(crate) fn label(&self) -> String {
        match self.port {
            Some(p) => format!("ssh://{}:{p}", self.destination()),
            None => format!("ssh://{}", self.destination()),
        }
    }

    /// A file-name-safe form: the state file of a project deployed there is `docker@KEY.json`.
    pub(crate) fn key(&self) -> String {
        let mut k = self.destination();
        if let Some(p) = self.port {
            k.push_str(&format!("_{p}"));
        }
        k.chars().map(|c| if c.is_ascii_alphanumeric() || "@.-_".contains(c) { c } else { '_' }).collect()
    }
}

/// What the host says of itself when mcpctl connects (kept beside the master): the user's
/// home and ids, and the variables an engine's socket is found by.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Facts {
    pub(crate) home: String,
    pub(crate) uid: String,
    pub(crate) gid: String,
    pub(crate) docker_host: String,
    pub(crate) container_host: String,
    pub(crate) xdg_runtime_dir: String,
    /// The name clients on other machines use: the ssh config's HostName, else the host.
    pub(crate) hostname: String,
}

/// What the engine says about its socket on a host, asked while the master is set up.
pub(crate) struct EngineSocket<'a> {
    /// The engine's name: one master directory per host and engine.
    pub(crate) engine: &'a str,
    /// The socket there, from what the host says of itself.
    pub(crate) path: &'a dyn Fn(&Facts) -> String,
    /// The error when no socket is there (the engine is not running).
    pub(crate) missing: &'a dyn Fn(&str) -> anyhow::Error,
}

#[derive(Debug)]
pub(crate) struct Remote {
    spec: SshSpec,
    ssh: PathBuf,
    config: Option<PathBuf>,
    /// The master's directory: `m` (its control socket), `engine.sock`, `info.json`.
    dir: PathBuf,
    engine_socket: PathBuf,
    info: Facts,
    /// Port forwards this process opened (cancelled when it ends): (remote addr, port) → local.
    forwards: Mutex<Vec<((IpAddr, u16), u16)>>,
}

/// Why ssh could not connect, from its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SshFailure {
    HostKey,
    Auth,
    Unreachable,
}

impl SshFailure {
    pub(crate) fn of(stderr: &str) -> SshFailure {
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
    /// The master up (or found up from an earlier command), the engine's socket there forwarded.
    pub(crate) fn connect(
        spec: &SshSpec,
        engine: &EngineSocket<'_>,
        config: Option<&Path>,
        runtime_dir: &Path,
    ) -> anyhow::Result<Remote> {
        let ssh = which::which("ssh").map_err(|_| {
            Explained::usage(format!("--host {}", spec.label()))
                .why("the ssh client is not installed")
                .fix("install it (Debian: apt-get install openssh-client)")
        })?;
        if let Some(c) = config.filter(|c| !c.is_file()) {
            return Err(Explained::usage(format!("ssh config {}", c.display()))
                .why("no such file")
                .fix("fix ssh-config or MCPCTL_SSH_CONFIG")
                .into());
        }
        let dir = runtime_dir.join(short_hash(&format!(
            "{}|{:?}|{:?}|{}",
            spec.label(),
            config,
            spec.identity,
            engine.engine
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
            info: Facts::default(),
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
        r.info = r.learn()?;
        let socket = spec.socket.clone().unwrap_or_else(|| (engine.path)(&r.info));
        if r.exec(&format!("test -S {}", crate::process::shell_quote(&socket)), None).is_err() {
            return Err((engine.missing)(&socket));
        }
        r.forward_socket(&socket, &r.engine_socket)?;
        let _ = std::fs::write(r.dir.join("info.json"), serde_json::to_string(&r.info).unwrap_or_default());
        Ok(r)
    }

    /// What an earlier command learned, when its master and engine forward still answer:
    /// nothing to start.
    fn set_up_before(&self) -> Option<Facts> {
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
                "the host key of {label} is not known here, or has changed ({line})"
            ))
            .why("mcpctl never accepts a host key it cannot check, since whoever answered would get your engine")
            .fix(format!(
                "compare the key's fingerprint with the host's (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub \
                 there), then add it: `ssh {dest}` once and answer yes"
            )),
            SshFailure::Auth => Explained::new(format!("{label} refused the ssh login")).why(line.clone()).fix(format!(
                "mcpctl logs in with your ssh keys and ~/.ssh/config as they are: add your public key to \
                 the host's ~/.ssh/authorized_keys or name the key (IdentityFile) in ~/.ssh/config; check with `ssh {dest}`"
            )),
            SshFailure::Unreachable => Explained::new(format!("cannot reach {label} over ssh")).why(line.clone()).fix(format!(
                "check the address and port, and that sshd runs there; check with `ssh {dest}`"
            )),
        };
        Err(anyhow::Error::new(e))
    }

    /// What the host says of itself, in one round trip.
    fn learn(&self) -> anyhow::Result<Facts> {
        let out = self.exec(
            "printf '%s\\n' \"$HOME\" \"$(id -u)\" \"$(id -g)\" \"${DOCKER_HOST:-}\" \"${CONTAINER_HOST:-}\" \"${XDG_RUNTIME_DIR:-}\"",
            None,
        )?;
        let l: Vec<&str> = out.lines().collect();
        let get = |i: usize| l.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        Ok(Facts {
            home: get(0),
            uid: get(1),
            gid: get(2),
            docker_host: get(3),
            container_host: get(4),
            xdg_runtime_dir: get(5),
            hostname: self.hostname(),
        })
    }

    pub(crate) fn spec(&self) -> &SshSpec {
        &self.spec
    }

    pub(crate) fn facts(&self) -> &Facts {
        &self.info
    }

    /// The engine's socket there, forwarded to this path here.
    pub(crate) fn engine_socket(&self) -> &Path {
        &self.engine_socket
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
    pub(crate) fn forward(&self, addr: IpAddr, port: u16) -> anyhow::Result<u16> {
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

    pub(crate) fn forward_socket(&self, remote: &str, local: &Path) -> anyhow::Result<()> {
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
    pub(crate) fn listening(&self) -> anyhow::Result<BTreeSet<(IpAddr, u16)>> {
        let out = self.exec("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null", None)?;
        Ok(super::parse_proc_net_tcp(&out))
    }

    pub(crate) fn push_dir(&self, local: &Path, remote: &str) -> anyhow::Result<()> {
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
}
