//! `mcpctl status` on a swarm: the nodes, the service's update state, each task with its node,
//! state, address and whether the front has it up, and one MCP probe through the front (era).

use std::time::Duration;

use serde_json::{Value, json};

use crate::flows::Ctx;
use crate::flows::swarm::{self as sw};
use crate::probe;
use crate::target::swarm::front;

pub(crate) fn status(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    ui.title("Status", &format!("{} on a swarm", ctx.project_on_host()));
    let o = sw::open(ctx, None)?;
    let names = &o.swarm.names;
    let svc = o.swarm.service(&names.service)?;
    let tasks: Vec<_> =
        o.swarm.tasks(&names.service)?.into_iter().filter(|t| !t.history && t.wanted()).collect();
    let slots = front::servers(&ctx.engine, names).unwrap_or_default();
    let port = o.state.port.unwrap_or(ctx.s.base_port);
    let addr = o.cluster.front_addr().to_string();
    let nodes: Vec<Value> = o
        .cluster
        .nodes
        .iter()
        .map(|n| json!({"hostname": n.hostname, "status": n.status.to_lowercase(), "availability": n.availability.to_lowercase(), "manager": n.manager_status}))
        .collect();
    let task_rows: Vec<Value> = tasks
        .iter()
        .map(|t| {
            let ip = o.swarm.task_address(&t.id);
            let in_front = ip.as_ref().and_then(|ip| slots.iter().find(|s| &s.addr == ip));
            json!({
                "name": t.name, "node": t.node, "state": t.state().to_lowercase(), "since": t.current,
                "image": t.image, "address": ip, "error": t.error,
                "front": in_front.map(|s| if s.up { "up" } else { "down" }).unwrap_or("absent"),
            })
        })
        .collect();
    let mcp = match &svc {
        Some(_) => {
            let target = sw::front_target(ctx, &addr, port)?;
            match probe::probe(&target, Duration::from_secs(5)) {
                Ok(r) => {
                    json!({"answers": true, "protocol": r.server.protocol(), "era": r.server.era, "server": r.server.name, "tools": r.tools.len(), "latency_ms": r.latency.as_millis() as u64})
                }
                Err(e) => json!({"answers": false, "error": e.to_string()}),
            }
        }
        None => Value::Null,
    };
    let out = json!({
        "name": ctx.s.name,
        "target": "swarm",
        "state": if svc.is_some() { "running" } else { "not-deployed" },
        "service": names.service,
        "image": svc.as_ref().map(|s| s.image.clone()),
        "replicas": svc.as_ref().and_then(|s| s.replicas),
        "update": svc.as_ref().map(|s| json!({"state": s.update_state, "message": s.update_message})),
        "endpoint": svc.as_ref().map(|_| sw::endpoint(ctx, &addr, port, ctx.saved_transport(&o.state)).url()),
        "nodes": nodes,
        "tasks": task_rows,
        "mcp": mcp,
    });
    if as_json {
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    for n in &o.cluster.nodes {
        let line = format!(
            "Node {}: {} ({}{})",
            n.hostname,
            n.status.to_lowercase(),
            n.availability.to_lowercase(),
            if n.manager_status.is_empty() {
                String::new()
            } else {
                format!(", manager {}", n.manager_status.to_lowercase())
            }
        );
        if n.ready() { ui.success(&line) } else { ui.warning(&line) }
    }
    let Some(svc) = svc else {
        ui.result_info("Status: not deployed on the swarm");
        ui.info("Run 'mcpctl start' to deploy");
        return Ok(());
    };
    ui.info(&format!("Service {}: {} replicas of {}", svc.name, svc.replicas.unwrap_or(0), svc.image));
    if !svc.update_state.is_empty() {
        ui.info(&format!("Last update: {} {}", svc.update_state, svc.update_message));
    }
    for t in out["tasks"].as_array().into_iter().flatten() {
        let line = format!(
            "Task {} on {}: {} ({}), {} in the front",
            t["name"].as_str().unwrap_or(""),
            t["node"].as_str().unwrap_or(""),
            t["state"].as_str().unwrap_or(""),
            t["address"].as_str().unwrap_or("no address"),
            t["front"].as_str().unwrap_or("")
        );
        if t["state"] == "running" && t["front"] == "up" { ui.success(&line) } else { ui.warning(&line) }
    }
    match out["mcp"]["answers"].as_bool() {
        Some(true) => ui.success(&format!(
            "Answers MCP through the front: {}",
            out["mcp"]["protocol"].as_str().unwrap_or("")
        )),
        _ => ui.error(&format!(
            "Does not answer MCP through the front: {}",
            out["mcp"]["error"].as_str().unwrap_or("")
        )),
    }
    ui.result_info(&format!("MCP endpoint: {}", out["endpoint"].as_str().unwrap_or("")));
    Ok(())
}
