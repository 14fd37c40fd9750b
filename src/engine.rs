//! The container engine: which one, and how to talk to it.
//!
//! Modelled on cross-rs's `docker/engine.rs`: an engine-kind enum with capability methods, found by
//! `--engine`/MCPCTL_ENGINE, else `which`, and classified by what the binary says about itself (a
//! `docker` that is podman's alias is podman). Every difference between docker, podman and nerdctl
//! lives here: argv, output shapes, error texts. Flows never branch on the engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::config::{LABEL_DIGEST, LABEL_DIR, LABEL_PORT, LABEL_PROJECT, Settings};
use crate::dockerignore::Semantics;
use crate::error::usage;
use crate::process::Cmd;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Docker,
    Podman,
    Nerdctl,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Nerdctl => "nerdctl",
        }
    }

    /// `ps --format json` prints one JSON array on podman; docker and nerdctl print an object per
    /// line with `{{json .}}`.
    pub fn ps_prints_array(self) -> bool {
        self == EngineKind::Podman
    }

    /// Podman builds OCI images by default, and the OCI format has no HEALTHCHECK: it drops it.
    pub fn build_needs_docker_format(self) -> bool {
        self == EngineKind::Podman
    }

    /// `run --init`: docker ships docker-init, podman uses catatonit; nerdctl has no such flag.
    pub fn supports_init(self) -> bool {
        self != EngineKind::Nerdctl
    }

    /// Classify a binary from its `--version` (or `--help`) output.
    pub fn from_self_description(text: &str) -> Option<EngineKind> {
        let t = text.to_ascii_lowercase();
        if t.contains("podman") {
            Some(EngineKind::Podman)
        } else if t.contains("nerdctl") {
            Some(EngineKind::Nerdctl)
        } else if t.contains("docker") {
            Some(EngineKind::Docker)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct Engine {
    pub kind: EngineKind,
    pub program: PathBuf,
    /// What `--version` printed, first line.
    pub version: String,
}

const KNOWN: [&str; 3] = ["docker", "podman", "nerdctl"];

/// Find the engine: `requested` (flag, MCPCTL_ENGINE or config) or the first of docker, podman,
/// nerdctl on PATH; then ask the binary what it is.
pub fn detect(requested: Option<&str>) -> anyhow::Result<Engine> {
    let program = match requested.map(str::trim) {
        Some("") | None => KNOWN.iter().find_map(|n| which::which(n).ok()).ok_or_else(|| {
            usage(
                "no container engine found: none of docker, podman, nerdctl is on PATH; install one \
                 (Debian: apt-get install docker.io, or podman) or pass --engine /path/to/binary",
            )
        })?,
        Some(r) if r.contains('/') => {
            let p = PathBuf::from(r);
            if !p.is_file() {
                return Err(usage(format!(
                    "--engine {r}: no such file; give the path of a docker, podman or nerdctl binary"
                )));
            }
            p
        }
        Some(r) if KNOWN.contains(&r) => which::which(r).map_err(|_| {
            usage(format!(
                "--engine {r}: {r} is not on PATH; install it, or pick another with --engine docker|podman|nerdctl"
            ))
        })?,
        Some(r) => {
            return Err(usage(format!(
                "--engine {r}: unknown engine; use docker, podman, nerdctl or a path to one of them"
            )));
        }
    };
    classify(&program)
}

/// Ask the binary itself, once per binary: the answer is cached by path, size and mtime under
/// ~/.cache/mcpctl, so `mcpctl status` costs one engine call, not two.
pub fn classify(program: &Path) -> anyhow::Result<Engine> {
    let key = fingerprint(program);
    let cache = cache_file();
    if let (Some(key), Some(cache)) = (&key, &cache)
        && let Some(e) = read_cache(cache, key, program)
    {
        return Ok(e);
    }
    let e = classify_uncached(program)?;
    if let (Some(key), Some(cache)) = (key, cache) {
        write_cache(&cache, &key, &e);
    }
    Ok(e)
}

fn fingerprint(program: &Path) -> Option<String> {
    let real = std::fs::canonicalize(program).ok()?;
    let m = std::fs::metadata(&real).ok()?;
    let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    Some(format!("{}|{}|{}|{}", program.display(), real.display(), m.len(), mtime))
}

fn cache_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("mcpctl").join("engines.json"))
}

