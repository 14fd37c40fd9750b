//! Settings, resolved once, with one precedence: flags, then MCPCTL_* environment (both read by
//! clap), then `[tool.mcpctl]` in pyproject.toml or `mcpctl.toml`, then defaults derived from the
//! project (`[project].name`). Nothing reads flags, variables or files after this.
//!
//! Resolved in three steps, each value made once and never changed after:
//!
//! 1. `resolve` (and `resolve_for_init`): the `Project`, everything the files and flags say,
//!    checked before any engine call (a bad value is one line, no engine touched);
//! 2. `EngineHost::resolve`: what finds the engine and its host (engine, host, ssh config);
//! 3. `Settings::resolve`: the project on the host main connected to, given what that host says
//!    (`HostFacts`): its per-host paths and the names clients reach it by.
//!
//! * here: `Project`, `Settings` flows read, the `Overrides` flags give, and the resolvers;
//! * `paths.rs`: where the project's files are on this machine (state, lock, front, cache);
//! * `endpoint.rs`: the URL clients use;
//! * `file.rs`: reading pyproject.toml / mcpctl.toml, and their errors;
//! * `resolvers.rs`: one small resolver per concern (names, ports, volumes, env, build, timeouts,
//!   transport);
//! * `values.rs`: parsing and checking single values (ports, names, image references).
//!
//! The defaults are the original `scripts/docker.py`'s constants (see the README), so a project
//! that used it keeps its container name, volumes, state file and port.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

mod endpoint;
mod file;
pub(crate) mod oauth;
mod paths;
mod resolvers;
mod values;

pub(crate) use endpoint::{Endpoint, host_name};
pub use file::{FileConfig, ProjectFiles, read_project};
pub(crate) use paths::{Paths, cache_dir};
pub use values::normalize_name;
pub(crate) use values::{
    apt_package_error, parse_apt_package, parse_base_port, parse_env_arg, parse_key_value, parse_port,
    valid_apt_package, valid_image_ref,
};

pub(crate) const DEFAULT_BASE_PORT: u16 = 19000;
pub(crate) const PORT_TRIES: u16 = 100;
pub(crate) const DEFAULT_CONTAINER_PORT: u16 = 3001;
pub(crate) const DEFAULT_RESTART: &str = "unless-stopped";
pub(crate) const DEFAULT_READY_TIMEOUT: f64 = 60.0;
pub(crate) const DEFAULT_STOP_TIMEOUT: u32 = 10;
pub(crate) const DEFAULT_SWAP_STOP_TIMEOUT: u32 = 2;
pub(crate) const LABEL_PROJECT: &str = "io.mcpctl.project";
pub(crate) const LABEL_PORT: &str = "io.mcpctl.port";
pub(crate) const LABEL_DIR: &str = "io.mcpctl.project-dir";
/// On fronts and their networks: the front's name.
pub(crate) const LABEL_FRONT: &str = "io.mcpctl.front";
/// On images: the digest of everything the build read (digest.rs).
pub(crate) const LABEL_DIGEST: &str = "io.mcpctl.digest";

/// What flags and their MCPCTL_* variables asked for (clap reads both). Precedence: flag >
/// environment > config file > defaults derived from the project.
#[derive(Args, Debug, Clone, Default)]
pub struct Overrides {
    /// Engine to drive: docker, podman, nerdctl or a path to one [default: first found]
    #[arg(long, global = true, env = "MCPCTL_ENGINE", value_name = "ENGINE")]
    pub engine: Option<String>,

    /// Project name (container and image are NAME-mcp) [default: [project].name]
    #[arg(long, global = true, env = "MCPCTL_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// Image name [default: NAME-mcp]
    #[arg(long, global = true, env = "MCPCTL_IMAGE", value_name = "IMAGE")]
    pub image: Option<String>,

    /// First host port to try [default: 19000]
    #[arg(long, global = true, env = "MCPCTL_BASE_PORT", value_parser = parse_base_port, value_name = "PORT")]
    pub base_port: Option<u16>,

    /// Port the server listens on inside the container [default: 3001]
    #[arg(long, global = true, env = "MCPCTL_CONTAINER_PORT", value_parser = parse_port, value_name = "PORT")]
    pub container_port: Option<u16>,

