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
pub(crate) const LISTEN: u16 = 8080;
/// The two generations of a backend's servers: an update starts the new containers in the free
/// one, beside the serving one. Each has one slot per replica: `blue`, `blue2`, `blue3`...
pub(crate) const COLORS: [&str; 2] = ["blue", "green"];

/// The slot of replica `i` (from 1) in generation `color` (`blue`, then `blue2`...: a front made
/// before replicas keeps its slot names).
pub(crate) fn slot_name(color: &str, i: u32) -> String {
    if i <= 1 { color.to_string() } else { format!("{color}{i}") }
}

/// The generation a slot belongs to.
pub(crate) fn color_of(slot: &str) -> &str {
    slot.trim_end_matches(|c: char| c.is_ascii_digit())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FrontState {
    /// The host address and port the front publishes.
    pub(crate) publish: String,
    /// The image it runs (a change makes the container again).
    #[serde(default)]
    pub(crate) image: String,
    /// HTTPS is the front's, for every project it routes.
    pub(crate) tls: bool,
    /// A state written before tokens were per project: one token for the whole front. Read only,
    /// to keep every project it routed protected (see `load`).
    #[serde(default, rename = "token", skip_serializing)]
    pub(crate) legacy_token: bool,
    pub(crate) projects: BTreeMap<String, Backend>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Backend {
    /// `/NAME` on a shared front; empty for a front of its own (served at the root).
    pub(crate) prefix: String,
    /// The container port the servers listen on.
    pub(crate) port: u16,
    /// Whether this project's requests need its bearer token (in its own file, `token_file`).
    /// Per project: on a shared front one project's token never opens or closes another.
    #[serde(default)]
    pub(crate) token: bool,
    /// The era its servers answered in when probed: how the front health-checks them.
    #[serde(default)]
    pub(crate) era: crate::config::Era,
    /// Slots per generation in the config (the most replicas it has served): more replicas need
    /// a reload to add slots; fewer leave empty ones.
    #[serde(default = "one")]
    pub(crate) capacity: u32,
    pub(crate) slots: BTreeMap<String, Slot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Slot {
    /// The container's id (it keeps it when renamed).
    pub(crate) container: String,
    pub(crate) ip: String,
    pub(crate) state: SlotState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SlotState {
    /// Takes new sessions.
    Ready,
    /// No new sessions; the sticky ones still reach it.
    Drain,
}

fn one() -> u32 {
    1
}

impl Default for Backend {
    fn default() -> Backend {
        Backend {
            prefix: String::new(),
            port: 0,
            token: false,
            era: Default::default(),
            capacity: 1,
            slots: BTreeMap::new(),
        }
    }
}

impl Backend {
    /// The slots that take new sessions and stateless requests, in replica order.
    pub(crate) fn serving(&self) -> Vec<(&str, &Slot)> {
        self.in_state(SlotState::Ready)
    }

    /// The slots whose sessions still reach them, taking nothing new.
    pub(crate) fn draining(&self) -> Vec<(&str, &Slot)> {
        self.in_state(SlotState::Drain)
    }

    fn in_state(&self, state: SlotState) -> Vec<(&str, &Slot)> {
        let mut v: Vec<_> =
            self.slots.iter().filter(|(_, s)| s.state == state).map(|(n, s)| (n.as_str(), s)).collect();
        v.sort_by_key(|(n, _)| (color_of(n).to_string(), n.len(), n.to_string()));
        v
    }

    /// The generation that serves now (blue when none does).
    pub(crate) fn serving_color(&self) -> &'static str {
        match self.serving().first() {
            Some((n, _)) if color_of(n) == "green" => "green",
            _ => "blue",
        }
    }

    /// The generation new containers go into: the one that is not serving.
    pub(crate) fn free_color(&self) -> &'static str {
        match self.serving().first() {
            Some((n, _)) if color_of(n) == "blue" => "green",
            _ => "blue",
        }
    }

    /// The containers that serve (in replica order).
    pub(crate) fn serving_containers(&self) -> Vec<String> {
        self.serving().into_iter().map(|(_, s)| s.container.clone()).collect()
    }
}

/// The file, in the front's config directory, holding project `name`'s "Bearer TOKEN" line.
pub(crate) fn token_file(name: &str) -> String {
    format!("token-{name}.acl")
}

pub(crate) fn load(path: &Path) -> anyhow::Result<FrontState> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut st: FrontState = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "the front's state {} is damaged ({e}): remove the front with `mcpctl down` and start again",
                    path.display()
                )
            })?;
            if std::mem::take(&mut st.legacy_token) {
                // The old front-wide token protected every project: each stays protected (with
                // that token, files::tokens) until its own next start or update says otherwise.
                st.projects.values_mut().for_each(|b| b.token = true);
            }
            Ok(st)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FrontState::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

pub(crate) fn save(path: &Path, st: &FrontState) -> anyhow::Result<()> {
    crate::state::write_atomic(path, &(serde_json::to_string_pretty(st)? + "\n"))
}