fn read_cache(cache: &Path, key: &str, program: &Path) -> Option<Engine> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(cache).ok()?).ok()?;
    let hit = v.get(key)?;
    let kind = match hit.get("kind")?.as_str()? {
        "docker" => EngineKind::Docker,
        "podman" => EngineKind::Podman,
        "nerdctl" => EngineKind::Nerdctl,
        _ => return None,
    };
    let version = hit.get("version")?.as_str()?.to_string();
    Some(Engine { kind, program: program.to_path_buf(), version })
}

/// Best effort: a cache that cannot be written only costs a `--version` call next time.
fn write_cache(cache: &Path, key: &str, e: &Engine) {
    let mut v: serde_json::Map<String, Value> =
        std::fs::read_to_string(cache).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    v.insert(key.to_string(), serde_json::json!({"kind": e.kind.name(), "version": e.version}));
    if let Some(dir) = cache.parent() {
        let _ = std::fs::create_dir_all(dir);
        let _ = crate::state::write_atomic(cache, &Value::Object(v).to_string());
    }
}

/// `--version` is enough for the three we know; `--help` is the fallback for wrappers whose
/// version line names nothing.
fn classify_uncached(program: &Path) -> anyhow::Result<Engine> {
    let out = Cmd::new(program).arg("--version").output()?;
    let first = out.stdout.lines().next().unwrap_or("").trim().to_string();
    let mut kind = EngineKind::from_self_description(&format!("{}{}", out.stdout, out.stderr));
    if kind.is_none() {
        let help = Cmd::new(program).arg("--help").output()?;
        kind = EngineKind::from_self_description(&format!("{}{}", help.stdout, help.stderr));
    }
    match kind {
        Some(kind) => Ok(Engine { kind, program: program.to_path_buf(), version: first }),
        None => Err(usage(format!(
            "--engine {}: this binary does not look like docker, podman or nerdctl (its --version \
             printed '{first}'); point --engine at one of those",
            program.display()
        ))),
    }
}

/// What `build` needs beyond the settings.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub no_cache: bool,
    /// Tags for the image; empty means the settings' image (publish tags REGISTRY:N and :latest).
    pub tags: Vec<String>,
    pub platform: Option<String>,
    /// The digest of the build's inputs, kept as a label on the image (digest.rs).
    pub digest: Option<String>,
}

/// What `run` (or `create`) needs beyond the settings.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub host_port: u16,
    /// Container name; the settings' name except for the new container of a swap.
    pub name: String,
    /// Image reference or id; the settings' image except when rolling back.
    pub image: String,
    /// `create` instead of `run -d`: a swap makes the new container while the old one serves.
    pub create_only: bool,
}

impl RunOptions {
    pub fn new(s: &Settings, host_port: u16) -> RunOptions {
        RunOptions { host_port, name: s.container.clone(), image: s.image.clone(), create_only: false }
    }
}

