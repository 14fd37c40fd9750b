//! End to end with replicas behind the front, on docker AND podman, with fixtures/replica-server
//! (mcp 2.x, both protocol eras; `whoami` names the container that answered).
//!
//! Scenarios (each on docker and on podman, registered in e2e.rs):
//! * `replicas_spread`: `--replicas 3`: new-era requests spread over all three; a 2025 session
//!   stays on its one; `status --json` lists the three, up; `logs` prefixes each replica's lines
//! * `replicas_update`: An update after a code change with a new-era client calling every 50 ms
//!   and a 2025 session open: 0 failed calls; then back to one replica, and up to two
//! * `replicas_crash`: One replica's server process killed under new-era load: no failed call
//!   after the front's check bound; a 2025 session pinned to it gets 404 and starts over; the
//!   engine restarts it and it rejoins

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{ProbeError, Target};
use serde_json::{Value, json};

use crate::e2e::Project;
use crate::front::{FRONT_IMAGE, Running, SWITCHED, call, front_healthy, front_image_present};

/// How long after a replica dies the front may still send it a request: its check interval
/// times its fall count, plus a check's timeout (src/front/templates/haproxy.cfg.j2), plus slack
/// for a loaded machine.
const CHECK_BOUND: Duration = Duration::from_secs(6);

/// The fixture, initialised; each test starts it with `--replicas N` (later commands keep N).
fn project(engine: &'static str, name: &str, base: u16) -> Project {
    front_image_present(engine);
    let mut p = Project::new("replica-server", engine, name, base);
    p.extra = ["--front-image", FRONT_IMAGE, "--drain-timeout", "6"].map(String::from).to_vec();
    // The fixture is a bare server.py: `init` writes its Dockerfile and launcher.
    p.ok(&["init"]);
    p
}

/// One 2026-07-28 request, as a new-era client sends it: no session, the routing headers and
/// the `_meta` block. Returns the tool's text, or why not.
pub(crate) fn modern_call(port: u16, tool: &str, args: Value) -> Result<String, String> {
    modern_call_at("127.0.0.1", port, tool, args, None)
}

/// The same at `addr` (a front on another machine's address), with a bearer token if given.
pub(crate) fn modern_call_at(
    addr: &str,
    port: u16,
    tool: &str,
    args: Value,
    bearer: Option<&str>,
) -> Result<String, String> {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "mcpctl-e2e", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": args, "_meta": meta}})
    .to_string();
    let mut s = TcpStream::connect((addr, port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let host = if addr == "127.0.0.1" { format!("localhost:{port}") } else { format!("{addr}:{port}") };
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
         Mcp-Method: tools/call\r\nMcp-Name: {tool}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| format!("send: {e}"))?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| format!("read: {e}"))?;
    let status = answer.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP {status}: {}", answer.lines().last().unwrap_or_default()));
    }
    let (_, payload) = answer.split_once("\r\n\r\n").ok_or("no body")?;
    // JSON, or one SSE event whose data line is the answer.
    let json_text = payload.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(payload);
    let v: Value = serde_json::from_str(json_text.trim()).map_err(|e| format!("{e}: {payload}"))?;
    v["result"]["content"][0]["text"].as_str().map(str::to_string).ok_or_else(|| format!("no result: {v}"))
}

/// A new-era client calling `whoami` every 50 ms until stopped: each call's time, and its
/// answer or error.
pub(crate) struct Caller {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(Instant, Result<String, String>)>>,
}

impl Caller {
    fn on(port: u16) -> Caller {
        Caller::at("127.0.0.1", port, None)
    }