#[derive(Serialize)]
struct ServerLine {
    slot: String,
    /// Fixed per slot (blue i: 2i-1, green i: 2i): the stick tables keep a session's server by
    /// id, so adding slots in a reload must not renumber the ones that serve.
    id: u32,
    addr: String,
    options: &'static str,
}

#[derive(Serialize)]
struct ProjectCtx {
    name: String,
    prefix: String,
    port: u16,
    /// Its token file, when its requests need a token.
    token_file: Option<String>,
    servers: Vec<ServerLine>,
}

/// haproxy.cfg for this state.
pub(crate) fn render(name: &str, st: &FrontState) -> String {
    let projects: Vec<ProjectCtx> = st
        .projects
        .iter()
        .map(|(pname, b)| ProjectCtx {
            name: pname.clone(),
            prefix: b.prefix.clone(),
            port: b.port,
            token_file: b.token.then(|| format!("{FRONT_CONFIG_IN}/{}", token_file(pname))),
            servers: COLORS
                .iter()
                .enumerate()
                .flat_map(|(k, c)| {
                    (1..=b.capacity.max(1)).map(move |i| (slot_name(c, i), 2 * i - 1 + k as u32))
                })
                .map(|(slot, id)| match b.slots.get(&slot) {
                    Some(s) => ServerLine {
                        slot,
                        id,
                        addr: s.ip.clone(),
                        // Draining: weight 0 takes no new sessions, the sticky ones still pass;
                        // unchecked, as they may answer in an era the backend no longer checks
                        // (a dead one's sessions go elsewhere on connect failure, and get 404).
                        options: if s.state == SlotState::Drain { " weight 0 no-check" } else { "" },
                    },
                    // An empty slot: `set server ... addr` fills it at the next update.
                    None => ServerLine { slot, id, addr: "127.0.0.1".into(), options: " disabled" },
                })
                .collect(),
        })
        .collect();
    let root = st.projects.iter().find(|(_, b)| b.prefix.is_empty()).map(|(n, _)| format!("be_{n}"));
    let ctx = serde_json::json!({
        "name": name,
        "tls": st.tls,
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
pub(crate) const SSE_LUA: &str = include_str!("templates/mcp_sse.lua");

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> FrontState {
        let slot = |ip: &str, state| Slot { container: format!("id-{ip}"), ip: ip.into(), state };
        let mut echo = Backend { prefix: "/echo".into(), port: 3001, token: true, ..Default::default() };
        echo.slots.insert("blue".into(), slot("172.18.0.2", SlotState::Drain));
        echo.slots.insert("green".into(), slot("172.18.0.5", SlotState::Ready));
        // A shared front with one protected project and one open one.
        let mut sse = Backend { prefix: "/sse".into(), port: 3001, token: false, ..Default::default() };
        sse.slots.insert("blue".into(), slot("172.18.0.3", SlotState::Ready));
        FrontState {
            publish: "127.0.0.1:19443".into(),
            image: "haproxy:2.6".into(),
            tls: true,
            legacy_token: false,
            projects: [("echo".to_string(), echo), ("sse".to_string(), sse)].into(),
        }
    }

    /// The whole file, compared with tests/golden/front/haproxy.cfg (UPDATE_GOLDEN=1 rewrites it):
    /// TLS, a drain, and a mixed group (echo with a token, sse without).
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
        echo.token = false;
        st.tls = false;
        let cfg = render("echo-front", &st);
        assert!(cfg.contains("    bind :8080\n"), "{cfg}");
        assert!(cfg.contains("    default_backend be_echo\n"), "{cfg}");
        assert!(!cfg.contains("use_backend"), "{cfg}");
        assert!(!cfg.contains(".acl") && !cfg.contains("authorization") && !cfg.contains("ssl"), "{cfg}");
        assert!(
            cfg.contains(
                "    server blue 127.0.0.1:3001 id 1 disabled\n    server green 172.18.0.5:3001 id 2\n"
            ),
            "{cfg}"
        );
        assert!(!cfg.contains("replace-path"), "{cfg}");
    }

    /// The lines of one section (`frontend fe_mcp`, `backend be_x`) of a rendered config.
    fn section<'c>(cfg: &'c str, head: &str) -> &'c str {
        let start = cfg.find(&format!("\n{head}\n")).unwrap_or_else(|| panic!("no {head}: {cfg}")) + 1;
        let rest = &cfg[start..];
        let end = rest[1..].find("\n\n").map(|e| e + 1).unwrap_or(rest.len());
        &rest[..end]
    }

    /// A mixed group: only the project with a token is closed, by its own file; the frontend
    /// (every project's way in) checks no token, so one project's setting never reaches another.
    #[test]
    fn a_token_protects_its_own_project_only() {
        let cfg = render("mcpctl-front-main", &state());
        let (fe, echo, sse) = (
            section(&cfg, "frontend fe_mcp"),
            section(&cfg, "backend be_echo"),
            section(&cfg, "backend be_sse"),
        );
        assert!(!fe.contains("authorization") && !fe.contains(".acl"), "{fe}");
        assert!(!sse.contains("authorization") && !sse.contains(".acl") && !sse.contains("401"), "{sse}");
        assert!(echo.contains("-f /usr/local/etc/haproxy/token-echo.acl"), "{echo}");
        // One Authorization header only, its scheme in any case, the token exactly.
        assert!(echo.contains("acl one_auth req.fhdr_cnt(authorization) eq 1\n"), "{echo}");
        assert!(
            echo.contains(r#"req.fhdr(authorization),regsub("^bearer +","Bearer ",i) -m str -f"#),
            "{echo}"
        );
        assert!(echo.contains("unless one_auth token_ok\n"), "{echo}");
        // Checked before anything else the backend does, and never passed on.
        let check = echo.find("http-request return status 401").unwrap();
        assert!(check < echo.find("replace-path").unwrap(), "{echo}");
        assert!(echo.contains("http-request del-header authorization\n"), "{echo}");
        // The other way round: sse's token closes sse only.
        let mut st = state();
        st.projects.get_mut("echo").unwrap().token = false;
        st.projects.get_mut("sse").unwrap().token = true;
        let cfg = render("mcpctl-front-main", &st);
        assert!(section(&cfg, "backend be_sse").contains("token-sse.acl"), "{cfg}");
        assert!(!section(&cfg, "backend be_echo").contains("authorization"), "{cfg}");
        // Once a project is gone, nothing names its file.
        st.projects.remove("sse");
        let cfg = render("mcpctl-front-main", &st);
        assert!(!cfg.contains(".acl") && !cfg.contains("be_sse"), "{cfg}");
    }

    /// A state from before tokens were per project keeps every project it routed closed.
    #[test]
    fn a_front_wide_token_of_an_older_state_stays_on_every_project() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        let old = r#"{"publish":"127.0.0.1:1","image":"haproxy:2.6","tls":false,"token":true,
            "projects":{"a":{"prefix":"/a","port":3001,"slots":{}},"b":{"prefix":"/b","port":3001,"slots":{}}}}"#;
        std::fs::write(&p, old).unwrap();
        let st = load(&p).unwrap();
        assert!(st.projects.values().all(|b| b.token), "{st:?}");
        save(&p, &st).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("\"token\": true,\n  \"projects"), "{text}");
        assert_eq!(load(&p).unwrap(), st);
    }

    #[test]
    fn the_free_generation_is_the_one_not_serving() {
        let st = state();
        assert_eq!(st.projects["echo"].free_color(), "blue");
        assert_eq!(st.projects["sse"].free_color(), "green");
        assert_eq!(Backend::default().free_color(), "blue");
        assert_eq!(Backend::default().serving_color(), "blue");
        assert_eq!(st.projects["echo"].draining()[0].0, "blue");
    }

    /// Replicas: slots per generation in replica order (blue2 before blue10), each server with an
    /// id that does not move when a reload adds slots (the stick tables keep sessions by id).
    #[test]
    fn replicas_get_slots_in_order_with_ids_that_survive_growth() {
        let slot = |n: u32, state| Slot { container: format!("c{n}"), ip: format!("10.0.0.{n}"), state };
        let mut b = Backend { port: 3001, capacity: 10, ..Default::default() };
        for i in [1, 2, 10] {
            b.slots.insert(slot_name("green", i), slot(i, SlotState::Ready));
        }
        b.slots.insert("blue".into(), slot(20, SlotState::Drain));
        let names: Vec<&str> = b.serving().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["green", "green2", "green10"]);
        assert_eq!(b.serving_containers(), ["c1", "c2", "c10"]);
        assert_eq!((b.serving_color(), b.free_color()), ("green", "blue"));
        assert_eq!(color_of("green10"), "green");
        let ids = |b: &Backend| -> Vec<String> {
            let st = FrontState { projects: [("p".to_string(), b.clone())].into(), ..Default::default() };
            render("f", &st)
                .lines()
                .filter(|l| l.trim_start().starts_with("server "))
                .map(str::to_string)
                .collect()
        };
        let small = Backend { capacity: 1, ..b.clone() };
        let one = ids(&small);
        assert_eq!(one.len(), 2, "{one:?}");
        assert!(one[0].contains("server blue 10.0.0.20:3001 id 1 weight 0 no-check"), "{one:?}");
        assert!(one[1].contains("server green 10.0.0.1:3001 id 2"), "{one:?}");
        let ten = ids(&b);
        assert_eq!(ten.len(), 20);
        // Growing keeps blue at 1 and green at 2: the sessions in the stick table keep them.
        assert!(ten.iter().any(|l| l.contains("server blue 10.0.0.20:3001 id 1 ")), "{ten:?}");
        assert!(ten.iter().any(|l| l.contains("server green 10.0.0.1:3001 id 2")), "{ten:?}");
        assert!(ten.iter().any(|l| l.contains("server green10 10.0.0.10:3001 id 20")), "{ten:?}");
        assert!(ten.iter().any(|l| l.contains("server blue10 127.0.0.1:3001 id 19 disabled")), "{ten:?}");
    }
}
