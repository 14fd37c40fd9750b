//! `mcpctl update`: rebuild and restart on the saved port. Unlike the seed, the image is built
//! while the old container keeps serving: a broken build leaves the running server untouched.

use std::time::Instant;

use crate::container::{self, Lookup};
use crate::engine::BuildOptions;
use crate::flows::{Ctx, start};
use crate::ready;

pub fn update(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let state = ctx.load_state();
    let found = container::lookup(engine, s)?;
    if let Lookup::Foreign(c) = &found {
        return Err(container::foreign_error(engine, s, c));
    }
    if matches!(found, Lookup::Missing) && state.port.is_none() {
        ui.warning("No existing deployment found");
        ui.info("Running 'start' instead...");
        return start::start(ctx);
    }
    ui.title("Update", &s.name);
    ui.info("Rebuilds the image from the latest code, then replaces the container");
    let saved = state
        .port
        .or(found.ours().and_then(|c| c.host_port(s.container_port)));

    ui.header("Step 1: Rebuilding Image");
    if found.ours().is_some_and(|c| c.running) {
        ui.info("The running container keeps serving while the image builds");
    }
    let build = container::build(engine, s, ui, &BuildOptions::default())?;

    ui.header("Step 2: Replacing Container");
    let t_run = Instant::now();
    if let Lookup::Ours(c) = &found {
        ui.info("Stopping old container...");
        container::stop_and_remove(engine, s, c)?;
    } else {
        ui.info("Container not running");
    }
    let port = container::run_on_free_port(engine, s, ui, saved)?;
    ctx.save_port(port)?;
    let run = t_run.elapsed();

    ui.header("Step 3: Waiting Until It Answers MCP");
    let (_, ready) = ready::wait(engine, s, ui, port)?;

    ui.header("Update Complete");
    ui.result_success("MCP server updated with latest code!");
    ctx.print_endpoint(port);
    ctx.print_timings(&[("build", build), ("swap", run), ("ready", ready)]);
    Ok(())
}
