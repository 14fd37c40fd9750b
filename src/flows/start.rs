//! `mcpctl start`: build the image (unless nothing changed) and start the container, then wait
//! until it answers MCP — published on its port, or behind the front.

use std::time::Instant;

use crate::container::{self, Lookup};
use crate::flows::Ctx;
use crate::probe::Transport;
use crate::ready;

pub fn start(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("start")?;
    ui.title("Start", &ctx.project_on_host());
    let state = ctx.load_state_checked()?;
    let behind = ctx.behind(&state);

    ui.info(&format!("Checking {}...", engine.name()));
    let (found, plan) = ctx.lookup_and_plan(&state);
    let found = found?;
    ui.success(&format!("{} is running ({})", engine.name(), engine.version));
    match &found {
        Lookup::Foreign(c) => return Err(container::foreign_error(engine, s, c)),
        Lookup::Ours(c) if c.running => {
            let port = ctx.serving_port(Some(c), &state).unwrap_or(s.base_port);
            let deployed_behind = state.front.is_some();
            ui.warning("Container already running");
            ui.result_info(&format!(
                "MCP endpoint: {}",
                ctx.endpoint(port, ctx.saved_transport(&state), deployed_behind)
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
        Lookup::Missing => {}
    }

    // Fail before a long build when no port could be had at all.
    let front_port = if behind { Some(ctx.front_port(&state)?) } else { None };
    if !behind {
        container::check_some_port_free(engine, s, state.port)?;
    }

    ui.header("Step 1: Building Image");
    let build = container::ensure_image(engine, s, ui, plan?, rebuild)?.took;

    ui.header("Step 2: Starting Container");
    let t_run = Instant::now();
    let (port, run, ready, transport, image) = match front_port {
        Some(port) => {
            // Saved at once: if anything below fails, the next command still knows the port.
            ctx.save_deploy(port, None, Transport::StreamableHttp, true)?;
            let sw = crate::front::deploy::start(engine, s, ui, port)?;
            (port, sw.swap, sw.ready, sw.transport, container::image_id(engine, &s.image)?)
        }
        None => {
            let port = container::run_on_free_port(engine, s, ui, state.port)?;
            ctx.save_deploy(port, None, Transport::StreamableHttp, false)?;
            let run = t_run.elapsed();
            ui.header("Step 3: Waiting Until It Answers MCP");
            let r = ready::wait(engine, s, ui, port)?;
            (port, run, r.took, r.report.transport, r.image_id)
        }
    };
    ctx.save_deploy(port, image.as_deref(), transport, behind)?;

    ui.header("Start Complete");
    ui.result_success("MCP server is running!");
    ctx.print_endpoint(port, transport, behind);
    ctx.print_timings(&[("build", build), ("run", run), ("ready", ready)]);
    Ok(())
}