impl Engine {
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        Cmd::new(&self.program).args(args)
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn build_args(&self, s: &Settings, o: &BuildOptions) -> Vec<String> {
        let mut a: Vec<String> = vec!["build".into()];
        if self.kind.build_needs_docker_format() {
            a.extend(["--format".into(), "docker".into()]);
        }
        if self.kind == EngineKind::Docker {
            // The legacy builder leaves a failed step's container behind unless told otherwise.
            a.push("--force-rm".into());
        }
        if let Some(p) = &o.platform {
            a.extend(["--platform".into(), p.clone()]);
        }
        if o.tags.is_empty() {
            a.extend(["-t".into(), s.image.clone()]);
        }
        for t in &o.tags {
            a.extend(["-t".into(), t.clone()]);
        }
        a.extend(["-f".into(), s.dockerfile.display().to_string()]);
        for (k, v) in build_labels(s) {
            a.extend(["--label".into(), format!("{k}={v}")]);
        }
        if let Some(d) = &o.digest {
            a.extend(["--label".into(), format!("{LABEL_DIGEST}={d}")]);
        }
        for (k, v) in &s.build_args {
            a.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
        for (id, file) in &s.build_secrets {
            a.extend(["--secret".into(), format!("id={id},src={}", file.display())]);
        }
        if o.no_cache {
            a.push("--no-cache".into());
        }
        a.push(s.context.display().to_string());
        a
    }

    /// Whose ignore-file rules decide what the build context holds (dockerignore.rs). A docker
    /// client of 23 or later builds with BuildKit when the buildx plugin is there and with the
    /// legacy builder when not, and nerdctl always with BuildKit: what either would send counts.
    pub fn context_semantics(&self, s: &Settings) -> Vec<Semantics> {
        let buildkit_forced = !self.build_env(s).is_empty();
        match self.kind {
            EngineKind::Podman => vec![Semantics::Podman],
            EngineKind::Docker if self.client_major() == Some(20) => {
                vec![if buildkit_forced { Semantics::Docker20BuildKit } else { Semantics::Docker20Legacy }]
            }
            EngineKind::Docker | EngineKind::Nerdctl => {
                vec![Semantics::DockerLegacy, Semantics::Docker20BuildKit]
            }
        }
    }

    /// The client's major version, from its `--version` line ("Docker version 28.2.2, ...").
    fn client_major(&self) -> Option<u32> {
        let v = self.version.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
        v.split('.').next()?.parse().ok()
    }

    /// Environment for `build`: docker's legacy builder cannot mount secrets, so BuildKit is
    /// asked for when there are any (the client needs it built in, or the buildx plugin).
    pub fn build_env(&self, s: &Settings) -> Vec<(&'static str, &'static str)> {
        if self.kind == EngineKind::Docker && !s.build_secrets.is_empty() {
            vec![("DOCKER_BUILDKIT", "1")]
        } else {
            Vec::new()
        }
    }

    pub fn run_args(&self, s: &Settings, o: &RunOptions) -> Vec<String> {
        let mut a: Vec<String> =
            if o.create_only { vec!["create".into()] } else { vec!["run".into(), "-d".into()] };
        a.extend(["--name".into(), o.name.clone()]);
        a.extend(["--label".into(), format!("{LABEL_PROJECT}={}", s.name)]);
        a.extend(["--label".into(), format!("{LABEL_PORT}={}", o.host_port)]);
        a.extend(["--label".into(), format!("{LABEL_DIR}={}", s.project_dir.display())]);
        a.extend(["-p".into(), publish_spec(s, o.host_port)]);
        // Names only: the values reach the engine client through its environment (`run_cmd`), so
        // no API key shows in argv, `ps` or a `-v` line.
        for k in s.env.keys() {
            a.extend(["-e".into(), k.clone()]);
        }
        if let Some(f) = &s.env_file {
            a.extend(["--env-file".into(), f.display().to_string()]);
        }
        for v in &s.volumes {
            a.extend(["-v".into(), format!("{}:{}", v.name, v.path)]);
        }
        a.extend(["--restart".into(), s.restart.clone()]);
        if s.init && self.kind.supports_init() {
            a.push("--init".into());
        }
        // The image was built here; never let a missing one turn into a registry pull.
        a.extend(["--pull".into(), "never".into()]);
        a.push(o.image.clone());
        a
    }

    /// `run`/`create` with the container's environment given to the engine client: every
    /// engine reads `-e KEY` without a value from its own environment.
    pub fn run_cmd(&self, s: &Settings, o: &RunOptions) -> Cmd {
        let mut cmd = self.cmd(self.run_args(s, o));
        for (k, v) in run_env(s, o.host_port) {
            cmd = cmd.secret_env(k, v);
        }
        cmd
    }

    pub fn start_args(&self, container: &str) -> Vec<String> {
        vec!["start".into(), container.into()]
    }

    pub fn rename_args(&self, from: &str, to: &str) -> Vec<String> {
        vec!["rename".into(), from.into(), to.into()]
    }

    pub fn tag_args(&self, source: &str, target: &str) -> Vec<String> {
        vec!["tag".into(), source.into(), target.into()]
    }

    pub fn image_id_args(&self, image: &str) -> Vec<String> {
        vec!["image".into(), "inspect".into(), "--format".into(), "{{.Id}}".into(), image.into()]
    }

    /// The ids of several images at once, one line each, in order (fails if one is missing).
    pub fn image_ids_args(&self, images: &[String]) -> Vec<String> {
        let mut a: Vec<String> = vec!["image".into(), "inspect".into(), "--format".into(), "{{.Id}}".into()];
        a.extend(images.iter().cloned());
        a
    }

    /// The whole description of an image (id and labels).
    pub fn image_inspect_args(&self, image: &str) -> Vec<String> {
        vec!["image".into(), "inspect".into(), image.into()]
    }

    /// Push; podman needs `--tls-verify=false` for a plain-HTTP registry on this host (docker
    /// treats 127.0.0.0/8 as insecure by itself).
    pub fn push_args(&self, image: &str) -> Vec<String> {
        let mut a: Vec<String> = vec!["push".into()];
        let host = image.split('/').next().unwrap_or("");
        let local = host.starts_with("127.") || host.starts_with("localhost");
        if self.kind == EngineKind::Podman && local && image.contains('/') {
            a.push("--tls-verify=false".into());
        }
        a.push(image.into());
        a
    }

    pub fn volume_rm_args(&self, volume: &str) -> Vec<String> {
        vec!["volume".into(), "rm".into(), volume.into()]
    }

    pub fn inspect_args(&self, container: &str) -> Vec<String> {
        self.inspect_many_args(&[container])
    }

    pub fn inspect_many_args(&self, containers: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec!["container".into(), "inspect".into()];
        a.extend(containers.iter().map(|c| c.to_string()));
        a
    }

    /// Every container mcpctl made on this engine.
    pub fn ps_args(&self) -> Vec<String> {
        let format = if self.kind.ps_prints_array() { "json" } else { "{{json .}}" };
        vec![
            "ps".into(),
            "-a".into(),
            "--filter".into(),
            format!("label={LABEL_PROJECT}"),
            "--format".into(),
            format.into(),
        ]
    }

    pub fn stop_args(&self, container: &str, timeout: u32) -> Vec<String> {
        vec!["stop".into(), "-t".into(), timeout.to_string(), container.into()]
    }

    pub fn rm_args(&self, container: &str) -> Vec<String> {
        vec!["rm".into(), container.into()]
    }

    pub fn logs_args(&self, container: &str, follow: bool, tail: Option<u32>) -> Vec<String> {
        let mut a: Vec<String> = vec!["logs".into()];
        if follow {
            a.push("-f".into());
        }
        if let Some(n) = tail {
            a.extend(["--tail".into(), n.to_string()]);
        }
        a.push(container.into());
        a
    }

    pub fn volume_inspect_args(&self, volume: &str) -> Vec<String> {
        vec!["volume".into(), "inspect".into(), volume.into()]
    }
}

/// The labels every build of the project sets.
pub fn build_labels(s: &Settings) -> Vec<(String, String)> {
    vec![(LABEL_PROJECT.to_string(), s.name.clone())]
}

/// The container's environment; `{port}` in a value stands for the published host port, so
/// MCP_ALLOWED_HOSTS can follow it.
pub fn run_env(s: &Settings, host_port: u16) -> Vec<(String, String)> {
    s.env.iter().map(|(k, v)| (k.clone(), v.replace("{port}", &host_port.to_string()))).collect()
}

fn publish_spec(s: &Settings, host_port: u16) -> String {
    match s.publish_address {
        std::net::IpAddr::V6(a) => format!("[{a}]:{host_port}:{}", s.container_port),
        std::net::IpAddr::V4(a) => format!("{a}:{host_port}:{}", s.container_port),
    }
}

// ---- what the engine's errors mean ---------------------------------------------------------------

/// `container inspect` of a name that does not exist (docker: "No such container", podman: "no
/// such container", older: "No such object").
pub fn is_no_such_container(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container") || s.contains("no such object")
}

/// `container inspect A B` failed only because some of them do not exist: every line of
/// stderr says so (podman prefixes the later ones with "error inspecting object").
pub fn only_missing_containers(stderr: &str) -> bool {
    let mut lines = stderr.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some() && lines.all(is_no_such_container)
}

/// The engine's daemon or service cannot be reached.
pub fn is_unreachable(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("cannot connect to the docker daemon")
        || s.contains("is the docker daemon running")
        || s.contains("error during connect")
        || s.contains("cannot connect to podman")
        || s.contains("unable to connect to podman")
        || s.contains("failed to connect to containerd")
        || (s.contains("permission denied") && s.contains(".sock"))
        || (s.contains("connection refused") && s.contains(".sock"))
        || (s.contains("no such file or directory") && s.contains(".sock"))
}

/// `run` failed because the host port is taken (docker: "port is already allocated"; podman and
/// nerdctl: "address already in use").
pub fn is_port_taken(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("port is already allocated") || s.contains("address already in use")
}

/// `run` failed because the container name exists.
pub fn is_name_taken(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("is already in use") && s.contains("name")
}

// ---- parsers -------------------------------------------------------------------------------------

/// A container as `container inspect` describes it, the same shape for every engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    /// created, running, paused, restarting, exited, dead (podman also: configured, stopped).
    pub status: String,
    pub running: bool,
    pub restarting: bool,
    pub exit_code: i64,
    pub restart_count: i64,
    /// healthy, unhealthy, starting; None when the image has no HEALTHCHECK (or it never ran).
    pub health: Option<String>,
    pub has_healthcheck: bool,
    pub labels: BTreeMap<String, String>,
    pub image_id: String,
    /// Host ports published for each container port ("3001/tcp" → [19000]).
    pub ports: BTreeMap<String, Vec<u16>>,
    pub started_at: String,
    pub error: String,
}

