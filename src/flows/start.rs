//! `mcpctl start`: build the image and start the container, then wait until it answers MCP.

use std::time::Instant;

use crate::container::{self, Lookup};
use crate::flows::Ctx;
use crate::ready;

pub fn start(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("start")?;
    ui.title("Start", &s.name);
    let state = ctx.load_state();

    ui.info(&format!("Checking {}...", engine.name()));
    let (found, plan) = ctx.lookup_and_plan();
    let found = found?;
    ui.success(&format!("{} is running ({})", engine.name(), engine.version));
    match &found {
        Lookup::Foreign(c) => return Err(container::foreign_error(engine, s, c)),
        Lookup::Ours(c) if c.running => {
            let port = ctx.serving_port(Some(c), &state).unwrap_or(s.base_port);
            ui.warning("Container already running");
            ui.result_info(&format!("MCP endpoint: {}", s.endpoint(port)));
            ui.info("Use 'mcpctl update' to rebuild and restart, or 'mcpctl restart' to just restart");
            return Ok(());
        }
        Lookup::Ours(c) => {
            ui.info("Removing stopped container...");
            container::stop_and_remove(engine, s, c)?;
        }
        Lookup::Missing => {}
    }

    // Fail before a long build when no port could be had at all.
    container::check_some_port_free(s, state.port)?;

    ui.header("Step 1: Building Image");
    let build = container::ensure_image(engine, s, ui, plan?, rebuild)?.took;

    ui.header("Step 2: Starting Container");
    let t_run = Instant::now();
    let port = container::run_on_free_port(engine, s, ui, state.port)?;
    // Saved at once: if readiness fails, the next command still knows the port.
    ctx.save_deploy(port, None, crate::probe::Transport::StreamableHttp)?;
    let run = t_run.elapsed();

    ui.header("Step 3: Waiting Until It Answers MCP");
    let r = ready::wait(engine, s, ui, port)?;
    let (report, ready, image) = (r.report, r.took, r.image_id);
    ctx.save_deploy(port, image.as_deref(), report.transport)?;

    ui.header("Start Complete");
    ui.result_success("MCP server is running!");
    ctx.print_endpoint(port, report.transport);
    ctx.print_timings(&[("build", build), ("run", run), ("ready", ready)]);
    Ok(())
}
