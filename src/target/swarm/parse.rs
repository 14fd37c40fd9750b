//! What a swarm manager says, parsed: `info .Swarm`, `node ls`, `service ps`, `service inspect`
//! (the update's state), each from the 28.x client's `--format '{{json .}}'` output. Tested against
//! recordings of a real 3-node swarm (fixtures/engine-outputs/swarm).

use serde::Serialize;
use serde_json::Value;

/// This engine's place in a swarm (`docker info --format '{{json .Swarm}}'`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SwarmInfo {
    /// inactive, pending, active, error, locked.
    pub state: String,
    /// Whether this node is a manager (it can create services).
    pub manager: bool,
    pub node_id: String,
    /// The address the other nodes reach this one at (the front's published port is there).
    pub node_addr: String,
    pub nodes: u64,
    pub managers: u64,
    pub error: String,
}

pub fn swarm_info(text: &str) -> anyhow::Result<SwarmInfo> {
    let v: Value = serde_json::from_str(text.trim())
        .map_err(|e| anyhow::anyhow!("unexpected `info .Swarm` output ({e}): {}", text.trim()))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(SwarmInfo {
        state: s("LocalNodeState"),
        manager: v.get("ControlAvailable").and_then(Value::as_bool).unwrap_or(false),
        node_id: s("NodeID"),
        node_addr: s("NodeAddr"),
        nodes: v.get("Nodes").and_then(Value::as_u64).unwrap_or(0),
        managers: v.get("Managers").and_then(Value::as_u64).unwrap_or(0),
        error: s("Error"),
    })
}

/// One node (`node ls --format '{{json .}}'`, a line each).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Node {
    pub id: String,
    pub hostname: String,
    /// Ready, Down, Unknown, Disconnected.
    pub status: String,
    /// Active, Pause, Drain.
    pub availability: String,
    /// Leader, Reachable, Unreachable, or empty for a worker.
    pub manager_status: String,
    /// The node this engine is.
    pub is_self: bool,
}

impl Node {
    pub fn ready(&self) -> bool {
        self.status.eq_ignore_ascii_case("ready")
    }

    /// Takes tasks: ready and active (not paused, not drained).
    pub fn schedulable(&self) -> bool {
        self.ready() && self.availability.eq_ignore_ascii_case("active")
    }
}

fn lines(text: &str) -> impl Iterator<Item = anyhow::Result<Value>> + '_ {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| {
        serde_json::from_str(l.trim()).map_err(|e| anyhow::anyhow!("unexpected engine output ({e}): {l}"))
    })
}

