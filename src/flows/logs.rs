//! `mcpctl logs`: the engine's own `logs` of the server's container, or with `--front` of the
//! front's, attached to the terminal. Ctrl-C exits 130.

use anyhow::anyhow;

use crate::container::{self, Lookup};
use crate::flows::Ctx;
use crate::front::Front;

pub(crate) fn logs(ctx: &Ctx, tail: Option<u32>, follow: bool, front: bool) -> anyhow::Result<()> {
    let (ui, engine) = (&ctx.ui, &ctx.engine);
    let container = if front { front_container(ctx)? } else { server_container(ctx)? };
    if follow {
        ui.title(if front { "Front logs" } else { "Logs" }, &ctx.project_on_host());
        ui.info("Press Ctrl+C to stop");
        ui.blank();
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
