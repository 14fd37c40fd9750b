//! `mcpctl restart` on a swarm: every task replaced by a fresh one of the same spec, rolled like
//! an update (start-first, health-gated), so no client notices.

use crate::error::Explained;
use crate::flows::Ctx;
use crate::flows::swarm::start::settle_front;
use crate::flows::swarm::{self as sw};
use crate::target::swarm::Rolled;

pub(crate) fn restart(ctx: &Ctx) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    ui.title("Restart", &format!("{} on a swarm", ctx.project_on_host()));
    let mut o = sw::open(ctx, Some("restart"))?;
    let name = o.swarm.names.service.clone();
    let svc = o.swarm.service(&name)?.ok_or_else(|| {
        Explained::usage(format!("no service {name} on the swarm")).fix("run 'mcpctl start' first")
    })?;
    let spinner = ui.spinner("The swarm is restarting the tasks one at a time...");
    let args = vec!["service".into(), "update".into(), "--detach".into(), "--force".into(), name.clone()];
    let deadline = ctx.s.ready_timeout * 4 + std::time::Duration::from_secs(60);
    let mut drainer = sw::Drainer::new();
    let r = o.swarm.roll(&name, args, None, deadline, &mut |_, tasks| {
        drainer.step(ctx, &o.swarm, tasks);
    });
    spinner.finish();
    drainer.finish(ctx, &o.swarm)?;
    if let Rolled::Reverted(why) | Rolled::Paused(why) = r? {
        return Err(Explained::new("the restarted tasks did not pass their health check").why(why).into());
    }
    let replicas = svc.replicas.unwrap_or(1) as u32;
    let port = o.state.port.unwrap_or(ctx.s.base_port);
    let report = settle_front(ctx, &mut o, port, replicas)?;
    o.save(ctx, port, report.transport, replicas)?;
    ui.header("Restart Complete");
    ui.result_success(&format!("{replicas} fresh task(s) of {name} answer MCP"));
    sw::print_endpoint(ctx, o.cluster.front_addr(), port, report.transport);
    Ok(())
}
