//! `mcpctl list` on a swarm: the services mcpctl made on this cluster, every project's.

use crate::config::LABEL_PROJECT;
use crate::flows::Ctx;
use crate::flows::swarm::{self as sw};

pub(crate) fn list(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let o = sw::open(ctx, None)?;
    let out = ctx.engine.call(vec![
        "service".to_string(),
        "ls".into(),
        "--filter".into(),
        format!("label={LABEL_PROJECT}"),
        "--format".into(),
        "{{json .}}".into(),
    ])?;
    let rows: Vec<serde_json::Value> =
        out.stdout.lines().filter_map(|l| serde_json::from_str(l.trim()).ok()).collect();
    if as_json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(());
    }
    ctx.ui.title("List", &format!("services on the swarm of {}", o.cluster.front_addr()));
    if rows.is_empty() {
        ctx.ui.info("No mcpctl services on this swarm");
    }
    for r in rows {
        let f = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        ctx.ui.raw(&format!("{:<32} {:<8} {:<24} {}", f("Name"), f("Replicas"), f("Ports"), f("Image")));
    }
    Ok(())
}
