//! The engines' output shapes, parsed into one shape each: `container inspect` (a JSON array on
//! every engine), `ps` (an object per line on docker and nerdctl, one array on podman) and
//! `image inspect`. Tested against real recordings (tests/integration/recordings.rs).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{LABEL_DIGEST, LABEL_PROJECT};

use super::EngineKind;

/// A container as `container inspect` describes it, the same shape for every engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    pub(crate) image_id: String,
    /// Host ports published for each container port ("3001/tcp" → [19000]).
    pub ports: BTreeMap<String, Vec<u16>>,
    pub started_at: String,
    pub error: String,
    /// Its address on each network it is on (the front reaches it there).
    pub(crate) networks: BTreeMap<String, String>,
    /// The process it runs: `Path` then `Args` (entrypoint and CMD together, on every engine).
    pub command: Vec<String>,
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

fn networks_of(v: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(m)) = v else { return BTreeMap::new() };
    m.iter()
        .filter_map(|(net, n)| {
            let ip = n.get("IPAddress")?.as_str()?;
            (!ip.is_empty()).then(|| (net.clone(), ip.to_string()))
        })
        .collect()
}

impl ContainerInfo {
    /// Its address on `network`.
    pub(crate) fn ip_on(&self, network: &str) -> Option<std::net::IpAddr> {
        self.networks.get(network)?.parse().ok()
    }
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
        networks: networks_of(c.get("NetworkSettings").and_then(|n| n.get("Networks"))),
        command: command_of(c),
    }
}

/// `Path` then `Args`; podman's `--init` puts its init in front (`/run/podman-init -- CMD…`), docker's
/// does not show: left out, so the command is the image's on both.
fn command_of(c: &Value) -> Vec<String> {
    let path = str_at(c, &["Path"]);
    let args = c.get("Args").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    let mut command: Vec<String> =
        (!path.is_empty()).then_some(path).into_iter().chain(args).map(str::to_string).collect();
    if command.first().is_some_and(|p| p.ends_with("/podman-init"))
        && command.get(1).is_some_and(|a| a == "--")
    {
        command.drain(..2);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_leaves_podman_s_init_out() {
        let inspect = |path: &str, args: &[&str]| {
            let v = serde_json::json!([{ "Path": path, "Args": args }]);
            parse_inspect(&v.to_string()).unwrap().remove(0).command
        };
        assert_eq!(inspect("/run/podman-init", &["--", "mcp-proxy", "--", "x"]), ["mcp-proxy", "--", "x"]);
        assert_eq!(inspect("mcp-proxy", &["--", "x"]), ["mcp-proxy", "--", "x"]);
        assert_eq!(inspect("", &[]), Vec::<String>::new());
    }
}

/// An image as `image inspect` describes it: its id and labels (docker and podman both keep
/// them under Config.Labels).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// What it runs; only from a whole `image inspect`, None from a `--format` one.
    pub content: Option<ImageContent>,
}

/// What an image runs: its layers (RootFS.Layers, the hashes of each layer's uncompressed content,
/// the same whichever builder made them) and its config (command, environment, user, ports,
/// healthcheck, labels ...). Two builds of the same files differ in id when only mcpctl's digest
/// label differs, because the engines hash the whole config, that label included, into the id
/// (recorded: fixtures/engine-outputs/*/image-inspect-relabelled). So "the same image" is these
/// two compared: the same filesystem, run the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageContent {
    pub layers: Vec<String>,
    pub config: Value,
}

impl ImageContent {
    /// The same filesystem, run the same way. Nothing is the same as an image whose layers
    /// the engine did not show: replacing a container is the safe side.
    pub fn same_as(&self, other: &ImageContent) -> bool {
        !self.layers.is_empty() && self == other
    }
}

/// The config less what differs between two builds of the same files: mcpctl's digest label and,
/// from docker's legacy builder (which adds each label as a step of its own), `Config.Image`, the
/// id of the step before the last. podman keeps the healthcheck beside `Config`, not in it. Empty
/// values are dropped, so `null`, `{}` and absent say the same.
fn content_of(i: &Value) -> Option<ImageContent> {
    let layers = i.get("RootFS")?.get("Layers")?.as_array()?;
    let layers: Vec<String> = layers.iter().filter_map(|l| l.as_str().map(str::to_string)).collect();
    let mut config = match i.get("Config") {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    config.remove("Image");
    if let Some(Value::Object(labels)) = config.get_mut("Labels") {
        labels.remove(LABEL_DIGEST);
    }
    for k in ["Healthcheck", "Architecture", "Os", "Variant"] {
        if let Some(v) = i.get(k) {
            config.entry(k).or_insert_with(|| v.clone());
        }
    }
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    config.retain(|_, v| !empty(v));
    Some(ImageContent { layers, config: Value::Object(config) })
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
            content: content_of(i),
        })
        .collect())
}

/// `image inspect --format '{{.Id}} {{json .Config.Labels}}'`: a line per image, the id, a space,
/// the labels as JSON (`null` for none).
pub fn parse_id_labels(stdout: &str) -> anyhow::Result<Vec<ImageInfo>> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (id, labels) = l.trim().split_once(' ').unwrap_or((l.trim(), "null"));
            let v: Value = serde_json::from_str(labels)
                .map_err(|e| anyhow::anyhow!("the engine's image labels are not JSON ({e}): {labels}"))?;
            Ok(ImageInfo { id: id.to_string(), labels: labels_of(Some(&v)), content: None })
        })
        .collect()
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
