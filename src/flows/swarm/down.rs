//! `mcpctl down` on a swarm: the services, then the network (once their tasks are gone), the
//! secrets and configs; volumes only with `--volumes`, and only the manager's (each node has
//! its own).

use std::time::{Duration, Instant};

use crate::flows::Ctx;
use crate::flows::swarm::{self as sw};

pub(crate) fn down(ctx: &Ctx, volumes: bool, _yes: bool) -> anyhow::Result<()> {
    let (s, ui) = (&ctx.s, &ctx.ui);
    ui.title("Down", &format!("{} on a swarm", ctx.project_on_host()));
    let o = sw::open(ctx, Some("down"))?;
    let services = o.swarm.listed("service")?;
    o.swarm.remove("service", &services)?;
    if !services.is_empty() {
        ui.success(&format!("Removed {}", services.join(" and ")));
    }
    // The network goes once the tasks on it have stopped (a replaced one may drain first).
    let spinner = ui.spinner("Waiting for the tasks to stop, then removing the network...");
    let deadline = Instant::now() + s.front.drain_timeout + Duration::from_secs(30);
    // Until the manager no longer lists it: a node that just rejoined may still hold an endpoint.
    let mut left = o.swarm.listed("network")?;
    while !left.is_empty() {
        o.swarm.remove("network", &left)?;
        std::thread::sleep(Duration::from_millis(500));
        left = o.swarm.listed("network")?;
        if Instant::now() > deadline {
            break;
        }
    }
    spinner.finish();
    let mut kept = left;
    for what in ["secret", "config"] {
        let names = o.swarm.listed(what)?;
        kept.extend(o.swarm.remove(what, &names)?);
    }
    if volumes {
        for v in &s.volumes {
            let r = ctx.engine.call_expecting(
                ctx.engine.volume_rm_args(&v.name),
                &[crate::engine::Failure::NoSuchVolume],
            )?;
            if r.is_ok() {
                ui.success(&format!("Removed volume {} on the manager", v.name));
            }
        }
        if !s.volumes.is_empty() {
            ui.info("Each node has its own copy of a named volume: the other nodes' stay (docker volume rm there)");
        }
    }
    if !kept.is_empty() {
        return Err(anyhow::anyhow!("could not remove: {}", kept.join(", ")));
    }
    let _ = std::fs::remove_file(&s.paths.state_file);
    ui.result_success("Removed the project's services, network, secrets and configs from the swarm");
    Ok(())
}
