//! The front on a swarm: its haproxy.cfg (a swarm config; a change is a new one and a restart of
//! the front's task), and what its runtime API says about each task, read inside its container.

use std::time::Duration;

use minijinja::Environment;
use serde::Serialize;

use crate::config::{Era, Settings};
use crate::engine::{Engine, FRONT_CONFIG_IN};
use crate::front::config::{Backend, SESSION_GONE, check_lines};

use super::spec::{FRONT_LISTEN, Names, TLS_SECRET, TOKEN_SECRET};

/// How the servers are checked: by era and transport once a probe said (None: not yet known, so
/// no check, and every task the DNS names takes requests).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct Checked {
    pub(crate) era: Era,
    pub(crate) sse: bool,
    pub(crate) path: String,
}

/// Slots for the tasks the DNS names: the replicas, as many again for the ones an update starts
/// beside them or the swarm reschedules while the lost ones are held, and two to spare.
pub(crate) fn slots(replicas: u32) -> u32 {
    2 * replicas + 2
}

pub(crate) fn render(s: &Settings, n: &Names, replicas: u32, checked: Option<&Checked>, port: u16) -> String {
    let check = match checked {
        Some(c) => {
            let b = Backend { era: c.era, sse: c.sse, path: c.path.clone(), ..Default::default() };
            check_lines(&b, &format!("localhost:{port}"))
        }
        None => Vec::new(),
    };
    let ctx = serde_json::json!({
        "name": n.front,
        "service": n.service,
        "port": s.container_port,
        "tls": s.front.tls != crate::config::FrontTls::Off,
        "tls_pem": format!("/run/secrets/{TLS_SECRET}"),
        "listen": FRONT_LISTEN,
        "config_dir": FRONT_CONFIG_IN,
        "token_file": s.front.token.as_ref().map(|_| format!("/run/secrets/{TOKEN_SECRET}")),
        "slots": (1..=slots(replicas)).collect::<Vec<u32>>(),
        "check": check,
        "session_gone": SESSION_GONE,
        // A replaced task's sessions reach it until its grace period (the drain) ends.
        "hold_obsolete": s.front.drain_timeout.as_secs().max(1) + 1,
    });
    crate::template::render(templates(), "haproxy.cfg", ctx)
}

fn templates() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| crate::template::single("haproxy.cfg", include_str!("haproxy.cfg.j2")))
}

/// One server slot as the front's runtime API has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SlotView {
    pub(crate) slot: String,
    pub(crate) addr: String,
    /// Takes requests: checked up (or unchecked) and not in maintenance.
    pub(crate) up: bool,
    /// Set to drain by mcpctl: its sessions still reach it, nothing new does.
    pub(crate) drain: bool,
}

/// `show servers state be_mcp`, parsed: the slots that hold an address.
pub(crate) fn parse_servers_state(text: &str) -> Vec<SlotView> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.split_whitespace().count() > 7)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (slot, addr, op, admin) = (f[3], f[4], f[5], f[6]);
            let admin: u32 = admin.parse().ok()?;
            // A slot the DNS gave no address (maintenance from resolution) holds no task.
            if admin & 0x20 != 0 || addr == "-" || addr == "0.0.0.0" {
                return None;
            }
            // 0x08: drained by the runtime API (FDRAIN).
            let drain = admin & 0x08 != 0;
            Some(SlotView {
                slot: slot.to_string(),
                addr: addr.to_string(),
                up: op == "2" && admin & !0x08 == 0,
                drain,
            })
        })
        .collect()
}

/// Sends each argument to the runtime API inside the front's task (a connection each) and prints
/// the answers: the socket is the task's own, on its node.
const ASK: &str = "import socket,sys\nfor c in sys.argv[1:]:\n    s=socket.socket(socket.AF_UNIX)\n    s.connect('/tmp/mcpctl-admin.sock')\n    s.sendall(c.encode()+b'\\n')\n    while True:\n        d=s.recv(65536)\n        if not d: break\n        sys.stdout.write(d.decode())\n";

/// The front's running container on the manager (it is pinned there).
fn front_container(engine: &Engine, n: &Names) -> Option<String> {
    let ps: Vec<String> = [
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={}", n.front),
        "--filter",
        "status=running",
    ]
    .map(String::from)
    .to_vec();
    Some(engine.call(ps).ok()?.stdout.lines().next()?.trim().to_string())
}

