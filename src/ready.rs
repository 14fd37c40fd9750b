//! Ready means "answers MCP". The seed waited for the engine's HEALTHCHECK, which docker first runs
//! `interval` after start and podman (without systemd) never runs. We poll the published port with
//! a real `initialize` every 100 ms, watch the container while we wait, and diagnose the failures
//! both seeds warn about instead of waiting out the deadline.

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::container;
use crate::engine::Engine;
use crate::error::Reported;
use crate::probe::{self, ProbeError, ProbeReport, Target};
use crate::process::check_interrupt;
use crate::ui::{Ui, secs};

const POLL: Duration = Duration::from_millis(100);
const WATCH_EVERY: Duration = Duration::from_millis(500);
const LOG_CHECK_EVERY: Duration = Duration::from_secs(2);
/// A definite wrong answer (404, 406, 421) is reported once it has held this long.
const WRONG_ANSWER_GRACE: Duration = Duration::from_secs(2);

pub fn target(s: &Settings, port: u16) -> Target {
    Target::new(port, &s.mcp_path, s.transport)
}

/// Wait until the server answers MCP on `port`, or fail with a diagnosis and the last log lines.
pub fn wait(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    port: u16,
) -> anyhow::Result<(ProbeReport, Duration)> {
    wait_for(engine, s, ui, &s.container, port, s.ready_timeout)
}

