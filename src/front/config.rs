//! The front's state — which projects it routes, and for each its two server slots — and the
//! haproxy.cfg rendered from it (templates/haproxy.cfg.j2). The file always mirrors the state, so
//! a reload or a restart of the front brings back what the runtime API last set.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;
use serde::{Deserialize, Serialize};

use crate::engine::{FRONT_CONFIG_IN, FRONT_SOCKET_IN};

/// The port the front listens on inside its container, with TLS or without (turning TLS on or
/// off is then a reload, not a new container).
pub const LISTEN: u16 = 8080;
/// The two server slots of a backend: an update starts the new container in the free one.
pub const SLOTS: [&str; 2] = ["blue", "green"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrontState {
    /// The host address and port the front publishes.
    pub publish: String,
    /// The image it runs (a change makes the container again).
    #[serde(default)]
    pub image: String,
    pub tls: bool,
    pub token: bool,
    pub projects: BTreeMap<String, Backend>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// `/NAME` on a shared front; empty for a front of its own (served at the root).
    pub prefix: String,
    /// The container port the servers listen on.
    pub port: u16,
    pub slots: BTreeMap<String, Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// The container's id (it keeps it when renamed).
    pub container: String,
    pub ip: String,
    pub state: SlotState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotState {
    /// Takes new sessions.
    Ready,
    /// No new sessions; the sticky ones still reach it.
    Drain,
}

impl Backend {
    /// The slot that takes new sessions.
    pub fn serving(&self) -> Option<(&str, &Slot)> {
        self.slots.iter().find(|(_, s)| s.state == SlotState::Ready).map(|(n, s)| (n.as_str(), s))
    }

    pub fn draining(&self) -> Option<(&str, &Slot)> {
        self.slots.iter().find(|(_, s)| s.state == SlotState::Drain).map(|(n, s)| (n.as_str(), s))
    }

    /// The slot a new container goes into: the one that is not serving.
    pub fn free_slot(&self) -> &'static str {
        match self.serving() {
            Some(("blue", _)) => "green",
            _ => "blue",
        }
    }
}

pub fn load(path: &Path) -> anyhow::Result<FrontState> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "the front's state {} is damaged ({e}): remove the front with `mcpctl down` and start again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FrontState::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

pub fn save(path: &Path, st: &FrontState) -> anyhow::Result<()> {
    crate::state::write_atomic(path, &(serde_json::to_string_pretty(st)? + "\n"))
}

#[derive(Serialize)]
struct ServerLine {
    slot: &'static str,
    addr: String,
    options: &'static str,
}

#[derive(Serialize)]
struct ProjectCtx {
    name: String,
    prefix: String,
    port: u16,
    servers: Vec<ServerLine>,
}

/// haproxy.cfg for this state.
pub fn render(name: &str, st: &FrontState) -> String {
    let projects: Vec<ProjectCtx> = st
        .projects
        .iter()
        .map(|(pname, b)| ProjectCtx {
            name: pname.clone(),
            prefix: b.prefix.clone(),
            port: b.port,
            servers: SLOTS
                .iter()
                .map(|slot| match b.slots.get(*slot) {
                    Some(s) => ServerLine {
                        slot,
                        addr: s.ip.clone(),
                        // Draining: weight 0 takes no new sessions, the sticky ones still pass.
                        options: if s.state == SlotState::Drain { " weight 0" } else { "" },
                    },
                    // An empty slot: `set server ... addr` fills it at the next update.
                    None => ServerLine { slot, addr: "127.0.0.1".into(), options: " disabled" },
                })
                .collect(),
        })
        .collect();
    let root = st.projects.iter().find(|(_, b)| b.prefix.is_empty()).map(|(n, _)| format!("be_{n}"));
    let ctx = serde_json::json!({
        "name": name,
        "tls": st.tls,
        "token": st.token,
        "listen": LISTEN,
        "config_dir": FRONT_CONFIG_IN,
        "socket_dir": FRONT_SOCKET_IN,
        "projects": projects,
        "root_backend": root.unwrap_or_else(|| "be_none".into()),
    });
    crate::template::render(templates(), "haproxy.cfg", ctx)
}

fn templates() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = crate::template::environment();
        env.add_template("haproxy.cfg", include_str!("templates/haproxy.cfg.j2"))
            .expect("the front's template parses");
        env
    })
}

/// The Lua filter that puts a shared front's path prefix into an SSE endpoint event.
pub const SSE_LUA: &str = include_str!("templates/mcp_sse.lua");

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> FrontState {
        let slot = |ip: &str, state| Slot { container: format!("id-{ip}"), ip: ip.into(), state };
        let mut echo = Backend { prefix: "/echo".into(), port: 3001, slots: BTreeMap::new() };
        echo.slots.insert("blue".into(), slot("172.18.0.2", SlotState::Drain));
        echo.slots.insert("green".into(), slot("172.18.0.5", SlotState::Ready));
        let mut sse = Backend { prefix: "/sse".into(), port: 3001, slots: BTreeMap::new() };
        sse.slots.insert("blue".into(), slot("172.18.0.3", SlotState::Ready));
        FrontState {
            publish: "127.0.0.1:19443".into(),
            image: "haproxy:2.6".into(),
            tls: true,
            token: true,
            projects: [("echo".to_string(), echo), ("sse".to_string(), sse)].into(),
        }
    }

    /// The whole file, compared with tests/golden/front/haproxy.cfg (UPDATE_GOLDEN=1 rewrites it).
    #[test]
    fn a_shared_front_with_tls_a_token_and_a_drain_renders_whole() {
        let got = render("mcpctl-front-main", &state());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/front/haproxy.cfg");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(got, want);
    }

    #[test]
    fn a_front_of_its_own_serves_at_the_root_without_tls_or_token() {
        let mut st = state();
        st.projects.remove("sse");
        let echo = st.projects.get_mut("echo").unwrap();
        echo.prefix.clear();
        echo.slots.remove("blue");
        st.tls = false;
        st.token = false;
        let cfg = render("echo-front", &st);
        assert!(cfg.contains("    bind :8080\n"), "{cfg}");
        assert!(cfg.contains("    default_backend be_echo\n"), "{cfg}");
        assert!(!cfg.contains("use_backend"), "{cfg}");
        assert!(!cfg.contains("token.acl") && !cfg.contains("ssl"), "{cfg}");
        assert!(
            cfg.contains("    server blue 127.0.0.1:3001 disabled\n    server green 172.18.0.5:3001\n"),
            "{cfg}"
        );
        assert!(!cfg.contains("replace-path"), "{cfg}");
    }

    #[test]
    fn the_free_slot_is_the_one_not_serving() {
        let st = state();
        assert_eq!(st.projects["echo"].free_slot(), "blue");
        assert_eq!(st.projects["sse"].free_slot(), "green");
        assert_eq!(Backend::default().free_slot(), "blue");
        assert_eq!(st.projects["echo"].draining().unwrap().0, "blue");
    }
}
