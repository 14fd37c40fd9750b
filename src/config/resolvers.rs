//! One small resolver per concern, each taking the layers low → high (the file's setting, then the
//! flag or its MCPCTL_* variable, which clap has already merged) through one `pick`, then
//! checking what it got. `resolve` in mod.rs puts them together.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::values::{
    normalize_name, package_name, parse_base_port, parse_port, valid_image_ref, valid_object_name,
    valid_restart, value_to_string,
};
use super::*;
use crate::error::Explained;

/// The highest layer that says something, else the default: a flag (or its MCPCTL_* variable),
/// then the config file.
pub(crate) fn pick<T>(flag: Option<T>, file: Option<T>, default: impl FnOnce() -> T) -> T {
    flag.or(file).unwrap_or_else(default)
}

/// Where file settings came from, for messages.
pub(crate) fn source(files: &ProjectFiles) -> String {
    files.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "config".into())
}

/// Names: the project, its Python package, container and image.
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) package: String,
    pub(crate) container: String,
    pub(crate) image: String,
}

pub(crate) fn identity(
    dir: &Path,
    files: &ProjectFiles,
    o: &Overrides,
    src: &str,
) -> anyhow::Result<Identity> {
    let f = &files.config;
    let Some(raw_name) = o.name.clone().or_else(|| f.name.clone()).or_else(|| files.project_name.clone())
    else {
        return Err(Explained::usage("no project name")
            .why(format!("{} has no pyproject.toml with [project].name", dir.display()))
            .fix("run mcpctl in your server's directory, pass -C DIR, or give --name")
            .into());
    };
    let name = normalize_name(&raw_name);
    if name.is_empty() || !valid_object_name(&name) {
        return Err(Explained::usage(format!("project name {raw_name:?} cannot name a container"))
            .fix(
                "use letters, digits, '-', '_' or '.', starting with a letter or digit (set --name or name in \
                 [tool.mcpctl])",
            )
            .into());
    }
    // The Python package (data directories, state dir) comes from the project, not from a
    // renamed container: `--name` must not move where the server keeps its data.
    let package = match (&f.package, &files.project_name) {
        (Some(p), _) => p.clone(),
        (None, Some(project)) => package_name(project),
        (None, None) => package_name(&name),
    };
    let container = f.container.clone().unwrap_or_else(|| format!("{name}-mcp"));
    if !valid_object_name(&container) {
        return Err(Explained::usage(format!(
            "container name {container:?} ({src}) is not one the engine accepts"
        ))
        .fix("use letters, digits, '-', '_' or '.', starting with a letter or digit")
        .into());
    }
    let image = pick(o.image.clone(), f.image.clone(), || container.to_lowercase());
    if !valid_image_ref(&image) {
        return Err(Explained::usage(format!("image name {image:?} is not a valid image reference"))
            .fix("use lowercase letters, digits, '.', '_', '-' and '/', with an optional :tag")
            .into());
    }
    Ok(Identity { name, package, container, image })
}

/// The state file's name: `docker.json`, `scripts/docker.py`'s; a second instance of the same
/// package under another name gets its own file (paths.rs puts it under `~/.config/PACKAGE`).
pub(crate) fn state_name(files: &ProjectFiles, id: &Identity) -> String {
    let same_project = files.project_name.as_deref().map(normalize_name).is_none_or(|p| p == id.name);
    if same_project { "docker.json".to_string() } else { format!("docker-{}.json", id.name) }
}

pub(crate) struct Ports {
    pub(crate) base_port: u16,
    pub(crate) container_port: u16,
    pub(crate) publish_address: IpAddr,
}