    /// Host address to publish on [default: 127.0.0.1; 0.0.0.0 opens it to the network]
    #[arg(long, global = true, env = "MCPCTL_PUBLISH_ADDRESS", value_name = "ADDR")]
    pub publish_address: Option<String>,

    /// Extra environment for the container (repeatable); KEY alone takes its value from mcpctl's
    /// own environment, so a secret stays out of your shell history
    #[arg(short = 'e', long = "env", global = true, value_parser = parse_env_arg, value_name = "KEY[=VALUE]")]
    pub env: Vec<(String, Option<String>)>,

    /// File of KEY=VALUE lines passed to the engine's --env-file
    #[arg(long, global = true, env = "MCPCTL_ENV_FILE", value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Restart policy: no, always, unless-stopped, on-failure[:N] [default: unless-stopped]
    #[arg(long, global = true, env = "MCPCTL_RESTART", value_name = "POLICY")]
    pub restart: Option<String>,

    /// Dockerfile, relative to the project [default: Dockerfile]
    #[arg(long, global = true, env = "MCPCTL_DOCKERFILE", value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,

    /// Build context, relative to the project [default: .]
    #[arg(long, global = true, env = "MCPCTL_CONTEXT", value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// Build argument (repeatable)
    #[arg(long = "build-arg", global = true, value_parser = parse_key_value, value_name = "KEY=VALUE")]
    pub build_args: Vec<(String, String)>,

    /// Build secret from a file, passed as `--secret id=ID,src=FILE` (repeatable)
    #[arg(long = "secret", global = true, value_parser = parse_key_value, value_name = "ID=FILE")]
    pub build_secrets: Vec<(String, String)>,

    /// Seconds to wait for the server to answer MCP [default: 60]
    #[arg(long, global = true, env = "MCPCTL_READY_TIMEOUT", value_name = "SECONDS")]
    pub ready_timeout: Option<f64>,

    /// MCP transport: streamable-http, sse or auto [default: auto]
    #[arg(long, global = true, env = "MCPCTL_TRANSPORT", value_name = "TRANSPORT")]
    pub transport: Option<String>,

    /// Serve through the front: a reverse proxy on the project's port, for updates no client
    /// notices, a bearer token and HTTPS [default: as deployed, else off]
    #[arg(long, global = true, conflicts_with = "no_front")]
    pub front: bool,

    /// Serve without the front (the container publishes the port itself)
    #[arg(long, global = true)]
    pub no_front: bool,

    /// Share one front with other projects, routed by path (/NAME/mcp) [default: a front of its own]
    #[arg(long, global = true, env = "MCPCTL_FRONT_GROUP", value_name = "GROUP")]
    pub front_group: Option<String>,

    /// The front's image [default: haproxy:2.6]
    #[arg(long, global = true, env = "MCPCTL_FRONT_IMAGE", value_name = "IMAGE")]
    pub front_image: Option<String>,

    /// HTTPS at the front: off, or self-signed (a certificate for localhost, made once) [default: off, or on with --tls-cert]
    #[arg(long, global = true, env = "MCPCTL_TLS", value_name = "MODE")]
    pub tls: Option<String>,

    /// The front's certificate (PEM), with --tls-key
    #[arg(long, global = true, env = "MCPCTL_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The front's private key (PEM)
    #[arg(long, global = true, env = "MCPCTL_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Seconds sessions opened before an update keep reaching the old container [default: 30]
    #[arg(long, global = true, env = "MCPCTL_DRAIN_TIMEOUT", value_name = "SECONDS")]
    pub drain_timeout: Option<f64>,

    /// Run N containers of the server behind the front, which balances requests over them
    /// (2025 sessions stay on theirs) [default: as deployed, else 1]
    #[arg(long, global = true, env = "MCPCTL_REPLICAS", value_name = "N")]
    pub replicas: Option<u32>,

    /// The machine whose engine runs the server: ssh://user@host[:port], a docker context or
    /// podman connection by name, or local [default:
    /// what DOCKER_HOST, the docker context, CONTAINER_HOST or CONTAINER_CONNECTION say, else local]
    #[arg(long, global = true, env = "MCPCTL_HOST", value_name = "HOST")]
    pub host: Option<String>,

