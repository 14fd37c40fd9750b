//! `mcpctl down [--volumes]`: stop and remove the container and, only when asked and confirmed,
//! its volumes — the one command that deletes a user's data, so it lists what goes first.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

use crate::container::{self, Lookup};
use crate::engine::Failure;
use crate::error::Explained;
use crate::flows::Ctx;

pub(crate) fn down(ctx: &Ctx, volumes: bool, yes: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    if volumes && !yes && !std::io::stdin().is_terminal() {
        // Refuse before changing anything: a usage error leaves everything as it was.
        return Err(Explained::usage("refusing to delete volumes without confirmation")
            .why("there is no terminal to ask on")
            .fix("pass --yes to confirm")
            .into());
    }
    ui.title("Down", &ctx.project_on_host());
    let opened = ctx.open_to_remove("down")?;
    let (state, found) = (&opened.state, opened.found.clone());
    if state.front.is_some() && !matches!(found, Lookup::Foreign(_)) {
        ctx.front().remove_project(ui)?;
    }
    if state.replicas.is_some_and(|n| n > 1) && !matches!(found, Lookup::Foreign(_)) {
        crate::flows::stop::remove_replicas(ctx)?;
    }
    match found {
        Lookup::Foreign(c) => return Err(container::foreign_error(engine, s, &c)),
        Lookup::Ours(c) => {
            ui.info("Stopping and removing the container...");
            container::stop_and_remove(engine, s, &c)?;
            ui.result_success("Container removed");
        }
        Lookup::Missing => ui.result_info(&format!("No container {}", s.container)),
    }
    if state.front.is_some() {
        // Free now that the container is gone (unless another project's front still uses it).
        ctx.front().remove_network()?;
        // Nothing is deployed behind it any more: the next start is as its flags and settings say
        // (the port is kept, so a client's URL survives).
        let mut st = crate::state::load(&s.paths.state_file).state;
        st.front = None;
        st.run_digest = None;
        crate::state::save(&s.paths.state_file, &st)?;
    }
    if !volumes {
        ui.info("Volumes kept (add --volumes to delete them and their data)");
        return Ok(());
    }
    let existing: Vec<&str> = s
        .volumes
        .iter()
        .map(|v| v.name.as_str())
        .filter(|v| {
            matches!(
                engine.call_expecting(engine.volume_inspect_args(v), &[Failure::NoSuchVolume]),
                Ok(Ok(_))
            )
        })
        .collect();
    if existing.is_empty() {
        ui.result_info("No volumes to delete");
        return Ok(());
    }
    ui.warning(&format!("These volumes and all their data will be deleted: {}", existing.join(", ")));
    // Without --yes there is a terminal to ask on: the start of down refused otherwise.
    if !yes {
        print!("  Delete them? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            ui.result_info("Volumes kept");
            return Ok(());
        }
    }
    for v in &existing {
        engine.call(engine.volume_rm_args(v)).with_context(|| format!("Failed to delete volume {v}"))?;
        ui.result_success(&format!("Deleted volume {v}"));
    }
    Ok(())
}