fn ask(engine: &Engine, n: &Names, commands: &[String]) -> Option<String> {
    let id = front_container(engine, n)?;
    let mut argv: Vec<&str> = vec!["python3", "-c", ASK];
    argv.extend(commands.iter().map(String::as_str));
    Some(engine.call(engine.exec_args(&id, &argv)).ok()?.stdout)
}

/// The front's view of the tasks.
pub(crate) fn servers(engine: &Engine, n: &Names) -> Option<Vec<SlotView>> {
    ask(engine, n, &["show servers state be_mcp".to_string()]).map(|out| parse_servers_state(&out))
}

/// Drain the slots whose address is no task the swarm wants any more (a replaced task, kept by
/// the front for the drain so its sessions go on): nothing new reaches the old code once its
/// successor serves. Returns the slots drained now.
pub(crate) fn drain_replaced(engine: &Engine, n: &Names, live: &[String]) -> Option<Vec<String>> {
    let view = servers(engine, n)?;
    let gone: Vec<String> =
        view.iter().filter(|s| !s.drain && !live.contains(&s.addr)).map(|s| s.slot.clone()).collect();
    if !gone.is_empty() {
        let cmds: Vec<String> = gone.iter().map(|s| format!("set server be_mcp/{s} state drain")).collect();
        ask(engine, n, &cmds)?;
    }
    Some(gone)
}

/// Once the drained slots' addresses are gone (their hold ended), make them ready again, so a
/// task the DNS puts there later takes requests.
pub(crate) fn undrain(engine: &Engine, n: &Names, slots: &[String]) {
    if slots.is_empty() {
        return;
    }
    let cmds: Vec<String> = slots.iter().map(|s| format!("set server be_mcp/{s} state ready")).collect();
    let _ = ask(engine, n, &cmds);
}

/// Wait until the front has `want` tasks up; returns how many it has at the deadline.
pub(crate) fn wait_up(engine: &Engine, n: &Names, want: usize, deadline: Duration) -> anyhow::Result<usize> {
    let t0 = std::time::Instant::now();
    loop {
        crate::process::check_interrupt()?;
        let up = servers(engine, n).map(|v| v.iter().filter(|s| s.up).count()).unwrap_or(0);
        if up >= want || t0.elapsed() > deadline {
            return Ok(up);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Overrides, ProjectFiles, resolve};

    /// The whole file, compared with tests/golden/swarm/haproxy.cfg (UPDATE_GOLDEN=1 rewrites it):
    /// a token, new-era checks, three replicas.
    #[test]
    fn the_swarm_front_renders_whole() {
        let files = ProjectFiles { project_name: Some("echo-server".into()), ..Default::default() };
        let mut project = resolve(Path::new("/p"), &files, &Overrides::default()).unwrap();
        project.front.token = Some(crate::config::Secret("t".into()));
        project.front.drain_timeout = Duration::from_secs(6);
        let s = Settings::resolve(project, Path::new("/h"), &Default::default());
        let checked = Checked { era: Era::Stateless, sse: false, path: "/mcp".into() };
        let got = render(&s, &Names::of(&s, "salt"), 3, Some(&checked), 19000);
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/swarm/haproxy.cfg");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(got, want);
        assert!(!got.contains(" t\n") && got.contains("-f /run/secrets/mcpctl-token"), "{got}");
        assert!(got.contains("server-template mcp 1-8 tasks.echo-server-mcp:3001 resolvers docker"), "{got}");
        assert!(got.contains("hold obsolete 7s"), "{got}");
    }

    #[test]
    fn slots_without_an_address_hold_no_task() {
        let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n\
            3 be_mcp 1 mcp1 10.0.1.5 2 0 1 1 4 6 3 4 6 0 0 0 tasks.p-mcp 3001 -\n\
            3 be_mcp 2 mcp2 10.0.1.6 0 0 1 1 4 6 3 0 6 0 0 0 tasks.p-mcp 3001 -\n\
            3 be_mcp 3 mcp3 - 0 32 1 1 4 1 0 0 14 0 0 0 tasks.p-mcp 3001 -\n";
        let v = parse_servers_state(text);
        assert_eq!(v.len(), 2);
        assert!(v[0].up && !v[1].up);
        assert_eq!(v[1].addr, "10.0.1.6");
    }
}