pub(crate) fn ports(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<Ports> {
    // File values are numbers of any size: checked like the flags are (`what` names the key
    // where the parser's message does not).
    let from_file = |v: Option<i64>, parse: fn(&str) -> Result<u16, String>, what: &str| {
        v.map(|p| {
            parse(&p.to_string())
                .map_err(|e| anyhow::Error::from(Explained::usage(format!("{src}: {what}{e}"))))
        })
        .transpose()
    };
    let base_port = pick(o.base_port, from_file(f.base_port, parse_base_port, "")?, || DEFAULT_BASE_PORT);
    let container_port =
        pick(o.container_port, from_file(f.container_port, parse_port, "container-port: ")?, || {
            DEFAULT_CONTAINER_PORT
        });
    let addr = pick(o.publish_address.clone(), f.publish_address.clone(), || "127.0.0.1".into());
    let publish_address: IpAddr = addr.parse().map_err(|_| {
        Explained::usage(format!("publish address {addr:?} is not an IP address"))
            .fix("use 127.0.0.1 (this machine only) or 0.0.0.0 (the network)")
    })?;
    Ok(Ports { base_port, container_port, publish_address })
}

/// Three volumes (data, config, logs) under the package's home paths, or the file's
/// `suffix = "/path"` table.
pub(crate) fn volumes(f: &FileConfig, id: &Identity, src: &str) -> anyhow::Result<Vec<Volume>> {
    let (c, pkg) = (&id.container, &id.package);
    let volumes: Vec<Volume> = match &f.volumes {
        Some(v) => v.iter().map(|(k, p)| Volume { name: format!("{c}_{k}"), path: p.clone() }).collect(),
        None => [
            ("data", format!("/home/appuser/.{pkg}")),
            ("config", format!("/home/appuser/.config/{pkg}")),
            ("logs", format!("/home/appuser/.local/share/{pkg}")),
        ]
        .into_iter()
        .map(|(k, path)| Volume { name: format!("{c}_{k}"), path })
        .collect(),
    };
    for v in &volumes {
        if !valid_object_name(&v.name) {
            return Err(Explained::usage(format!(
                "volume name {:?} ({src}) is not one the engine accepts",
                v.name
            ))
            .fix("volume keys may use letters, digits, '-', '_' and '.'")
            .into());
        }
        if !v.path.starts_with('/') || v.path.contains(':') {
            return Err(Explained::usage(format!("volume {:?} ({src}) mounts on {:?}", v.name, v.path))
                .why("the path in the container must be absolute and contain no ':'")
                .into());
        }
    }
    Ok(volumes)
}

/// The container's environment, low → high: mcpctl's defaults, the file's `env`, `-e` flags
/// (`-e KEY` alone takes the value from mcpctl's environment).
pub(crate) fn env(
    o: &Overrides,
    f: &FileConfig,
    container_port: u16,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    env.insert("PORT".to_string(), container_port.to_string());
    env.insert("LOG_LEVEL".to_string(), "INFO".to_string());
    for (k, v) in f.env.iter().flatten() {
        env.insert(k.clone(), value_to_string(v));
    }
    for (k, v) in &o.env {
        let v = match v {
            Some(v) => v.clone(),
            None => std::env::var(k).map_err(|_| {
                Explained::usage(format!("-e {k}"))
                    .why(format!("{k} is not set in mcpctl's environment"))
                    .fix(format!("export it first, or give -e {k}=VALUE"))
            })?,
        };
        env.insert(k.clone(), v);
    }
    if let Some(k) = env.keys().find(|k| k.is_empty() || k.contains('=') || k.contains(char::is_whitespace)) {
        return Err(Explained::usage(format!("environment variable name {k:?} is not valid"))
            .why("no '=', no spaces")
            .into());
    }
    Ok(env)
}

pub(crate) fn env_file(dir: &Path, o: &Overrides, f: &FileConfig) -> anyhow::Result<Option<PathBuf>> {
    let Some(p) = o.env_file.clone().or_else(|| f.env_file.clone()).map(|p| dir.join(p)) else {
        return Ok(None);
    };
    if !p.is_file() {
        return Err(Explained::usage(format!("env file {} does not exist", p.display()))
            .fix("create it (see example.env) or drop the env-file setting")
            .into());
    }
    Ok(Some(p))
}

pub(crate) fn restart(o: &Overrides, f: &FileConfig) -> anyhow::Result<String> {
    let restart = pick(o.restart.clone(), f.restart.clone(), || DEFAULT_RESTART.into());
    if !valid_restart(&restart) {
        return Err(Explained::usage(format!("restart policy {restart:?} is not one the engines know"))
            .fix("use no, always, unless-stopped or on-failure[:N]")
            .into());
    }
    Ok(restart)
}

/// What a build reads beyond the context: Dockerfile, context, build args and secrets.
pub(crate) struct Build {
    pub(crate) dockerfile: PathBuf,
    pub(crate) context: PathBuf,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) build_secrets: BTreeMap<String, PathBuf>,
}

