//! `mcpctl logs`: the engine's own `logs` of the server's container, or with `--front` of the
//! front's, attached to the terminal; with replicas, every replica's lines, each prefixed with
//! its container's name. Ctrl-C exits 130.

use anyhow::anyhow;

use crate::container::{self, Lookup};
use crate::flows::Ctx;
use crate::front::Front;

pub(crate) fn logs(ctx: &Ctx, tail: Option<u32>, follow: bool, front: bool) -> anyhow::Result<()> {
    let (ui, engine) = (&ctx.ui, &ctx.engine);
    let container = if front { front_container(ctx)? } else { server_container(ctx)? };
    let many = ctx.load_state().replicas.is_some_and(|n| n > 1);
    let extra = if front || !many {
        Vec::new()
    } else {
        container::extra_replicas(engine, &ctx.s, &ctx.s.container)?
    };
    if follow {
        ui.title(if front { "Front logs" } else { "Logs" }, &ctx.project_on_host());
        ui.info("Press Ctrl+C to stop");
        ui.blank();
    }
    if !extra.is_empty() {
        let mut names = vec![container];
        names.extend(extra.into_iter().map(|c| c.name));
        return replicas(ctx, &names, tail, follow);
    }
    let code = engine.cmd(engine.logs_args(&container, follow, tail)).interactive()?;
    match code {
        Some(0) => Ok(()),
        Some(c) => Err(anyhow!("{} logs exited with {c}", engine.name())),
        None => Err(anyhow!("{} logs was killed", engine.name())),
    }
}

fn server_container(ctx: &Ctx) -> anyhow::Result<String> {
    if let Lookup::Missing = container::lookup(&ctx.engine, &ctx.s)? {
        return Err(anyhow!(
            "no container {}: nothing to show logs of; deploy it with `mcpctl start`",
            ctx.s.container
        ));
    }
    Ok(ctx.s.container.clone())
}

fn front_container(ctx: &Ctx) -> anyhow::Result<String> {
    let front = Front::new(&ctx.engine, &ctx.s);
    match front.lookup()? {
        Some(c) => Ok(c.name),
        None => Err(anyhow!(
            "no front {}: {} runs without one; turn it on with `mcpctl update --front`",
            front.name(),
            ctx.s.name
        )),
    }
}

/// Every replica's log at once, each line prefixed with its container's name (padded so the
/// lines align), as they come.
fn replicas(ctx: &Ctx, names: &[String], tail: Option<u32>, follow: bool) -> anyhow::Result<()> {
    let engine = &ctx.engine;
    let width = names.iter().map(String::len).max().unwrap_or(0);
    std::thread::scope(|sc| {
        let readers: Vec<_> = names
            .iter()
            .map(|name| {
                sc.spawn(move || {
                    let prefix = format!("{name:<width$} |");
                    engine.cmd(engine.logs_args(name, follow, tail)).stream_lines(|line| {
                        use std::io::Write;
                        // One write per line: lines of two replicas never interleave.
                        let _ = writeln!(std::io::stdout().lock(), "{prefix} {line}");
                    })
                })
            })
            .collect();
        for r in readers {
            r.join().map_err(|_| anyhow!("reading a replica's log failed"))??;
        }
        Ok(())
    })
}
