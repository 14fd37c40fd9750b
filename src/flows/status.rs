//! `mcpctl status`: one engine call (inspect) and, when running, one MCP probe.
//! "unhealthy" is reported as unhealthy, never as healthy.

use std::time::Duration;

use serde_json::{Value, json};

use crate::container::{self, Lookup};
use crate::engine::ContainerInfo;
use crate::flows::Ctx;
use crate::probe::{self, ProbeError, ProbeReport};
use crate::ready;
use crate::state::State;

pub(crate) fn status(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Status", &ctx.project_on_host());
    let state = ctx.load_state();
    let found = container::lookup(engine, s)?;

    let mut out = json!({
        "name": s.name,
        "container": s.container,
        "image": s.image,
        "engine": engine.name(),
        "host": engine.host.label().unwrap_or_else(|| "local".into()),
        "state": "not-deployed",
        "status": Value::Null,
        "health": Value::Null,
        "port": state.port,
        "endpoint": Value::Null,
        "exit_code": Value::Null,
        "restart_count": Value::Null,
        "mcp": Value::Null,
    });
    match &found {
        Lookup::Missing => {
            if !as_json {
                ui.result_info("Status: not deployed");
                ui.info("Run 'mcpctl start' to deploy");
            }
        }
        Lookup::Foreign(c) => {
            out["state"] = json!("foreign");
            out["status"] = json!(c.status);
            if !as_json {
                ui.warning(&format!(
                    "Status: a container named {} exists, but mcpctl did not create it (it will not touch it)",
                    s.container
                ));
            }
        }
        Lookup::Ours(c) => {
            let port = ctx.serving_port(Some(c), &state);
            out["status"] = json!(c.status);
            out["health"] = json!(c.health);
            out["port"] = json!(port);
            out["exit_code"] = json!(c.exit_code);
            out["restart_count"] = json!(c.restart_count);
            if c.running && !c.restarting {
                running(ctx, c, &state, port.unwrap_or(s.base_port), as_json, &mut out);
            } else {
                not_running(ctx, c, as_json, &mut out);
            }
        }
    }
    if as_json {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

/// A running container: probe it (as a client does: through the front when it is behind one),
/// and say what answers.
fn running(ctx: &Ctx, c: &ContainerInfo, state: &State, port: u16, as_json: bool, out: &mut Value) {
    out["state"] = json!("running");
    let behind = state.front.is_some();
    let target = if behind { ctx.front().target(port) } else { ready::target(&ctx.s, port) };
    let probe =
        ready::reach(&ctx.engine.host, &target).map_err(|e| probe::ProbeError::Other(format!("{e:#}")));
    let probe = probe.and_then(|t| probe::probe(&t, Duration::from_secs(3)));
    let transport = probe.as_ref().map(|r| r.transport).unwrap_or(ctx.saved_transport(state));
    let endpoint = ctx.endpoint(port, transport, behind);
    if behind {
        out["front"] = front_json(ctx, c);
    }
    out["endpoint"] = json!(endpoint);
    out["mcp"] = mcp_json(&probe);
    let oauth = if behind { ctx.front().oauth_route() } else { None };
    if let Some(route) = &oauth {
        out["oauth"] = oauth_json(ctx, route, &target);
    }
    if as_json {
        return;
    }
    let ui = &ctx.ui;
    let line = format!("Status: running ({})", health_words(ctx, c));
    if c.health.as_deref() == Some("unhealthy") {
        ui.warning(&line);
    } else {
        ui.result_success(&line);
    }
    match &probe {
        Err(probe::ProbeError::Status { code: 401, .. }) if oauth.is_some() => {}
        Ok(r) => ui.result_success(&format!(
            "MCP: {} {} answers over {}, {}, {} tools, {:.0} ms",
            r.server.name,
            r.server.version,
            r.transport.name(),
            r.server.protocol(),
            r.tools.len(),
            r.latency.as_secs_f64() * 1000.0
        )),
        Err(e) => ui.warning(&format!("MCP: not answering ({e})")),
    }
    ui.result_info(&format!("Port: {port}"));
    ui.result_info(&format!("MCP endpoint: {endpoint}"));
    if behind {
        front_lines(ctx, &out["front"]);
    }
    if oauth.is_some() {
        oauth_lines(ctx, &out["oauth"]);
    }
}

/// OAuth at the front: how it answers without a token, the issuer, the key ids it verifies
/// with and when its refresher fetched them (or last failed to).
fn oauth_json(ctx: &Ctx, route: &crate::front::oauth::OAuthRoute, target: &probe::Target) -> Value {
    let answers = ready::reach(&ctx.engine.host, target)
        .map_err(|e| format!("{e:#}"))
        .and_then(|t| crate::front::oauth::check_through(&t, route));
    let mut v = json!({
        "resource": route.resource,
        "metadata_url": route.metadata_url(),
        "scopes": route.scopes,
        "answers_401": answers.is_ok(),
        "problem": answers.err(),
    });
    if let Some(Value::Object(keys)) = ctx.front().oauth_status() {
        v.as_object_mut().expect("an object").extend(keys);
    }
    v
}

fn oauth_lines(ctx: &Ctx, o: &Value) {
    let ui = &ctx.ui;
    let s = |k: &str| o[k].as_str().unwrap_or_default().to_string();
    match o["problem"].as_str() {
        None => ui.result_success(&format!(
            "OAuth: only tokens of {} for {} pass (401 without one; metadata at {})",
            s("issuer"),
            s("resource"),
            s("metadata_url")
        )),
        Some(p) => ui.warning(&format!("OAuth: the front does not answer as it should: {p}")),
    }
    let kids: Vec<&str> = o["kids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let at = o["fetched_at"].as_u64().unwrap_or(0);
    ui.info(&format!(
        "  keys: {} (fetched {} s ago by {}; refreshed by the front every {} s at most)",
        if kids.is_empty() { "none".to_string() } else { kids.join(", ") },
        crate::front::oauth::age(at),
        if o["fetched_by"] == "front" { "the front" } else { "mcpctl" },
        o["refresh_s"].as_u64().unwrap_or(60),
    ));
    if let (Some(e), Some(t)) = (o["last_error"].as_str(), o["failed_at"].as_u64())
        && t >= at
    {
        ui.warning(&format!(
            "  the last fetch failed {} s ago ({e}): the front keeps the keys above",
            crate::front::oauth::age(t)
        ));
    }
}

/// The front: its container, and per replica (a slot that serves or drains) its container's
/// state, the front's check of it, the era it is checked in and the requests it got.
fn front_json(ctx: &Ctx, first: &ContainerInfo) -> Value {
    let front = ctx.front();
    let running = front.lookup().ok().flatten().is_some_and(|c| c.running);
    let rows = front.slots().unwrap_or_default();
    let routes = front.routes().ok().flatten();
    let mut containers = vec![first.clone()];
    containers.extend(container::extra_replicas(&ctx.engine, &ctx.s, &ctx.s.container).unwrap_or_default());
    let slot_json = |(slot, st): (&str, &crate::front::config::Slot)| {
        let row = rows.iter().find(|r| r.server == slot);
        let c = containers.iter().find(|c| c.id == st.container);
        json!({
            "slot": slot,
            "container": c.map(|c| c.name.clone()).unwrap_or_else(|| st.container.chars().take(12).collect()),
            "state": c.map(|c| if c.running { "running".to_string() } else { c.status.clone() }).unwrap_or_else(|| "gone".into()),
            "serves": st.state == crate::front::config::SlotState::Ready,
            "check": row.map(|r| r.status.clone()),
            "requests": row.map(|r| r.requests),
            "connections": row.map(|r| r.current_sessions),
            "addr": row.and_then(|r| r.addr.clone()),
        })
    };
    let (serving, draining): (Vec<Value>, Vec<Value>) = match &routes {
        Some(b) => (
            b.serving().into_iter().map(slot_json).collect(),
            b.draining().into_iter().map(slot_json).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    json!({
        "name": front.name(),
        "running": running,
        "era": routes.as_ref().map(|b| b.era),
        "replicas": serving,
        "draining": draining,
    })
}

fn front_lines(ctx: &Ctx, f: &Value) {
    let ui = &ctx.ui;
    let name = f["name"].as_str().unwrap_or_default();
    if f["running"] != true {
        ui.warning(&format!("Front: {name} is not running: `mcpctl restart` starts it again"));
        return;
    }
    let replicas = f["replicas"].as_array().cloned().unwrap_or_default();
    let up = replicas.iter().filter(|r| r["check"].as_str().is_some_and(|c| c.starts_with("UP"))).count();
    let draining = f["draining"].as_array().map(Vec::len).unwrap_or(0);
    let draining = if draining > 0 { format!(", {draining} draining") } else { String::new() };
    let n = replicas.len();
    let line = if n == 1 {
        format!("Front: {name} runs; 1 replica serves ({up} up){draining}")
    } else {
        format!("Front: {name} runs; {n} replicas serve ({up} of {n} up){draining}")
    };
    if up == replicas.len() && up > 0 {
        ui.result_success(&line);
    } else {
        ui.warning(&line);
    }
    let era = match f["era"].as_str() {
        Some("2026") => "checked with server/discover",
        _ => "checked with initialize",
    };
    for r in replicas.iter().chain(f["draining"].as_array().into_iter().flatten()) {
        ui.info(&format!(
            "  {:<24} {:<8} {:<6} {:<10} {:>7} requests  {} connections{}",
            r["container"].as_str().unwrap_or_default(),
            r["state"].as_str().unwrap_or_default(),
            r["slot"].as_str().unwrap_or_default(),
            r["check"].as_str().unwrap_or("-"),
            r["requests"].as_u64().unwrap_or(0),
            r["connections"].as_u64().unwrap_or(0),
            if r["serves"] == true { String::new() } else { " (draining)".into() },
        ));
    }
    ui.info(&format!("  ({era}; requests since the front last started)"));
}

fn mcp_json(probe: &Result<ProbeReport, ProbeError>) -> Value {
    match probe {
        Ok(r) => json!({
            "ok": true,
            "transport": r.transport,
            "server": r.server.name,
            "version": r.server.version,
            "protocol_version": r.server.protocol_version,
            // "2026": no session, any replica answers any request; "2025": initialize and a session.
            "era": r.server.era,
            "supported_versions": r.server.supported_versions,
            "tools": r.tools.len(),
            "tool_names": r.tools,
            "latency_ms": (r.latency.as_secs_f64() * 10000.0).round() / 10.0,
        }),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// The engine's health check, in words that do not mislead.
fn health_words(ctx: &Ctx, c: &ContainerInfo) -> String {
    match c.health.as_deref() {
        // A check the engine never runs by itself would read as a server still booting.
        Some("starting") if !ctx.engine.kind.runs_healthchecks_itself() => {
            format!("health check starting; {} runs it only through systemd", ctx.engine.name())
        }
        Some(h) => h.to_string(),
        None if c.has_healthcheck => "health not checked yet".into(),
        None => "no health check".into(),
    }
}

/// Stopped or restarting: why, and what to do.
fn not_running(ctx: &Ctx, c: &ContainerInfo, as_json: bool, out: &mut Value) {
    out["state"] = json!(if c.restarting { "restarting" } else { "stopped" });
    if as_json {
        return;
    }
    let detail = if c.restarting {
        format!("restarting (restarted {} times, last exit code {})", c.restart_count, c.exit_code)
    } else if c.status == "exited" {
        format!("stopped (exited with code {})", c.exit_code)
    } else {
        format!("stopped ({})", c.status)
    };
    ctx.ui.warning(&format!("Status: {detail}"));
    ctx.ui.info("Run 'mcpctl start' to start, 'mcpctl logs --no-follow' to see why it stopped");
}
