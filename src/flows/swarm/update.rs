//! `mcpctl update` on a swarm: build here while the tasks keep serving, push, and let the swarm
//! roll the new digest start-first, one task at a time, each gated on its MCP health check; a
//! task that fails it rolls the service back by itself, and nothing that serves changes.

use std::time::{Duration, Instant};

use crate::container;
use crate::error::Explained;
use crate::flows::Ctx;
use crate::flows::swarm::start::{self, check_nodes, require_registry, server_spec, settle_front, short};
use crate::flows::swarm::{self as sw, Opened};
use crate::target::swarm::Rolled;
use crate::target::swarm::spec;

pub(crate) fn update(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let mut o = sw::open(ctx, Some("update"))?;
    let Some(old) = o.swarm.service(&o.swarm.names.service)? else {
        ui.warning("No existing deployment found");
        ui.info("Running 'start' instead...");
        drop(o);
        return start::start(ctx, rebuild);
    };
    ui.title("Update", &format!("{} on a swarm", ctx.project_on_host()));
    ui.info("Rebuilds the image from the latest code, then the swarm rolls it task by task");
    let registry = require_registry(ctx)?;
    let replicas = s.replicas.or(o.state.replicas).or(old.replicas.map(|n| n as u32)).unwrap_or(1);
    check_nodes(ctx, &o, replicas, false)?;
    let plan = container::image_plan(engine, s);

    ui.header("Step 1: Rebuilding Image");
    ui.info("The tasks keep serving while the image builds");
    let image = container::ensure_image(engine, s, ui, plan?, rebuild)?;
    let t0 = Instant::now();
    let spinner = ui.spinner(&format!("Pushing to {registry}..."));
    let pushed = o.swarm.push(&image.id, &registry, &short(&image.id));
    spinner.finish();
    let server = server_spec(ctx, &o, &image.id, pushed?, replicas)?;
    let push = t0.elapsed();
    let port = o.state.port.unwrap_or(s.base_port);

    let same = old.image == server.image
        && old.replicas == Some(u64::from(replicas))
        && old.configs.contains(&server.health_config)
        && old.secrets == server.env_secret.iter().cloned().collect::<Vec<_>>();
    ui.header("Step 2: Rolling Update");
    let t1 = Instant::now();
    if same {
        ui.success(&format!("Nothing changed: {} already runs {}", old.name, server.image));
    } else {
        roll(ctx, &o, &old, &server, false)?;
    }
    let roll_took = t1.elapsed();
    // The front: its checks follow the era the new code answers in; its token or TLS may be new.
    let checked = o.sw_state.checked.clone();
    start::deploy_front(ctx, &mut o, port, replicas, checked.as_ref())?;
    let report = settle_front(ctx, &mut o, port, replicas)?;
    o.save(ctx, port, report.transport, replicas)?;
    collect_garbage(&o)?;

    ui.header("Update Complete");
    ui.result_success(if same {
        "Nothing to roll: the tasks run this image already"
    } else {
        "MCP server updated with latest code!"
    });
    sw::print_endpoint(ctx, o.cluster.front_addr(), port, report.transport);
    ctx.print_timings(&[("build", image.took), ("push", push), ("roll", roll_took)]);
    Ok(())
}

/// One rolling update of the server's service to `server`, watched to its end. A rollback the
/// swarm did by itself is an error: what serves is the previous image, as before.
pub(super) fn roll(
    ctx: &Ctx,
    o: &Opened,
    old: &crate::target::swarm::parse::Service,
    server: &spec::ServerSpec,
    force: bool,
) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    let name = o.swarm.names.service.clone();
    let spinner = ui.spinner("The swarm is rolling the tasks (start-first, one at a time)...");
    let deadline = (ctx.s.ready_timeout + Duration::from_secs(20)) * (server.replicas + 1);
    let args = spec::server_update(&ctx.s, &o.swarm.names, old, server, force);
    let mut drainer = sw::Drainer::new();
    // What the new tasks said when they failed (the swarm's own message only names a task id).
    let mut failed: Vec<String> = Vec::new();
    let r = o.swarm.roll(&name, args, Some(&server.image), deadline, &mut |svc, tasks| {
        drainer.step(ctx, &o.swarm, tasks);
        for t in tasks.iter().filter(|t| t.image == server.image && !t.error.is_empty()) {
            let line = format!("{} on {}: {}", t.name, t.node, t.error);
            if !failed.contains(&line) {
                failed.push(line);
            }
        }
        let on_new = tasks
            .iter()
            .filter(|t| !t.history && t.wanted() && t.running() && t.image == server.image)
            .count();
        spinner.set_message(&format!(
            "{}: {on_new}/{} task(s) on the new image, healthy...",
            if svc.update_state.is_empty() { "updating" } else { &svc.update_state },
            server.replicas
        ));
    });
    spinner.finish();
    let r = r?;
    drainer.finish(ctx, &o.swarm)?;
    match r {
        Rolled::Completed => {
            o.swarm.wait_running(
                &name,
                server.replicas,
                Some(&server.image),
                Duration::from_secs(30),
                &mut |_| {},
            )?;
            ui.success(&format!("All {} task(s) run {}", server.replicas, server.image));
            Ok(())
        }
        Rolled::Reverted(why) => Err(Explained::new("the new tasks did not pass their MCP health check")
            .why(format!(
                "the swarm rolled the service back to the previous image by itself ({why}){}",
                if failed.is_empty() { String::new() } else { format!("; {}", failed.join("; ")) }
            ))
            .fix("the previous image serves, as before; `mcpctl logs` shows what the new one said")
            .into()),
        Rolled::Paused(why) => Err(Explained::new("the swarm paused the update")
            .why(why)
            .fix("`mcpctl status` shows the tasks; `mcpctl rollback` returns to the previous image")
            .into()),
    }
}

/// Secrets and configs of the project that no service's spec or previous spec names.
pub(super) fn collect_garbage(o: &Opened) -> anyhow::Result<()> {
    let mut used: Vec<String> = Vec::new();
    for name in [&o.swarm.names.service, &o.swarm.names.front] {
        if let Some(svc) = o.swarm.service(name)? {
            used.extend(
                svc.secrets
                    .into_iter()
                    .chain(svc.configs)
                    .chain(svc.previous_secrets)
                    .chain(svc.previous_configs),
            );
        }
    }
    for what in ["secret", "config"] {
        let unused: Vec<String> = o.swarm.listed(what)?.into_iter().filter(|n| !used.contains(n)).collect();
        o.swarm.remove(what, &unused)?;
    }
    Ok(())
}