impl ContainerInfo {
    pub fn project_label(&self) -> Option<&str> {
        self.labels.get(LABEL_PROJECT).map(String::as_str)
    }

    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports.get(&format!("{container_port}/tcp")).and_then(|v| v.first().copied())
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(x) => cur = x,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn labels_of(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
        }
        // docker ps prints labels as "a=b,c=d".
        Some(Value::String(s)) => s
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn ports_of(v: Option<&Value>) -> BTreeMap<String, Vec<u16>> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(m)) = v {
        for (cport, binds) in m {
            let mut hp: Vec<u16> = binds
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b.get("HostPort").and_then(|p| p.as_str()).and_then(|p| p.parse().ok()))
                .collect();
            hp.dedup();
            if !hp.is_empty() {
                out.insert(cport.clone(), hp);
            }
        }
    }
    out
}

/// Parse `container inspect` output (a JSON array on every engine).
pub fn parse_inspect(stdout: &str) -> anyhow::Result<Vec<ContainerInfo>> {
    let v: Value = serde_json::from_str(stdout.trim())
        .map_err(|e| anyhow::anyhow!("the engine's inspect output is not JSON: {e}"))?;
    let items = v.as_array().cloned().unwrap_or_else(|| vec![v]);
    Ok(items.iter().map(container_from_inspect).collect())
}

