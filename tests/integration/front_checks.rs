//! End to end: the front's MCP health checks and its per-tool stats, on docker AND podman.
//!
//! Scenario (its own table below, like e2e.rs's):
//! * `front_checks`: an mcp 2.x server (both eras) behind its front with a token: 2026-era
//!   `tools/call`s counted exactly by `mcpctl stats --json`; the server hung (paused): the front
//!   takes it out of rotation within the checks' bound, a request gets 503 at once (not a hang),
//!   and it is back once it answers; its process killed: the engine's restart policy brings it
//!   back and the front serves from it; the token in no log.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::e2e::Project;

const FRONT_IMAGE: &str = "mcpctl-haproxy:local";
/// inter 1s, fall 2, timeout check 1s: two failed checks. A gone container's address may take a
/// connect timeout to fail, so allow a little more than the 4 s the template states.
const DOWN_WITHIN: Duration = Duration::from_secs(7);

/// One 2026-era request (no session) through the front: its status and how long it took.
fn request(port: u16, token: &str, method: &str, name: Option<&str>) -> (u16, Duration) {
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"e2e","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}"#;
    let params = match name {
        Some(n) => format!(r#"{{"name":"{n}","arguments":{{"city":"Oslo"}},{meta}}}"#),
        None => format!("{{{meta}}}"),
    };
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let mut args: Vec<String> =
        ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10"].map(String::from).to_vec();
    let mut header = |h: String| args.extend(["-H".to_string(), h]);
    header("Content-Type: application/json".into());
    header("Accept: application/json, text/event-stream".into());
    header("MCP-Protocol-Version: 2026-07-28".into());
    header(format!("Mcp-Method: {method}"));
    if let Some(n) = name {
        header(format!("Mcp-Name: {n}"));
    }
    // The token reaches curl through a file, never its argv.
    let auth = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(auth.path(), format!("Authorization: Bearer {token}\n")).unwrap();
    args.extend(["-H".to_string(), format!("@{}", auth.path().display())]);
    args.extend(["--data-binary".to_string(), body, format!("http://127.0.0.1:{port}/mcp")]);
    let t0 = Instant::now();
    let o = Command::new("curl").args(&args).output().unwrap();
    let code = String::from_utf8_lossy(&o.stdout).parse().unwrap_or(0);
    (code, t0.elapsed())
}

/// The container's `inspect` object.
fn inspect(p: &Project) -> serde_json::Value {
    let o = p.engine_cmd(&["container", "inspect", &p.container()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v[0].clone()
}

/// The status the front's runtime API shows for the project's serving slot (`UP`, `DOWN`, ...).
fn slot_status(p: &Project) -> String {
    use std::io::{Read, Write};
    let sock = p.home().join(format!(".config/mcpctl/fronts/{}-front/run/admin.sock", p.name));
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) else { return "no socket".into() };
    let _ = s.write_all(b"show stat\n").and_then(|_| s.shutdown(std::net::Shutdown::Write));
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let be = format!("be_{}", p.name);
    out.lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.len() > 17 && f[0] == be && f[1] != "BACKEND" && !f[17].starts_with("MAINT"))
        .map(|f| f[17].to_string())
        .unwrap_or_default()
}

pub(crate) fn front_checks(engine: &'static str, base: u16) {
    let ok = Command::new(engine).args(["image", "inspect", FRONT_IMAGE]).output().unwrap();
    assert!(ok.status.success(), "{engine} has no {FRONT_IMAGE}: run scripts/engines-up.sh");
    let mut p = Project::new("mcp2-mcpserver", engine, "fchk", base);
    p.ok(&["init"]);
    let token = format!("tok-fchk-{}-{base}", std::process::id());
    std::fs::write(p.dir.path().join("front.token"), format!("{token}\n")).unwrap();
    std::fs::write(p.dir.path().join("mcpctl.toml"), "token-file = \"front.token\"\n").unwrap();
    p.extra = ["--front", "--front-image", FRONT_IMAGE].map(String::from).to_vec();
    p.ok(&["start"]);
    let port = p.state_port();

    // A known number of 2026-era tool calls, and a discover: stats count exactly those.
    assert_eq!(request(port, &token, "server/discover", None).0, 200);
    const CALLS: u64 = 7;
    for _ in 0..CALLS {
        assert_eq!(request(port, &token, "tools/call", Some("forecast")).0, 200);
    }
    let o = p.ok(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    let rows = v["rows"].as_array().unwrap();
    let forecast: Vec<&serde_json::Value> = rows.iter().filter(|r| r["tool"] == "forecast").collect();
    assert_eq!(forecast.len(), 1, "{rows:?}");
    assert_eq!(forecast[0]["method"], "tools/call");
    assert_eq!(forecast[0]["calls"], CALLS, "{rows:?}");
    assert_eq!(forecast[0]["errors"], 0, "{rows:?}");
    // This test's discover, and mcpctl's own probe through the front when it started.
    assert!(
        rows.iter().any(|r| r["tool"] == "server/discover" && r["calls"].as_u64().is_some_and(|n| n >= 1)),
        "{rows:?}"
    );
    let human = p.ok(&["stats"]);
    assert!(human.stdout.contains("forecast") && human.stdout.contains("P99"), "{human:?}");

    // The server hangs (paused: every process of the container frozen, as SIGSTOP would; its
    // port still takes connections, nothing answers). The front
    // takes it out of rotation within the checks' bound, and a request then gets 503 at once
    // instead of waiting on it; answering again, it is back at the next check.
    assert_eq!(slot_status(&p), "UP");
    let pid = inspect(&p)["State"]["Pid"].as_u64().unwrap_or(0).to_string();
    assert_ne!(pid, "0", "no pid for {}", p.container());
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    let t0 = Instant::now();
    let pause = |verb: &str| {
        let o = p.engine_cmd(&[verb, &p.container()]);
        assert!(o.status.success(), "{verb}: {}", String::from_utf8_lossy(&o.stderr));
    };
    pause("pause");
    let down = loop {
        if slot_status(&p) == "DOWN" {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < DOWN_WITHIN,
            "the front still shows {:?} {:?} after SIGSTOP",
            slot_status(&p),
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (code, took) = request(port, &token, "tools/list", None);
    pause("unpause");
    assert_eq!(code, 503, "a request to a project whose server hangs");
    assert!(took < Duration::from_secs(1), "the 503 took {took:?}");
    let t1 = Instant::now();
    while slot_status(&p) != "UP" {
        assert!(t1.elapsed() < Duration::from_secs(5), "not back {:?} after the unpause", t1.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "e2e front_checks {engine}: DOWN {down:.1?} after the pause, UP {:.1?} after the unpause",
        t1.elapsed()
    );

    // The process dies (a crash, not `kill`: the engines take `kill` for a stop the restart
    // policy must respect): the engine starts it again, and the front serves from it.
    let t0 = Instant::now();
    signal("-KILL");
    // The restart policy starts it again; the checks put it back in rotation.
    let up = loop {
        if request(port, &token, "tools/call", Some("forecast")).0 == 200 {
            break t0.elapsed();
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "the server never came back through the front");
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("e2e front_checks {engine}: serving again {up:.1?} after SIGKILL");
    assert_ne!(inspect(&p)["RestartCount"], 0, "not restarted by the engine");
    assert_eq!(slot_status(&p), "UP");

    // The front's log has every request, never the token; nor has the server's or mcpctl's.
    let front = p.engine_cmd(&["logs", &format!("{}-front", p.name)]);
    let server = p.engine_cmd(&["logs", &p.container()]);
    let o = p.ok(&["stats", "--json"]);
    for (what, text) in [
        (
            "the front's log",
            format!("{}{}", String::from_utf8_lossy(&front.stdout), String::from_utf8_lossy(&front.stderr)),
        ),
        (
            "the server's log",
            format!("{}{}", String::from_utf8_lossy(&server.stdout), String::from_utf8_lossy(&server.stderr)),
        ),
        ("mcpctl stats", o.all()),
    ] {
        assert!(!text.contains(&token), "the token shows in {what}");
    }
    let v: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    let calls: u64 = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tool"] == "forecast" && r["server"] != "<NOSRV>")
        .map(|r| r["calls"].as_u64().unwrap() - r["errors"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, CALLS + 1, "answered calls: those before the kill and the one after: {v}");
}

macro_rules! on_both_engines {
    ($($scenario:ident;)*) => {
        mod docker {
            $(
                #[test]
                fn $scenario() {
                    if crate::support::engine_available("docker") {
                        crate::e2e::timed(stringify!($scenario), "docker", || super::$scenario("docker", crate::support::ports(100)));
                    }
                }
            )*
        }
        mod podman {
            $(
                #[test]
                fn $scenario() {
                    if crate::support::engine_available("podman") {
                        crate::e2e::timed(stringify!($scenario), "podman", || super::$scenario("podman", crate::support::ports(100)));
                    }
                }
            )*
        }
    };
}

on_both_engines! {
    front_checks;
}
