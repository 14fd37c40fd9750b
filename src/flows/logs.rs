//! `mcpctl logs`: the engine's own `logs`, attached to the terminal. Ctrl-C exits 130.

use anyhow::anyhow;

use crate::container::{self, Lookup};
use crate::flows::Ctx;

pub fn logs(ctx: &Ctx, tail: Option<u32>, follow: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    if let Lookup::Missing = container::lookup(engine, s)? {
        return Err(anyhow!(
            "no container {}: nothing to show logs of; deploy it with `mcpctl start`",
            s.container
        ));
    }
    if follow {
        ui.title("Logs", &s.name);
        ui.info("Press Ctrl+C to stop");
        ui.blank();
    }
    let code = engine.cmd(engine.logs_args(&s.container, follow, tail)).interactive()?;
    match code {
        Some(0) => Ok(()),
        Some(c) => Err(anyhow!("{} logs exited with {c}", engine.name())),
        None => Err(anyhow!("{} logs was killed", engine.name())),
    }
}
