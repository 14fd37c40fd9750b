//! `mcpctl stop` on a swarm: the server's and the front's services go; the network, secrets,
//! configs, volumes and the saved port stay for the next start.

use crate::flows::Ctx;
use crate::flows::swarm::{self as sw};

pub(crate) fn stop(ctx: &Ctx) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    ui.title("Stop", &format!("{} on a swarm", ctx.project_on_host()));
    let o = sw::open(ctx, Some("stop"))?;
    let names = [o.swarm.names.service.clone(), o.swarm.names.front.clone()];
    let there: Vec<String> = o.swarm.listed("service")?.into_iter().filter(|n| names.contains(n)).collect();
    if there.is_empty() {
        ui.warning("No services running");
        return Ok(());
    }
    let spinner = ui.spinner("Removing the services...");
    let kept = o.swarm.remove("service", &there);
    spinner.finish();
    let kept = kept?;
    if !kept.is_empty() {
        return Err(anyhow::anyhow!("could not remove: {}", kept.join(", ")));
    }
    ui.success(&format!("Removed {}", there.join(" and ")));
    ui.info("The network, secrets and volumes stay: 'mcpctl start' brings it back on the same port; 'mcpctl down' removes them");
    Ok(())
}
