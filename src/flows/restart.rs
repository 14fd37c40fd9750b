//! `mcpctl restart`: stop and start again on the saved port, without rebuilding.

use std::time::Instant;

use crate::container::{self, Lookup};
use crate::flows::Ctx;
use crate::ready;

pub fn restart(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("restart")?;
    ui.title("Restart", &s.name);
    let state = ctx.load_state();
    let found = crate::container::recover_and_lookup(engine, s, ui)?;
    if let Lookup::Foreign(c) = &found {
        return Err(container::foreign_error(engine, s, c));
    }
    let saved = ctx.serving_port(found.ours(), &state);
    if let Lookup::Ours(c) = &found {
        ui.info("Stopping container...");
        container::stop_and_remove(engine, s, c)?;
        ui.success("Container stopped");
    }

    ui.header("Starting Container");
    let t_run = Instant::now();
    let port = container::run_on_free_port(engine, s, ui, saved)?;
    let run = t_run.elapsed();

    ui.header("Waiting Until It Answers MCP");
    let r = ready::wait(engine, s, ui, port)?;
    let (report, ready, image) = (r.report, r.took, r.image_id);
    ctx.save_deploy(port, image.as_deref(), report.transport)?;

    ui.header("Restart Complete");
    ui.result_success("Container restarted successfully");
    ctx.print_endpoint(port, report.transport);
    ctx.print_timings(&[("run", run), ("ready", ready)]);
    Ok(())
}
