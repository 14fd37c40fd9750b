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
    /// Its servers speak the old SSE transport (found when put): checked on their SSE endpoint.
    #[serde(default)]
    pub(crate) sse: bool,
    /// The MCP endpoint's path on its servers (`/mcp`, `/sse`): what the health check asks.
    /// Empty in a state written before checks: the transport's usual path.
    #[serde(default)]
    pub(crate) path: String,
    /// OAuth at the front instead of a token (front/oauth.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oauth: Option<super::oauth::OAuthRoute>,
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

/// What a project's servers were found to speak, when probed: how the front checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spoken {
    pub(crate) era: crate::config::Era,
    /// The old SSE transport.
    pub(crate) sse: bool,
    /// The endpoint's path on the servers (`/mcp`, `/sse`).
    pub(crate) path: String,
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
            sse: false,
            path: String::new(),
            oauth: None,
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

    /// Record what the servers speak (era, transport, endpoint path): how they are checked.
    /// Returns whether that changed (the check lines with it).
    pub(crate) fn set_spoken(&mut self, spoken: Spoken) -> bool {
        let before = (self.era, self.sse, self.path.clone());
        (self.era, self.sse, self.path) = (spoken.era, spoken.sse, spoken.path);
        before != (self.era, self.sse, self.path.clone())
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
    /// The health check's lines (`option httpchk` and its `http-check` rules), by era.
    check: Vec<String>,
    /// Its OAuth check, when its requests need an access token.
    oauth: Option<super::oauth::OAuthCtx>,
    servers: Vec<ServerLine>,
}

/// The body of a check's request: `server/discover` (2026-07-28) or `initialize` (2025). The
/// client is named so a server's log tells the front's checks from clients.
const DISCOVER: &str = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"mcpctl-front","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}"#;
/// 2025-03-26 is the oldest version with streamable HTTP, which every 2025 server accepts; it
/// needs no `MCP-Protocol-Version` header on the DELETE after it.
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"mcpctl-front","version":"1"}}}"#;

/// A health check that speaks MCP to each server (not a TCP connect, not a bare GET), so a server
/// that accepts connections but no longer answers (hung, SIGSTOP) leaves rotation. `host` is the
/// Host clients send through the front, which DNS-rebinding protection allows.
pub(crate) fn check_lines(b: &Backend, host: &str) -> Vec<String> {
    use crate::config::Era;
    let path = match (b.path.as_str(), b.sse) {
        ("", true) => "/sse",
        ("", false) => "/mcp",
        (p, _) => p,
    };
    // The value as HAProxy reads it: in double quotes, `"` and `\` escaped.
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let post = format!(
        "http-check send meth POST uri {path} ver HTTP/1.1 hdr Host {host} hdr Content-Type application/json \
         hdr Accept \"application/json, text/event-stream\""
    );
    let mut l = vec!["option httpchk".to_string(), "http-check connect".to_string()];
    if b.sse {
        // The old SSE transport: the stream's headers say it serves (HAProxy closes the check's
        // connection once the status and headers matched, and the server ends that session).
        l.push(format!(
            "http-check send meth GET uri {path} ver HTTP/1.1 hdr Host {host} hdr Accept text/event-stream"
        ));
        l.push("http-check expect status 200".into());
        l.push("http-check expect hdr name content-type value -m beg text/event-stream".into());
        return l;
    }
    match b.era {
        Era::Stateless => {
            l.push(format!(
                "{post} hdr MCP-Protocol-Version 2026-07-28 hdr Mcp-Method server/discover body {}",
                quoted(DISCOVER)
            ));
            l.push("http-check expect status 200".into());
        }
        Era::Handshake => {
            // initialize opens a session the server keeps 30 minutes: the check ends it at once
            // (DELETE; 405 is a server that does not let clients end sessions).
            l.push(format!("{post} body {}", quoted(INITIALIZE)));
            l.push("http-check expect status 200".into());
            l.push("http-check set-var(check.sid) res.hdr(mcp-session-id)".into());
            l.push("http-check connect".into());
            l.push(format!(
                "http-check send meth DELETE uri {path} ver HTTP/1.1 hdr Host {host} hdr Mcp-Session-Id %[var(check.sid)]"
            ));
            l.push("http-check expect status 200-299,405".into());
        }
    }
    l
}

/// The front's answer to a request of a session whose server is gone: what MCP servers say.
pub(crate) const SESSION_GONE: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#;