pub(crate) fn build(dir: &Path, o: &Overrides, f: &FileConfig) -> anyhow::Result<Build> {
    let dockerfile = dir.join(pick(o.dockerfile.clone(), f.dockerfile.clone(), || "Dockerfile".into()));
    let context = dir.join(pick(o.context.clone(), f.context.clone(), || ".".into()));
    let file_args = f.build_args.iter().flatten().map(|(k, v)| (k.clone(), value_to_string(v)));
    let build_args = file_args.chain(o.build_args.iter().cloned()).collect();
    let file_secrets = f.build_secrets.iter().flatten().map(|(k, v)| (k.clone(), v.clone()));
    let flag_secrets = o.build_secrets.iter().map(|(k, v)| (k.clone(), PathBuf::from(v)));
    let mut build_secrets: BTreeMap<String, PathBuf> = file_secrets.chain(flag_secrets).collect();
    for (id, file) in build_secrets.iter_mut() {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(Explained::usage(format!("build secret id {id:?} is not valid"))
                .fix("use letters, digits, '_', '-', '.'")
                .into());
        }
        *file = dir.join(&*file);
        if !file.is_file() {
            return Err(Explained::usage(format!("build secret {id}"))
                .why(format!("{} does not exist", file.display()))
                .fix("put the token in that file (keep it out of git), or drop the secret")
                .into());
        }
    }
    Ok(Build { dockerfile, context, build_args, build_secrets })
}