    /// An ssh config file for --host instead of ~/.ssh/config (ssh -F)
    #[arg(long, global = true, env = "MCPCTL_SSH_CONFIG", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// Run this image (a published one, pulled on the host) instead of building the project
    #[arg(long, global = true, env = "MCPCTL_RUN_IMAGE", value_name = "IMAGE")]
    pub run_image: Option<String>,

    /// Where the server runs: engine (one engine, here or on --host) or swarm (a Docker Swarm
    /// service on the cluster whose manager --host reaches) [default: engine]
    #[arg(long, global = true, env = "MCPCTL_TARGET", value_name = "TARGET")]
    pub target: Option<String>,

    /// On a swarm: a placement constraint for the server's tasks, e.g. node.hostname==db1 to
    /// keep a stateful server beside its volume (repeatable)
    #[arg(long = "placement", global = true, value_name = "CONSTRAINT")]
    pub placement: Vec<String>,

    /// Registry repository the swarm's nodes pull the server from (and `publish` pushes to),
    /// e.g. 10.0.0.1:5000/server [default: registry in config]
    #[arg(long = "push-to", global = true, env = "MCPCTL_REGISTRY", value_name = "REPO")]
    pub push_to: Option<String>,

    /// OAuth at the front (config/oauth.rs).
    #[command(flatten)]
    pub oauth: oauth::OAuthOverrides,
}

/// Where the server's containers run (target/).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// One engine: this machine's or another's over SSH.
    #[default]
    Engine,
    /// A Docker Swarm service on the cluster the engine is a manager of.
    Swarm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportSetting {
    Auto,
    StreamableHttp,
    Sse,
}

impl TransportSetting {
    pub(crate) fn parse(s: &str) -> Option<TransportSetting> {
        match s {
            "auto" => Some(TransportSetting::Auto),
            "streamable-http" | "http" => Some(TransportSetting::StreamableHttp),
            "sse" => Some(TransportSetting::Sse),
            _ => None,
        }
    }
}

/// The transport a server was found to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Transport {
    StreamableHttp,
    Sse,
}

impl Transport {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "streamable-http",
            Transport::Sse => "sse",
        }
    }

    /// What MCP clients (Claude Code's `--transport`, `.mcp.json`'s `type`) call it.
    pub(crate) fn client_kind(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "http",
            Transport::Sse => "sse",
        }
    }

    /// The endpoint path servers use by default for this transport.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "/mcp",
            Transport::Sse => "/sse",
        }
    }
}

/// The MCP protocol era a server was found to answer in (the probe asks `server/discover` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) enum Era {
    /// 2024-11-05 to 2025-11-25: `initialize`, then a session (`Mcp-Session-Id`) tied to one
    /// server process. Also what a state written before eras were told apart means.
    #[default]
    #[serde(rename = "2025")]
    Handshake,
    /// 2026-07-28 and later: `server/discover`, no session; any replica can answer any request.
    #[serde(rename = "2026")]
    Stateless,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub path: String,
}

/// Everything the project's files and flags say, validated; nothing here depends on the host.
#[derive(Debug, Clone)]
pub struct Project {
    pub(crate) project_dir: PathBuf,
    pub name: String,
    pub(crate) package: String,
    pub container: String,
    pub image: String,
    pub base_port: u16,
    pub container_port: u16,
    pub publish_address: IpAddr,
    pub volumes: Vec<Volume>,
    pub env: BTreeMap<String, String>,
    pub(crate) env_file: Option<PathBuf>,
    pub restart: String,
    pub(crate) dockerfile: PathBuf,
    pub(crate) context: PathBuf,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) build_secrets: BTreeMap<String, PathBuf>,
    /// Debian packages `init` installs in the runtime image (`apt-packages`), checked names.
    pub(crate) apt_packages: Vec<String>,
    pub(crate) ready_timeout: Duration,
    pub(crate) stop_timeout: u32,
    pub(crate) swap_stop_timeout: u32,
    pub(crate) init: bool,
    pub transport: TransportSetting,
    pub(crate) mcp_path: String,
    pub(crate) registry: Option<String>,
    pub(crate) platform: Option<String>,
    pub(crate) token_env: Option<String>,
    /// The front, as it would be set up; `front_wanted` says whether to use it (None: as deployed).
    pub(crate) front: FrontSettings,
    pub(crate) front_wanted: Option<bool>,
    /// How many containers serve behind the front (None: as deployed). More than one turns the
    /// front on.
    pub(crate) replicas: Option<u32>,
    /// A published image to run instead of building one.
    pub(crate) run_image: Option<String>,
    /// Where it runs: one engine or a swarm.
    pub target: TargetKind,
    /// A swarm service's placement constraints.
    pub(crate) placement: Vec<String>,
    /// The state file's name under `~/.config/PACKAGE` on this host (paths.rs).
    pub(crate) state_name: String,
    /// Where file settings came from, for messages.
    pub(crate) config_file: Option<PathBuf>,
}