fn container_from_inspect(c: &Value) -> ContainerInfo {
    let state = c.get("State").cloned().unwrap_or(Value::Null);
    // docker: State.Health.Status; podman 4.x: State.Health (and State.Healthcheck before 4).
    let health = ["Health", "Healthcheck"]
        .iter()
        .map(|k| str_at(&state, &[k, "Status"]))
        .find(|s| !s.is_empty())
        .map(str::to_string);
    let hc = c.get("Config").and_then(|cfg| cfg.get("Healthcheck"));
    let has_healthcheck = match hc.and_then(|h| h.get("Test")).and_then(|t| t.as_array()) {
        Some(t) => !t.is_empty() && t[0].as_str() != Some("NONE"),
        None => false,
    };
    // Published ports: NetworkSettings.Ports while running, HostConfig.PortBindings always.
    let mut ports = ports_of(c.get("NetworkSettings").and_then(|n| n.get("Ports")));
    if ports.is_empty() {
        ports = ports_of(c.get("HostConfig").and_then(|h| h.get("PortBindings")));
    }
    ContainerInfo {
        id: str_at(c, &["Id"]).to_string(),
        name: str_at(c, &["Name"]).trim_start_matches('/').to_string(),
        status: str_at(&state, &["Status"]).to_string(),
        running: state.get("Running").and_then(Value::as_bool).unwrap_or(false),
        restarting: state.get("Restarting").and_then(Value::as_bool).unwrap_or(false),
        exit_code: state.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
        restart_count: c.get("RestartCount").and_then(Value::as_i64).unwrap_or(0),
        health,
        has_healthcheck,
        labels: labels_of(c.get("Config").and_then(|cfg| cfg.get("Labels"))),
        image_id: str_at(c, &["Image"]).to_string(),
        ports,
        started_at: str_at(&state, &["StartedAt"]).to_string(),
        error: str_at(&state, &["Error"]).to_string(),
    }
}