    /// Calling a front at `addr` (another machine's address), with a bearer token if given.
    pub(crate) fn at(addr: &str, port: u16, bearer: Option<&str>) -> Caller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (addr, bearer) = (addr.to_string(), bearer.map(str::to_string));
        let handle = std::thread::spawn(move || {
            let mut calls = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                let t = Instant::now();
                calls.push((t, modern_call_at(&addr, port, "whoami", json!({}), bearer.as_deref())));
                std::thread::sleep(Duration::from_millis(50).saturating_sub(t.elapsed()));
            }
            calls
        });
        Caller { stop, handle }
    }

    pub(crate) fn finish(self) -> Vec<(Instant, Result<String, String>)> {
        std::thread::sleep(Duration::from_millis(500));
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

pub(crate) fn failures(calls: &[(Instant, Result<String, String>)], after: Instant) -> Vec<String> {
    calls.iter().filter(|(t, r)| *t >= after && r.is_err()).map(|(_, r)| r.clone().unwrap_err()).collect()
}

/// `status --json`'s replicas: (container, check) each.
fn replicas_status(p: &Project) -> Vec<(String, String)> {
    let o = p.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    v["front"]["replicas"]
        .as_array()
        .unwrap_or_else(|| panic!("no replicas in status --json: {v}"))
        .iter()
        .map(|r| {
            (
                r["container"].as_str().unwrap_or_default().to_string(),
                r["check"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A 2025 client: a session, stuck to the replica that opened it.
fn connect(t: &Target) -> mcpctl::probe::Client {
    mcpctl::probe::Client::connect_2025(t, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("no 2025 session at {}: {e}", t.shown_url()))
}

fn names(p: &Project, n: u32) -> Vec<String> {
    let first = p.container();
    (1..=n).map(|i| if i == 1 { first.clone() } else { format!("{first}-r{i}") }).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The hostnames new-era calls reach in `n` calls.
fn spread(port: u16, n: usize) -> BTreeSet<String> {
    (0..n).map(|_| modern_call(port, "whoami", json!({})).expect("a new-era call failed")).collect()
}

pub(crate) fn replicas_spread(engine: &'static str, base: u16) {
    let p = project(engine, "rspread", base);
    let o = p.ok(&["start", "--replicas", "3"]);
    assert!(o.stdout.contains("Starting 3 replicas"), "{o:?}");
    let port = p.state_port();
    assert_eq!(sorted(p.containers()), names(&p, 3));
    let st = replicas_status(&p);
    assert_eq!(st.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(), names(&p, 3), "{st:?}");
    assert!(st.iter().all(|(_, check)| check.starts_with("UP")), "{st:?}");
    // New-era requests: any replica answers any of them.
    let hosts = spread(port, 30);
    assert_eq!(hosts.len(), 3, "30 new-era calls reached {hosts:?}");
    // A 2025 session stays on the replica that opened it.
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    let mut s = connect(&target);
    let mine = call(&mut s, "whoami", json!({})).unwrap();
    for _ in 0..10 {
        assert_eq!(call(&mut s, "whoami", json!({})).unwrap(), mine, "a 2025 session moved replica");
    }
    s.close();
    let o = p.ok(&["status"]);
    assert!(o.stdout.contains("3 replicas serve (3 of 3 up)"), "{o:?}");
    let o = p.ok(&["logs", "--no-follow"]);
    for n in names(&p, 3) {
        assert!(o.stdout.lines().any(|l| l.starts_with(&n) && l.contains(" | ")), "no line of {n}: {o:?}");
    }
    front_healthy(&p, &format!("{}-front", p.name));
    p.ok(&["stop"]);
    assert_eq!(p.containers(), Vec::<String>::new(), "stop left containers");
    // Started again: as deployed, three.
    p.ok(&["start"]);
    assert_eq!(replicas_status(&p).len(), 3);
    p.ok(&["down"]);
    assert_eq!(p.containers(), Vec::<String>::new(), "down left containers");
}

pub(crate) fn replicas_update(engine: &'static str, base: u16) {
    let p = project(engine, "rupd", base);
    p.ok(&["start", "--replicas", "3"]);
    let port = p.state_port();
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    let mut session = connect(&target);
    let host = call(&mut session, "whoami", json!({})).unwrap();
    let old_hosts = spread(port, 30);

    // A code change: a new tool.
    let server = p.dir.path().join("server.py");
    let code = std::fs::read_to_string(&server).unwrap();
    let code = code.replacen(
        "\n\nif __name__",
        "\n\n@mcp.tool()\ndef version() -> str:\n    \"\"\"Which code runs.\"\"\"\n    return \"two\"\n\n\nif __name__",
        1,
    );
    std::fs::write(&server, code).unwrap();
    let caller = Caller::on(port);
    let t0 = Instant::now();
    let mut run = Running::spawn(&p, &["update"]);
    let (calls, after) = crate::front::session_through(&mut run, &mut session, &host, 3);
    let (code, out) = run.finish();
    let made = caller.finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(SWITCHED), "{out}");
    let failed = failures(&made, t0);
    eprintln!(
        "e2e replicas {engine}: update: {} new-era calls, {} failed; the 2025 session made {calls} calls ({after} after the switch)",
        made.len(),
        failed.len()
    );
    assert!(made.len() >= 20, "only {} new-era calls during the update", made.len());
    assert!(failed.is_empty(), "new-era calls failed during the update: {failed:?}");
    assert!(calls >= 3, "the 2025 session made {calls} calls:\n{out}");
    // All new: three other replicas, with the new tool.
    let new_hosts = spread(port, 30);
    assert_eq!(new_hosts.len(), 3);
    assert!(new_hosts.is_disjoint(&old_hosts), "old replicas still answer: {new_hosts:?} {old_hosts:?}");
    assert_eq!(modern_call(port, "version", json!({})).unwrap(), "two");
    assert_eq!(sorted(p.containers()), names(&p, 3));

    // Down to one (the extra replicas go), then up to two, without a failed call.
    let caller = Caller::on(port);
    let t0 = Instant::now();
    p.ok(&["update", "--replicas", "1"]);
    p.ok(&["update", "--replicas", "2"]);
    let failed = failures(&caller.finish(), t0);
    assert!(failed.is_empty(), "new-era calls failed while scaling: {failed:?}");
    assert_eq!(sorted(p.containers()), names(&p, 2));
    assert_eq!(spread(port, 20).len(), 2);
    // Without --replicas, an update keeps two.
    std::fs::write(p.dir.path().join("extra.py"), "# another change\n").unwrap();
    p.ok(&["update", "--rebuild"]);
    assert_eq!(replicas_status(&p).len(), 2);
    // More than one replica without the front is refused before anything changes.
    let o = p.mcpctl(&["update", "--replicas", "3", "--no-front"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("more than one replica without the front"), "{o:?}");
    assert_eq!(replicas_status(&p).len(), 2);
    front_healthy(&p, &format!("{}-front", p.name));
    p.ok(&["down"]);
}

/// SIGKILL of the server process inside one replica (a crash: the engine's restart policy
/// brings it back; `docker kill` would count as stopped by hand and stay down).
fn crash_server(p: &Project, container: &str) {
    // Not this shell itself: its own command line names python too.
    let script = "for d in /proc/[0-9]*; do [ \"${d#/proc/}\" = \"$$\" ] && continue; case \"$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)\" in \
                  *python*|*uvicorn*) kill -9 ${d#/proc/} ;; esac; done";
    let o = p.engine_cmd(&["exec", container, "sh", "-c", script]);
    assert!(o.status.success() || o.status.code() == Some(137), "kill in {container}: {o:?}");
}

pub(crate) fn replicas_crash(engine: &'static str, base: u16) {
    let p = project(engine, "rcrash", base);
    p.ok(&["start", "--replicas", "3"]);
    let port = p.state_port();
    let victim = format!("{}-r2", p.container());
    let ins = p.engine_cmd(&["container", "inspect", &victim]);
    let v: Value = serde_json::from_slice(&ins.stdout).unwrap();
    let victim_host = v[0]["Config"]["Hostname"].as_str().unwrap().to_string();
    assert!(spread(port, 30).contains(&victim_host), "{victim_host} never answers");
    // A 2025 session on the victim (sessions are balanced: open them until one lands there).
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    let mut pinned = None;
    for _ in 0..12 {
        let mut s = connect(&target);
        if call(&mut s, "whoami", json!({})).unwrap() == victim_host {
            pinned = Some(s);
            break;
        }
        s.close();
    }
    let mut pinned = pinned.expect("no 2025 session landed on the victim in 12 tries");

    let caller = Caller::on(port);
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    crash_server(&p, &victim);
    // The front checks it out, the engine restarts it, the front checks it back in.
    let deadline = Instant::now() + Duration::from_secs(60);
    let back = loop {
        let st = replicas_status(&p);
        let up = st.iter().filter(|(_, c)| c.starts_with("UP")).count();
        let restarted = p.engine_cmd(&["container", "inspect", "--format", "{{.RestartCount}}", &victim]);
        let restarts: u32 = String::from_utf8_lossy(&restarted.stdout).trim().parse().unwrap_or(0);
        if restarts >= 1 && up == 3 && killed.elapsed() > CHECK_BOUND {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "the replica did not come back: {st:?}, {restarts} restarts");
        std::thread::sleep(Duration::from_millis(500));
    };
    std::thread::sleep(Duration::from_secs(2));
    let made = caller.finish();
    let early = failures(&made, killed).len() - failures(&made, killed + CHECK_BOUND).len();
    let late = failures(&made, killed + CHECK_BOUND);
    eprintln!(
        "e2e replicas {engine}: crash: {} new-era calls, {early} failed within {CHECK_BOUND:?} of the kill, {} after; back after {:.1} s",
        made.len(),
        late.len(),
        (back - killed).as_secs_f64()
    );
    assert!(late.is_empty(), "new-era calls failed after the check bound: {late:?}");
    // The session pinned to it: 404, the client's signal to start a new session.
    match call(&mut pinned, "whoami", json!({})) {
        Err(ProbeError::Status { code: 404, .. }) => {}
        other => panic!("a session on the crashed replica should get 404, got {other:?}"),
    }
    let mut again = connect(&target);
    call(&mut again, "whoami", json!({})).unwrap();
    again.close();
    // It rejoined: new-era calls reach all three again.
    assert!(spread(port, 30).contains(&victim_host), "the restarted replica gets no request");
    front_healthy(&p, &format!("{}-front", p.name));
    p.ok(&["down"]);
}