impl Project {
    /// `/NAME` on a shared front; the root on one of its own.
    pub(crate) fn front_prefix(&self) -> String {
        if self.front.shared { format!("/{}", self.name) } else { String::new() }
    }
}

/// What finds the engine and the machine it runs on: needed before anything else connects.
#[derive(Debug, Clone, Default)]
pub(crate) struct EngineHost {
    pub(crate) engine: Option<String>,
    /// Where the engine is, as asked (--host, MCPCTL_HOST, `host`); None: as the engine's own
    /// environment says (host.rs).
    pub(crate) host: Option<String>,
    pub(crate) ssh_config: Option<PathBuf>,
}

impl EngineHost {
    pub fn resolve(project_dir: &Path, files: &ProjectFiles, o: &Overrides) -> EngineHost {
        let f = &files.config;
        EngineHost {
            engine: o.engine.clone().or_else(|| f.engine.clone()),
            host: pick_str(o.host.clone(), f.host.clone()),
            ssh_config: o.ssh_config.clone().or_else(|| f.ssh_config.as_ref().map(|c| project_dir.join(c))),
        }
    }
}

fn pick_str(flag: Option<String>, file: Option<String>) -> Option<String> {
    flag.or(file).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// What the connected host says that settings depend on.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostFacts {
    /// A file-name-safe name of another host (`user@host_port`); None for this machine.
    pub(crate) key: Option<String>,
    /// The name clients on other machines use for another host (its ssh HostName); None here.
    pub(crate) remote_name: Option<String>,
}

/// The project on the host it is deployed on: what every flow reads. Made once, by
/// `Settings::resolve`, after main has connected to the host; the project's own settings read
/// through (`s.name`, `s.front`, ...).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    project: Project,
    pub(crate) paths: Paths,
    /// The name clients use for the host (`{host}` in env values): localhost here, the remote
    /// host's name when the server is published on its network.
    pub(crate) host_name: String,
    /// The name of the host the front runs on, when that is another machine: also in the
    /// certificate mcpctl makes.
    pub(crate) cert_host: Option<String>,
}

impl std::ops::Deref for Settings {
    type Target = Project;
    fn deref(&self) -> &Project {
        &self.project
    }
}

impl Settings {
    /// `home` is where `~/.config` and `~/.cache` are.
    pub fn resolve(project: Project, home: &Path, host: &HostFacts) -> Settings {
        let paths = Paths::resolve(
            home,
            &project.package,
            &project.state_name,
            &project.front.name,
            host.key.as_deref(),
        );
        Settings {
            paths,
            host_name: host_name(host.remote_name.as_deref(), project.publish_address),
            cert_host: host.remote_name.clone(),
            project,
        }
    }
}

/// The front (front/): which one, its image, TLS and token, how long an update drains.
#[derive(Debug, Clone)]
pub(crate) struct FrontSettings {
    /// The front's container (and network, and directory) name.
    pub(crate) name: String,
    /// Shared by a group of projects, each routed at /NAME; else this project's alone, at the root.
    pub(crate) shared: bool,
    pub(crate) image: String,
    /// A shared front's host port (a front of its own publishes the project's port).
    pub(crate) port: Option<u16>,
    pub(crate) tls: FrontTls,
    pub(crate) token: Option<Secret>,
    /// The file the token was read from (token-file), to tell clients where it is.
    pub(crate) token_file: Option<PathBuf>,
    /// Why the token could not be had, when one was asked for (reported when the front is used).
    pub(crate) token_problem: Option<crate::error::Explained>,
    pub(crate) drain_timeout: Duration,
    /// OAuth at the front instead of a static token (config/oauth.rs).
    pub(crate) oauth: Option<oauth::OAuthSettings>,
}

