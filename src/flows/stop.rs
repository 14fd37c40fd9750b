//! `mcpctl stop`: stop and remove the container. Volumes are kept; so is the saved port.

use crate::container::{self, Lookup};
use crate::flows::Ctx;

pub(crate) fn stop(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Stop", &ctx.project_on_host());
    let opened = ctx.open_to_remove("stop")?;
    let (state, found) = (&opened.state, opened.found.clone());
    if state.front.is_some() && !matches!(found, Lookup::Foreign(_)) {
        // The front stops routing first: no request reaches a container that is going.
        ctx.front().remove_project(ui)?;
    }
    if state.replicas.is_some_and(|n| n > 1) && !matches!(found, Lookup::Foreign(_)) {
        remove_replicas(ctx)?;
    }
    match found {
        Lookup::Missing => {
            ui.result_info(&format!("Not deployed: there is no container {}", s.container));
            Ok(())
        }
        Lookup::Foreign(c) => Err(container::foreign_error(engine, s, &c)),
        Lookup::Ours(c) => {
            ui.info("Stopping container...");
            container::stop_and_remove(engine, s, &c)?;
            ui.result_success("Container stopped and removed");
            let vols: Vec<&str> = s.volumes.iter().map(|v| v.name.as_str()).collect();
            if !vols.is_empty() {
                ui.info(&format!("Volumes kept: {}", vols.join(", ")));
            }
            Ok(())
        }
    }
}

/// The replicas besides our container (`NAME-r2`...), stopped and removed.
pub(crate) fn remove_replicas(ctx: &Ctx) -> anyhow::Result<()> {
    let extra = container::extra_replicas(&ctx.engine, &ctx.s, &ctx.s.container)?;
    if !extra.is_empty() {
        ctx.ui.info(&format!("Stopping {} more replicas...", extra.len()));
    }
    for c in extra {
        container::stop_and_remove(&ctx.engine, &ctx.s, &c)?;
    }
    Ok(())
}
