//! `mcpctl start`: build the image (unless nothing changed) and start the container, then wait
//! until it answers MCP — published on its port, or behind the front.

use crate::config::Transport;
use crate::container::{self, Lookup};
use crate::flows::Ctx;

pub(crate) fn start(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Start", &ctx.project_on_host());
    ui.info(&format!("Checking {}...", engine.name()));
    let (opened, plan) = ctx.open_to_build("start")?;
    let state = &opened.state;
    let deploy = ctx.deploy(state);
    let behind = deploy.mode.behind();
    ui.success(&format!("{} is running ({})", engine.name(), engine.version));
    match &opened.found {
        Lookup::Ours(c) if c.running => {
            let port = deploy.serving_port(Some(c)).unwrap_or(s.base_port);
            let deployed_behind = state.front.is_some();
            ui.warning("Container already running");
            ui.result_info(&format!(
                "MCP endpoint: {}",
                ctx.endpoint(port, ctx.saved_transport(state), deployed_behind)
            ));
            if behind != deployed_behind {
                let which = if behind { "behind the front" } else { "without the front" };
                ui.info(&format!(
                    "It runs {}: `mcpctl update` puts it {which}",
                    if deployed_behind { "behind the front" } else { "without the front" }
                ));
            } else {
                ui.info("Use 'mcpctl update' to rebuild and restart, or 'mcpctl restart' to just restart");
            }
            return Ok(());
        }
        Lookup::Ours(c) => {
            ui.info("Removing stopped container...");
            container::stop_and_remove(engine, s, c)?;
        }
        Lookup::Missing | Lookup::Foreign(_) => {}
    }

    // Fail before a long build when no port could be had at all.
    if behind {
        deploy.front_port()?;
    } else {
        container::check_some_port_free(engine, s, state.port)?;
    }

    ui.header("Step 1: Building Image");
    let build = container::ensure_image(engine, s, ui, plan?, rebuild)?.took;

    ui.header("Step 2: Starting Container");
    // The port is saved as soon as it is chosen: if anything after fails, the next command
    // still knows it.
    let d = deploy.fresh(state.port, "Step 3: Waiting Until It Answers MCP", |port| {
        ctx.save_deploy(port, None, Transport::StreamableHttp, behind)
    })?;
    let image = match &d.image_id {
        Some(id) => Some(id.clone()),
        None => container::image_id(engine, &s.image)?,
    };
    ctx.save_deploy(d.port, image.as_deref(), d.transport, behind)?;

    ui.header("Start Complete");
    ui.result_success("MCP server is running!");
    ctx.print_endpoint(d.port, d.transport, behind);
    ctx.print_timings(&[("build", build), ("run", d.swap), ("ready", d.ready)]);
    Ok(())
}
