//! End to end through the front (HAProxy in a container of its own), on docker AND podman: updates
//! no client notices, failures that keep serving, mcpctl killed at any moment of a switch, the
//! bearer token and HTTPS at the front, several projects behind one front by path, and the front
//! turned on and off.
//!
//! Scenarios (each on docker and on podman, registered in e2e.rs):
//! * `front_updates`: Update after a code change with a probe every 50 ms, a session opened
//!   before, and a 5 s call in flight
//! * `front_sigkill`: mcpctl killed with SIGKILL before, during and after the switch
//! * `front_token_tls`: 401 without the token and with a wrong one, 200 with it
//! * `front_shared`: Two projects behind one front by path (/NAME/mcp and /NAME/sse, the SSE
//!   one's endpoint event prefixed), each updated while the other is probed
//! * `front_on_off`: Turning the front on and off keeps the port, the volumes and their data
//! * `front_mixed_tokens`: Two projects in one front group, `a` with a token and `b` without,
//!   through starts, updates and downs of either
//! * `front_image_missing`: A front image that cannot be pulled

use std::io::BufRead;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, ProbeError, Target, Tls};
use serde_json::json;

use crate::e2e::{Project, Watch, add_shout_tool, append, tools};

/// The front's image on this machine (scripts/engines-up.sh builds it from Debian's haproxy).
pub(crate) const FRONT_IMAGE: &str = "mcpctl-haproxy:local";
/// What mcpctl prints when the front sends new sessions to the new container.
pub(crate) const SWITCHED: &str = "The front sends new sessions and requests to the new";
const DRAIN_TIMEOUT_LINE: &str = "Drain timeout";

/// The echo-server fixture with two more tools: `slow(seconds)` (a long call) and `hostname()`
/// (which container answered).
fn add_front_tools(dir: &Path) {
    let server_py = dir.join("echo_server/server.py");
    let code = std::fs::read_to_string(&server_py).unwrap();
    let tools = r#"@mcp_server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then say so."""
    import anyio

    await anyio.sleep(seconds)
    return f"slept {seconds:g}"


@mcp_server.tool()
def hostname() -> str:
    """The container's hostname."""
    import socket

    return socket.gethostname()


@mcp_server.tool()
def echo("#;
    let code = code.replacen("@mcp_server.tool()\ndef echo(", tools, 1);
    assert!(code.contains("def slow("), "fixture changed shape: cannot add the front's tools");
    std::fs::write(&server_py, code).unwrap();
}

pub(crate) fn front_image_present(engine: &str) {
    let ok = std::process::Command::new(engine).args(["image", "inspect", FRONT_IMAGE]).output().unwrap();
    assert!(ok.status.success(), "{engine} has no {FRONT_IMAGE}: run scripts/engines-up.sh");
}

/// echo-server with the front's tools, behind a front of its own.
fn behind(engine: &'static str, name: &str, base: u16, drain: &str) -> Project {
    front_image_present(engine);
    let mut p = Project::new("echo-server", engine, name, base);
    add_front_tools(p.dir.path());
    p.extra = ["--front", "--front-image", FRONT_IMAGE, "--drain-timeout", drain].map(String::from).to_vec();
    p
}

pub(crate) fn call(c: &mut Client, tool: &str, args: serde_json::Value) -> Result<String, ProbeError> {
    c.call_tool(tool, args)
}

/// The front never crashed or complained: not restarted by the engine, no `[ALERT]` in its log.
pub(crate) fn front_healthy(p: &Project, front: &str) {
    let ins = p.engine_cmd(&["container", "inspect", front]);
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).unwrap_or_default();
    assert_eq!(v[0]["RestartCount"], 0, "the front {front} was restarted by the engine (it crashed)");
    let logs = p.engine_cmd(&["logs", front]);
    let text = format!("{}{}", String::from_utf8_lossy(&logs.stdout), String::from_utf8_lossy(&logs.stderr));
    let alerts: Vec<&str> = text.lines().filter(|l| l.contains("[ALERT]")).collect();
    assert!(alerts.is_empty(), "the front {front} logged alerts: {alerts:?}");
}

pub(crate) fn connect(t: &Target) -> Client {
    Client::connect(t, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("no MCP session at {}: {e}", t.shown_url()))
}

