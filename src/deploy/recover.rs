//! What an interrupted command left: our container and its `-next`, looked up in one engine
//! call, the replacement finished or cleaned up. (Behind the front, `front::recover` finishes
//! a switch the front had made first.)

use crate::config::Settings;
use crate::engine::Engine;
use crate::ui::Ui;

use crate::container::{Lookup, force_remove, lookup, lookup_many, rename, start_existing};

/// The name the new container has until it replaces the old one.
pub(crate) fn next_name(s: &Settings) -> String {
    format!("{}-next", s.container)
}

/// The new container's name for a swap, with whatever an earlier swap left under it removed.
pub(crate) fn clear_next(engine: &Engine, s: &Settings) -> String {
    let next = next_name(s);
    let _ = force_remove(engine, &next);
    next
}

/// Look our container up, first finishing or cleaning up what an interrupted swap left: a
/// `-next` container running alone gets the real name; one that is not serving is removed (and
/// the old one, stopped for the swap, started again). Also removes our container if it was
/// created and never started (an interrupted `run`). One inspect when nothing was left over.
pub(crate) fn recover_and_lookup(engine: &Engine, s: &Settings, ui: &Ui) -> anyhow::Result<Lookup> {
    let next = next_name(s);
    let mut both = lookup_many(engine, s, &[&s.container, &next])?;
    let (main, next_found) = (both.remove(0), both.remove(0));
    let mut changed = false;
    match next_found {
        Lookup::Ours(n) if matches!(main, Lookup::Missing) && n.running => {
            rename(engine, &next, &s.container)?;
            ui.warning(&format!("Finished an interrupted update: {next} is now {}", s.container));
            changed = true;
        }
        Lookup::Ours(n) => {
            force_remove(engine, &n.name)?;
            ui.warning(&format!("Removed {next}, left half-made by an interrupted update or rollback"));
            if let Lookup::Ours(m) = &main
                && !m.running
                && m.status == "exited"
            {
                // The old one was stopped for the swap and never started again.
                ui.info(&format!("Starting {} again", s.container));
                start_existing(engine, &s.container)?;
            }
            changed = true;
        }
        _ => {}
    }
    if let Lookup::Ours(m) = &main
        && (m.status == "created" || m.status == "configured")
    {
        force_remove(engine, &m.name)?;
        ui.warning(&format!("Removed {}, created but never started by an interrupted command", s.container));
        changed = true;
    }
    let found = if changed { lookup(engine, s)? } else { main };
    if let Lookup::Ours(c) = &found
        && let Some(dir) = c.labels.get(crate::config::LABEL_DIR)
        && std::path::Path::new(dir) != s.project_dir
    {
        ui.warning(&format!(
            "{} was started from {dir}, not from {}: one project name in two places shares one \
             container; give one of them another --name",
            s.container,
            s.project_dir.display()
        ));
    }
    Ok(found)
}
