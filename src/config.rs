//! Settings, resolved in one place with one precedence:
//! flags > MCPCTL_* environment (both read by clap) > `[tool.mcpctl]` in pyproject.toml or
//! `mcpctl.toml` > defaults derived from the project (`[project].name`).
//!
//! The defaults reproduce the seed script's constants, so a project that used
//! `scripts/docker.py` keeps its container name, volumes and port.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::usage;

pub const DEFAULT_BASE_PORT: u16 = 19000;
pub const PORT_TRIES: u16 = 100;
pub const DEFAULT_CONTAINER_PORT: u16 = 3001;
pub const DEFAULT_RESTART: &str = "unless-stopped";
pub const DEFAULT_READY_TIMEOUT: f64 = 60.0;
pub const DEFAULT_STOP_TIMEOUT: u32 = 10;
pub const DEFAULT_SWAP_STOP_TIMEOUT: u32 = 2;
pub const LABEL_PROJECT: &str = "io.mcpctl.project";
pub const LABEL_PORT: &str = "io.mcpctl.port";
pub const LABEL_DIR: &str = "io.mcpctl.project-dir";
/// On images: the digest of everything the build read (digest.rs).
pub const LABEL_DIGEST: &str = "io.mcpctl.digest";

/// What flags and MCPCTL_* variables asked for (see `cli::Cli::overrides`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub name: Option<String>,
    pub image: Option<String>,
    pub base_port: Option<u16>,
    pub container_port: Option<u16>,
    pub publish_address: Option<String>,
    /// `-e KEY=VALUE`, or `-e KEY` (None): the value from mcpctl's environment.
    pub env: Vec<(String, Option<String>)>,
    pub env_file: Option<PathBuf>,
    pub restart: Option<String>,
    pub dockerfile: Option<PathBuf>,
    pub context: Option<PathBuf>,
    pub build_args: Vec<(String, String)>,
    pub build_secrets: Vec<(String, String)>,
    pub ready_timeout: Option<f64>,
    pub transport: Option<String>,
    pub engine: Option<String>,
}

/// `[tool.mcpctl]` in pyproject.toml, or the top level of mcpctl.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub name: Option<String>,
    pub package: Option<String>,
    pub container: Option<String>,
    pub image: Option<String>,
    #[serde(alias = "base_port")]
    pub base_port: Option<i64>,
    #[serde(alias = "container_port")]
    pub container_port: Option<i64>,
    #[serde(alias = "publish_address")]
    pub publish_address: Option<String>,
    /// Volume suffix → path in the container; the volume is named `<container>_<suffix>`.
    pub volumes: Option<BTreeMap<String, String>>,
    pub env: Option<BTreeMap<String, toml::Value>>,
    #[serde(alias = "env_file")]
    pub env_file: Option<PathBuf>,
    pub restart: Option<String>,
    pub dockerfile: Option<PathBuf>,
    pub context: Option<PathBuf>,
    #[serde(alias = "build_args")]
    pub build_args: Option<BTreeMap<String, toml::Value>>,
    /// Build secret id → file (relative to the project), passed as `--secret id=ID,src=FILE`.
    #[serde(alias = "build_secrets")]
    pub build_secrets: Option<BTreeMap<String, PathBuf>>,
    #[serde(alias = "ready_timeout")]
    pub ready_timeout: Option<f64>,
    #[serde(alias = "stop_timeout")]
    pub stop_timeout: Option<i64>,
    /// Stop timeout for the old container during update/rollback: short, clients are waiting.
    #[serde(alias = "swap_stop_timeout")]
    pub swap_stop_timeout: Option<i64>,
    /// Run with an init as PID 1 (`--init`) so SIGTERM is handled and stops are fast.
    pub init: Option<bool>,
    pub transport: Option<String>,
    #[serde(alias = "mcp_path")]
    pub mcp_path: Option<String>,
    pub engine: Option<String>,
    /// Registry repository for `mcpctl publish` (e.g. ghcr.io/org/server).
    pub registry: Option<String>,
    /// Platform for `mcpctl publish` builds (default linux/amd64).
    pub platform: Option<String>,
    /// Environment variable holding the client's bearer token, for `mcpctl client`.
    #[serde(alias = "token_env")]
    pub token_env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportSetting {
    Auto,
    StreamableHttp,
    Sse,
}