impl FrontSettings {
    /// The host port clients use: a shared front's, or the project's own.
    pub(crate) fn client_port(&self, project_port: u16) -> u16 {
        self.port.filter(|_| self.shared).unwrap_or(project_port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrontTls {
    Off,
    /// A certificate for localhost and 127.0.0.1 that mcpctl makes once and keeps.
    SelfSigned,
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
}

/// A value that never shows in Debug output or messages.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub(crate) const DEFAULT_FRONT_IMAGE: &str = "haproxy:2.6";
pub(crate) const DEFAULT_DRAIN_TIMEOUT: f64 = 30.0;
/// The most replicas a project may ask for: each is a Python process with its own memory.
pub(crate) const MAX_REPLICAS: u32 = 32;
/// A shared front's port unless `front-port` says otherwise.
pub(crate) const DEFAULT_SHARED_FRONT_PORT: u16 = 19443;

/// Resolve the project's settings, checking every value.
pub fn resolve(project_dir: &Path, files: &ProjectFiles, o: &Overrides) -> anyhow::Result<Project> {
    let f = &files.config;
    let src = resolvers::source(files);
    let id = resolvers::identity(project_dir, files, o, &src)?;
    let id_name = id.name.clone();
    let ports = resolvers::ports(o, f, &src)?;
    let volumes = resolvers::volumes(f, &id, &src)?;
    let env = resolvers::env(o, f, ports.container_port)?;
    let env_file = resolvers::env_file(project_dir, o, f)?;
    let restart = resolvers::restart(o, f)?;
    let build = resolvers::build(project_dir, o, f)?;
    let timeouts = resolvers::timeouts(o, f, &src)?;
    let (transport, mcp_path) = resolvers::transport(o, f)?;
    let front = resolvers::front(project_dir, o, f, &id_name, &src)?;
    let front_wanted = oauth::front_wanted(resolvers::front_wanted(o, f, &src)?, front.oauth.as_ref())?;
    let target = resolvers::target(o, f, &src)?;
    if target == TargetKind::Swarm && front.oauth.is_some() {
        return Err(crate::error::Explained::usage("OAuth at a swarm's front")
            .why("the swarm's front takes a static token; its OAuth key refresher needs the front's directory of one host")
            .fix("use token-env or token-file on the swarm, or --target engine for OAuth")
            .into());
    }
    Ok(Project {
        project_dir: project_dir.to_path_buf(),
        state_name: resolvers::state_name(files, &id),
        name: id.name,
        package: id.package,
        container: id.container,
        image: id.image,
        base_port: ports.base_port,
        container_port: ports.container_port,
        publish_address: ports.publish_address,
        volumes,
        env,
        env_file,
        restart,
        dockerfile: build.dockerfile,
        context: build.context,
        build_args: build.build_args,
        build_secrets: build.build_secrets,
        apt_packages: resolvers::apt_packages(f, &src)?,
        ready_timeout: timeouts.ready,
        stop_timeout: timeouts.stop,
        swap_stop_timeout: timeouts.swap_stop,
        init: f.init.unwrap_or(true),
        transport,
        mcp_path,
        registry: resolvers::registry(o, f)?,
        platform: f.platform.clone(),
        token_env: f.token_env.clone(),
        front_wanted,
        replicas: resolvers::replicas(o, f, &src)?,
        front,
        run_image: resolvers::run_image(o, f)?,
        target,
        placement: resolvers::placement(o, f, &src)?,
        config_file: files.config_file.clone(),
    })
}

/// `resolve` for `init`: a one-file server has no pyproject, so without a name from the flags or
/// the file it is named after its directory (and init records that name in the mcpctl.toml it writes).
pub(crate) fn resolve_for_init(dir: &Path, files: &ProjectFiles, o: &Overrides) -> anyhow::Result<Project> {
    let mut o = o.clone();
    if o.name.is_none() && files.config.name.is_none() && files.project_name.is_none() {
        o.name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    resolve(dir, files, &o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pyproject: &str) -> (tempfile::TempDir, ProjectFiles) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), pyproject).unwrap();
        let f = read_project(d.path()).unwrap();
        (d, f)
    }

    fn resolve_with(pyproject: &str, o: &Overrides) -> anyhow::Result<Settings> {
        let (d, f) = files(pyproject);
        Ok(Settings::resolve(resolve(d.path(), &f, o)?, Path::new("/home/u"), &HostFacts::default()))
    }

    #[test]
    fn apt_packages_are_checked_names() {
        let s = resolve_with(
            "[project]\nname = \"a\"\n[tool.mcpctl]\napt-packages = [\"git\", \"libmagic1\", \"git\"]\n",
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.apt_packages, ["git", "libmagic1"]);
        assert!(
            resolve_with("[project]\nname = \"a\"\n", &Overrides::default()).unwrap().apt_packages.is_empty()
        );
        let e = resolve_with(
            "[project]\nname = \"a\"\n[tool.mcpctl]\napt-packages = [\"git\\nUSER root\"]\n",
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        let e = e.to_string();
        assert!(e.contains("apt-packages: 'git\\nUSER root' is not a Debian package name"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.contains("pyproject.toml"), "{e}");
    }

    #[test]
    fn replicas_need_the_front_and_a_sane_count() {
        let py = "[project]\nname = \"a\"\n";
        let s = resolve_with(py, &Overrides::default()).unwrap();
        assert_eq!((s.replicas, s.front_wanted), (None, None), "as deployed");
        let s = resolve_with(py, &Overrides { replicas: Some(3), ..Default::default() }).unwrap();
        assert_eq!((s.replicas, s.front_wanted), (Some(3), Some(true)), "more than one turns the front on");
        let s =
            resolve_with(py, &Overrides { replicas: Some(1), no_front: true, ..Default::default() }).unwrap();
        assert_eq!((s.replicas, s.front_wanted), (Some(1), Some(false)));
        let s = resolve_with("[project]\nname = \"a\"\n[tool.mcpctl]\nreplicas = 2\n", &Overrides::default())
            .unwrap();
        assert_eq!((s.replicas, s.front_wanted), (Some(2), Some(true)));
        // The flag beats the file.
        let s = resolve_with(
            "[project]\nname = \"a\"\n[tool.mcpctl]\nreplicas = 2\n",
            &Overrides { replicas: Some(1), ..Default::default() },
        )
        .unwrap();
        assert_eq!(s.replicas, Some(1));
        for (file, o, says) in [
            ("", Overrides { replicas: Some(0), ..Default::default() }, "--replicas 0 is out of range"),
            ("", Overrides { replicas: Some(33), ..Default::default() }, "--replicas 33 is out of range"),
            ("replicas = -1\n", Overrides::default(), "replicas -1 is out of range"),
            (
                "",
                Overrides { replicas: Some(2), no_front: true, ..Default::default() },
                "more than one replica without the front",
            ),
            (
                "replicas = 2\nfront = false\n",
                Overrides::default(),
                "more than one replica without the front",
            ),
        ] {
            let e = resolve_with(&format!("{py}[tool.mcpctl]\n{file}"), &o).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2, "{e}");
            let e = e.to_string();
            assert!(e.contains(says) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn defaults_match_docker_py() {
        let s = resolve_with("[project]\nname = \"Echo_Server\"\n", &Overrides::default()).unwrap();
        assert_eq!(s.name, "echo-server");
        assert_eq!(s.package, "echo_server");
        assert_eq!(s.container, "echo-server-mcp");
        assert_eq!(s.image, "echo-server-mcp");
        assert_eq!(s.base_port, 19000);
        assert_eq!(s.container_port, 3001);
        assert_eq!(s.publish_address.to_string(), "127.0.0.1");
        assert_eq!(s.restart, "unless-stopped");
        assert_eq!(s.paths.state_file, Path::new("/home/u/.config/echo_server/docker.json"));
        assert_eq!(
            s.volumes,
            vec![
                Volume { name: "echo-server-mcp_data".into(), path: "/home/appuser/.echo_server".into() },
                Volume {
                    name: "echo-server-mcp_config".into(),
                    path: "/home/appuser/.config/echo_server".into()
                },
                Volume {
                    name: "echo-server-mcp_logs".into(),
                    path: "/home/appuser/.local/share/echo_server".into()
                },
            ]
        );
        assert_eq!(s.env.get("PORT").unwrap(), "3001");
        assert_eq!(s.env.get("LOG_LEVEL").unwrap(), "INFO");
        assert_eq!(s.ready_timeout, Duration::from_secs(60));
        assert_eq!(s.mcp_path, "/mcp");
    }

    #[test]
    fn flags_beat_file_beat_project() {
        let py = "[project]\nname = \"demo\"\n[tool.mcpctl]\nname = \"fromfile\"\nbase-port = 20000\n\
                  container_port = 8000\nenv = { LOG_LEVEL = \"DEBUG\", N = 3 }\n";
        let s = resolve_with(py, &Overrides::default()).unwrap();
        assert_eq!((s.name.as_str(), s.base_port, s.container_port), ("fromfile", 20000, 8000));
        assert_eq!(s.env.get("LOG_LEVEL").unwrap(), "DEBUG");
        assert_eq!(s.env.get("N").unwrap(), "3");
        assert_eq!(s.env.get("PORT").unwrap(), "8000");
        let o = Overrides {
            name: Some("flag".into()),
            base_port: Some(21000),
            env: vec![("LOG_LEVEL".into(), Some("WARNING".into()))],
            ..Default::default()
        };
        let s = resolve_with(py, &o).unwrap();
        assert_eq!((s.name.as_str(), s.base_port), ("flag", 21000));
        // Renaming the container keeps the package's data paths, and gets its own state file.
        assert_eq!(s.package, "demo");
        assert_eq!(s.volumes[0].path, "/home/appuser/.demo");
        assert_eq!(s.paths.state_file, Path::new("/home/u/.config/demo/docker-flag.json"));
        assert_eq!(s.env.get("LOG_LEVEL").unwrap(), "WARNING");
    }

    #[test]
    fn no_name_is_a_usage_error() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve(d.path(), &ProjectFiles::default(), &Overrides::default()).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(e.to_string().starts_with("no project name"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected_before_any_engine_call() {
        let bad = [
            "[project]\nname='a'\n[tool.mcpctl]\nbase-port = 70000\n",
            "[project]\nname='a'\n[tool.mcpctl]\nbase-port = 65500\n",
            "[project]\nname='a'\n[tool.mcpctl]\ncontainer = 'has space'\n",
            "[project]\nname='a'\n[tool.mcpctl]\nimage = 'UPPER'\n",
            "[project]\nname='a'\n[tool.mcpctl]\nvolumes = { 'bad/key' = '/x' }\n",
            "[project]\nname='a'\n[tool.mcpctl]\nvolumes = { data = 'relative' }\n",
            "[project]\nname='a'\n[tool.mcpctl]\nrestart = 'sometimes'\n",
            "[project]\nname='a'\n[tool.mcpctl]\npublish-address = 'everywhere'\n",
            "[project]\nname='a'\n[tool.mcpctl]\ntransport = 'carrier-pigeon'\n",
            "[project]\nname='a'\n[tool.mcpctl]\nenv-file = 'missing.env'\n",
            "[project]\nname='@@@'\n",
        ];
        for py in bad {
            let e = resolve_with(py, &Overrides::default()).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2, "{py}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn build_secrets_are_files_in_the_project() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname='a'\n[tool.mcpctl]\nbuild-secrets = { pip_token = 'token.txt' }\n",
        )
        .unwrap();
        let f = read_project(d.path()).unwrap();
        let e = resolve(d.path(), &f, &Overrides::default()).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(e.to_string().contains("build secret pip_token"), "{e}");
        std::fs::write(d.path().join("token.txt"), "t").unwrap();
        let s = resolve(d.path(), &f, &Overrides::default()).unwrap();
        assert_eq!(s.build_secrets["pip_token"], d.path().join("token.txt"));
    }
}
