//! Ready means "answers MCP". The engine's HEALTHCHECK is no signal: docker first runs it one
//! `interval` after start, podman (without systemd) never does. We poll the published port with a
//! real `initialize` every 50 ms, watch the container while we wait, and diagnose the common
//! failures (a bind to 127.0.0.1 inside the container, DNS-rebinding protection's 421, a wrong
//! path) instead of waiting out the deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{Endpoint, Settings, Transport};
use crate::container;
use crate::engine::ContainerInfo;
use crate::engine::Engine;
use crate::error::Explained;
use crate::probe::{self, ProbeError, ProbeReport, Target};
use crate::process::check_interrupt;
use crate::ui::{Ui, secs};

const POLL: Duration = Duration::from_millis(50);
const WATCH_EVERY: Duration = Duration::from_millis(500);
const LOG_CHECK_EVERY: Duration = Duration::from_secs(2);
/// A definite wrong answer (404, 406, 421) is reported once it has held this long.
const WRONG_ANSWER_GRACE: Duration = Duration::from_secs(2);

/// A server that answers: what it said, how long it took, and the image its container runs.
pub(crate) struct Ready {
    pub(crate) report: ProbeReport,
    pub(crate) took: Duration,
    pub(crate) image_id: Option<String>,
}

pub(crate) fn target(s: &Settings, port: u16) -> Target {
    Target::new(port, &s.mcp_path, s.transport)
}

/// Wait until the server answers MCP on `port`, or fail with a diagnosis and the last log lines.
pub(crate) fn wait(engine: &Engine, s: &Settings, ui: &Ui, port: u16) -> anyhow::Result<Ready> {
    wait_for(engine, s, ui, &s.container, port, s.ready_timeout)
}