/// An image as `image inspect` describes it: its id and labels (docker and podman both keep
/// them under Config.Labels).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
}

pub fn parse_image_inspect(stdout: &str) -> anyhow::Result<Vec<ImageInfo>> {
    let v: Value = serde_json::from_str(stdout.trim())
        .map_err(|e| anyhow::anyhow!("the engine's image inspect output is not JSON: {e}"))?;
    let items = v.as_array().cloned().unwrap_or_else(|| vec![v]);
    Ok(items
        .iter()
        .map(|i| ImageInfo {
            id: str_at(i, &["Id"]).to_string(),
            labels: labels_of(i.get("Config").and_then(|c| c.get("Labels"))),
        })
        .collect())
}

/// One line of `ps`, the same shape for every engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PsEntry {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub status: String,
    pub labels: BTreeMap<String, String>,
}

/// Parse `ps` output: podman prints one JSON array, docker and nerdctl one object per line.
pub fn parse_ps(kind: EngineKind, stdout: &str) -> anyhow::Result<Vec<PsEntry>> {
    let bad = |e: serde_json::Error| anyhow::anyhow!("the engine's ps output is not JSON: {e}");
    let items: Vec<Value> = if kind.ps_prints_array() || stdout.trim_start().starts_with('[') {
        if stdout.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str::<Value>(stdout.trim()).map_err(bad)?.as_array().cloned().unwrap_or_default()
        }
    } else {
        stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(bad))
            .collect::<Result<_, _>>()?
    };
    Ok(items.iter().map(ps_entry).collect())
}

