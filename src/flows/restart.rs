//! `mcpctl restart`: the same image again, on the same port, without rebuilding. Published on its
//! port: stop, then start. Behind the front: a new container of the same image beside the old
//! one, switched to without a client noticing.

use crate::container::{self, Lookup};
use crate::flows::Ctx;

pub(crate) fn restart(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Restart", &ctx.project_on_host());
    let opened = ctx.open("restart")?;
    let (state, found) = (&opened.state, &opened.found);
    let deploy = ctx.deploy(state);
    let behind = deploy.mode.behind();
    if let Some(c) = found.ours().filter(|c| c.running && (behind || state.front.is_some())) {
        ui.header("Replacing Container");
        let d = deploy.replace(c, &c.image_id)?;
        ctx.save_deploy(d.port, Some(&c.image_id), d.transport, behind)?;
        ui.header("Restart Complete");
        ui.result_success("Container restarted successfully");
        ctx.print_endpoint(d.port, d.transport, behind);
        ctx.print_timings(&[("swap", d.swap), ("ready", d.ready)]);
        return Ok(());
    }
    let saved = deploy.serving_port(found.ours());
    if let Lookup::Ours(c) = found {
        ui.info("Stopping container...");
        container::stop_and_remove(engine, s, c)?;
        ui.success("Container stopped");
    }

    ui.header("Starting Container");
    let d = deploy.fresh(saved, "Waiting Until It Answers MCP", |_| Ok(()))?;
    let image = match &d.image_id {
        Some(id) => Some(id.clone()),
        None => container::image_id(engine, &s.image)?,
    };
    ctx.save_deploy(d.port, image.as_deref(), d.transport, behind)?;

    ui.header("Restart Complete");
    ui.result_success("Container restarted successfully");
    ctx.print_endpoint(d.port, d.transport, behind);
    ctx.print_timings(&[("run", d.swap), ("ready", d.ready)]);
    Ok(())
}
