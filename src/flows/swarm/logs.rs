//! `mcpctl logs` on a swarm: every task's lines, each prefixed by the swarm with its task and
//! node (`docker service logs`); `--front` for the front's.

use crate::flows::Ctx;
use crate::flows::swarm::{self as sw};

pub(crate) fn logs(ctx: &Ctx, tail: Option<u32>, follow: bool, front: bool) -> anyhow::Result<()> {
    let o = sw::open(ctx, None)?;
    let name = if front { o.swarm.names.front.clone() } else { o.swarm.names.service.clone() };
    let mut args: Vec<String> = vec!["service".into(), "logs".into()];
    if follow {
        args.push("--follow".into());
    }
    if let Some(n) = tail {
        args.extend(["--tail".into(), n.to_string()]);
    }
    args.push(name);
    let code = ctx.engine.cmd(args).interactive()?;
    match code {
        Some(0) | None => Ok(()),
        Some(c) => Err(anyhow::anyhow!("docker service logs exited with {c}")),
    }
}