impl TransportSetting {
    pub fn parse(s: &str) -> Option<TransportSetting> {
        match s {
            "auto" => Some(TransportSetting::Auto),
            "streamable-http" | "http" => Some(TransportSetting::StreamableHttp),
            "sse" => Some(TransportSetting::Sse),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub path: String,
}

/// Everything a flow needs to know, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub project_dir: PathBuf,
    pub name: String,
    pub package: String,
    pub container: String,
    pub image: String,
    pub base_port: u16,
    pub container_port: u16,
    pub publish_address: IpAddr,
    pub volumes: Vec<Volume>,
    pub env: BTreeMap<String, String>,
    pub env_file: Option<PathBuf>,
    pub restart: String,
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub build_args: BTreeMap<String, String>,
    pub build_secrets: BTreeMap<String, PathBuf>,
    pub ready_timeout: Duration,
    pub stop_timeout: u32,
    pub swap_stop_timeout: u32,
    pub init: bool,
    pub transport: TransportSetting,
    pub mcp_path: String,
    pub engine: Option<String>,
    pub registry: Option<String>,
    pub platform: Option<String>,
    pub token_env: Option<String>,
    pub state_file: PathBuf,
    /// `~/.cache/mcpctl` (or under XDG_CACHE_HOME): what can be rebuilt, like build records.
    pub cache_dir: PathBuf,
    /// Where file settings came from, for messages.
    pub config_file: Option<PathBuf>,
}

impl Settings {
    pub fn endpoint(&self, port: u16) -> String {
        format!("http://localhost:{port}{}", self.mcp_path)
    }
}

/// The project as found on disk: its pyproject name and its mcpctl config, if any.
#[derive(Debug, Default)]
pub struct ProjectFiles {
    pub project_name: Option<String>,
    pub config: FileConfig,
    pub config_file: Option<PathBuf>,
}

/// Read pyproject.toml and mcpctl.toml from `dir`. A missing file is fine; a broken one is not.
pub fn read_project(dir: &Path) -> anyhow::Result<ProjectFiles> {
    let mut out = ProjectFiles::default();
    let pyproject = dir.join("pyproject.toml");
    let mut in_pyproject = false;
    if let Some(text) = read_optional(&pyproject)? {
        let doc: PyProject = toml::from_str(&text).map_err(|e| toml_error(&pyproject, &text, e))?;
        out.project_name = doc.project.and_then(|p| p.name);
        if let Some(cfg) = doc.tool.and_then(|t| t.mcpctl) {
            out.config = cfg;
            out.config_file = Some(pyproject.clone());
            in_pyproject = true;
        }
    }
    let mcpctl_toml = dir.join("mcpctl.toml");
    if let Some(text) = read_optional(&mcpctl_toml)? {
        if in_pyproject {
            return Err(usage(format!(
                "settings in both {} and [tool.mcpctl] of {}: mcpctl reads one place; move them into one of the two",
                mcpctl_toml.display(),
                pyproject.display()
            )));
        }
        out.config = toml::from_str(&text).map_err(|e| toml_error(&mcpctl_toml, &text, e))?;
        out.config_file = Some(mcpctl_toml);
    }
    Ok(out)
}

/// The parts of pyproject.toml mcpctl reads; everything else in it is left alone.
#[derive(Deserialize)]
struct PyProject {
    project: Option<PyProjectTable>,
    tool: Option<PyTools>,
}

#[derive(Deserialize)]
struct PyProjectTable {
    name: Option<String>,
}

#[derive(Deserialize)]
struct PyTools {
    mcpctl: Option<FileConfig>,
}

fn read_optional(p: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(p) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(usage(format!("cannot read {}: {e}; check its permissions", p.display()))),
    }
}

fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> anyhow::Error {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .map(|l| format!(" at line {l}"))
        .unwrap_or_default();
    let msg = e.message().trim().replace('\n', " ");
    if let Some(m) = type_mismatch(text, e.span(), &msg) {
        return usage(format!("{}{line}: {m}", path.display()));
    }
    if msg.starts_with("unknown field") {
        return usage(format!(
            "{}{line}: {}; see the README's settings table for the keys mcpctl knows",
            path.display(),
            tidy_serde_message(&msg)
        ));
    }
    usage(format!("{} is not valid TOML{line}: {msg}; fix the file and try again", path.display()))
}