/// The same, watching the container `name` (the new one during a swap), with its own deadline.
pub(crate) fn wait_for(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    name: &str,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<Ready> {
    let clients = s.endpoint(port, Transport::StreamableHttp, false);
    wait_for_target(engine, s, ui, name, &target(s, port), &clients, timeout)
}

/// Wait until `target` answers MCP while watching the container `name`; `clients` is the URL
/// clients use (for the diagnoses: the allowed hosts of DNS-rebinding protection name it).
pub(crate) fn wait_for_target(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    name: &str,
    target: &Target,
    clients: &Endpoint,
    timeout: Duration,
) -> anyhow::Result<Ready> {
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    let spinner = ui.spinner(&format!(
        "Waiting up to {} for {} to answer MCP...",
        secs(timeout),
        shown_on(engine, target)
    ));
    let original = target;
    let target = &reach(&engine.host, original)?;
    // Engine calls are slow (podman: 0.1-0.3 s each), so the container is watched from another
    // thread and the probe loop never waits for them.
    let watch = Watcher::start(engine, s, name);
    let mut wrong_since: Option<Instant> = None;
    loop {
        check_interrupt()?;
        let attempt = Instant::now();
        let timeout = deadline
            .saturating_duration_since(attempt)
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        let last = match probe::probe(target, timeout) {
            Ok(report) => {
                spinner.finish();
                return Ok(answered(ui, report, t0.elapsed(), watch.stop()));
            }
            Err(e) => e,
        };
        // A definite wrong answer (404, 406, 421, protocol versions newer than ours) is reported
        // once it has held for a while (421 at once); anything else might still turn into an answer.
        let definite = matches!(
            last,
            ProbeError::Status { code: 404 | 405 | 406 | 400 | 421, .. } | ProbeError::Unsupported { .. }
        );
        let verdict = if definite {
            let since = *wrong_since.get_or_insert_with(Instant::now);
            let settled =
                since.elapsed() >= WRONG_ANSWER_GRACE || matches!(last, ProbeError::Status { code: 421, .. });
            if settled { Verdict::WrongAnswer } else { watch.verdict() }
        } else {
            wrong_since = None;
            watch.set_refusing(matches!(last, ProbeError::Refused | ProbeError::Closed(_)));
            watch.verdict()
        };
        if !matches!(verdict, Verdict::Fine) || Instant::now() >= deadline {
            spinner.finish();
            watch.stop_and_join();
            return Err(not_ready(engine, s, name, clients, &last, verdict));
        }
        std::thread::sleep(POLL.saturating_sub(attempt.elapsed()));
    }
}

/// The URL probed, and the host it is on when that is not this machine.
pub(crate) fn shown_on(engine: &Engine, target: &Target) -> String {
    match engine.host.label() {
        Some(h) => format!("{} on {h}", target.shown_url()),
        None => target.shown_url(),
    }
}

/// Report the first answer; the watcher's last view of the container (at most 0.5 s old) gives
/// the health check and the image, so no engine call sits between the answer and "ready".
fn answered(ui: &Ui, report: ProbeReport, took: Duration, seen: Option<ContainerInfo>) -> Ready {
    ui.success(&format!(
        "MCP server answers: {} over {}, {}, {} tools (ready after {})",
        // 2026 servers often give no version.
        format!("{} {}", nonempty(&report.server.name, "unnamed"), report.server.version).trim_end(),
        report.transport.name(),
        report.server.protocol(),
        report.tools.len(),
        secs(took)
    ));
    if let Some(c) = seen.as_ref().filter(|c| c.has_healthcheck) {
        ui.info(&format!(
            "Engine health check: {} (shown, not waited for)",
            c.health.as_deref().unwrap_or("not run yet")
        ));
    }
    Ready { report, took, image_id: seen.map(|c| c.image_id) }
}

/// Why the server did not become ready: the watcher's verdict, or the probe's last answer.
fn not_ready(
    engine: &Engine,
    s: &Settings,
    name: &str,
    clients: &Endpoint,
    last: &ProbeError,
    v: Verdict,
) -> anyhow::Error {
    match v {
        Verdict::Failed(c) => {
            let how = if c.restarting || c.restart_count > 0 {
                format!("is restarting (restarted {} times; last exit code {})", c.restart_count, c.exit_code)
            } else {
                format!("exited with code {}", c.exit_code)
            };
            if let Some(child) = crate::scaffold::bridge_child(&c.command) {
                return anyhow::Error::new(bridge_child_exited(engine, name, &how, child));
            }
            let mut failed = Explained::new(format!("The container {how} before answering MCP"));
            if c.exit_code == 0 && matches!(last, ProbeError::Refused | ProbeError::Closed(_)) {
                // A clean exit with nothing ever listening: the server ran over stdio.
                failed = Explained::new(format!("The container {how} before answering MCP"))
                    .why(
                        "the server most likely ran over stdio (a bare `mcp.run()`) and ended when the \
                         container's stdin closed",
                    )
                    .fix(
                    "serve it over HTTP without touching its code: `mcpctl init --force` writes a Dockerfile \
                     whose launcher does that (or make its CMD pass --transport streamable-http --host 0.0.0.0 --port 3001)",
                );
            }
            anyhow::Error::new(with_logs(failed, engine, name))
        }
        Verdict::Gone => anyhow::anyhow!("The container disappeared while mcpctl waited for it"),
        Verdict::Loopback(line) => fail(engine, s, name, clients, last, Some(line)),
        Verdict::EngineError(e) => anyhow::anyhow!(e),
        Verdict::Fine | Verdict::WrongAnswer => fail(engine, s, name, clients, last, None),
    }
}

/// How many of the bridge's child's last stderr lines a failed start shows.
const CHILD_LINES: usize = 25;

/// The container runs the stdio bridge and stopped: its child, the stdio server, exited (the bridge
/// ends when its child does). Not "it ran over stdio": the child's own stderr says why, so that is
/// what is shown, out of the bridge's longer traceback.
fn bridge_child_exited(engine: &Engine, name: &str, how: &str, child: &[String]) -> Explained {
    let cmd = child.join(" ");
    // The bridge's own traceback after the child's is some 50 lines; read enough to get past it.
    let stderr = crate::scaffold::bridge_child_stderr(&container::log_last(engine, name, 300));
    let shown = stderr[stderr.len().saturating_sub(CHILD_LINES)..].to_vec();
    let x = Explained::new(format!("The container {how} before answering MCP"))
        .why(format!(
            "the stdio server `{cmd}`, which the bridge runs as its child, exited, and the bridge with it"
        ))
        .fix(
            "fix what the server's error above says; a program or library the image lacks (e.g. git) \
         is a Debian package: `mcpctl init --force --apt-package PKG` (or apt-packages = [\"PKG\"] in \
         [tool.mcpctl]) installs it in the image, then `mcpctl start`",
        );
    if shown.is_empty() {
        return x.evidence(
            format!("`{cmd}` wrote nothing to stderr (`mcpctl logs` shows the whole log)"),
            Vec::new(),
        );
    }
    x.evidence(format!("Last {} lines `{cmd}` wrote to stderr:", shown.len()), shown)
}

/// What the watcher thread concluded so far.
#[derive(Clone)]
enum Verdict {
    Fine,
    /// The server answers, but not as an MCP endpoint should (set by the probe loop).
    WrongAnswer,
    Failed(Box<crate::engine::ContainerInfo>),
    Gone,
    Loopback(String),
    EngineError(String),
}

#[derive(Default)]
struct Shared {
    verdict: Option<Verdict>,
    last_seen: Option<crate::engine::ContainerInfo>,
}

struct Watcher {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    refusing: Arc<AtomicBool>,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Watcher {
    fn start(engine: &Engine, s: &Settings, name: &str) -> Watcher {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let refusing = Arc::new(AtomicBool::new(false));
        let (engine, s, name) = (engine.clone(), s.clone(), name.to_string());
        let (sh, st, rf) = (shared.clone(), stop.clone(), refusing.clone());
        let handle = std::thread::spawn(move || {
            let mut last_log_check = Instant::now();
            // A container put back after a failed swap may have restarted before in its life:
            // only a restart while we watch counts.
            let mut restarts_before: Option<i64> = None;
            while !st.load(Ordering::SeqCst) {
                let t = Instant::now();
                let verdict = match container::lookup_named(&engine, &s, &name) {
                    Ok(container::Lookup::Ours(c))
                        if c.running
                            && !c.restarting
                            && c.restart_count <= *restarts_before.get_or_insert(c.restart_count) =>
                    {
                        sh.lock().unwrap().last_seen = Some(c);
                        None
                    }
                    Ok(container::Lookup::Ours(c)) => Some(Verdict::Failed(Box::new(c))),
                    Ok(_) => Some(Verdict::Gone),
                    Err(e) => Some(Verdict::EngineError(format!("{e:#}"))),
                };
                if verdict.is_none()
                    && rf.load(Ordering::SeqCst)
                    && last_log_check.elapsed() >= LOG_CHECK_EVERY
                {
                    last_log_check = Instant::now();
                    let logs = container::log_tail(&engine, &name, 50);
                    if let Some(line) = loopback_bind(&logs, s.container_port) {
                        sh.lock().unwrap().verdict = Some(Verdict::Loopback(line));
                        return;
                    }
                }
                if let Some(v) = verdict {
                    sh.lock().unwrap().verdict = Some(v);
                    return;
                }
                // Sleep in small steps so stop() returns quickly.
                while t.elapsed() < WATCH_EVERY && !st.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Watcher { shared, stop, refusing, handle: Mutex::new(Some(handle)) }
    }

    fn set_refusing(&self, on: bool) {
        self.refusing.store(on, Ordering::SeqCst);
    }

    fn verdict(&self) -> Verdict {
        self.shared.lock().unwrap().verdict.clone().unwrap_or(Verdict::Fine)
    }

    /// Stop watching (without waiting for an engine call in flight); the last view of the
    /// container, if any.
    /// Stop (see `stop_and_join`) and return the last view of the container, if any.
    fn stop(&self) -> Option<crate::engine::ContainerInfo> {
        self.stop_and_join();
        self.shared.lock().unwrap().last_seen.clone()
    }

    /// Stop and wait for an engine call in flight (at most one inspect): nothing of the
    /// watcher's may run after, or interleave with, what the caller does next (the diagnosis,
    /// the put-back, the rename of a swap).
    fn stop_and_join(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.lock().unwrap().take() {
            let _ = h.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn nonempty<'a>(s: &'a str, or: &'a str) -> &'a str {
    if s.is_empty() { or } else { s }
}

/// A log line showing the server bound to loopback inside the container.
pub(crate) fn loopback_bind(lines: &[String], container_port: u16) -> Option<String> {
    lines
        .iter()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            (l.contains(&format!("127.0.0.1:{container_port}"))
                || l.contains(&format!("localhost:{container_port}")))
                && (l.contains("running on")
                    || l.contains("listening")
                    || l.contains("bind")
                    || l.contains("serving"))
        })
        .cloned()
}

/// The diagnosis for a server that did not become ready: cause and fix, then the logs. `clients`
/// is the URL clients use (behind the front, the front's; on another host, its name).
pub(crate) fn diagnose(
    s: &Settings,
    clients: &Endpoint,
    err: &ProbeError,
    loopback: Option<&str>,
) -> (String, String) {
    let endpoint = clients.url();
    let port = clients.port;
    if let Some(line) = loopback {
        return (
            format!("the server listens on 127.0.0.1 inside the container, so the published port cannot reach it (log: {})", line.trim()),
            "pass --host 0.0.0.0 in the Dockerfile's CMD (or host=\"0.0.0.0\" to FastMCP), then `mcpctl update`".into(),
        );
    }
    match err {
        ProbeError::Status { code: 421, .. } => {
            // mcpctl's probe sends localhost:PORT (through a forward from another host too);
            // clients of another host's name send theirs: both must be allowed.
            let mut allowed = format!("localhost:{port},127.0.0.1:{port}");
            let who = if clients.host == "localhost" {
                format!("that clients of {endpoint} send")
            } else {
                allowed.push_str(&format!(",{}", clients.authority()));
                format!("mcpctl's probe sent (clients of {endpoint} send '{}')", clients.authority())
            };
            (
                format!("HTTP 421: DNS-rebinding protection rejects the Host header 'localhost:{port}' {who}"),
                format!(
                    "allow it: MCP_ALLOWED_HOSTS={allowed} (for example `-e MCP_ALLOWED_HOSTS={allowed}` or env in [tool.mcpctl]), then `mcpctl restart`"
                ),
            )
        }
        ProbeError::Unsupported { supported } => (
            format!(
                "{endpoint} speaks only MCP {}, newer than this mcpctl speaks ({} to {} with a session, {} without)",
                supported.join(", "),
                probe::HANDSHAKE_VERSIONS[0],
                probe::HANDSHAKE_VERSIONS[probe::HANDSHAKE_VERSIONS.len() - 1],
                probe::MODERN_VERSION
            ),
            format!(
                "use an mcpctl that speaks MCP {}, or let the server also answer {} (its SDK's default)",
                supported.join(" or "),
                probe::MODERN_VERSION
            ),
        ),
        ProbeError::Status { code: code @ (404 | 405 | 406 | 400), .. } => (
            format!("HTTP {code} from {endpoint}: this is not a streamable-HTTP MCP endpoint at {}", s.mcp_path),
            "if the server speaks SSE, set transport = \"sse\" (endpoint /sse); otherwise set mcp-path to the path it serves".into(),
        ),
        other => (
            format!("no MCP answer from {endpoint} within {}: the last attempt got {other}", secs(s.ready_timeout)),
            "check the log lines above; raise the deadline with --ready-timeout if the server is just slow (`mcpctl logs` shows more)".into(),
        ),
    }
}

fn fail(
    engine: &Engine,
    s: &Settings,
    name: &str,
    clients: &Endpoint,
    err: &ProbeError,
    loopback: Option<String>,
) -> anyhow::Error {
    let (cause, fix) = diagnose(s, clients, err, loopback.as_deref());
    anyhow::Error::new(with_logs(Explained::new("Not ready").why(cause).fix(fix), engine, name))
}

/// `t` as this machine reaches it: itself here; through a forward from another host.
pub(crate) fn reach(host: &crate::host::Host, t: &Target) -> anyhow::Result<Target> {
    Ok(match host.reach(t.addr, t.port)? {
        Some(local) => t.via(local),
        None => t.clone(),
    })
}

/// The container's last log lines are what shows why it did not answer.
fn with_logs(x: Explained, engine: &Engine, name: &str) -> Explained {
    let lines = container::log_tail_settled(engine, name, 20);
    if lines.iter().all(|l| l.trim().is_empty()) {
        return x.evidence("The container printed no log lines", Vec::new());
    }
    x.evidence(format!("Last {} log lines of {name}:", lines.len()), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(publish: &str, remote: Option<&str>) -> Settings {
        let files = crate::config::ProjectFiles { project_name: Some("echo".into()), ..Default::default() };
        let o = crate::config::Overrides { publish_address: Some(publish.into()), ..Default::default() };
        let project = crate::config::resolve(std::path::Path::new("/p"), &files, &o).unwrap();
        let host = crate::config::HostFacts {
            key: remote.map(|r| format!("ops@{r}")),
            remote_name: remote.map(str::to_string),
        };
        Settings::resolve(project, std::path::Path::new("/h"), &host)
    }

    #[test]
    fn the_diagnosis_names_the_url_clients_use() {
        let refused = ProbeError::Refused;
        let rebinding = ProbeError::Status { code: 421, body: String::new() };
        // On another host, published on its network: its name, and both Host headers allowed.
        let s = settings("0.0.0.0", Some("prod.example"));
        let clients = s.endpoint(19000, Transport::StreamableHttp, false);
        let (cause, _) = diagnose(&s, &clients, &refused, None);
        assert!(cause.starts_with("no MCP answer from http://prod.example:19000/mcp within"), "{cause}");
        let (cause, fix) = diagnose(&s, &clients, &rebinding, None);
        assert!(
            cause.contains("clients of http://prod.example:19000/mcp send 'prod.example:19000'"),
            "{cause}"
        );
        assert!(
            fix.contains("MCP_ALLOWED_HOSTS=localhost:19000,127.0.0.1:19000,prod.example:19000 "),
            "{fix}"
        );
        // Here, or on that host's loopback: localhost, as before.
        for s in [settings("127.0.0.1", None), settings("127.0.0.1", Some("prod.example"))] {
            let clients = s.endpoint(19000, Transport::StreamableHttp, false);
            let (cause, fix) = diagnose(&s, &clients, &rebinding, None);
            assert!(
                cause.ends_with("rejects the Host header 'localhost:19000' that clients of http://localhost:19000/mcp send"),
                "{cause}"
            );
            assert!(fix.contains("MCP_ALLOWED_HOSTS=localhost:19000,127.0.0.1:19000 "), "{fix}");
        }
    }

    #[test]
    fn a_server_of_newer_protocol_versions_only_is_named_so() {
        let newer = ProbeError::Unsupported { supported: vec!["2027-03-01".into()] };
        let s = settings("127.0.0.1", None);
        let (cause, fix) = diagnose(&s, &s.endpoint(19000, Transport::StreamableHttp, false), &newer, None);
        assert!(
            cause.starts_with("http://localhost:19000/mcp speaks only MCP 2027-03-01, newer than"),
            "{cause}"
        );
        assert!(cause.contains("2024-11-05 to 2025-11-25 with a session, 2026-07-28 without"), "{cause}");
        assert!(fix.contains("an mcpctl that speaks MCP 2027-03-01"), "{fix}");
    }

    #[test]
    fn loopback_bind_is_found_in_uvicorn_logs() {
        let logs = vec![
            "INFO:     Started server process [1]".to_string(),
            "INFO:     Uvicorn running on http://127.0.0.1:3001 (Press CTRL+C to quit)".to_string(),
        ];
        assert!(loopback_bind(&logs, 3001).is_some());
        let ok = vec!["INFO:     Uvicorn running on http://0.0.0.0:3001 (Press CTRL+C to quit)".to_string()];
        assert!(loopback_bind(&ok, 3001).is_none());
    }
}