fn ps_entry(v: &Value) -> PsEntry {
    let name = match v.get("Names") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or_default().to_string(),
        Some(Value::String(s)) => s.split(',').next().unwrap_or_default().to_string(),
        _ => String::new(),
    };
    let id = [str_at(v, &["ID"]), str_at(v, &["Id"])].into_iter().find(|s| !s.is_empty()).unwrap_or("");
    PsEntry {
        id: id.to_string(),
        name,
        image: str_at(v, &["Image"]).to_string(),
        state: str_at(v, &["State"]).to_string(),
        status: str_at(v, &["Status"]).to_string(),
        labels: labels_of(v.get("Labels")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, ProjectFiles, resolve};

    fn settings() -> Settings {
        let files = ProjectFiles { project_name: Some("echo-server".into()), ..Default::default() };
        let o =
            Overrides { build_args: vec![("PYTHON_IMAGE".into(), "base:1".into())], ..Default::default() };
        resolve(Path::new("/p"), &files, &o, Path::new("/h")).unwrap()
    }

    fn engine(kind: EngineKind) -> Engine {
        Engine { kind, program: PathBuf::from(kind.name()), version: String::new() }
    }

    #[test]
    fn classify_from_version_text() {
        use EngineKind::*;
        assert_eq!(EngineKind::from_self_description("Docker version 28.2.2, build e6534b4"), Some(Docker));
        assert_eq!(EngineKind::from_self_description("podman version 4.3.1"), Some(Podman));
        // podman-docker's `docker` wrapper prints podman's version.
        assert_eq!(EngineKind::from_self_description("podman version 4.3.1\n"), Some(Podman));
        assert_eq!(EngineKind::from_self_description("nerdctl version 1.7.6"), Some(Nerdctl));
        assert_eq!(EngineKind::from_self_description("GNU coreutils 9.1"), None);
    }

    #[test]
    fn build_argv_per_engine() {
        let s = settings();
        let o = BuildOptions::default();
        let docker = engine(EngineKind::Docker).build_args(&s, &o);
        assert_eq!(
            docker,
            [
                "build",
                "--force-rm",
                "-t",
                "echo-server-mcp",
                "-f",
                "/p/Dockerfile",
                "--label",
                "io.mcpctl.project=echo-server",
                "--build-arg",
                "PYTHON_IMAGE=base:1",
                "/p/."
            ]
        );
        let podman = engine(EngineKind::Podman).build_args(&s, &o);
        assert_eq!(&podman[..3], ["build", "--format", "docker"]);
        assert_eq!(&podman[3..], &docker[2..]);
        let nerdctl = engine(EngineKind::Nerdctl).build_args(&s, &o);
        assert_eq!(nerdctl[0], "build");
        assert_eq!(&nerdctl[1..], &docker[2..]);
    }

    #[test]
    fn run_argv_matches_the_seed_with_safer_publish() {
        let s = settings();
        let a = engine(EngineKind::Docker).run_args(&s, &RunOptions::new(&s, 19000));
        assert_eq!(
            a,
            [
                "run",
                "-d",
                "--name",
                "echo-server-mcp",
                "--label",
                "io.mcpctl.project=echo-server",
                "--label",
                "io.mcpctl.port=19000",
                "--label",
                "io.mcpctl.project-dir=/p",
                "-p",
                "127.0.0.1:19000:3001",
                "-e",
                "LOG_LEVEL",
                "-e",
                "PORT",
                "-v",
                "echo-server-mcp_data:/home/appuser/.echo_server",
                "-v",
                "echo-server-mcp_config:/home/appuser/.config/echo_server",
                "-v",
                "echo-server-mcp_logs:/home/appuser/.local/share/echo_server",
                "--restart",
                "unless-stopped",
                "--init",
                "--pull",
                "never",
                "echo-server-mcp"
            ]
        );
        assert_eq!(engine(EngineKind::Podman).run_args(&s, &RunOptions::new(&s, 19000)), a);
        // nerdctl has no --init.
        let n = engine(EngineKind::Nerdctl).run_args(&s, &RunOptions::new(&s, 19000));
        assert_eq!(n, a.iter().filter(|x| *x != "--init").cloned().collect::<Vec<_>>());
        // `{port}` in an env value is the host port.
        let mut with_hosts = s.clone();
        with_hosts.env.insert("MCP_ALLOWED_HOSTS".into(), "localhost:{port},127.0.0.1:{port}".into());
        with_hosts.env.insert("API_TOKEN".into(), "s3cr3t".into());
        let h = engine(EngineKind::Docker).run_cmd(&with_hosts, &RunOptions::new(&with_hosts, 19007));
        let env = h.envs();
        assert!(
            env.contains(&("MCP_ALLOWED_HOSTS".into(), "localhost:19007,127.0.0.1:19007".into())),
            "{env:?}"
        );
        assert!(env.contains(&("API_TOKEN".into(), "s3cr3t".into())), "{env:?}");
        // Values never in argv, nor in the shell line -v prints.
        assert!(h.argv().windows(2).any(|w| w == ["-e", "API_TOKEN"]), "{h}");
        assert!(!h.argv().iter().any(|a| a.contains("s3cr3t") || a.contains("localhost:19007")), "{h}");
        assert!(h.to_string().contains("API_TOKEN=*** ") && !h.to_string().contains("s3cr3t"), "{h}");
        // A swap creates the new container under another name, without starting it.
        let o = RunOptions {
            create_only: true,
            name: "x-next".into(),
            image: "sha256:abc".into(),
            ..RunOptions::new(&s, 19000)
        };
        let c = engine(EngineKind::Docker).run_args(&s, &o);
        assert_eq!(&c[..3], ["create", "--name", "x-next"]);
        assert_eq!(c.last().unwrap(), "sha256:abc");
    }

    #[test]
    fn small_argvs() {
        for k in [EngineKind::Docker, EngineKind::Podman, EngineKind::Nerdctl] {
            let e = engine(k);
            assert_eq!(e.inspect_args("x"), ["container", "inspect", "x"]);
            assert_eq!(e.stop_args("x", 10), ["stop", "-t", "10", "x"]);
            assert_eq!(e.rm_args("x"), ["rm", "x"]);
            assert_eq!(e.push_args("ghcr.io/o/s:2"), ["push", "ghcr.io/o/s:2"]);
            assert_eq!(e.logs_args("x", true, None), ["logs", "-f", "x"]);
            assert_eq!(e.logs_args("x", false, Some(20)), ["logs", "--tail", "20", "x"]);
        }
        assert_eq!(
            engine(EngineKind::Docker).ps_args(),
            ["ps", "-a", "--filter", "label=io.mcpctl.project", "--format", "{{json .}}"]
        );
        assert_eq!(
            engine(EngineKind::Podman).ps_args(),
            ["ps", "-a", "--filter", "label=io.mcpctl.project", "--format", "json"]
        );
    }

    #[test]
    fn build_secrets_are_secrets_never_build_args() {
        let mut s = settings();
        s.build_secrets.insert("pip_token".into(), PathBuf::from("/p/token.txt"));
        for k in [EngineKind::Docker, EngineKind::Podman] {
            let a = engine(k).build_args(&s, &BuildOptions::default());
            let i = a.iter().position(|x| x == "--secret").unwrap();
            assert_eq!(a[i + 1], "id=pip_token,src=/p/token.txt");
            assert!(!a.iter().any(|x| x.contains("pip_token") && x.starts_with("PIP")));
        }
        assert_eq!(engine(EngineKind::Docker).build_env(&s), [("DOCKER_BUILDKIT", "1")]);
        assert!(engine(EngineKind::Podman).build_env(&s).is_empty());
        assert!(engine(EngineKind::Docker).build_env(&settings()).is_empty());
    }

    #[test]
    fn publish_build_and_push_argv() {
        let s = settings();
        let o = BuildOptions {
            no_cache: true,
            tags: vec!["127.0.0.1:5000/echo:3".into(), "127.0.0.1:5000/echo:latest".into()],
            platform: Some("linux/amd64".into()),
            digest: None,
        };
        let a = engine(EngineKind::Podman).build_args(&s, &o);
        assert_eq!(
            &a[..9],
            [
                "build",
                "--format",
                "docker",
                "--platform",
                "linux/amd64",
                "-t",
                "127.0.0.1:5000/echo:3",
                "-t",
                "127.0.0.1:5000/echo:latest"
            ]
        );
        assert!(a.contains(&"--no-cache".to_string()));
        assert!(!a.contains(&"echo-server-mcp".to_string()));
        assert_eq!(
            engine(EngineKind::Podman).push_args("127.0.0.1:5000/echo:3"),
            ["push", "--tls-verify=false", "127.0.0.1:5000/echo:3"]
        );
        assert_eq!(
            engine(EngineKind::Docker).push_args("127.0.0.1:5000/echo:3"),
            ["push", "127.0.0.1:5000/echo:3"]
        );
    }

    #[test]
    fn error_texts() {
        assert!(is_no_such_container("Error: No such container: x"));
        assert!(is_no_such_container("Error: no such container x"));
        assert!(is_unreachable(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        ));
        assert!(is_port_taken(
            "docker: Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:19000 failed: port is already allocated."
        ));
        assert!(!is_port_taken("Error: no such image"));
    }
}
