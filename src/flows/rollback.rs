//! `mcpctl rollback`: go back to the image the last `update` replaced (`<image>:previous`), on the
//! same port, with the same swap as update. Rolling back twice returns to where you were.

use anyhow::anyhow;

use crate::container::{self, Lookup};
use crate::flows::{Ctx, update};
use crate::swap;

pub fn rollback(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("rollback")?;
    ui.title("Rollback", &ctx.project_on_host());
    let state = ctx.load_state_checked()?;
    let behind = ctx.behind(&state);
    let found = ctx.recover_and_lookup(&state)?;
    if let Lookup::Foreign(c) = &found {
        return Err(container::foreign_error(engine, s, c));
    }
    let previous_tag = ctx.previous_tag();
    let Some(previous) = container::image_id(engine, &previous_tag)? else {
        return Err(anyhow!(
            "no previous image {previous_tag}: rollback returns to the image the last `mcpctl update` replaced, and there is none yet"
        ));
    };
    let current = match found.ours() {
        Some(c) => Some(c.image_id.clone()),
        None => container::image_id(engine, &s.image)?,
    };
    if current.as_deref() == Some(previous.as_str()) && found.ours().is_some_and(|c| c.running) {
        ui.result_info("Already running the previous image");
        return Ok(());
    }
    ui.info(&format!("Returning to {previous_tag} ({})", short(&previous)));

    let (port, swap, ready, transport) = match found.ours() {
        Some(c) => update::swap_to(ctx, c, &state, &previous)?,
        None if behind => {
            container::tag(engine, &previous, &s.image)?;
            update::fresh(ctx, &state, true)?
        }
        None => {
            let free = engine.host.port_checker()?;
            let port = crate::ports::choose(
                s.publish_address,
                s.base_port,
                state.port,
                &Default::default(),
                |a, p| free.is_free(a, p),
            )
            .ok_or_else(|| anyhow!("no free port from {} for the rolled-back container", s.base_port))?;
            let sw = swap::replace(engine, s, ui, None, &previous, port)?;
            (port, sw.swap, sw.ready, sw.transport)
        }
    };
    // Swap the tags, so restart runs what now serves and a second rollback comes back.
    container::tag(engine, &previous, &s.image)?;
    if let Some(c) = current.filter(|c| *c != previous) {
        container::tag(engine, &c, &previous_tag)?;
    }
    ctx.save_deploy(port, Some(&previous), transport, behind)?;

    ui.header("Rollback Complete");
    ui.result_success("The previous version is serving");
    ctx.print_endpoint(port, transport, behind);
    ctx.print_timings(&[("swap", swap), ("ready", ready)]);
    Ok(())
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
