//! `mcpctl rollback`: go back to the image the last `update` replaced (`<image>:previous`), on the
//! same port, with the same swap as update. Rolling back twice returns to where you were.

use anyhow::anyhow;

use crate::container;
use crate::flows::Ctx;

pub(crate) fn rollback(ctx: &Ctx) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Rollback", &ctx.project_on_host());
    let opened = ctx.open("rollback")?;
    let (state, found) = (&opened.state, &opened.found);
    let deploy = ctx.deploy(state);
    let behind = deploy.mode.behind();
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

    let d = match found.ours() {
        Some(c) => deploy.replace(c, &previous)?,
        None => deploy.fresh_of(&previous)?,
    };
    // Swap the tags, so restart runs what now serves and a second rollback comes back.
    container::tag(engine, &previous, &s.image)?;
    if let Some(c) = current.filter(|c| *c != previous) {
        container::tag(engine, &c, &previous_tag)?;
    }
    ctx.save_deploy(d.port, Some(&previous), d.transport, behind)?;

    ui.header("Rollback Complete");
    ui.result_success("The previous version is serving");
    ctx.print_endpoint(d.port, d.transport, behind);
    ctx.print_timings(&[("swap", d.swap), ("ready", d.ready)]);
    Ok(())
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