fn field(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

pub fn nodes(text: &str) -> anyhow::Result<Vec<Node>> {
    lines(text)
        .map(|v| {
            let v = v?;
            Ok(Node {
                id: field(&v, "ID"),
                hostname: field(&v, "Hostname"),
                status: field(&v, "Status"),
                availability: field(&v, "Availability"),
                manager_status: field(&v, "ManagerStatus"),
                is_self: v.get("Self").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

/// One task (`service ps --no-trunc --format '{{json .}}'`): the current ones and the history
/// (a `\_ ` before the name is a task its slot had before).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    /// `SERVICE.SLOT`, without the history's `\_ `.
    pub name: String,
    pub image: String,
    pub node: String,
    /// Running, Shutdown, Complete, Failed, Rejected, Ready, Starting, Pending...
    pub desired: String,
    /// `Running 5 seconds ago`: the state, then how long ago.
    pub current: String,
    pub error: String,
    /// Not the slot's current task but one it had before.
    pub history: bool,
}

impl Task {
    /// The state word of `current` (`Running`, `Rejected`...).
    pub fn state(&self) -> &str {
        self.current.split_whitespace().next().unwrap_or("")
    }

    pub fn running(&self) -> bool {
        self.state() == "Running"
    }

    /// Meant to run (not one being shut down or replaced).
    pub fn wanted(&self) -> bool {
        self.desired == "Running" || self.desired == "Ready"
    }
}

pub fn tasks(text: &str) -> anyhow::Result<Vec<Task>> {
    lines(text)
        .map(|v| {
            let v = v?;
            let raw = field(&v, "Name");
            let name = raw.trim_start_matches(|c: char| c == '\\' || c == '_' || c.is_whitespace());
            Ok(Task {
                id: field(&v, "ID"),
                history: name.len() != raw.len(),
                name: name.to_string(),
                image: field(&v, "Image"),
                node: field(&v, "Node"),
                desired: field(&v, "DesiredState"),
                current: field(&v, "CurrentState"),
                // The engine quotes the error inside the string: "\"task: non-zero exit (3)\"".
                error: field(&v, "Error").trim_matches('"').to_string(),
            })
        })
        .collect()
}

/// A service as `service inspect --format '{{json .}}'` describes it: what it runs, and how its
/// last update went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// The image reference the spec names (`repo:tag@sha256:…`).
    pub image: String,
    /// The one the previous spec named (what `service rollback` returns to).
    pub previous_image: Option<String>,
    pub replicas: Option<u64>,
    /// updating, paused, completed, rollback_started, rollback_paused, rollback_completed; empty
    /// before any update.
    pub update_state: String,
    pub update_message: String,
    /// When the last update (or rollback) started: tells a new one from the one before.
    pub update_started: String,
    /// Secret and config names the spec uses (and the previous one).
    pub secrets: Vec<String>,
    pub configs: Vec<String>,
    pub previous_secrets: Vec<String>,
    pub previous_configs: Vec<String>,
    /// The spec's labels (io.mcpctl.*).
    pub labels: std::collections::BTreeMap<String, String>,
}

fn names(v: Option<&Value>, key: &str) -> Vec<String> {
    v.and_then(|c| c.get(key))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get(if key == "Secrets" { "SecretName" } else { "ConfigName" }))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn service(text: &str) -> anyhow::Result<Service> {
    let text = text.trim();
    let v: Value = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("unexpected `service inspect` output ({e}): {text}"))?;
    // `inspect` without --format prints an array; with it, one object.
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.remove(0),
        other => other,
    };
    let spec = v.get("Spec");
    let prev = v.get("PreviousSpec");
    let container = |s: Option<&Value>| {
        s.and_then(|s| s.get("TaskTemplate")).and_then(|t| t.get("ContainerSpec")).cloned()
    };
    let (cur, old) = (container(spec), container(prev));
    let image = |c: &Option<Value>| {
        c.as_ref().and_then(|c| c.get("Image")).and_then(Value::as_str).map(str::to_string)
    };
    let update = v.get("UpdateStatus");
    Ok(Service {
        id: field(&v, "ID"),
        name: spec.map(|s| field(s, "Name")).unwrap_or_default(),
        image: image(&cur).unwrap_or_default(),
        previous_image: image(&old),
        replicas: spec.and_then(|s| s.pointer("/Mode/Replicated/Replicas")).and_then(Value::as_u64),
        update_state: update.map(|u| field(u, "State")).unwrap_or_default(),
        update_message: update.map(|u| field(u, "Message")).unwrap_or_default(),
        update_started: update.map(|u| field(u, "StartedAt")).unwrap_or_default(),
        secrets: names(cur.as_ref(), "Secrets"),
        configs: names(cur.as_ref(), "Configs"),
        previous_secrets: names(old.as_ref(), "Secrets"),
        previous_configs: names(old.as_ref(), "Configs"),
        labels: spec
            .and_then(|s| s.get("Labels"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
            .unwrap_or_default(),
    })
}

/// `name` per line (`service ls`/`secret ls`/`config ls`/`network ls --format '{{.Name}}'`).
pub fn names_list(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// A task's address on the project's network, from `inspect TASK --format '{{json .NetworksAttachments}}'`.
pub fn task_address(text: &str, network: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text.trim()).ok()?;
    v.as_array()?.iter().find_map(|a| {
        let name = a.pointer("/Network/Spec/Name").and_then(Value::as_str)?;
        if name != network {
            return None;
        }
        let addr = a.get("Addresses")?.as_array()?.first()?.as_str()?;
        Some(addr.split('/').next().unwrap_or(addr).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_task_is_told_from_the_current_one() {
        let t = tasks(concat!(
            r#"{"CurrentState":"Running 3 seconds ago","DesiredState":"Running","Error":"","ID":"a","Image":"r/x@sha256:1","Name":"p-mcp.1","Node":"sw1","Ports":""}"#,
            "\n",
            r#"{"CurrentState":"Shutdown 4 seconds ago","DesiredState":"Shutdown","Error":"","ID":"b","Image":"r/x@sha256:0","Name":" \\_ p-mcp.1","Node":"sw1","Ports":""}"#,
        ))
        .unwrap();
        assert_eq!(t.len(), 2);
        assert!(!t[0].history && t[0].running() && t[0].wanted());
        assert!(t[1].history && t[1].name == "p-mcp.1" && !t[1].wanted() && t[1].state() == "Shutdown");
    }

    #[test]
    fn an_inactive_engine_is_no_manager() {
        let i = swarm_info(r#"{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"","RemoteManagers":null}"#).unwrap();
        assert_eq!((i.state.as_str(), i.manager), ("inactive", false));
    }
}
