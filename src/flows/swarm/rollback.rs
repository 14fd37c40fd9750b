//! `mcpctl rollback` on a swarm: the swarm returns the service to its previous spec (the image
//! digest the last update replaced), rolled start-first like an update.

use std::time::Duration;

use crate::error::Explained;
use crate::flows::Ctx;
use crate::flows::swarm::start::settle_front;
use crate::flows::swarm::{self as sw};
use crate::target::swarm::Rolled;

pub(crate) fn rollback(ctx: &Ctx) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    ui.title("Rollback", &format!("{} on a swarm", ctx.project_on_host()));
    let mut o = sw::open(ctx, Some("rollback"))?;
    let name = o.swarm.names.service.clone();
    let svc = o.swarm.service(&name)?.ok_or_else(|| {
        Explained::usage(format!("no service {name} on the swarm")).fix("run 'mcpctl start' first")
    })?;
    // The swarm keeps no previous spec after a rollback: say what happened instead.
    if svc.update_state == "rollback_completed" {
        return Err(Explained::usage("the last update was already rolled back")
            .why(format!("{name} runs the image from before that update ({})", svc.image))
            .fix("nothing to do; `mcpctl status` shows the tasks")
            .into());
    }
    let Some(previous) = svc.previous_image.clone() else {
        return Err(Explained::usage("nothing to roll back to")
            .why(format!("{name} has had no update since it was created"))
            .into());
    };
    ui.info(&format!("Back to {previous}"));
    let spinner = ui.spinner("The swarm is rolling back (start-first, one task at a time)...");
    let args = vec!["service".into(), "rollback".into(), "--detach".into(), name.clone()];
    let mut drainer = sw::Drainer::new();
    let r = o.swarm.roll(
        &name,
        args,
        Some(&previous),
        ctx.s.ready_timeout * 4 + Duration::from_secs(60),
        &mut |_, tasks| {
            drainer.step(ctx, &o.swarm, tasks);
        },
    );
    spinner.finish();
    drainer.finish(ctx, &o.swarm)?;
    match r? {
        Rolled::Reverted(_) | Rolled::Completed => {}
        Rolled::Paused(why) => {
            return Err(Explained::new("the swarm paused the rollback")
                .why(why)
                .fix("`mcpctl status` shows the tasks")
                .into());
        }
    }
    let replicas = svc.replicas.unwrap_or(1) as u32;
    o.swarm.wait_running(&name, replicas, Some(&previous), Duration::from_secs(60), &mut |_| {})?;
    let port = o.state.port.unwrap_or(ctx.s.base_port);
    let report = settle_front(ctx, &mut o, port, replicas)?;
    o.save(ctx, port, report.transport, replicas)?;
    ui.header("Rollback Complete");
    ui.result_success(&format!("{replicas} task(s) run {previous} again"));
    sw::print_endpoint(ctx, o.cluster.front_addr(), port, report.transport);
    Ok(())
}