/// The same, watching the container `name` (the new one during a swap), with its own deadline.
pub fn wait_for(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    name: &str,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<(ProbeReport, Duration)> {
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    let target = target(s, port);
    let spinner = ui.spinner(&format!(
        "Waiting up to {} for {} to answer MCP...",
        secs(timeout),
        s.endpoint(port)
    ));
    let mut last_err;
    let mut wrong_since: Option<Instant> = None;
    let mut last_watch = Instant::now();
    let mut last_log_check = Instant::now();
    loop {
        check_interrupt()?;
        let attempt = Instant::now();
        let timeout = deadline
            .saturating_duration_since(attempt)
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        match probe::probe(&target, timeout) {
            Ok(report) => {
                spinner.finish();
                let took = t0.elapsed();
                ui.success(&format!(
                    "MCP server answers: {} {} over {}, protocol {}, {} tools (ready after {})",
                    nonempty(&report.server.name, "unnamed"),
                    report.server.version,
                    report.transport.name(),
                    report.server.protocol_version,
                    report.tools.len(),
                    secs(took)
                ));
                if let Ok(container::Lookup::Ours(c)) = container::lookup_named(engine, s, name)
                    && c.has_healthcheck
                {
                    ui.info(&format!(
                        "Engine health check: {} (shown, not waited for)",
                        c.health.as_deref().unwrap_or("not run yet")
                    ));
                }
                return Ok((report, took));
            }
            Err(e) => {
                let definite = matches!(
                    e,
                    ProbeError::Status {
                        code: 404 | 405 | 406 | 400 | 421,
                        ..
                    }
                );
                if definite {
                    let since = *wrong_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= WRONG_ANSWER_GRACE
                        || matches!(e, ProbeError::Status { code: 421, .. })
                    {
                        spinner.finish();
                        return Err(fail(engine, s, ui, name, port, &e, None));
                    }
                } else {
                    wrong_since = None;
                }
                last_err = e;
            }
        }
        if last_watch.elapsed() >= WATCH_EVERY {
            last_watch = Instant::now();
            match container::lookup_named(engine, s, name)? {
                container::Lookup::Ours(c)
                    if c.running && !c.restarting && c.restart_count == 0 => {}
                container::Lookup::Ours(c) => {
                    spinner.finish();
                    let how = if c.restarting || c.restart_count > 0 {
                        format!(
                            "is restarting (restarted {} times; last exit code {})",
                            c.restart_count, c.exit_code
                        )
                    } else {
                        format!("exited with code {}", c.exit_code)
                    };
                    ui.error(&format!("The container {how} before answering MCP"));
                    show_logs(engine, ui, name);
                    return Err(anyhow::Error::new(Reported));
                }
                _ => {
                    spinner.finish();
                    ui.error("The container disappeared while mcpctl waited for it");
                    return Err(anyhow::Error::new(Reported));
                }
            }
        }
        if matches!(last_err, ProbeError::Refused | ProbeError::Closed(_))
            && last_log_check.elapsed() >= LOG_CHECK_EVERY
        {
            last_log_check = Instant::now();
            let logs = container::log_tail(engine, name, 50);
            if let Some(line) = loopback_bind(&logs, s.container_port) {
                spinner.finish();
                return Err(fail(engine, s, ui, name, port, &last_err, Some(line)));
            }
        }
        if Instant::now() >= deadline {
            spinner.finish();
            return Err(fail(engine, s, ui, name, port, &last_err, None));
        }
        std::thread::sleep(POLL.saturating_sub(attempt.elapsed()));
    }
}

fn nonempty<'a>(s: &'a str, or: &'a str) -> &'a str {
    if s.is_empty() { or } else { s }
}

/// A log line showing the server bound to loopback inside the container.
pub fn loopback_bind(lines: &[String], container_port: u16) -> Option<String> {
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

/// The diagnosis for a server that did not become ready: cause and fix, then the logs.
pub fn diagnose(
    s: &Settings,
    port: u16,
    err: &ProbeError,
    loopback: Option<&str>,
) -> (String, String) {
    let endpoint = s.endpoint(port);
    if let Some(line) = loopback {
        return (
            format!("the server listens on 127.0.0.1 inside the container, so the published port cannot reach it (log: {})", line.trim()),
            "pass --host 0.0.0.0 in the Dockerfile's CMD (or host=\"0.0.0.0\" to FastMCP), then `mcpctl update`".into(),
        );
    }
    match err {
        ProbeError::Status { code: 421, .. } => (
            format!("HTTP 421: DNS-rebinding protection rejects the Host header 'localhost:{port}' that clients of {endpoint} send"),
            format!(
                "allow it: MCP_ALLOWED_HOSTS=localhost:{port},127.0.0.1:{port} (for example `-e MCP_ALLOWED_HOSTS=localhost:{port},127.0.0.1:{port}` or env in [tool.mcpctl]), then `mcpctl restart`"
            ),
        ),
        ProbeError::Status { code: code @ (404 | 405 | 406 | 400), .. } => (
            format!("HTTP {code} from {endpoint}: this is not a streamable-HTTP MCP endpoint at {}", s.mcp_path),
            "if the server speaks SSE, set transport = \"sse\" (endpoint /sse); otherwise set mcp-path to the path it serves".into(),
        ),
        other => (
            format!("no MCP answer from {endpoint} within {}: the last attempt got {other}", secs(s.ready_timeout)),
            "check the log lines below; raise the deadline with --ready-timeout if the server is just slow (`mcpctl logs` shows more)".into(),
        ),
    }
}

fn fail(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    name: &str,
    port: u16,
    err: &ProbeError,
    loopback: Option<String>,
) -> anyhow::Error {
    let (cause, fix) = diagnose(s, port, err, loopback.as_deref());
    ui.error(&format!("Not ready: {cause}"));
    ui.info(&format!("Fix: {fix}"));
    show_logs(engine, ui, name);
    anyhow::Error::new(Reported)
}

fn show_logs(engine: &Engine, ui: &Ui, name: &str) {
    let lines = container::log_tail(engine, name, 20);
    if lines.is_empty() {
        ui.info("The container printed no log lines");
        return;
    }
    ui.info(&format!("Last {} log lines of {name}:", lines.len()));
    for l in lines {
        ui.raw(&l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bind_is_found_in_uvicorn_logs() {
        let logs = vec![
            "INFO:     Started server process [1]".to_string(),
            "INFO:     Uvicorn running on http://127.0.0.1:3001 (Press CTRL+C to quit)".to_string(),
        ];
        assert!(loopback_bind(&logs, 3001).is_some());
        let ok = vec![
            "INFO:     Uvicorn running on http://0.0.0.0:3001 (Press CTRL+C to quit)".to_string(),
        ];
        assert!(loopback_bind(&ok, 3001).is_none());
    }
}