/// The port clients reach the front on (`ADDR:PORT`, `[V6]:PORT`); 8080 before it is known.
fn publish_port(publish: &str) -> u16 {
    publish.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(LISTEN)
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
            check: check_lines(b, &format!("localhost:{}", publish_port(&st.publish))),
            oauth: b.oauth.as_ref().map(|o| super::oauth::ctx(pname, &b.prefix, o)),
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
        "session_gone": SESSION_GONE,
        "oauth_refresher": st.projects.values().any(|b| b.oauth.is_some()),
    });
    crate::template::render(templates(), "haproxy.cfg", ctx)
}

fn templates() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| crate::template::single("haproxy.cfg", include_str!("templates/haproxy.cfg.j2")))
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
        let mut sse = Backend { prefix: "/sse".into(), port: 3001, sse: true, ..Default::default() };
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

    /// Each backend is checked in MCP by what its servers speak: 2026 `server/discover`; 2025
    /// `initialize` then the DELETE of that session (a check every second would otherwise leave
    /// a session behind each time); SSE the stream's headers. Always with the Host clients send.
    #[test]
    fn each_era_is_health_checked_in_mcp() {
        use crate::config::Era;
        let mut st = state();
        st.projects.get_mut("echo").unwrap().era = Era::Stateless;
        let mut old = st.projects["echo"].clone();
        old.era = Era::Handshake;
        old.path = "/custom".into();
        st.projects.insert("old".into(), old);
        let cfg = render("mcpctl-front-main", &st);
        let (new, old, sse) = (
            section(&cfg, "backend be_echo"),
            section(&cfg, "backend be_old"),
            section(&cfg, "backend be_sse"),
        );
        for b in [new, old, sse] {
            assert!(b.contains("    option httpchk\n    http-check connect\n"), "{b}");
            assert!(b.contains(" hdr Host localhost:19443 "), "{b}");
        }
        assert!(new.contains(r#"http-check send meth POST uri /mcp ver HTTP/1.1 "#), "{new}");
        assert!(
            new.contains(" hdr MCP-Protocol-Version 2026-07-28 hdr Mcp-Method server/discover body "),
            "{new}"
        );
        assert!(new.contains(r#"\"method\":\"server/discover\""#), "{new}");
        assert!(!new.contains(r#"\"initialize\""#) && !new.contains("DELETE"), "{new}");
        assert_eq!(new.matches("http-check expect status 200\n").count(), 1, "{new}");
        // 2025: initialize, its session id kept, a second connection deletes it.
        let steps: Vec<&str> = old.lines().filter(|l| l.trim_start().starts_with("http-check")).collect();
        assert_eq!(steps.len(), 7, "{old}");
        assert!(
            steps[1].contains("meth POST uri /custom ") && steps[1].contains(r#"\"method\":\"initialize\""#)
        );
        assert!(!steps[1].contains("Mcp-Method"), "a 2025 request carries no Mcp-* header: {old}");
        assert_eq!(steps[3].trim(), "http-check set-var(check.sid) res.hdr(mcp-session-id)");
        assert_eq!(steps[4].trim(), "http-check connect");
        assert!(
            steps[5].contains("meth DELETE uri /custom ")
                && steps[5].ends_with("hdr Mcp-Session-Id %[var(check.sid)]")
        );
        assert_eq!(steps[6].trim(), "http-check expect status 200-299,405");
        // SSE: a GET of the stream, its status and type; never a POST that would start a session.
        assert!(sse.contains("http-check send meth GET uri /sse ver HTTP/1.1 hdr Host localhost:19443 hdr Accept text/event-stream\n"), "{sse}");
        assert!(
            sse.contains("http-check expect hdr name content-type value -m beg text/event-stream\n"),
            "{sse}"
        );
        assert!(!sse.contains("meth POST"), "{sse}");
        // Down within a few seconds, back at the first answer; a hung server's connections cut.
        assert!(cfg.contains("    timeout check 1s\n"), "{cfg}");
        assert!(
            cfg.contains(
                "    default-server check inter 1s fall 2 rise 1 on-marked-down shutdown-sessions\n"
            )
        );
    }

    /// A 2025 session whose server is down gets 404 from the front, per server of the backend (by
    /// its id, its position), and an answer from any other server is replaced by that 404. Other
    /// answers pass as the servers wrote them: no error page, no retry of a request a server got.
    #[test]
    fn a_session_on_a_gone_server_gets_404_and_answers_pass_untouched() {
        let cfg = render("mcpctl-front-main", &state());
        let echo = section(&cfg, "backend be_echo");
        assert!(echo.contains("http-request set-var(txn.sid_srv) req.hdr(mcp-session-id),table_server_id(be_echo) if { req.hdr(mcp-session-id) -m found }\n"), "{echo}");
        for (id, slot) in [(1, "blue"), (2, "green")] {
            assert!(
                echo.contains(&format!(
                    "if {{ var(txn.sid_srv) -m int {id} }} !{{ srv_is_up(be_echo/{slot}) }}\n"
                )),
                "{echo}"
            );
            let n = echo.find(&format!("    server {slot} ")).unwrap();
            assert_eq!(
                echo[..n].matches("\n    server ").count(),
                id - 1,
                "{slot} is not server {id}: {echo}"
            );
        }
        assert!(echo.contains(&format!("http-response return status 404 content-type application/json string '{SESSION_GONE}' if {{ var(txn.sid_srv) -m int gt 0 }} !{{ srv_id,sub(txn.sid_srv) -m int 0 }}\n")), "{echo}");
        // The token is checked first: a request without it learns nothing about sessions.
        assert!(echo.find("status 401").unwrap() < echo.find("txn.sid_srv").unwrap(), "{echo}");
        assert!(cfg.contains("    retries 2\n    retry-on conn-failure\n"), "{cfg}");
        for page in ["errorfile", "errorloc", "http-error", "retry-on all", "response-timeout", "404 if"] {
            assert!(!cfg.contains(page), "{page}: {cfg}");
        }
        // Streams that send a keep-alive every 15 s are never cut for idling.
        for t in ["timeout client 1h", "timeout server 1h", "timeout tunnel 1h"] {
            assert!(cfg.contains(t), "{t}: {cfg}");
        }
    }

    /// The log line: the MCP method and tool name (quoted, escaped) and nothing else a client
    /// sends: no header captured, no body, no query string.
    #[test]
    fn the_log_names_method_and_tool_and_no_header() {
        let cfg = render("mcpctl-front-main", &state());
        let lf = cfg.lines().find(|l| l.trim_start().starts_with("log-format")).unwrap();
        assert!(
            lf.contains(
                r#" mcp=%{+Q,+E}[var(txn.mcp_method)] tool=%{+Q,+E}[var(txn.mcp_name)] \"%HM %HPO %HV\""#
            ),
            "{lf}"
        );
        assert!(lf.contains("%b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST "), "{lf}");
        for leak in ["%hr", "%hs", "%HU", "%HQ", " %r ", "%r\\\"", "req.hdr", "body", "authorization"] {
            assert!(!lf.contains(leak), "{leak}: {lf}");
        }
        assert!(!cfg.contains("capture "), "{cfg}");
        let fe = section(&cfg, "frontend fe_mcp");
        assert!(fe.contains("    option http-buffer-request\n"), "{fe}");
        assert!(
            fe.contains("req.body,json_query('$.method')")
                && fe.contains("req.body,json_query('$.params.name')")
        );
    }

    /// HAProxy 2.6 itself accepts the rendered file for each era (`haproxy -c` in the front's image,
    /// as mcpctl runs it before a start): on every engine that has the image. With MCPCTL_E2E=required
    /// an engine without it fails the test rather than skipping.
    #[test]
    fn haproxy_accepts_the_rendered_checks() {
        use crate::config::Era;
        let required = std::env::var("MCPCTL_E2E").is_ok_and(|v| v == "required");
        let mut st = state();
        st.tls = false;
        st.projects.get_mut("echo").unwrap().era = Era::Stateless;
        let mut old = st.projects["echo"].clone();
        old.era = Era::Handshake;
        st.projects.insert("old".into(), old);
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("haproxy.cfg"), render("mcpctl-front-main", &st)).unwrap();
        std::fs::write(d.path().join("mcp_sse.lua"), SSE_LUA).unwrap();
        std::fs::write(d.path().join(token_file("echo")), "Bearer t\n").unwrap();
        std::fs::write(d.path().join(token_file("old")), "Bearer t\n").unwrap();
        let mut checked = 0;
        for engine in ["docker", "podman"] {
            let image = "mcpctl-haproxy:local";
            let has = std::process::Command::new(engine).args(["image", "inspect", image]).output();
            if !has.is_ok_and(|o| o.status.success()) {
                assert!(!required, "MCPCTL_E2E=required: {engine} has no {image} (scripts/engines-up.sh)");
                eprintln!("!!!!! SKIPPING haproxy -c on {engine}: no {image} !!!!!");
                continue;
            }
            let mount = format!("{}:{FRONT_CONFIG_IN}:ro", d.path().display());
            let cfg = format!("{FRONT_CONFIG_IN}/haproxy.cfg");
            let o = std::process::Command::new(engine)
                .args(["run", "--rm", "--network", "none", "-v", &mount, image, "-c", "-f", &cfg])
                .output()
                .unwrap();
            let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            assert!(o.status.success() && out.contains("Configuration file is valid"), "{engine}: {out}");
            assert!(!out.contains("[WARNING]"), "{engine}: {out}");
            checked += 1;
        }
        eprintln!("haproxy -c passed on {checked} engine(s)");
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
