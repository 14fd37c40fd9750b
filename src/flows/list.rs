//! `mcpctl list`: every container mcpctl manages on this engine (one `ps`).

use anyhow::anyhow;

use crate::config::{LABEL_PORT, LABEL_PROJECT};
use crate::engine;
use crate::flows::Ctx;

pub fn list(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let (ui, e) = (&ctx.ui, &ctx.engine);
    let out = e.call(e.ps_args())?;
    let entries = engine::parse_ps(e.kind, &out.stdout).map_err(|err| anyhow!("{err}"))?;
    if as_json {
        println!("{}", serde_json::to_string(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        ui.result_info(&format!("No mcpctl containers on {}", e.name()));
        return Ok(());
    }
    println!("{:<28} {:<20} {:<10} {:<6} STATUS", "CONTAINER", "PROJECT", "STATE", "PORT");
    for c in entries {
        println!(
            "{:<28} {:<20} {:<10} {:<6} {}",
            c.name,
            c.labels.get(LABEL_PROJECT).map(String::as_str).unwrap_or("-"),
            c.state,
            c.labels.get(LABEL_PORT).map(String::as_str).unwrap_or("-"),
            c.status
        );
    }
    Ok(())
}
