//! `mcpctl stats`: the project's requests through its front, per tool and server, read from the
//! front's log (every request passes there; a server's own log says nothing comparable).

use anyhow::anyhow;
use serde_json::json;

use crate::container;
use crate::flows::Ctx;
use crate::front::{Front, stats};

pub(crate) fn stats(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let front = Front::new(engine, s);
    let Some(c) = front.lookup()?.filter(|_| front.routes().ok().flatten().is_some()) else {
        return Err(anyhow!(
            "no stats for {}: they come from the front's log, and it runs without a front; \
             turn one on with `mcpctl update --front` (replicas run behind one too)",
            s.name
        ));
    };
    // The whole log: it holds what the front logged since its container started.
    let lines = container::log_last(engine, &c.name, u32::MAX);
    let rows = stats::table(&s.name, lines.iter().map(String::as_str));
    if as_json {
        println!("{}", serde_json::to_string(&json!({ "name": s.name, "front": c.name, "rows": rows }))?);
        return Ok(());
    }
    ui.title("Stats", &ctx.project_on_host());
    if rows.is_empty() {
        ui.result_info(&format!("No request to {} in the log of the front {} yet", s.name, c.name));
        return Ok(());
    }
    let width = rows.iter().map(|r| r.tool.chars().count()).max().unwrap_or(0).max(4);
    let server_width = rows.iter().map(|r| r.server.len()).max().unwrap_or(0).max(6);
    ui.raw(&format!(
        "{:<width$}  {:<server_width$}  {:>7}  {:>7}  {:>8}  {:>8}",
        "TOOL", "SERVER", "CALLS", "ERRORS", "P50", "P99"
    ));
    for r in &rows {
        // A tool name is a client's text: shown, never interpreted (no control characters).
        let tool: String = r.tool.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
        ui.raw(&format!(
            "{tool:<width$}  {:<server_width$}  {:>7}  {:>7}  {:>6}ms  {:>6}ms",
            r.server, r.calls, r.errors, r.p50_ms, r.p99_ms
        ));
    }
    ui.info(&format!("From the log of the front {} since it started (errors: HTTP 400 and up)", c.name));
    Ok(())
}
