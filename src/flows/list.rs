//! `mcpctl list`: every container mcpctl manages on this engine — the servers (one `ps`) and the
//! fronts (another), each front with the projects it routes and the address it publishes.

use anyhow::anyhow;

use crate::config::{LABEL_FRONT, LABEL_PORT, LABEL_PROJECT};
use crate::engine::{self, PsEntry};
use crate::flows::Ctx;
use crate::front::config::{self as front_config, FrontState};

pub(crate) fn list(ctx: &Ctx, as_json: bool) -> anyhow::Result<()> {
    let (ui, e) = (&ctx.ui, &ctx.engine);
    let ps = |args| -> anyhow::Result<Vec<PsEntry>> {
        let out = e.call(args)?;
        engine::parse_ps(e.kind, &out.stdout).map_err(|err| anyhow!("{err}"))
    };
    let servers = ps(e.ps_args())?;
    let fronts = ps(e.ps_fronts_args())?;
    let host = e.host.label().unwrap_or_else(|| "local".into());
    if as_json {
        let mut all = Vec::new();
        for c in servers.iter().chain(&fronts) {
            let mut v = serde_json::to_value(c)?;
            v["host"] = serde_json::json!(host);
            all.push(v);
        }
        println!("{}", serde_json::to_string(&all)?);
        return Ok(());
    }
    let on = e.host.label().map(|h| format!(" on {h}")).unwrap_or_default();
    if servers.is_empty() && fronts.is_empty() {
        ui.result_info(&format!("No mcpctl containers on {}{on}", e.name()));
        return Ok(());
    }
    if !on.is_empty() {
        ui.result_info(&format!("Containers of {}{on}:", e.name()));
    }
    println!("{:<28} {:<20} {:<10} {:<6} STATUS", "CONTAINER", "PROJECT", "STATE", "PORT");
    for c in &servers {
        row(
            c,
            c.labels.get(LABEL_PROJECT).map(String::as_str).unwrap_or("-"),
            c.labels.get(LABEL_PORT).map(String::as_str).unwrap_or("-"),
        );
    }
    for c in &fronts {
        let st = front_state(ctx, c);
        let projects: Vec<&str> = st.projects.keys().map(String::as_str).collect();
        let routes =
            if projects.is_empty() { "front".to_string() } else { format!("front: {}", projects.join(",")) };
        let port = st.publish.rsplit(':').next().filter(|p| !p.is_empty()).unwrap_or("-").to_string();
        row(c, &routes, &port);
    }
    Ok(())
}

fn row(c: &PsEntry, project: &str, port: &str) {
    println!("{:<28} {:<20} {:<10} {:<6} {}", c.name, project, c.state, port, c.status);
}

/// What this user's front directory says the front routes (empty when it is another user's).
fn front_state(ctx: &Ctx, c: &PsEntry) -> FrontState {
    let name = c.labels.get(LABEL_FRONT).cloned().unwrap_or_else(|| c.name.clone());
    // On another host the front directories are NAME@HOST, like this project's own.
    front_config::load(&ctx.s.paths.front_dir_of(&name).join("state.json")).unwrap_or_default()
}
