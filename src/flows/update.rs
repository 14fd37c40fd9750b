//! `mcpctl update`: rebuild and replace the container on the saved port. The image is built while
//! the old container keeps serving (a broken build leaves it untouched); the new container is made
//! beside it and swapped in; if it does not answer MCP, the old one is put back (`swap.rs`).

use std::time::Duration;

use crate::container::{self, Lookup};
use crate::engine::ContainerInfo;
use crate::flows::{Ctx, start};
use crate::probe::Transport;
use crate::state::State;
use crate::swap;

pub fn update(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let _lock = ctx.lock("update")?;
    let state = ctx.load_state_checked()?;
    let behind = ctx.behind(&state);
    let (found, plan) = ctx.lookup_and_plan(&state);
    let found = found?;
    if let Lookup::Foreign(c) = &found {
        return Err(container::foreign_error(engine, s, c));
    }
    if matches!(found, Lookup::Missing) && state.port.is_none() {
        ui.warning("No existing deployment found");
        ui.info("Running 'start' instead...");
        drop(_lock);
        return start::start(ctx, rebuild);
    }
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
        let port = ctx.serving_port(Some(c), &state).unwrap_or(s.base_port);
        if behind == deployed_behind
            && state.run_digest.as_deref() == Some(ctx.run_digest(port, behind).as_str())
        {
            if c.image_id != built {
                ui.info(&format!(
                    "{} has the layers and settings of the image the container runs (only the digest label differs)",
                    s.image
                ));
            }
            if behind {
                // The front's own settings (token, TLS) may have changed; it reloads if they did.
                crate::front::deploy::refresh(engine, s, ui, c, port)?;
            }
            ui.header("Update Complete");
            ui.result_success(&format!(
                "Nothing changed: {} already runs this image with these settings; nothing was touched",
                s.container
            ));
            ctx.print_endpoint(port, ctx.saved_transport(&state), behind);
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
    let swapped = match old {
        Some(c) => replace(ctx, c, &state, previous, &built, &s.image)?,
        None => {
            ui.info("No container: starting one");
            if let Some(b) = previous.filter(|b| *b != built) {
                container::tag(engine, b, &ctx.previous_tag())?;
            }
            fresh(ctx, &state, behind)?
        }
    };
    let (port, swap, ready, transport) = swapped;
    ctx.save_deploy(port, Some(&built), transport, behind)?;

    ui.header("Update Complete");
    ui.result_success("MCP server updated with latest code!");
    ctx.print_endpoint(port, transport, behind);
    ctx.print_timings(&[("build", build), ("swap", swap), ("ready", ready)]);
    Ok(())
}

/// No container to replace: start one, published or behind the front.
pub fn fresh(ctx: &Ctx, state: &State, behind: bool) -> anyhow::Result<(u16, Duration, Duration, Transport)> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    if behind {
        let port = ctx.front_port(state)?;
        let sw = crate::front::deploy::start(engine, s, ui, port)?;
        return Ok((port, sw.swap, sw.ready, sw.transport));
    }
    let t = std::time::Instant::now();
    let port = container::run_on_free_port(engine, s, ui, state.port)?;
    let swap = t.elapsed();
    let r = crate::ready::wait(engine, s, ui, port)?;
    Ok((port, swap, r.took, r.report.transport))
}

/// Replace `old` with a container of `image`, the way the deployment asks: a swap on the
/// published port, through the front (no client notices), or turning the front on or off.
pub fn swap_to(
    ctx: &Ctx,
    old: &ContainerInfo,
    state: &State,
    image: &str,
) -> anyhow::Result<(u16, Duration, Duration, Transport)> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let port = ctx.serving_port(Some(old), state).unwrap_or(s.base_port);
    let sw = match (ctx.behind(state), state.front.is_some()) {
        (true, true) => crate::front::deploy::replace(engine, s, ui, old, image, port)?,
        (true, false) => {
            ui.info("Turning the front on: it takes the port, the container moves behind it");
            // A front of its own takes the old container's port once that one stops.
            let front_port = if s.front.shared { ctx.front_port(state)? } else { port };
            crate::front::deploy::switch_on(engine, s, ui, Some(old), image, front_port)?
        }
        (false, true) => {
            ui.info("Turning the front off: the container publishes the port itself again");
            crate::front::deploy::switch_off(engine, s, ui, old, image, port)?
        }
        (false, false) => swap::replace(engine, s, ui, Some(old), image, port)?,
    };
    let port = if ctx.behind(state) { ctx.front_port(state).unwrap_or(port) } else { port };
    Ok((port, sw.swap, sw.ready, sw.transport))
}

/// Swap `old` for a container of the new image on the same port, keeping the image it ran as
/// `:previous`. If the swap fails the old one serves again, so its image gets our name back (for
/// restart) and `:previous` is put back as it was.
fn replace(
    ctx: &Ctx,
    old: &ContainerInfo,
    state: &State,
    before: Option<&str>,
    built: &str,
    image: &str,
) -> anyhow::Result<(u16, Duration, Duration, Transport)> {
    let (s, engine) = (&ctx.s, &ctx.engine);
    let previous_tag = container::image_id(engine, &ctx.previous_tag())?;
    if let Some(b) = before.filter(|b| *b != built) {
        container::tag(engine, b, &ctx.previous_tag())?;
    }
    match swap_to(ctx, old, state, image) {
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
