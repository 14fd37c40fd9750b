//! `mcpctl update`: rebuild and replace the container on the saved port. The image is built while
//! the old container keeps serving (a broken build leaves it untouched); the new container is made
//! beside it and swapped in; if it does not answer MCP, the old one is put back (`deploy/`).

use crate::container::{self, Lookup};
use crate::deploy::{Deploy, Deployed};
use crate::engine::ContainerInfo;
use crate::flows::{Ctx, start};

pub(crate) fn update(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let (opened, plan) = ctx.open_to_build("update")?;
    if matches!(opened.found, Lookup::Missing) && opened.state.port.is_none() {
        ui.warning("No existing deployment found");
        ui.info("Running 'start' instead...");
        drop(opened);
        return start::start(ctx, rebuild);
    }
    let (state, found) = (&opened.state, &opened.found);
    let deploy = ctx.deploy(state);
    let behind = deploy.mode.behind();
    ui.title("Update", &ctx.project_on_host());
    ui.info("Rebuilds the image from the latest code, then replaces the container");
    let old = found.ours();
    // The image the server runs now (or, stopped, the last one built): kept as :previous.
    let before = match old {
        Some(c) => Some(c.image_id.clone()),
        None => container::image_id(engine, &s.image)?,
    };

    ui.header("Step 1: Rebuilding Image");
    if old.is_some_and(|c| c.running) {
        ui.info("The running container keeps serving while the image builds");
    }
    let image = container::ensure_image(engine, s, ui, plan?, rebuild)?;
    let (build, built) = (image.took, image.id);

    // The same image, run the same way: replacing it would only cost the clients their sessions.
    // The same image is also one built anew from the engine's cache with another digest label
    // (a file the Dockerfile never copies changed): the tag keeps the new one, whose label
    // matches the context, so the next update skips the build; the container keeps the one it
    // runs, which stays what a later update keeps as `:previous`.
    let deployed_behind = state.front.is_some();
    let same = match before.as_deref() {
        Some(b) if !rebuild => container::same_image(engine, b, &built)?,
        _ => false,
    };
    if let Some(c) = old.filter(|c| c.running && !c.restarting && same) {
        let port = deploy.serving_port(Some(c)).unwrap_or(s.base_port);
        if behind == deployed_behind
            && state.run_digest.as_deref()
                == Some(ctx.run_digest(port, behind, ctx.replicas_of(behind, state.replicas)).as_str())
        {
            if c.image_id != built {
                ui.info(&format!(
                    "{} has the layers and settings of the image the container runs (only the digest label differs)",
                    s.image
                ));
            }
            deploy.refresh_front(c, port)?;
            ui.header("Update Complete");
            ui.result_success(&format!(
                "Nothing changed: {} already runs this image with these settings; nothing was touched",
                s.container
            ));
            ctx.print_endpoint(port, ctx.saved_transport(state), behind);
            return Ok(());
        }
        ui.info(
            "Same image, other settings (environment, volumes, ports, the front...): replacing the container",
        );
    }

    ui.header("Step 2: Replacing Container");
    // The same image (with other settings, or not running): `:previous` keeps the version
    // before it, or a rollback would return to the image that is about to run.
    let previous = before.as_deref().filter(|_| !same);
    let d = match old {
        Some(c) => replace(ctx, &deploy, c, previous, &built)?,
        None => {
            ui.info("No container: starting one");
            if let Some(b) = previous.filter(|b| *b != built) {
                container::tag(engine, b, &ctx.previous_tag())?;
            }
            deploy.fresh(state.port, "Waiting Until It Answers MCP", |_| Ok(()))?
        }
    };
    ctx.save_deploy(d.port, Some(&built), d.transport, behind)?;

    ui.header("Update Complete");
    ui.result_success("MCP server updated with latest code!");
    ctx.print_endpoint(d.port, d.transport, behind);
    ctx.print_timings(&[("build", build), ("swap", d.swap), ("ready", d.ready)]);
    Ok(())
}

/// Swap `old` for a container of the new image on the same port, keeping the image it ran as
/// `:previous`. If the swap fails the old one serves again, so its image gets our name back (for
/// restart) and `:previous` is put back as it was.
fn replace(
    ctx: &Ctx,
    deploy: &Deploy,
    old: &ContainerInfo,
    before: Option<&str>,
    built: &str,
) -> anyhow::Result<Deployed> {
    let (s, engine) = (&ctx.s, &ctx.engine);
    let previous_tag = container::image_id(engine, &ctx.previous_tag())?;
    if let Some(b) = before.filter(|b| *b != built) {
        container::tag(engine, b, &ctx.previous_tag())?;
    }
    match deploy.replace(old, &s.image) {
        Ok(done) => Ok(done),
        Err(e) => {
            crate::process::shielded(|| {
                if let Some(b) = before {
                    let _ = container::tag(engine, b, &s.image);
                }
                let _ = match &previous_tag {
                    Some(p) => container::tag(engine, p, &ctx.previous_tag()),
                    None => container::untag(engine, &ctx.previous_tag()),
                };
            });
            Err(e)
        }
    }
}
