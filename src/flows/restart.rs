//! `mcpctl restart`: the same image again, on the same port, without rebuilding. Published on its
//! port: stop, then start. Behind the front: a new container of the same image beside the old
//! one, switched to without a client noticing.

use std::time::Instant;

use crate::container::{self, Lookup};
use crate::flows::{Ctx, update};
use crate::ready;

pub fn restart(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("restart")?;
    ui.title("Restart", &ctx.project_on_host());
    let state = ctx.load_state_checked()?;
    let behind = ctx.behind(&state);
    let found = ctx.recover_and_lookup(&state)?;
    if let Lookup::Foreign(c) = &found {
        return Err(container::foreign_error(engine, s, c));
    }
    if let Some(c) = found.ours().filter(|c| c.running && (behind || state.front.is_some())) {
        ui.header("Replacing Container");
        let (port, swap, ready, transport) = update::swap_to(ctx, c, &state, &c.image_id)?;
        ctx.save_deploy(port, Some(&c.image_id), transport, behind)?;
        ui.header("Restart Complete");
        ui.result_success("Container restarted successfully");
        ctx.print_endpoint(port, transport, behind);
        ctx.print_timings(&[("swap", swap), ("ready", ready)]);
        return Ok(());
    }
    let saved = ctx.serving_port(found.ours(), &state);
    if let Lookup::Ours(c) = &found {
        ui.info("Stopping container...");
        container::stop_and_remove(engine, s, c)?;
        ui.success("Container stopped");
    }

    ui.header("Starting Container");
    let t_run = Instant::now();
    let (port, run, ready, transport, image) = if behind {
        let (port, run, ready, transport) = update::fresh(ctx, &state, true)?;
        (port, run, ready, transport, container::image_id(engine, &s.image)?)
    } else {
        let port = container::run_on_free_port(engine, s, ui, saved)?;
        let run = t_run.elapsed();
        ui.header("Waiting Until It Answers MCP");
        let r = ready::wait(engine, s, ui, port)?;
        (port, run, r.took, r.report.transport, r.image_id)
    };
    ctx.save_deploy(port, image.as_deref(), transport, behind)?;

    ui.header("Restart Complete");
    ui.result_success("Container restarted successfully");
    ctx.print_endpoint(port, transport, behind);
    ctx.print_timings(&[("run", run), ("ready", ready)]);
    Ok(())
}
