//! Where the engine is: the host `--host` names (an ssh URL, a docker context or a podman
//! connection by name), else what the engine client's own environment says (DOCKER_HOST, the
//! docker context in use, CONTAINER_HOST / CONTAINER_CONNECTION); and, on another host, which
//! socket there is the engine's. The machine itself is reached through `host`.

use crate::error::Explained;
use crate::host::{EngineSocket, Facts, Host, HostSpec, SshSpec};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::EngineKind;

/// What the environment the engine client reads says, gathered by the caller.
#[derive(Debug, Default, Clone)]
pub(crate) struct EngineEnv {
    /// The home the engine clients' config files are under (contexts, connections).
    pub(crate) home: PathBuf,
    pub(crate) docker_host: Option<String>,
    /// The endpoint of the docker context in use (DOCKER_CONTEXT or `currentContext`).
    pub(crate) docker_context_host: Option<(String, String)>,
    pub(crate) container_host: Option<String>,
    /// A podman connection named by CONTAINER_CONNECTION: its URI and identity.
    pub(crate) podman_connection: Option<(String, String, Option<PathBuf>)>,
}

impl EngineEnv {
    /// Read what docker and podman clients would read: their variables and config files.
    pub(crate) fn read(home: &Path) -> EngineEnv {
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
pub(crate) fn resolve(
    requested: Option<&str>,
    kind: EngineKind,
    env: &EngineEnv,
) -> anyhow::Result<HostSpec> {
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
            let named = if kind == EngineKind::Podman { "podman connection" } else { "docker context" };
            Explained::usage(format!("--host {e}"))
                .fix(format!(
                    "give ssh://user@host[:port], the name of a {named} (or `local` for this machine)"
                ))
                .into()
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
                    return Err(Explained::usage(format!(
                        "the docker context {name:?} is in use but its endpoint cannot be read"
                    ))
                    .fix(format!(
                        "check `docker context inspect {name}`, or pick one with --host or `docker context use default`"
                    ))
                    .into());
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
                    return Err(Explained::usage(format!(
                        "CONTAINER_CONNECTION names {name:?}, which `podman system connection list` does not have"
                    ))
                    .fix("add it, or pass --host ssh://user@host")
                    .into());
                }
                return from(&format!("the podman connection {name:?}"), uri, identity.clone());
            }
        }
        EngineKind::Nerdctl => {}
    }
    Ok(HostSpec::Local)
}

/// The host, connected, with the engine's socket there forwarded here.
pub(crate) fn connect(
    kind: EngineKind,
    spec: &HostSpec,
    ssh_config: Option<&Path>,
    runtime_dir: &Path,
) -> anyhow::Result<Host> {
    if let HostSpec::Ssh(s) = spec
        && kind == EngineKind::Nerdctl
    {
        return Err(Explained::usage(format!("--host {}", s.label()))
            .why("nerdctl has no remote mode (it talks to containerd on this machine)")
            .fix("use docker or podman for another host")
            .into());
    }
    let (label, destination) = match spec {
        HostSpec::Ssh(s) => (s.label(), s.destination()),
        HostSpec::Local => Default::default(),
    };
    let path = |f: &Facts| kind.remote_socket(f);
    let missing = |socket: &str| super::not_running_there(kind, &label, &destination, socket);
    let socket = EngineSocket { engine: kind.name(), path: &path, missing: &missing };
    Host::connect(spec, &socket, ssh_config, runtime_dir)
}

fn from_engine_url(what: &str, url: &str) -> anyhow::Result<HostSpec> {
    if url.starts_with("unix://") || url.starts_with("npipe://") {
        // Another socket on this machine: the engine client is pointed there already.
        return Ok(HostSpec::Local);
    }
    if url.starts_with("ssh://") {
        return SshSpec::parse(url).map(HostSpec::Ssh).map_err(|e| Explained::usage(what).why(e).into());
    }
    if let Some(rest) = url.strip_prefix("tcp://") {
        let host = rest.split([':', '/']).next().unwrap_or("");
        if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()) {
            return Ok(HostSpec::Local);
        }
        return Err(Explained::usage(format!("{what} is {url}"))
            .why("an engine on another machine over TCP; mcpctl must also reach the ports the server publishes there, which needs ssh")
            .fix(format!("use --host ssh://user@{host}"))
            .into());
    }
    Err(Explained::usage(format!("{what} is {url:?}, which mcpctl cannot use"))
        .fix("give ssh://user@host or unix:///path")
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