/// `apt-packages`: Debian package names, each checked (they go into the Dockerfile), duplicates dropped.
pub(crate) fn apt_packages(f: &FileConfig, src: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in f.apt_packages.iter().flatten() {
        if !valid_apt_package(p) {
            return Err(Explained::usage(apt_package_error(p, "apt-packages:"))
                .fix(format!("fix it in {src}"))
                .into());
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub(crate) struct Timeouts {
    pub(crate) ready: Duration,
    pub(crate) stop: u32,
    pub(crate) swap_stop: u32,
}

pub(crate) fn timeouts(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<Timeouts> {
    let ready = pick(o.ready_timeout, f.ready_timeout, || DEFAULT_READY_TIMEOUT);
    if !(ready.is_finite() && ready > 0.0 && ready <= 3600.0) {
        return Err(Explained::usage(format!("ready timeout {ready} s is out of range"))
            .fix("use 0.1 to 3600 seconds")
            .into());
    }
    let seconds = |v: Option<i64>, key: &str, default: u32| match v {
        Some(t) if (0..=600).contains(&t) => Ok(t as u32),
        Some(t) => Err(anyhow::Error::from(
            Explained::usage(format!("{src}: {key} {t} is out of range")).fix("use 0-600 seconds"),
        )),
        None => Ok(default),
    };
    Ok(Timeouts {
        ready: Duration::from_secs_f64(ready),
        stop: seconds(f.stop_timeout, "stop-timeout", DEFAULT_STOP_TIMEOUT)?,
        swap_stop: seconds(f.swap_stop_timeout, "swap-stop-timeout", DEFAULT_SWAP_STOP_TIMEOUT)?,
    })
}

/// The transport to probe and the endpoint path (`/sse` for SSE unless the file says otherwise).
pub(crate) fn transport(o: &Overrides, f: &FileConfig) -> anyhow::Result<(TransportSetting, String)> {
    let t = pick(o.transport.clone(), f.transport.clone(), || "auto".into());
    let transport = TransportSetting::parse(&t).ok_or_else(|| {
        Explained::usage(format!("transport {t:?} is not one mcpctl can probe"))
            .fix("use streamable-http, sse or auto")
    })?;
    let mcp_path = f.mcp_path.clone().unwrap_or_else(|| match transport {
        TransportSetting::Sse => "/sse".into(),
        _ => "/mcp".into(),
    });
    if !mcp_path.starts_with('/') {
        return Err(Explained::usage(format!("mcp-path {mcp_path:?} must start with '/', e.g. /mcp")).into());
    }
    Ok((transport, mcp_path))
}

/// Whether the front was asked for (None: whatever is deployed). Replicas need it: it is what
/// spreads requests over them.
pub(crate) fn front_wanted(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<Option<bool>> {
    let many = replicas(o, f, src)?.is_some_and(|n| n > 1);
    let wanted = if o.no_front {
        Some(false)
    } else if o.front || o.front_group.is_some() {
        Some(true)
    } else {
        f.front.or(f.front_group.as_ref().map(|_| true))
    };
    match wanted {
        Some(false) if many => Err(Explained::usage("more than one replica without the front".to_string())
            .why("the front is what spreads requests over the replicas")
            .fix("drop --no-front (or `front = false`), or ask for --replicas 1")
            .into()),
        _ if many => Ok(Some(true)),
        w => Ok(w),
    }
}

/// How many containers serve (None: as deployed), 1 to MAX_REPLICAS.
pub(crate) fn replicas(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<Option<u32>> {
    let (n, from) = match (o.replicas, f.replicas) {
        (Some(n), _) => (i64::from(n), "--replicas".to_string()),
        (None, Some(n)) => (n, format!("{src}: replicas")),
        (None, None) => return Ok(None),
    };
    if !(1..=i64::from(MAX_REPLICAS)).contains(&n) {
        return Err(Explained::usage(format!("{from} {n} is out of range"))
            .fix(format!("ask for 1 to {MAX_REPLICAS} replicas"))
            .into());
    }
    Ok(Some(n as u32))
}

pub(crate) fn front(
    dir: &Path,
    o: &Overrides,
    f: &FileConfig,
    name: &str,
    src: &str,
) -> anyhow::Result<FrontSettings> {
    let group = pick(o.front_group.clone(), f.front_group.clone(), String::new);
    if !group.is_empty() && !valid_object_name(&group) {
        return Err(Explained::usage(format!("front group {group:?} cannot name a container"))
            .fix("use letters, digits, '-', '_' or '.'")
            .into());
    }
    let front_name = if group.is_empty() { format!("{name}-front") } else { format!("mcpctl-front-{group}") };
    let image = pick(o.front_image.clone(), f.front_image.clone(), || DEFAULT_FRONT_IMAGE.into());
    if !valid_image_ref(&image) {
        return Err(Explained::usage(format!(
            "front image {image:?} is not a valid image reference, e.g. haproxy:2.6"
        ))
        .into());
    }
    let port = f
        .front_port
        .map(|p| {
            parse_port(&p.to_string())
                .map_err(|e| anyhow::Error::from(Explained::usage(format!("{src}: front-port")).why(e)))
        })
        .transpose()?
        .or((!group.is_empty()).then_some(DEFAULT_SHARED_FRONT_PORT));
    let drain = pick(o.drain_timeout, f.drain_timeout, || DEFAULT_DRAIN_TIMEOUT);
    if !(drain.is_finite() && (0.0..=3600.0).contains(&drain)) {
        return Err(Explained::usage(format!("drain timeout {drain} s is out of range"))
            .fix("use 0 to 3600 seconds")
            .into());
    }
    let (token, token_problem) = front_token(dir, f);
    Ok(FrontSettings {
        name: front_name,
        shared: !group.is_empty(),
        image,
        port,
        tls: front_tls(dir, o, f)?,
        token,
        token_file: f.token_file.as_ref().map(|t| dir.join(t)),
        token_problem,
        drain_timeout: Duration::from_secs_f64(drain),
        oauth: super::oauth::resolve(&o.oauth, f, f.token_file.is_some() || f.token_env.is_some())?,
    })
}

fn front_tls(dir: &Path, o: &Overrides, f: &FileConfig) -> anyhow::Result<FrontTls> {
    let cert = o.tls_cert.clone().or_else(|| f.tls_cert.clone()).map(|p| dir.join(p));
    let key = o.tls_key.clone().or_else(|| f.tls_key.clone()).map(|p| dir.join(p));
    let mode = o.tls.clone().or_else(|| f.tls.clone());
    match (mode.as_deref(), cert, key) {
        (Some("off") | None, None, None) => Ok(FrontTls::Off),
        (Some("self-signed"), None, None) => Ok(FrontTls::SelfSigned),
        (None | Some("on"), Some(cert), Some(key)) => {
            for (what, p) in [("tls-cert", &cert), ("tls-key", &key)] {
                if !p.is_file() {
                    let of = if what == "tls-cert" { "certificate" } else { "private key" };
                    return Err(Explained::usage(format!("{what} {} does not exist", p.display()))
                        .fix(format!("give the PEM file of the front's {of}"))
                        .into());
                }
            }
            let has = |p: &Path, block: &str| std::fs::read_to_string(p).is_ok_and(|t| t.contains(block));
            if !has(&cert, "-----BEGIN CERTIFICATE-----") {
                return Err(Explained::usage(format!(
                    "tls-cert {} holds no PEM certificate",
                    cert.display()
                ))
                .fix("give the certificate (and its chain) in PEM")
                .into());
            }
            if !has(&key, "PRIVATE KEY-----") {
                return Err(Explained::usage(format!("tls-key {} holds no PEM private key", key.display()))
                    .fix("give the certificate's key in PEM")
                    .into());
            }
            Ok(FrontTls::Files { cert, key })
        }
        (_, Some(_), None) | (_, None, Some(_)) => Err(Explained::usage(
            "HTTPS at the front needs both --tls-cert and --tls-key (PEM files), or --tls self-signed",
        )
        .into()),
        (Some(m), _, _) => Err(Explained::usage(format!("tls {m:?} is not one mcpctl knows"))
            .fix("use off or self-signed, or give --tls-cert and --tls-key")
            .into()),
    }
}

/// The bearer token: from the variable token-env names, or from token-file. Only visible ASCII
/// (what a header carries whole, and one line of the front's token file).
fn front_token(dir: &Path, f: &FileConfig) -> (Option<Secret>, Option<Explained>) {
    match read_token(dir, f) {
        (Some(t), _) if !t.0.bytes().all(|b| b.is_ascii_graphic()) => (
            None,
            Some(
                Explained::usage("the bearer token holds spaces or control characters")
                    .fix("use letters, digits and -._~+/= only"),
            ),
        ),
        other => other,
    }
}

fn read_token(dir: &Path, f: &FileConfig) -> (Option<Secret>, Option<Explained>) {
    if let Some(file) = &f.token_file {
        let p = dir.join(file);
        return match std::fs::read_to_string(&p) {
            Ok(t) if !t.trim().is_empty() => (Some(Secret(t.trim().to_string())), None),
            Ok(_) => (
                None,
                Some(
                    Explained::usage(format!("token file {} is empty", p.display()))
                        .fix("put the token in it"),
                ),
            ),
            Err(e) => (
                None,
                Some(
                    Explained::usage(format!("cannot read the token file {}", p.display()))
                        .why(e.to_string()),
                ),
            ),
        };
    }
    match &f.token_env {
        Some(var) => {
            match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => (Some(Secret(t.trim().to_string())), None),
                _ => (
                    None,
                    Some(Explained::usage(format!("token-env names {var}, but it is not set")).fix(format!(
                        "export {var}=TOKEN, or drop token-env to run the front without a token"
                    ))),
                ),
            }
        }
        None => (None, None),
    }
}

/// `run-image`: a reference the engine can pull.
pub(crate) fn run_image(o: &Overrides, f: &FileConfig) -> anyhow::Result<Option<String>> {
    let Some(image) = o.run_image.clone().or_else(|| f.run_image.clone()).filter(|i| !i.trim().is_empty())
    else {
        return Ok(None);
    };
    if !valid_image_ref(&image) {
        return Err(Explained::usage(format!(
            "run image {image:?} is not a valid image reference, e.g. registry.example:5000/team/server:3"
        ))
        .into());
    }
    Ok(Some(image))
}

/// `registry` (`--push-to`, MCPCTL_REGISTRY): a repository without a tag that images are pushed
/// to, for `publish` and for a swarm's nodes to pull from.
pub(crate) fn registry(o: &Overrides, f: &FileConfig) -> anyhow::Result<Option<String>> {
    let Some(r) = o.push_to.clone().or_else(|| f.registry.clone()).filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let r = r.trim().trim_end_matches('/').to_string();
    let has_tag = r.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
    if has_tag || r.contains('@') || !valid_image_ref(&r) {
        return Err(Explained::usage(format!(
            "registry {r:?} is not an image repository without a tag, e.g. ghcr.io/org/server or 127.0.0.1:5000/server"
        ))
        .into());
    }
    Ok(Some(r))
}

/// `target`: engine (the default) or swarm. A swarm serves through a front of its own (the only
/// thing it publishes), so a shared front or `--no-front` is refused here.
pub(crate) fn target(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<TargetKind> {
    let (value, from) = match (&o.target, &f.target) {
        (Some(t), _) => (t.clone(), "--target".to_string()),
        (None, Some(t)) => (t.clone(), format!("{src}: target")),
        (None, None) => return Ok(TargetKind::Engine),
    };
    let kind = match value.trim() {
        "engine" | "" => TargetKind::Engine,
        "swarm" => TargetKind::Swarm,
        other => {
            return Err(Explained::usage(format!("{from} {other:?} is not a target"))
                .fix("use engine (one engine, here or --host) or swarm (a Docker Swarm cluster)")
                .into());
        }
    };
    if kind == TargetKind::Swarm {
        if o.no_front || f.front == Some(false) {
            return Err(Explained::usage("a swarm target without the front")
                .why("on a swarm the front is the only thing published: it reaches the tasks on the project's network")
                .fix("drop --no-front (or `front = false`)")
                .into());
        }
        if o.front_group.is_some() || f.front_group.is_some() {
            return Err(Explained::usage("a shared front on a swarm target")
                .why("each project on a swarm gets a front service of its own")
                .fix("drop front-group, or use --target engine")
                .into());
        }
    }
    Ok(kind)
}

/// `placement` (`--placement`, repeatable): swarm constraints, `ATTR==VALUE` or `ATTR!=VALUE`.
pub(crate) fn placement(o: &Overrides, f: &FileConfig, src: &str) -> anyhow::Result<Vec<String>> {
    let (list, from) = if o.placement.is_empty() {
        (f.placement.clone().unwrap_or_default(), format!("{src}: placement"))
    } else {
        (o.placement.clone(), "--placement".to_string())
    };
    for c in &list {
        let ok = ["==", "!="].iter().any(|op| {
            c.split_once(op).is_some_and(|(k, v)| {
                let k = k.trim();
                !v.trim().is_empty()
                    && k.starts_with("node.")
                    && k.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
            })
        });
        if !ok {
            return Err(Explained::usage(format!("{from} {c:?} is not a placement constraint"))
                .fix("write node.ATTRIBUTE==VALUE or !=, e.g. node.hostname==db1 or node.labels.disk==ssd")
                .into());
        }
    }
    Ok(list)
}
