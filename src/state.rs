//! The state file, `~/.config/<package>/docker.json`: `scripts/docker.py`'s `{"port": N}`, read and
//! written compatibly so a user who switches from `scripts/docker.py` keeps their port. Keys other
//! than `port` and ours are kept as they were.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::Transport;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct State {
    /// `scripts/docker.py`'s key: the host port the server was last published on.
    pub(crate) port: Option<u16>,
    /// The transport the last deploy answered over, for the endpoint and `mcpctl client`.
    pub(crate) transport: Option<Transport>,
    /// The image the last deploy ran.
    pub(crate) image_id: Option<String>,
    /// How that container was run (`digest::run_digest`): `update` replaces it when this differs.
    pub(crate) run_digest: Option<String>,
    /// The front the server is deployed behind, if any (front/).
    pub(crate) front: Option<String>,
    /// How many containers serve behind the front (absent: one).
    pub(crate) replicas: Option<u32>,
    /// Every other key, kept verbatim.
    pub(crate) rest: Map<String, Value>,
}

/// What loading found: the state, and a warning when the file was there but unusable.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) state: State,
    pub(crate) warning: Option<String>,
}

pub(crate) fn load(path: &Path) -> Loaded {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded { state: State::default(), warning: None };
        }
        Err(e) => return corrupt(path, &format!("cannot read it: {e}")),
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return corrupt(path, &format!("not JSON ({e})")),
    };
    let Value::Object(mut map) = value else {
        return corrupt(path, "not a JSON object");
    };
    let port = match map.remove("port") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(p) if (1..=65535).contains(&p) => Some(p as u16),
            _ => {
                return corrupt(path, &format!("port {n} is not a port number"));
            }
        },
        Some(other) => return corrupt(path, &format!("port {other} is not a number")),
    };
    // Ours, so an unexpected value is dropped (it is rewritten at the next deploy), not fatal.
    let mut text_key = |k: &str| match map.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let transport = text_key("transport").and_then(|t| match t.as_str() {
        "sse" => Some(Transport::Sse),
        "streamable-http" => Some(Transport::StreamableHttp),
        _ => None,
    });
    let (image_id, run_digest, front) = (text_key("image_id"), text_key("run_digest"), text_key("front"));
    let replicas = match map.remove("replicas") {
        Some(Value::Number(n)) => {
            n.as_u64().filter(|n| (1..=u64::from(crate::config::MAX_REPLICAS)).contains(n))
        }
        _ => None,
    }
    .map(|n| n as u32);
    Loaded {
        state: State { port, transport, image_id, run_digest, front, replicas, rest: map },
        warning: None,
    }
}

fn corrupt(path: &Path, why: &str) -> Loaded {
    Loaded {
        state: State::default(),
        warning: Some(format!(
            "state file {} is unusable ({why}): ignoring it; it is rewritten at the next start",
            path.display()
        )),
    }
}

/// Write atomically (temp file + rename) so a crash never leaves half a file.
pub(crate) fn save(path: &Path, state: &State) -> anyhow::Result<()> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut map = Map::new();
    if let Some(p) = state.port {
        map.insert("port".into(), Value::from(p));
    }
    if let Some(t) = state.transport {
        map.insert("transport".into(), Value::from(t.name()));
    }
    for (k, v) in [("image_id", &state.image_id), ("run_digest", &state.run_digest), ("front", &state.front)]
    {
        if let Some(v) = v {
            map.insert(k.into(), Value::from(v.as_str()));
        }
    }
    if let Some(n) = state.replicas {
        map.insert("replicas".into(), Value::from(n));
    }
    for (k, v) in &state.rest {
        map.insert(k.clone(), v.clone());
    }
    let text = serde_json::to_string_pretty(&Value::Object(map))? + "\n";
    write_atomic(path, &text)
}

/// Write a file whole or not at all: a temp file beside it, then rename. Every file mcpctl
/// rewrites (state, .mcp.json, VERSION, the engine cache) goes through here.
pub(crate) fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.mcpctl-tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_other_keys() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cfg/pkg/docker.json");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, r#"{"port": 19003, "note": "from docker.py"}"#).unwrap();
        let l = load(&p);
        assert!(l.warning.is_none());
        assert_eq!(l.state.port, Some(19003));
        let mut s = l.state;
        s.port = Some(19004);
        save(&p, &s).unwrap();
        let again = load(&p).state;
        assert_eq!(again.port, Some(19004));
        assert_eq!(again.rest.get("note").unwrap(), "from docker.py");
    }

    #[test]
    fn our_keys_are_typed_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("docker.json");
        std::fs::write(&p, r#"{"port": 19000, "transport": "sse", "image_id": "sha256:a", "run_digest": "sha256:b", "x": 1}"#).unwrap();
        std::fs::write(&p, r#"{"port": 19000, "transport": "sse", "image_id": "sha256:a", "run_digest": "sha256:b", "replicas": 3, "x": 1}"#).unwrap();
        let st = load(&p).state;
        assert_eq!(st.replicas, Some(3));
        assert_eq!(st.transport, Some(Transport::Sse));
        assert_eq!(st.image_id.as_deref(), Some("sha256:a"));
        assert_eq!(st.run_digest.as_deref(), Some("sha256:b"));
        assert_eq!(st.rest.keys().collect::<Vec<_>>(), ["x"]);
        save(&p, &st).unwrap();
        assert_eq!(load(&p).state, st);
        // A value of ours we cannot read is dropped, never fatal.
        std::fs::write(&p, r#"{"port": 19000, "transport": "carrier-pigeon"}"#).unwrap();
        let l = load(&p);
        assert!(l.warning.is_none() && l.state.transport.is_none() && l.state.port == Some(19000));
    }

    #[test]
    fn docker_py_format_is_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("docker.json");
        // Exactly what scripts/docker.py's save_state writes.
        std::fs::write(&p, "{\n  \"port\": 19000\n}").unwrap();
        assert_eq!(load(&p).state.port, Some(19000));
    }

    #[test]
    fn missing_file_is_empty_without_warning() {
        let l = load(Path::new("/nonexistent/docker.json"));
        assert_eq!(l.state, State::default());
        assert!(l.warning.is_none());
    }

    #[test]
    fn corruption_warns_and_falls_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("docker.json");
        for bad in ["{not json", "[1,2]", r#"{"port": "abc"}"#, r#"{"port": 70000}"#, ""] {
            std::fs::write(&p, bad).unwrap();
            let l = load(&p);
            assert_eq!(l.state.port, None, "{bad}");
            let w = l.warning.expect(bad);
            assert!(w.contains("is unusable") && w.contains("rewritten"), "{w}");
        }
        // Rewriting repairs it.
        save(&p, &State { port: Some(19001), ..Default::default() }).unwrap();
        assert_eq!(load(&p).state.port, Some(19001));
    }

    #[test]
    fn unreadable_file_warns() {
        let d = tempfile::tempdir().unwrap();
        // A directory where the file should be cannot be read as a file.
        let p = d.path().join("docker.json");
        std::fs::create_dir(&p).unwrap();
        let l = load(&p);
        assert!(l.warning.unwrap().contains("cannot read it"));
    }
}