/// serde's "invalid type: string \"x\", expected i64" on valid TOML: name the key and the type it
/// takes, in TOML's words rather than Rust's.
fn type_mismatch(text: &str, span: Option<std::ops::Range<usize>>, msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let wanted = match expected.trim() {
        "i64" | "i32" | "u16" | "u32" | "u64" => "a whole number (e.g. 19000)",
        "f64" | "f32" => "a number of seconds (e.g. 60)",
        "a boolean" => "true or false",
        "a string" | "path string" => "a string in quotes",
        "a map" => "a table (e.g. { KEY = \"value\" })",
        other => other,
    };
    let key = span.and_then(|s| key_before(text, s.start)).unwrap_or_else(|| "this setting".into());
    Some(format!("{key} takes {wanted}, not {found}; fix the value"))
}

/// The key of the `key = value` whose value starts at byte `at`.
fn key_before(text: &str, at: usize) -> Option<String> {
    let before = text.get(..at)?;
    let eq = before.rfind('=')?;
    let head = before[..eq].trim_end();
    let start = head.rfind(['{', ',', '\n']).map(|i| i + 1).unwrap_or(0);
    let key = head[start..].trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then(|| key.to_string())
}

/// "unknown field `x`, expected one of ..." → "unknown key `x`" (the list is long and in the README).
fn tidy_serde_message(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return format!("unknown key {key}");
    }
    msg.to_string()
}

/// Project name → PEP 503 normal form, used for the container and image names.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.trim().chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub fn package_name(name: &str) -> String {
    normalize_name(name).replace('-', "_")
}

pub fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!("port {p} is out of range: use 1-65535")),
        Err(_) => Err(format!("'{s}' is not a port number: use 1-65535")),
    }
}

/// A base port leaves room for the 100 ports tried after it.
pub fn parse_base_port(s: &str) -> Result<u16, String> {
    let max = 65535 - (PORT_TRIES as u32 - 1);
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=max).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!(
            "base port {p} is out of range: mcpctl tries {PORT_TRIES} ports from it, so use 1-{max}"
        )),
        Err(_) => Err(format!("base port '{s}' is not a number: use 1-{max}, e.g. 19000")),
    }
}

/// `KEY=VALUE`, or `KEY` alone (the value is then read from the environment when settings resolve).
pub fn parse_env_arg(s: &str) -> Result<(String, Option<String>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), Some(v.to_string()))),
        None if !s.is_empty() => Ok((s.to_string(), None)),
        _ => Err(format!("'{s}' is not KEY=VALUE or KEY")),
    }
}

pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not KEY=VALUE")),
    }
}

/// Names the engines accept for containers and volumes: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_object_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// An image reference: lowercase path components, optional registry host:port and tag.
pub fn valid_image_ref(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let (path, tag) = match s.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (s, None),
    };
    if let Some(t) = tag {
        let mut tc = t.chars();
        let first_ok = matches!(tc.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_');
        if !first_ok || t.len() > 128 || !tc.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return false;
        }
    }
    let parts: Vec<&str> = path.split('/').collect();
    parts.iter().enumerate().all(|(i, p)| {
        let registry = i == 0 && parts.len() > 1 && (p.contains('.') || p.contains(':') || *p == "localhost");
        if registry {
            return p.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
        }
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric())
    })
}

fn valid_restart(s: &str) -> bool {
    match s.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        None => matches!(s, "no" | "always" | "unless-stopped" | "on-failure"),
        _ => false,
    }
}

