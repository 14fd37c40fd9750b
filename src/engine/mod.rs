//! The container engine: which one, and how to talk to it.
//!
//! Modelled on cross-rs's `docker/engine.rs`: an engine-kind enum with capability methods, found by
//! `--engine`/MCPCTL_ENGINE, else `which`, and classified by what the binary says about itself (a
//! `docker` that is podman's alias is podman). Every difference between docker, podman and nerdctl
//! lives under this module, and flows never branch on the engine:
//!
//! * here: the kinds, detection, and the checked engine call (`Engine::run`);
//! * `argv.rs`: the argv of every engine call;
//! * `failure.rs`: what a non-zero exit means (error texts), and the fix to suggest;
//! * `endpoint.rs`: where the engine is (`--host`, the engine client's own environment) and its
//!   socket on another host;
//! * `parse.rs`: the engines' output shapes (inspect, ps, image inspect).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::Explained;
use crate::process::Cmd;

mod argv;
pub(crate) mod endpoint;
mod failure;
mod parse;

pub(crate) use argv::*;
pub use failure::*;
pub use parse::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Docker,
    Podman,
    Nerdctl,
}

impl EngineKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Nerdctl => "nerdctl",
        }
    }

    /// `ps --format json` prints one JSON array on podman; docker and nerdctl print an object per
    /// line with `{{json .}}`.
    pub(crate) fn ps_prints_array(self) -> bool {
        self == EngineKind::Podman
    }

    /// Podman builds OCI images by default, and the OCI format has no HEALTHCHECK: it drops it.
    pub(crate) fn build_needs_docker_format(self) -> bool {
        self == EngineKind::Podman
    }

    /// `run --init`: docker ships docker-init, podman uses catatonit; nerdctl has no such flag.
    pub(crate) fn supports_init(self) -> bool {
        self != EngineKind::Nerdctl
    }

    /// Docker's daemon runs HEALTHCHECK itself; podman only from systemd timers, so without
    /// systemd its health stays `starting`.
    pub(crate) fn runs_healthchecks_itself(self) -> bool {
        self != EngineKind::Podman
    }

    /// Swarm mode (services, secrets, overlay networks across machines): docker's alone.
    pub(crate) fn has_swarm(self) -> bool {
        self == EngineKind::Docker
    }

    /// The global flags that point the client at an engine socket (the forwarded one of another
    /// host); nerdctl has no remote mode and is refused before this.
    pub(crate) fn remote_socket_args(self, socket: &str) -> Vec<String> {
        match self {
            EngineKind::Podman => vec!["--remote".into(), "--url".into(), format!("unix://{socket}")],
            _ => vec!["-H".into(), format!("unix://{socket}")],
        }
    }

    /// The engine's socket on another host when its URL names none: what the variables there
    /// say, else the engine's default for that user.
    pub(crate) fn remote_socket(self, f: &crate::host::Facts) -> String {
        let from = |v: &str| v.strip_prefix("unix://").map(str::to_string);
        match self {
            EngineKind::Podman => from(&f.container_host).unwrap_or_else(|| {
                if f.uid == "0" || f.xdg_runtime_dir.is_empty() {
                    "/run/podman/podman.sock".into()
                } else {
                    format!("{}/podman/podman.sock", f.xdg_runtime_dir)
                }
            }),
            _ => from(&f.docker_host).unwrap_or_else(|| "/var/run/docker.sock".into()),
        }
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
pub(crate) struct Engine {
    pub(crate) kind: EngineKind,
    pub(crate) program: PathBuf,
    /// What `--version` printed, first line.
    pub(crate) version: String,
    /// The machine the engine is on; every call goes there (`Engine::cmd`).
    pub(crate) host: crate::host::Host,
}

const KNOWN: [&str; 3] = ["docker", "podman", "nerdctl"];

/// Find the engine: `requested` (flag, MCPCTL_ENGINE or config) or the first of docker, podman,
/// nerdctl on PATH; then ask the binary what it is.
pub(crate) fn detect(requested: Option<&str>) -> anyhow::Result<Engine> {
    let program = match requested.map(str::trim) {
        Some("") | None => KNOWN.iter().find_map(|n| which::which(n).ok()).ok_or_else(|| {
            Explained::usage("no container engine found")
                .why("none of docker, podman, nerdctl is on PATH")
                .fix("install one (Debian: apt-get install docker.io, or podman) or pass --engine /path/to/binary")
        })?,
        Some(r) if r.contains('/') => {
            let p = PathBuf::from(r);
            if !p.is_file() {
                return Err(Explained::usage(format!("--engine {r}"))
                    .why("no such file")
                    .fix("give the path of a docker, podman or nerdctl binary")
                    .into());
            }
            p
        }
        Some(r) if KNOWN.contains(&r) => which::which(r).map_err(|_| {
            Explained::usage(format!("--engine {r}"))
                .why(format!("{r} is not on PATH"))
                .fix("install it, or pick another with --engine docker|podman|nerdctl")
        })?,
        Some(r) => {
            return Err(Explained::usage(format!("--engine {r}"))
                .why("unknown engine")
                .fix("use docker, podman, nerdctl or a path to one of them")
                .into());
        }
    };
    classify(&program)
}

/// Ask the binary itself, once per binary: the answer is cached by path, size and mtime under
/// ~/.cache/mcpctl, so `mcpctl status` costs one engine call, not two.
pub(crate) fn classify(program: &Path) -> anyhow::Result<Engine> {
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

/// In mcpctl's cache dir, found the one way config finds it.
fn cache_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    Some(crate::config::cache_dir(home.as_deref())?.join("engines.json"))
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
    Some(Engine { kind, program: program.to_path_buf(), version, host: Default::default() })
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
        Some(kind) => {
            Ok(Engine { kind, program: program.to_path_buf(), version: first, host: Default::default() })
        }
        None => Err(Explained::usage(format!("--engine {}", program.display()))
            .why(format!(
                "this binary does not look like docker, podman or nerdctl (its --version printed {first:?})"
            ))
            .fix("point --engine at one of those")
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_from_version_text() {
        use EngineKind::*;
        assert_eq!(EngineKind::from_self_description("Docker version 28.2.2, build e6534b4"), Some(Docker));
        assert_eq!(EngineKind::from_self_description("podman version 4.3.1"), Some(Podman));
        // podman-docker's `docker` wrapper says so, then prints podman's version.
        assert_eq!(
            EngineKind::from_self_description(
                "Emulate Docker CLI using podman. Create /etc/containers/nodocker to quiet msg.\npodman version 4.3.1\n"
            ),
            Some(Podman)
        );
        assert_eq!(EngineKind::from_self_description("nerdctl version 1.7.6"), Some(Nerdctl));
        assert_eq!(EngineKind::from_self_description("GNU coreutils 9.1"), None);
    }
}