/// mcpctl running in the background, its output read line by line as it comes.
pub(crate) struct Running {
    child: Child,
    lines: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn spawn(p: &Project, args: &[&str]) -> Running {
        let mut child = p.spawn(args);
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(String::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        Running { child, lines, reader: Some(reader) }
    }

    pub(crate) fn seen(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().contains(needle)
    }

    /// Whether `needle` shows within `within` (the line may still be in the pipe).
    pub(crate) fn shows(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.seen(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.seen(needle)
    }

    pub(crate) fn done(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    fn wait_for(&self, needle: &str, within: Duration) {
        assert!(
            self.shows(needle, within),
            "mcpctl never printed {needle:?}:\n{}",
            self.lines.lock().unwrap()
        );
    }

    /// SIGKILL: no handler runs, nothing is cleaned up.
    fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.finish().1
    }

    pub(crate) fn finish(&mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status.code().unwrap_or(-1), format!("{}\n--- stderr\n{err}", self.lines.lock().unwrap()))
    }
}

/// A session opened before an update calls `hostname` (`whoami` on replica-server) while it runs. Every call answers, from the
/// same container with the same session id, except a 404 after a drain timeout the update says it
/// reached (the MCP spec's "start a new session"). Returns (calls, calls after the switch).
pub(crate) fn session_through(
    run: &mut Running,
    c: &mut Client,
    host: &str,
    calls_after_switch: usize,
) -> (usize, usize) {
    let tool = if c.server.name == "replica-server" { "whoami" } else { "hostname" };
    let sid = c.session_id().map(str::to_string);
    let (mut calls, mut after) = (0, 0);
    while !run.done() {
        let switched = run.seen(SWITCHED);
        if switched && after >= calls_after_switch {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        match call(c, tool, json!({})) {
            Ok(h) => {
                assert_eq!(h, host, "a session opened before the update reached another container");
                assert_eq!(c.session_id().map(str::to_string), sid, "the session id changed");
            }
            Err(ProbeError::Status { code: 404, .. })
                if run.shows(DRAIN_TIMEOUT_LINE, Duration::from_secs(2)) =>
            {
                return (calls, after);
            }
            Err(e) => panic!("a session call failed during the update (after {calls} calls): {e}"),
        }
        calls += 1;
        if switched {
            after += 1;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    (calls, after)
}

/// The probes' count: none failed. The watch goes on a second past the command, so what it
/// left behind (a front reloading late) is seen too.
pub(crate) fn no_failures(what: &str, engine: &str, w: Watch) -> u32 {
    std::thread::sleep(Duration::from_secs(1));
    let (attempts, failures, _) = w.finish();
    eprintln!("e2e front {engine}: {what}: {attempts} probes through the front, {} failed", failures.len());
    assert!(attempts >= 3, "{what}: only {attempts} probes");
    assert!(
        failures.is_empty(),
        "{what}: {} of {attempts} probes through the front failed: {failures:?}",
        failures.len()
    );
    attempts
}

/// Update after a code change with a probe every 50 ms, a session opened before, and a 5 s call
/// in flight; then restart with a busy session (the drain timeout), rollback, a broken build and
/// a crashing version: not one failed request through the front.
pub(crate) fn front_updates(engine: &'static str, base: u16) {
    let p = behind(engine, "fupd", base, "8");
    let o = p.ok(&["start"]);
    let port = p.state_port();
    assert!(o.stdout.contains(&format!("The front answers at http://localhost:{port}/mcp")), "{o:?}");
    let ins = p.inspect().unwrap();
    // docker: {} ; podman: {"3001/tcp": null} (exposed, bound to nothing).
    let published = &ins["HostConfig"]["PortBindings"];
    assert!(
        published
            .as_object()
            .is_none_or(|m| m.values().all(|v| v.is_null() || v.as_array().is_some_and(|a| a.is_empty()))),
        "the server's container publishes a port behind the front: {published}"
    );
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    let mut session = connect(&target);
    let old_host = call(&mut session, "hostname", json!({})).unwrap();
    let n0 = append(&mut session, "before the update");

    add_shout_tool(p.dir.path());
    let w = Watch::on(target.clone());
    let slow = {
        let t = target.clone();
        std::thread::spawn(move || connect(&t).call_tool("slow", json!({"seconds": 5})))
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut run = Running::spawn(&p, &["update"]);
    let (calls, after) = session_through(&mut run, &mut session, &old_host, 3);
    let (code, out) = run.finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(SWITCHED) && out.contains("drained: no connection and no session in use"), "{out}");
    no_failures("update", engine, w);
    assert!(calls >= 3 && after >= 3, "the session made {calls} calls, {after} after the switch:\n{out}");
    assert_eq!(slow.join().unwrap().expect("the 5 s call in flight during the update failed"), "slept 5");
    // Drained and gone: the old session gets 404 and a new one reaches the new version.
    match call(&mut session, "hostname", json!({})) {
        Err(ProbeError::Status { code: 404, .. }) => {}
        other => panic!("the drained session should get 404, got {other:?}"),
    }
    let mut c = connect(&target);
    assert_ne!(call(&mut c, "hostname", json!({})).unwrap(), old_host);
    assert_eq!(tools(&mut c), ["append_note", "echo", "hostname", "shout", "slow"]);
    assert_eq!(append(&mut c, "after the update"), n0 + 1, "the data volume did not follow");
    c.close();
    assert_eq!(p.containers(), [p.container()], "leftover containers");

    // restart with a session that never stops: the drain ends at its timeout, the session's next
    // request gets 404.
    let host = {
        let mut c = connect(&target);
        call(&mut c, "hostname", json!({})).unwrap()
    };
    let mut busy = connect(&target);
    let busy_host = call(&mut busy, "hostname", json!({})).unwrap();
    assert_eq!(busy_host, host);
    let w = Watch::on(target.clone());
    let mut run = Running::spawn(&p, &["restart"]);
    session_through(&mut run, &mut busy, &busy_host, usize::MAX);
    let (code, out) = run.finish();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Drain timeout (8.0 s) reached"),
        "a busy session should hold the drain until its timeout:\n{out}"
    );
    no_failures("restart", engine, w);

    // rollback: the previous image, through the front.
    let w = Watch::on(target.clone());
    let o = p.ok(&["rollback"]);
    assert!(o.stdout.contains("The previous version is serving"), "{o:?}");
    no_failures("rollback", engine, w);
    let mut c = connect(&target);
    assert_eq!(tools(&mut c), ["append_note", "echo", "hostname", "slow"]);
    c.close();
    p.ok(&["rollback"]);

    // A broken build and a version that crashes at start never get a request.
    let df = p.dir.path().join("Dockerfile");
    let good = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, good.replacen("USER appuser", "RUN exit 7\nUSER appuser", 1)).unwrap();
    let w = Watch::on(target.clone());
    let o = p.mcpctl(&["update"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("Failed to build image"), "{o:?}");
    no_failures("broken build", engine, w);
    std::fs::write(&df, &good).unwrap();
    let main_py = p.dir.path().join("echo_server/__main__.py");
    let good_main = std::fs::read_to_string(&main_py).unwrap();
    std::fs::write(&main_py, format!("raise SystemExit(4)\n{good_main}")).unwrap();
    let w = Watch::on(target.clone());
    let o = p.mcpctl(&["update"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.all().contains("the front never sent it anything"), "{o:?}");
    no_failures("crashing version", engine, w);
    std::fs::write(&main_py, good_main).unwrap();
    let mut c = connect(&target);
    assert_eq!(tools(&mut c), ["append_note", "echo", "hostname", "shout", "slow"]);
    c.close();
    assert_eq!(p.containers(), [p.container()], "leftover containers");

    // status, list and logs --front show the front.
    let o = p.ok(&["status"]);
    assert!(o.stdout.contains(&format!("Front: {}-front runs", p.name)), "{o:?}");
    assert!(o.stdout.contains("serves"), "{o:?}");
    let o = p.ok(&["list"]);
    assert!(
        o.stdout.lines().any(
            |l| l.starts_with(&format!("{}-front ", p.name)) && l.contains(&format!("front: {}", p.name))
        ),
        "{o:?}"
    );
    let o = p.ok(&["logs", "--front", "--no-follow"]);
    assert!(o.all().contains("fe_mcp be_"), "the front's log shows no request: {o:?}");

    front_healthy(&p, &format!("{}-front", p.name));

    // The front's container stopped behind mcpctl's back: the next update puts it back first.
    let stop = p.engine_cmd(&["stop", &format!("{}-front", p.name)]);
    assert!(stop.status.success());
    let o = p.ok(&["status"]);
    assert!(
        o.all().contains("front") && o.all().contains("not running"),
        "status should say the front is down: {o:?}"
    );
    std::fs::write(p.dir.path().join("echo_server/extra.py"), "# a change\n").unwrap();
    let o = p.ok(&["update"]);
    assert!(o.all().contains("putting it back first"), "{o:?}");
    let c = connect(&target);
    assert_eq!(c.server.name, "echo-server");
    c.close();
    p.ok(&["down"]);
    assert!(
        !p.engine_cmd(&["container", "inspect", &format!("{}-front", p.name)]).status.success(),
        "down left the front"
    );
    assert!(
        !p.engine_cmd(&["network", "inspect", &format!("{}-front", p.name)]).status.success(),
        "down left the network"
    );
}

/// mcpctl killed with SIGKILL before, during and after the switch: the probe through the front
/// never fails, and the next `update` finishes or cleans up (one container, serving the code).
pub(crate) fn front_sigkill(engine: &'static str, base: u16) {
    let p = behind(engine, "fkill", base, "6");
    p.ok(&["start"]);
    let target = Target::new(p.state_port(), "/mcp", TransportSetting::StreamableHttp);
    let w = Watch::on(target.clone());
    let t0 = Instant::now();
    let moments = [
        "Building image...",
        "Starting the new container beside the old one",
        SWITCHED,
        "drained",
        "The new container serves through the front",
    ];
    for (i, moment) in moments.iter().enumerate() {
        // Each round a new tool, so each update has something to build and switch to.
        let server_py = p.dir.path().join("echo_server/server.py");
        let code = std::fs::read_to_string(&server_py).unwrap();
        let tool = format!("round{i}");
        std::fs::write(&server_py, code.replacen("@mcp_server.tool()\ndef echo(", &format!("@mcp_server.tool()\ndef {tool}() -> int:\n    return {i}\n\n\n@mcp_server.tool()\ndef echo("), 1)).unwrap();
        let run = Running::spawn(&p, &["update"]);
        run.wait_for(moment, Duration::from_secs(120));
        let killed_at = t0.elapsed().as_secs_f64();
        let out = run.kill();
        let o = p.mcpctl(&["update"]);
        let front_lines: Vec<&str> =
            o.stdout.lines().filter(|l| l.contains("front") || l.contains("nterrupted")).collect();
        eprintln!(
            "e2e front {engine}: SIGKILL at {moment:?} ({killed_at:.2} s), the next update until {:.2} s: {front_lines:?}",
            t0.elapsed().as_secs_f64()
        );
        assert_eq!(
            o.code, 0,
            "the update after a SIGKILL at {moment:?} failed: {o:?}\n--- the killed run\n{out}"
        );
        assert_eq!(p.containers(), [p.container()], "leftovers after a SIGKILL at {moment:?}:\n{out}\n{o:?}");
        let mut c = connect(&target);
        assert!(tools(&mut c).contains(&tool), "after a SIGKILL at {moment:?} the new code does not serve");
        c.close();
    }
    no_failures("SIGKILL at five moments of an update", engine, w);
    front_healthy(&p, &format!("{}-front", p.name));
    let st = p.ok(&["status", "--json"]);
    assert!(st.stdout.contains("\"ok\":true"), "{st:?}");
}

/// A self-signed certificate for localhost and its CA, as a user would bring them.
fn certificate_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "mcpctl test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_path, key_path) = (dir.join("site.crt"), dir.join("site.key"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, ca_cert.pem().into_bytes())
}

/// 401 without the token and with a wrong one, 200 with it; HTTPS with the generated certificate
/// and with given files; the token nowhere in argv, inspect, labels, logs or the image.
pub(crate) fn front_token_tls(engine: &'static str, base: u16) {
    let mut p = behind(engine, "ftls", base, "5");
    let token = format!("tok-{}-{}", std::process::id(), base);
    std::fs::write(p.dir.path().join("front.token"), format!("{token}\n")).unwrap();
    std::fs::write(p.dir.path().join("mcpctl.toml"), "token-file = \"front.token\"\n").unwrap();
    p.extra.extend(["--tls", "self-signed"].map(String::from));
    let o = p.ok(&["-v", "start"]);
    let port = p.state_port();
    assert!(o.stdout.contains(&format!("https://localhost:{port}/mcp")), "{o:?}");
    assert!(o.stdout.contains("The certificate is mcpctl's own: trust"), "{o:?}");
    assert!(o.stdout.contains("export E2E_FTLS"), "no hint where the client gets the token: {o:?}");
    assert!(!o.all().contains(&token), "the token shows in mcpctl's output");
    let cert = p.home().join(format!(".config/mcpctl/fronts/{}-front/tls/localhost.pem", p.name));
    let trust = std::fs::read(&cert).expect("the generated certificate is kept");
    let mut t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    t.tls = Some(Tls { trust_pem: Some(trust.clone()) });
    let status = |t: &Target| match mcpctl::probe::probe(t, Duration::from_secs(10)) {
        Ok(_) => 200,
        Err(ProbeError::Status { code, .. }) => code,
        Err(e) => panic!("{}: {e}", t.shown_url()),
    };
    assert_eq!(status(&t), 401, "no token must get 401");
    t.bearer = Some("wrong".into());
    assert_eq!(status(&t), 401, "a wrong token must get 401");
    t.bearer = Some(token.clone());
    assert_eq!(status(&t), 200, "the token must pass");
    let mut c = connect(&t);
    assert_eq!(call(&mut c, "echo", json!({"text": "over https"})).unwrap(), "over https");
    c.close();
    // status speaks TLS with the token.
    let o = p.ok(&["status"]);
    assert!(o.stdout.contains("✓ MCP: echo-server"), "{o:?}");
    // The client line names the header, never the token.
    let o = p.ok(&["client"]);
    assert!(o.stdout.contains("--header \"Authorization: Bearer ${E2E_FTLS"), "{o:?}");
    assert!(!o.all().contains(&token), "{o:?}");
    // An update through the front with the token: no failed request.
    let w = Watch::on(t.clone());
    add_shout_tool(p.dir.path());
    p.ok(&["update"]);
    no_failures("update with TLS and a token", engine, w);

    // Given certificate files: a reload, then the client trusts the CA it came from.
    let (crt, key, ca) = certificate_files(p.dir.path());
    let mut given = p.extra.clone();
    given.truncate(given.len() - 2);
    given.extend(["--tls-cert", crt.to_str().unwrap(), "--tls-key", key.to_str().unwrap()].map(String::from));
    p.extra = given;
    let o = p.ok(&["update"]);
    assert!(o.stdout.contains(&format!("https://localhost:{port}/mcp")), "{o:?}");
    let mut t2 = t.clone();
    t2.tls = Some(Tls { trust_pem: Some(ca) });
    assert_eq!(status(&t2), 200, "the given certificate is not served");
    t2.bearer = None;
    assert_eq!(status(&t2), 401);
    // A key that is not the certificate's: the front refuses the files and serves on with the old.
    let elsewhere = tempfile::tempdir().unwrap();
    let (_, other_key, _) = certificate_files(elsewhere.path());
    let mut bad = p.extra.clone();
    let k = bad.len() - 1;
    bad[k] = other_key.to_str().unwrap().to_string();
    let keep = std::mem::replace(&mut p.extra, bad);
    t2.bearer = Some(token.clone());
    let w = Watch::on(t2.clone());
    let o = p.mcpctl(&["update"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("the front rejects its new config"), "{o:?}");
    assert_eq!(
        o.stderr.lines().filter(|l| l.trim_start().starts_with('✗')).count(),
        1,
        "one line says why: {o:?}"
    );
    p.extra = keep;
    no_failures("a rejected certificate", engine, w);
    assert_eq!(status(&t2), 200, "the old certificate must still serve");

    // The token is in no argv, inspect, label, log line or image.
    let front = format!("{}-front", p.name);
    for args in [
        vec!["container", "inspect", front.as_str()],
        vec!["container", "inspect", &p.container()],
        vec!["logs", front.as_str()],
        vec!["logs", &p.container()],
        vec!["image", "inspect", &p.container()],
        vec!["history", "--no-trunc", &p.container()],
    ] {
        let out = p.engine_cmd(&args);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains(&token), "{args:?} shows the token");
    }
}

/// Two projects behind one front by path (/NAME/mcp and /NAME/sse, the SSE one's endpoint event
/// prefixed), each updated while the other is probed; down removes the front with the last one.
pub(crate) fn front_shared(engine: &'static str, base: u16) {
    front_image_present(engine);
    let group = format!("e2e-{}", engine.trim_start_matches('/').replace('/', "-"));
    let front = format!("mcpctl-front-{group}");
    let front_port = base + 90;
    let shared = |p: &mut Project| {
        p.extra = ["--front", "--front-image", FRONT_IMAGE, "--front-group", &group, "--drain-timeout", "5"]
            .map(String::from)
            .to_vec();
        std::fs::write(p.dir.path().join("mcpctl.toml"), format!("front-port = {front_port}\n")).unwrap();
    };
    // Declared first, dropped last: the network goes once the projects' containers are gone.
    let cleanup = FrontGuard { engine, name: front.clone() };
    cleanup.remove();
    let mut a = Project::new("echo-server", engine, "fsha", base);
    let mut b = a.beside("sse-server", "fshb", base + 10);
    shared(&mut a);
    shared(&mut b);
    let o = a.ok(&["start"]);
    assert!(o.stdout.contains(&format!("http://localhost:{front_port}/{}/mcp", a.name)), "{o:?}");
    let o = b.ok(&["start"]);
    assert!(o.stdout.contains(&format!("http://localhost:{front_port}/{}/sse", b.name)), "{o:?}");
    let ta = Target::new(front_port, &format!("/{}/mcp", a.name), TransportSetting::StreamableHttp);
    let tb = Target::new(front_port, &format!("/{}/sse", b.name), TransportSetting::Sse);
    let ca = connect(&ta);
    assert_eq!(ca.server.name, "echo-server");
    ca.close();
    // A long-lived SSE session: the probe client's timeout covers the stream's whole life.
    let mut cb = Client::connect(&tb, Duration::from_secs(600)).unwrap();
    assert_eq!(cb.server.name, "sse-server");
    assert_eq!(call(&mut cb, "echo", json!({"text": "sse behind a prefix"})).unwrap(), "sse behind a prefix");
    // Unknown paths get the front's 404, not another project.
    let nowhere = Target::new(front_port, "/nosuch/mcp", TransportSetting::StreamableHttp);
    assert!(matches!(
        mcpctl::probe::probe(&nowhere, Duration::from_secs(5)),
        Err(ProbeError::Status { code: 404, .. })
    ));

    // a updated while b is probed (and an SSE stream of b stays open); then the other way round.
    add_shout_tool(a.dir.path());
    let w = Watch::on(tb.clone());
    a.ok(&["update"]);
    no_failures("update of the other project", engine, w);
    assert_eq!(
        call(&mut cb, "echo", json!({"text": "still here"})).unwrap(),
        "still here",
        "the SSE session of b broke"
    );
    cb.close();
    std::fs::write(
        b.dir.path().join("sse_server.py"),
        std::fs::read_to_string(b.dir.path().join("sse_server.py")).unwrap() + "\n# changed\n",
    )
    .unwrap();
    let w = Watch::on(ta.clone());
    let wb = Watch::on(tb.clone());
    b.ok(&["update"]);
    no_failures("update of the other project", engine, w);
    no_failures("update of the SSE project itself", engine, wb);
    let mut ca = connect(&ta);
    assert!(tools(&mut ca).contains(&"shout".to_string()));
    ca.close();

    front_healthy(&a, &front);
    let o = a.ok(&["list"]);
    assert!(
        o.stdout.lines().any(|l| l.starts_with(&front) && l.contains(&a.name) && l.contains(&b.name)),
        "{o:?}"
    );
    a.ok(&["down"]);
    assert!(
        a.engine_cmd(&["container", "inspect", &front]).status.success(),
        "down of one project removed the shared front"
    );
    let cb = connect(&tb);
    assert_eq!(cb.server.name, "sse-server");
    cb.close();
    let o = b.ok(&["down"]);
    assert!(o.stdout.contains("routes nothing any more"), "{o:?}");
    assert!(
        !b.engine_cmd(&["container", "inspect", &front]).status.success(),
        "the last down left the front"
    );
}

/// Turning the front on and off keeps the port, the volumes and their data.
pub(crate) fn front_on_off(engine: &'static str, base: u16) {
    front_image_present(engine);
    let mut p = Project::new("echo-server", engine, "fonoff", base);
    p.ok(&["start"]);
    let port = p.state_port();
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    let mut c = connect(&target);
    let n0 = append(&mut c, "direct");
    c.close();
    p.extra = ["--front-image", FRONT_IMAGE, "--drain-timeout", "5"].map(String::from).to_vec();
    let o = p.ok(&["update", "--front"]);
    assert_eq!(p.state_port(), port, "the port changed when the front came on");
    assert!(o.stdout.contains(&format!("http://localhost:{port}/mcp")), "{o:?}");
    assert!(p.engine_cmd(&["container", "inspect", &format!("{}-front", p.name)]).status.success());
    let mut c = connect(&target);
    assert_eq!(append(&mut c, "behind the front"), n0 + 1);
    c.close();
    // The setting stays: a plain update keeps the front.
    std::fs::write(p.dir.path().join("echo_server/extra.py"), "# a change\n").unwrap();
    let w = Watch::on(target.clone());
    p.ok(&["update"]);
    no_failures("update after turning the front on", engine, w);
    let o = p.ok(&["update", "--no-front"]);
    assert_eq!(p.state_port(), port, "the port changed when the front went");
    assert!(o.stdout.contains(&format!("http://localhost:{port}/mcp")), "{o:?}");
    assert!(
        !p.engine_cmd(&["container", "inspect", &format!("{}-front", p.name)]).status.success(),
        "the front stayed"
    );
    let mut c = connect(&target);
    assert_eq!(append(&mut c, "direct again"), n0 + 2);
    c.close();
    assert!(p.volumes().iter().all(|v| p.volume_exists(v)));
    assert_eq!(p.containers(), [p.container()]);
}

/// Removes a shared front (and its network) when a test ends, passed or not.
pub(crate) struct FrontGuard {
    pub(crate) engine: &'static str,
    pub(crate) name: String,
}

impl FrontGuard {
    pub(crate) fn remove(&self) {
        let _ = std::process::Command::new(self.engine).args(["rm", "-f", &self.name]).output();
        let _ = std::process::Command::new(self.engine).args(["network", "rm", &self.name]).output();
    }
}

impl Drop for FrontGuard {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The status of an MCP initialize sent through the front on `port` at `path`, with exactly these
/// Authorization header lines, written as given (two of them, or a lowercase scheme, which an
/// HTTP client library would not send).
pub(crate) fn status_with(port: u16, path: &str, auth: &[&str]) -> u16 {
    use std::io::{Read, Write};
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for a in auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status from {path}: {line:?}"))
}

/// Two projects in one front group, `a` with a token and `b` without, through starts, updates
/// and downs of either: `a` stays closed (one Authorization header, the scheme in any case, the
/// token exactly) and `b` stays open; each `down` exits 0 and the last one takes the shared front
/// and its network with it.
pub(crate) fn front_mixed_tokens(engine: &'static str, base: u16) {
    front_image_present(engine);
    let group = format!("ft-mixed-{}", engine.trim_start_matches('/').replace('/', "-"));
    let front = format!("mcpctl-front-{group}");
    let front_port = base + 90;
    let cleanup = FrontGuard { engine, name: front.clone() };
    cleanup.remove();
    let mut a = Project::new("echo-server", engine, "ftmxa", base);
    let mut b = a.beside("echo-server", "ftmxb", base + 10);
    let token = format!("tok-{}-{}-Aa", std::process::id(), base);
    std::fs::write(a.dir.path().join("front.token"), format!("{token}\n")).unwrap();
    for (p, toml) in [
        (&mut a, format!("front-port = {front_port}\ntoken-file = \"front.token\"\n")),
        (&mut b, format!("front-port = {front_port}\n")),
    ] {
        p.extra = ["--front", "--front-image", FRONT_IMAGE, "--front-group", &group, "--drain-timeout", "3"]
            .map(String::from)
            .to_vec();
        std::fs::write(p.dir.path().join("mcpctl.toml"), toml).unwrap();
    }
    let (pa, pb) = (format!("/{}/mcp", a.name), format!("/{}/mcp", b.name));
    let right = format!("Bearer {token}");
    // The scheme is case-insensitive, the token is not.
    let (lower_scheme, upper_token) = (format!("bearer {token}"), format!("Bearer {}", token.to_uppercase()));
    let config = a.home().join(format!(".config/mcpctl/fronts/{front}/config"));
    let a_file = config.join(format!("token-{}.acl", a.name));
    let b_file = config.join(format!("token-{}.acl", b.name));
    let a_closed = |when: &str| {
        let cases: [(&str, Vec<&str>, u16); 8] = [
            ("no token", vec![], 401),
            ("a wrong token", vec!["Bearer wrong"], 401),
            ("the token in the wrong case", vec![&upper_token], 401),
            ("the token without its scheme", vec![&token], 401),
            ("a wrong header, then the right one", vec!["Bearer wrong", &right], 401),
            ("the right header, then a wrong one", vec![&right, "Bearer wrong"], 401),
            ("the token", vec![&right], 200),
            ("the scheme in lowercase", vec![&lower_scheme], 200),
        ];
        for (what, headers, want) in cases {
            let got = status_with(front_port, &pa, &headers);
            assert_eq!(got, want, "{when}: a with {what} answered {got}, not {want}");
        }
        let mode =
            std::fs::metadata(&a_file).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
        assert_eq!(mode.ok().map(|m| m & 0o777), Some(0o600), "{when}: a's token file {}", a_file.display());
    };
    let b_open = |when: &str| {
        assert_eq!(status_with(front_port, &pb, &[]), 200, "{when}: b needs no token, yet refused");
        assert!(!b_file.exists(), "{when}: b has a token file");
    };
    let gone = |path: &str, when: &str| {
        assert_eq!(status_with(front_port, path, &[]), 404, "{when}: {path} is still routed");
    };

    a.ok(&["start"]);
    a_closed("a started");
    b.ok(&["start"]);
    a_closed("b started");
    b_open("b started");
    assert!(!config.join("token.acl").exists(), "a front-wide token file");
    // Each one's update leaves the other as it was.
    add_shout_tool(a.dir.path());
    a.ok(&["update"]);
    a_closed("a updated");
    b_open("a updated");
    std::fs::write(b.dir.path().join("echo_server/extra.py"), "# a change\n").unwrap();
    b.ok(&["update"]);
    a_closed("b updated");
    b_open("b updated");
    // b goes (volumes too): a stays closed; b comes back open.
    let o = b.mcpctl(&["down", "--volumes", "--yes"]);
    assert_eq!(o.code, 0, "{o:?}");
    a_closed("b down");
    gone(&pb, "b down");
    b.ok(&["start"]);
    a_closed("b started again");
    b_open("b started again");
    // a goes: b stays open, and a's token file goes with it; a comes back closed.
    a.ok(&["down"]);
    b_open("a down");
    gone(&pa, "a down");
    assert!(!a_file.exists(), "a's token file outlived a");
    assert!(a.engine_cmd(&["container", "inspect", &front]).status.success(), "a's down took the front");
    a.ok(&["start"]);
    a_closed("a started again");
    b_open("a started again");
    front_healthy(&a, &front);
    // b goes, then a, the last: the front and its network go too.
    b.ok(&["down", "--volumes", "--yes"]);
    a_closed("b down again");
    let o = a.ok(&["down"]);
    assert!(o.stdout.contains("routes nothing any more"), "{o:?}");
    assert!(
        !a.engine_cmd(&["container", "inspect", &front]).status.success(),
        "the last down left the front"
    );
    assert!(
        !a.engine_cmd(&["network", "inspect", &front]).status.success(),
        "the last down left the front's network"
    );
    assert!(!a_file.exists(), "a token file outlived the front");
}

/// A front image that cannot be pulled: `start --front` and `update --front` fail in one line
/// naming --front-image, and leave the project as it was (nothing made, or the container still
/// serving on its port).
pub(crate) fn front_image_missing(engine: &'static str, base: u16) {
    const MISSING: &str = "mcpctl-e2e-missing/haproxy:none";
    let mut p = Project::new("echo-server", engine, "ftimg", base);
    let front = format!("{}-front", p.name);
    let one_line = |o: &crate::support::Outcome| {
        assert_eq!(o.code, 1, "{o:?}");
        let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line says why: {o:?}");
        assert!(lines[0].contains(&format!("the front's image {MISSING} is not here")), "{o:?}");
        assert!(lines[0].contains("--front-image IMAGE"), "{o:?}");
    };
    let nothing_of_the_front = |p: &Project| {
        assert!(!p.engine_cmd(&["container", "inspect", &front]).status.success(), "a front was made");
        assert!(!p.engine_cmd(&["network", "inspect", &front]).status.success(), "a network was made");
    };
    p.extra = ["--front-image", MISSING].map(String::from).to_vec();
    // Nothing there yet: nothing is made.
    let o = p.mcpctl(&["start", "--front"]);
    one_line(&o);
    assert!(p.containers().is_empty(), "containers were made: {:?}", p.containers());
    nothing_of_the_front(&p);
    // Serving on its own port: it serves on, untouched.
    p.extra.clear();
    p.ok(&["start"]);
    let port = p.state_port();
    let ins = p.inspect().unwrap();
    let id = ins["Id"].clone();
    let started = ins["State"]["StartedAt"].clone();
    let target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    p.extra = ["--front-image", MISSING].map(String::from).to_vec();
    for args in [&["update", "--front"][..], &["start", "--front"]] {
        let o = p.mcpctl(args);
        one_line(&o);
        // Never stopped: the same container, running since it started, answers.
        let ins = p.inspect().unwrap();
        assert_eq!((&ins["Id"], &ins["State"]["Running"]), (&id, &json!(true)), "{args:?} touched it");
        mcpctl::probe::probe(&target, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("after {args:?} the container does not serve: {e}"));
    }
    assert_eq!(p.containers(), [p.container()], "leftover containers");
    assert_eq!(p.inspect().unwrap()["State"]["StartedAt"], started, "the container was restarted");
    assert_eq!(p.state_port(), port);
    nothing_of_the_front(&p);
    let c = connect(&target);
    assert_eq!(c.server.name, "echo-server");
    c.close();
}