fn value_to_string(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Resolve the settings. `home` is where `~/.config/<package>/docker.json` lives.
pub fn resolve(
    project_dir: &Path,
    files: &ProjectFiles,
    o: &Overrides,
    home: &Path,
) -> anyhow::Result<Settings> {
    let f = &files.config;
    let src = files.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "config".into());

    let raw_name = o.name.clone().or_else(|| f.name.clone()).or_else(|| files.project_name.clone());
    let Some(raw_name) = raw_name else {
        return Err(usage(format!(
            "no project name: {} has no pyproject.toml with [project].name; run mcpctl in your \
             server's directory, pass -C DIR, or give --name",
            project_dir.display()
        )));
    };
    let name = normalize_name(&raw_name);
    if name.is_empty() || !valid_object_name(&name) {
        return Err(usage(format!(
            "project name '{raw_name}' cannot name a container: use letters, digits, '-', '_' or '.', \
             starting with a letter or digit (set --name or name in [tool.mcpctl])"
        )));
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
        return Err(usage(format!(
            "container name '{container}' ({src}) is not one the engine accepts: use letters, \
             digits, '-', '_' or '.', starting with a letter or digit"
        )));
    }
    let image = o.image.clone().or_else(|| f.image.clone()).unwrap_or_else(|| container.to_lowercase());
    if !valid_image_ref(&image) {
        return Err(usage(format!(
            "image name '{image}' is not a valid image reference: use lowercase letters, digits, \
             '.', '_', '-' and '/', with an optional :tag"
        )));
    }

    let base_port = match (o.base_port, f.base_port) {
        (Some(p), _) => p,
        (None, Some(p)) => parse_base_port(&p.to_string()).map_err(|e| usage(format!("{src}: {e}")))?,
        (None, None) => DEFAULT_BASE_PORT,
    };
    let container_port = match (o.container_port, f.container_port) {
        (Some(p), _) => p,
        (None, Some(p)) => {
            parse_port(&p.to_string()).map_err(|e| usage(format!("{src}: container-port: {e}")))?
        }
        (None, None) => DEFAULT_CONTAINER_PORT,
    };
    let addr_s =
        o.publish_address.clone().or_else(|| f.publish_address.clone()).unwrap_or("127.0.0.1".into());
    let publish_address: IpAddr = addr_s.parse().map_err(|_| {
        usage(format!(
            "publish address '{addr_s}' is not an IP address: use 127.0.0.1 (this machine only) or 0.0.0.0 (the network)"
        ))
    })?;

    let volumes: Vec<Volume> = match &f.volumes {
        Some(v) => {
            v.iter().map(|(k, p)| Volume { name: format!("{container}_{k}"), path: p.clone() }).collect()
        }
        None => vec![
            Volume { name: format!("{container}_data"), path: format!("/home/appuser/.{package}") },
            Volume { name: format!("{container}_config"), path: format!("/home/appuser/.config/{package}") },
            Volume {
                name: format!("{container}_logs"),
                path: format!("/home/appuser/.local/share/{package}"),
            },
        ],
    };
    for v in &volumes {
        if !valid_object_name(&v.name) {
            return Err(usage(format!(
                "volume name '{}' ({src}) is not one the engine accepts: volume keys may use \
                 letters, digits, '-', '_' and '.'",
                v.name
            )));
        }
        if !v.path.starts_with('/') || v.path.contains(':') {
            return Err(usage(format!(
                "volume '{}' ({src}) mounts on '{}': the path in the container must be absolute and contain no ':'",
                v.name, v.path
            )));
        }
    }

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
                usage(format!(
                    "-e {k}: {k} is not set in mcpctl's environment; export it first, or give -e {k}=VALUE"
                ))
            })?,
        };
        env.insert(k.clone(), v);
    }
    for k in env.keys() {
        if k.is_empty() || k.contains('=') || k.contains(char::is_whitespace) {
            return Err(usage(format!("environment variable name '{k}' is not valid: no '=', no spaces")));
        }
    }

    let env_file = o.env_file.clone().or_else(|| f.env_file.clone()).map(|p| project_dir.join(p));
    if let Some(p) = &env_file
        && !p.is_file()
    {
        return Err(usage(format!(
            "env file {} does not exist: create it (see example.env) or drop the env-file setting",
            p.display()
        )));
    }

    let restart = o.restart.clone().or_else(|| f.restart.clone()).unwrap_or(DEFAULT_RESTART.into());
    if !valid_restart(&restart) {
        return Err(usage(format!(
            "restart policy '{restart}' is not one the engines know: use no, always, unless-stopped or on-failure[:N]"
        )));
    }

    let dockerfile = project_dir
        .join(o.dockerfile.clone().or_else(|| f.dockerfile.clone()).unwrap_or("Dockerfile".into()));
    let context = project_dir.join(o.context.clone().or_else(|| f.context.clone()).unwrap_or(".".into()));

    let mut build_args = BTreeMap::new();
    for (k, v) in f.build_args.iter().flatten() {
        build_args.insert(k.clone(), value_to_string(v));
    }
    for (k, v) in &o.build_args {
        build_args.insert(k.clone(), v.clone());
    }

    let mut build_secrets = BTreeMap::new();
    for (k, v) in f.build_secrets.iter().flatten() {
        build_secrets.insert(k.clone(), v.clone());
    }
    for (k, v) in &o.build_secrets {
        build_secrets.insert(k.clone(), PathBuf::from(v));
    }
    for (id, file) in build_secrets.iter_mut() {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(usage(format!(
                "build secret id '{id}' is not valid: use letters, digits, '_', '-', '.'"
            )));
        }
        *file = project_dir.join(&*file);
        if !file.is_file() {
            return Err(usage(format!(
                "build secret {id}: {} does not exist: put the token in that file (keep it out of git), or drop the secret",
                file.display()
            )));
        }
    }

    let ready = o.ready_timeout.or(f.ready_timeout).unwrap_or(DEFAULT_READY_TIMEOUT);
    if !(ready.is_finite() && ready > 0.0 && ready <= 3600.0) {
        return Err(usage(format!("ready timeout {ready} s is out of range: use 0.1 to 3600 seconds")));
    }
    let stop_timeout = match f.stop_timeout {
        Some(t) if (0..=600).contains(&t) => t as u32,
        Some(t) => {
            return Err(usage(format!("{src}: stop-timeout {t} is out of range: use 0-600 seconds")));
        }
        None => DEFAULT_STOP_TIMEOUT,
    };
    let swap_stop_timeout = match f.swap_stop_timeout {
        Some(t) if (0..=600).contains(&t) => t as u32,
        Some(t) => {
            return Err(usage(format!("{src}: swap-stop-timeout {t} is out of range: use 0-600 seconds")));
        }
        None => DEFAULT_SWAP_STOP_TIMEOUT,
    };
    let t = o.transport.clone().or_else(|| f.transport.clone()).unwrap_or("auto".into());
    let transport = TransportSetting::parse(&t).ok_or_else(|| {
        usage(format!("transport '{t}' is not one mcpctl can probe: use streamable-http, sse or auto"))
    })?;
    let mcp_path = f.mcp_path.clone().unwrap_or_else(|| match transport {
        TransportSetting::Sse => "/sse".into(),
        _ => "/mcp".into(),
    });
    if !mcp_path.starts_with('/') {
        return Err(usage(format!("mcp-path '{mcp_path}' must start with '/', e.g. /mcp")));
    }

    Ok(Settings {
        project_dir: project_dir.to_path_buf(),
        // The seed's path; a second instance of the same package under another name gets its own.
        state_file: home.join(".config").join(&package).join(
            if files.project_name.as_deref().map(normalize_name).is_none_or(|p| p == name) {
                "docker.json".to_string()
            } else {
                format!("docker-{name}.json")
            },
        ),
        cache_dir: std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cache"))
            .join("mcpctl"),
        name,
        package,
        container,
        image,
        base_port,
        container_port,
        publish_address,
        volumes,
        env,
        env_file,
        restart,
        dockerfile,
        context,
        build_args,
        build_secrets,
        ready_timeout: Duration::from_secs_f64(ready),
        stop_timeout,
        swap_stop_timeout,
        init: f.init.unwrap_or(true),
        transport,
        mcp_path,
        engine: o.engine.clone().or_else(|| f.engine.clone()),
        registry: f.registry.clone(),
        platform: f.platform.clone(),
        token_env: f.token_env.clone(),
        config_file: files.config_file.clone(),
    })
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
        resolve(d.path(), &f, o, Path::new("/home/u"))
    }

    #[test]
    fn defaults_match_the_seed_script() {
        let s = resolve_with("[project]\nname = \"Echo_Server\"\n", &Overrides::default()).unwrap();
        assert_eq!(s.name, "echo-server");
        assert_eq!(s.package, "echo_server");
        assert_eq!(s.container, "echo-server-mcp");
        assert_eq!(s.image, "echo-server-mcp");
        assert_eq!(s.base_port, 19000);
        assert_eq!(s.container_port, 3001);
        assert_eq!(s.publish_address.to_string(), "127.0.0.1");
        assert_eq!(s.restart, "unless-stopped");
        assert_eq!(s.state_file, Path::new("/home/u/.config/echo_server/docker.json"));
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
        assert_eq!(s.state_file, Path::new("/home/u/.config/demo/docker-flag.json"));
        assert_eq!(s.env.get("LOG_LEVEL").unwrap(), "WARNING");
    }

    #[test]
    fn mcpctl_toml_is_read_and_both_places_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname='a'\n").unwrap();
        std::fs::write(
            d.path().join("mcpctl.toml"),
            "image = \"reg.local:5000/a/b:1\"\n[volumes]\ncache = \"/cache\"\n",
        )
        .unwrap();
        let f = read_project(d.path()).unwrap();
        let s = resolve(d.path(), &f, &Overrides::default(), Path::new("/h")).unwrap();
        assert_eq!(s.image, "reg.local:5000/a/b:1");
        assert_eq!(s.volumes, vec![Volume { name: "a-mcp_cache".into(), path: "/cache".into() }]);
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname='a'\n[tool.mcpctl]\nname='b'\n")
            .unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("mcpctl reads one place"), "{e}");
    }

    #[test]
    fn unknown_key_names_the_key_and_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname='a'\n[tool.mcpctl]\nbase_prot = 1\n",
        )
        .unwrap();
        let e = read_project(d.path()).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        let e = e.to_string();
        assert!(e.contains("pyproject.toml at line 4: unknown key `base_prot`"), "{e}");
        std::fs::remove_file(d.path().join("pyproject.toml")).unwrap();
        std::fs::write(d.path().join("mcpctl.toml"), "\nimage = 'x'\nwat = 2\n").unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("mcpctl.toml at line 3: unknown key `wat`"), "{e}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_and_the_type() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            ("base-port = \"x\"", "line 4: base-port takes a whole number (e.g. 19000), not string \"x\""),
            ("ready-timeout = \"slow\"", "ready-timeout takes a number of seconds"),
            ("init = \"yes\"", "init takes true or false, not string \"yes\""),
            ("env = \"A=1\"", "env takes a table"),
            ("volumes = { data = 3 }", "data takes a string in quotes, not integer `3`"),
        ];
        for (line, want) in cases {
            let text = format!("[project]\nname='a'\n[tool.mcpctl]\n{line}\n");
            std::fs::write(d.path().join("pyproject.toml"), &text).unwrap();
            let e = read_project(d.path()).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2);
            let e = e.to_string();
            assert!(e.contains(want), "{line}: {e}");
            assert!(!e.contains("not valid TOML") && !e.contains("i64"), "{e}");
        }
    }

    #[test]
    fn bad_toml_is_one_line_with_the_line_number() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"a\n").unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("is not valid TOML at line 2"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn no_name_is_a_usage_error() {
        let d = tempfile::tempdir().unwrap();
        let e =
            resolve(d.path(), &ProjectFiles::default(), &Overrides::default(), Path::new("/h")).unwrap_err();
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
        let e = resolve(d.path(), &f, &Overrides::default(), Path::new("/h")).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(e.to_string().contains("build secret pip_token"), "{e}");
        std::fs::write(d.path().join("token.txt"), "t").unwrap();
        let s = resolve(d.path(), &f, &Overrides::default(), Path::new("/h")).unwrap();
        assert_eq!(s.build_secrets["pip_token"], d.path().join("token.txt"));
    }

    #[test]
    fn port_parsers() {
        assert_eq!(parse_base_port("19000"), Ok(19000));
        assert!(parse_base_port("abc").unwrap_err().contains("not a number"));
        assert!(parse_base_port("0").unwrap_err().contains("out of range"));
        assert!(parse_base_port("65437").unwrap_err().contains("1-65436"));
        assert_eq!(parse_base_port("65436"), Ok(65436));
        assert_eq!(parse_port("3001"), Ok(3001));
        assert!(parse_port("65536").is_err());
        assert_eq!(parse_key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_key_value("=x").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("My.Cool__Server"), "my-cool-server");
        assert_eq!(package_name("My.Cool__Server"), "my_cool_server");
        assert!(valid_object_name("echo-server-mcp_data"));
        assert!(!valid_object_name("-x"));
        assert!(!valid_object_name("a/b"));
        assert!(valid_image_ref("echo-server-mcp"));
        assert!(valid_image_ref("127.0.0.1:5000/team/echo:12"));
        assert!(valid_image_ref("localhost/echo:latest"));
        assert!(!valid_image_ref("Echo"));
        assert!(!valid_image_ref("echo:"));
        assert!(!valid_image_ref("echo-"));
    }
}
