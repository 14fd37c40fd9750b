//! `mcpctl start` on a swarm: check the cluster, build here and push to the registry, create the
//! server's service (replicas spread over the nodes, health-checked with MCP) and the front's,
//! then wait until every replica answers through the front.

use std::time::{Duration, Instant};

use crate::container;
use crate::error::Explained;
use crate::flows::Ctx;
use crate::flows::swarm::{self as sw, Opened};
use crate::target::swarm::spec::{self, FrontSpec, ServerSpec};
use crate::target::swarm::{HEALTH_PY, front};

pub(crate) fn start(ctx: &Ctx, rebuild: bool) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    ui.title("Start", &format!("{} on a swarm", ctx.project_on_host()));
    ui.info("Checking the swarm...");
    let mut o = sw::open(ctx, Some("start"))?;
    let registry = require_registry(ctx)?;
    let replicas = s.replicas.or(o.state.replicas).unwrap_or(1);
    check_nodes(ctx, &o, replicas, true)?;
    ui.success(&format!(
        "{} is a swarm manager ({} nodes, {} managers; the front will be on {})",
        engine.name(),
        o.cluster.nodes.len(),
        o.cluster.info.managers,
        o.cluster.front_addr()
    ));
    if let Some(svc) = o.swarm.service(&o.swarm.names.service)? {
        let port = o.state.port.unwrap_or(s.base_port);
        ui.warning(&format!("Service {} already exists ({} replicas)", svc.name, svc.replicas.unwrap_or(0)));
        ui.result_info(&format!(
            "MCP endpoint: {}",
            sw::endpoint(ctx, o.cluster.front_addr(), port, ctx.saved_transport(&o.state)).url()
        ));
        ui.info("Use 'mcpctl update' to rebuild and roll it, or 'mcpctl restart' to restart its tasks");
        return Ok(());
    }
    let plan = container::image_plan(engine, s);

    ui.header("Step 1: Building Image");
    let image = container::ensure_image(engine, s, ui, plan?, rebuild)?;
    let t0 = Instant::now();
    let spinner = ui.spinner(&format!("Pushing to {registry} (every node pulls it from there)..."));
    let pushed = o.swarm.push(&image.id, &registry, &short(&image.id));
    spinner.finish();
    let server_image = pushed?;
    ui.success(&format!("Pushed {server_image}"));
    let push = t0.elapsed();

    ui.header("Step 2: Creating Services");
    let t1 = Instant::now();
    let port = o.state.port.unwrap_or(s.base_port);
    say_about_data(ctx);
    o.swarm.ensure_network()?;
    let server = server_spec(ctx, &o, &image.id, server_image, replicas)?;
    let args = spec::server_create(s, &o.swarm.names, &server);
    o.swarm.run(args)?;
    let made = (|| {
        let spinner = ui.spinner(&format!("Waiting for {replicas} task(s) to answer MCP..."));
        let r = o.swarm.wait_running(
            &o.swarm.names.service,
            replicas,
            Some(&server.image),
            s.ready_timeout + Duration::from_secs(30),
            &mut |tasks| {
                let running = tasks.iter().filter(|t| t.running()).count();
                spinner.set_message(&format!("{running}/{replicas} task(s) healthy (answering MCP)..."));
            },
        );
        spinner.finish();
        r?;
        ui.success(&format!("{replicas} task(s) of {} answer MCP", o.swarm.names.service));
        let checked = o.sw_state.checked.clone();
        deploy_front(ctx, &mut o, port, replicas, checked.as_ref())
    })();
    if let Err(e) = made {
        // Nothing half made stays behind: the services go (network, secrets stay for the next try).
        crate::process::shielded(|| {
            let _ = o.swarm.remove("service", &[o.swarm.names.service.clone(), o.swarm.names.front.clone()]);
        });
        return Err(e);
    }
    let swap = t1.elapsed();

    ui.header("Step 3: Waiting Until It Answers MCP Through the Front");
    let t2 = Instant::now();
    let report = settle_front(ctx, &mut o, port, replicas)?;
    o.save(ctx, port, report.transport, replicas)?;
    ui.header("Start Complete");
    ui.result_success(&format!("MCP server is running on the swarm ({replicas} replicas)!"));
    sw::print_endpoint(ctx, o.cluster.front_addr(), port, report.transport);
    ctx.print_timings(&[("build", image.took), ("push", push), ("services", swap), ("ready", t2.elapsed())]);
    Ok(())
}

/// The first 12 hex digits of an image id: the tag it is pushed under.
pub(super) fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub(super) fn require_registry(ctx: &Ctx) -> anyhow::Result<String> {
    ctx.s.registry.clone().ok_or_else(|| {
        Explained::usage("no registry for the swarm's nodes to pull the server from")
            .why("every node runs the image by its digest, pulled from a registry")
            .fix("pass --push-to REPO (e.g. 10.0.0.1:5000/server) or set registry in [tool.mcpctl]")
            .into()
    })
}

/// Refuse before anything changes: a node down at start (`strict`; an update goes on, the swarm
/// places the tasks on the nodes it has), or a placement no ready node fits.
pub(super) fn check_nodes(ctx: &Ctx, o: &Opened, replicas: u32, strict: bool) -> anyhow::Result<()> {
    let down: Vec<String> = o
        .cluster
        .nodes
        .iter()
        .filter(|n| !n.ready())
        .map(|n| format!("{} ({})", n.hostname, n.status))
        .collect();
    if !down.is_empty() && !strict {
        ctx.ui.warning(&format!("Swarm node(s) not ready: {}; the tasks go to the others", down.join(", ")));
    } else if !down.is_empty() {
        return Err(Explained::usage(format!("swarm node(s) not ready: {}", down.join(", ")))
            .why("a task placed there would not start, and the cluster has less room than it says")
            .fix("bring the node back, or remove it: docker node rm --force NODE")
            .into());
    }
    let fit = o.swarm.placeable(&o.cluster.nodes)?;
    if fit.is_empty() {
        return Err(Explained::usage(format!(
            "no ready node fits the placement {}",
            ctx.s.placement.join(", ")
        ))
        .fix("check the names with `docker node ls` (labels: docker node inspect NODE)")
        .into());
    }
    if (fit.len() as u32) < replicas && !ctx.s.placement.is_empty() {
        return Err(Explained::usage(format!(
            "{replicas} replicas, but the placement allows {} node(s): {}",
            fit.len(),
            fit.iter().map(|n| n.hostname.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .why("replicas on one node all go when it does")
        .fix(format!("ask for --replicas {} or widen the placement", fit.len()))
        .into());
    }
    Ok(())
}

/// Named volumes are per node: said before the service exists.
fn say_about_data(ctx: &Ctx) {
    if ctx.s.volumes.is_empty() {
        return;
    }
    let names: Vec<&str> = ctx.s.volumes.iter().map(|v| v.name.as_str()).collect();
    if ctx.s.placement.is_empty() {
        ctx.ui.warning(&format!(
            "Volume(s) {} are per node on a swarm: a task on another node, or rescheduled after a node \
             is lost, starts with an empty one. Pin the server with --placement node.hostname==NODE",
            names.join(", ")
        ));
    } else {
        ctx.ui.info(&format!(
            "Volume(s) {} live on the node(s) the placement allows; if that node is lost its data is not on the others",
            names.join(", ")
        ));
    }
}

/// The server's service: the image's digest, the health check config, the env secret.
pub(super) fn server_spec(
    ctx: &Ctx,
    o: &Opened,
    image_id: &str,
    image: String,
    replicas: u32,
) -> anyhow::Result<ServerSpec> {
    let health_config = o.swarm.ensure_object("config", "health", HEALTH_PY.as_bytes())?;
    let port = o.state.port.unwrap_or(ctx.s.base_port);
    let env = env_file_bytes(ctx, port, o.cluster.front_addr())?;
    let env_secret = match &env {
        Some(b) => Some(o.swarm.ensure_object("secret", "env", b)?),
        None => None,
    };
    let command = if env_secret.is_some() { image_command(ctx, image_id)? } else { Vec::new() };
    Ok(ServerSpec { image, replicas, front_port: port, health_config, env_secret, command })
}

/// The server's environment as a shell file of `KEY='value'` lines (the secret), or None when
/// it has none: the settings' env (`{port}` the front's port, `{host}` the manager's address
/// clients reach it at), then the env-file's lines.
fn env_file_bytes(ctx: &Ctx, port: u16, addr: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let mut vars: Vec<(String, String)> = ctx
        .s
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{port}", &port.to_string()).replace("{host}", addr)))
        .collect();
    if let Some(f) = &ctx.s.env_file {
        let text =
            std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let line = line.strip_prefix("export ").unwrap_or(line);
            match line.split_once('=') {
                Some((k, v)) if valid_key(k.trim()) => vars.push((k.trim().to_string(), v.to_string())),
                _ => {
                    return Err(Explained::usage(format!("{}: a line that is not KEY=VALUE", f.display()))
                        .fix("write one KEY=VALUE per line (# starts a comment)")
                        .into());
                }
            }
        }
    }
    if vars.is_empty() {
        return Ok(None);
    }
    let text: String =
        vars.iter().map(|(k, v)| format!("{k}={}\n", crate::process::shell_quote(v))).collect();
    Ok(Some(text.into_bytes()))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The image's entrypoint and command: what the env wrapper runs.
fn image_command(ctx: &Ctx, image_id: &str) -> anyhow::Result<Vec<String>> {
    let args: Vec<String> =
        ["image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", image_id]
            .map(String::from)
            .to_vec();
    let out = ctx.engine.call(args)?.stdout;
    let (e, c) = out.trim().split_once(' ').unwrap_or((out.trim(), "null"));
    let list = |j: &str| serde_json::from_str::<Option<Vec<String>>>(j).ok().flatten().unwrap_or_default();
    let cmd: Vec<String> = list(e).into_iter().chain(list(c)).collect();
    if cmd.is_empty() {
        return Err(anyhow::anyhow!("the image {image_id} has no entrypoint or command to run"));
    }
    Ok(cmd)
}

/// The front's files and image, pushed and made; its service created or updated to them.
pub(super) fn deploy_front(
    ctx: &Ctx,
    o: &mut Opened,
    port: u16,
    replicas: u32,
    checked: Option<&front::Checked>,
) -> anyhow::Result<()> {
    let (s, ui) = (&ctx.s, &ctx.ui);
    let names = o.swarm.names.clone();
    let cfg = front::render(s, &names, replicas, checked, port);
    let config = o.swarm.ensure_object("config", "haproxy", cfg.as_bytes())?;
    let lua = o.swarm.ensure_object("config", "lua", crate::front::config::SSE_LUA.as_bytes())?;
    let token_secret = match &s.front.token {
        Some(t) => Some(o.swarm.ensure_object("secret", "token", format!("Bearer {}\n", t.0).as_bytes())?),
        None => None,
    };
    let tls_secret = match &s.front.tls {
        crate::config::FrontTls::Off => None,
        crate::config::FrontTls::Files { cert, key } => {
            let mut pem =
                std::fs::read(cert).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", cert.display()))?;
            pem.extend(
                std::fs::read(key).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", key.display()))?,
            );
            Some(o.swarm.ensure_object("secret", "tls", &pem)?)
        }
        crate::config::FrontTls::SelfSigned => {
            return Err(Explained::usage("a self-signed front on a swarm")
                .why("mcpctl's own certificate names localhost only, and the front is on the manager's address")
                .fix("give the front your certificate: --tls-cert FILE --tls-key FILE (or tls = off)")
                .into());
        }
    };
    let front_id = ctx.front().check_image(ui).and_then(|_| {
        crate::container::image_id(&ctx.engine, &s.front.image)?
            .ok_or_else(|| anyhow::anyhow!("the front's image {} is not here", s.front.image))
    })?;
    let registry = require_registry(ctx)?;
    let image = o.swarm.push(&front_id, &registry, &format!("front-{}", short(&front_id)))?;
    let f = FrontSpec {
        image,
        port,
        node_id: o.cluster.info.node_id.clone(),
        config,
        lua,
        token_secret,
        tls_secret,
    };
    let existing = o.swarm.service(&names.front)?;
    match &existing {
        Some(old)
            if old.configs.contains(&f.config) && old.image == f.image && front_secrets_same(old, &f) =>
        {
            return Ok(());
        }
        Some(old) => {
            // Its new task binds the port once the old one has let go of it (stop-first): the
            // update counts once the swarm says it completed, not while the old task still runs.
            let spinner = ui.spinner("Restarting the front with its new files...");
            let r = o.swarm.roll(
                &names.front,
                spec::front_update(&names, old, &f),
                Some(&f.image),
                Duration::from_secs(90),
                &mut |_, _| {},
            );
            spinner.finish();
            if let crate::target::swarm::Rolled::Reverted(why) | crate::target::swarm::Rolled::Paused(why) =
                r?
            {
                return Err(Explained::new("the front's new task did not start").why(why).into());
            }
        }
        None => o.swarm.run(spec::front_create(s, &names, &f))?,
    }
    let spinner = ui.spinner("Starting the front...");
    let r = o.swarm.wait_running(&names.front, 1, Some(&f.image), Duration::from_secs(60), &mut |_| {});
    spinner.finish();
    r?;
    ui.success(&format!("Front {} published on {}:{port}", names.front, o.cluster.front_addr()));
    Ok(())
}

fn front_secrets_same(old: &crate::target::swarm::parse::Service, f: &FrontSpec) -> bool {
    let want: Vec<&String> = f.token_secret.iter().chain(f.tls_secret.iter()).collect();
    old.secrets.len() == want.len() && want.iter().all(|w| old.secrets.contains(w))
}

/// Probe through the front; when the era or transport differs from what the front checks,
/// give it the checks of what answered; then wait until it has every replica up.
pub(super) fn settle_front(
    ctx: &Ctx,
    o: &mut Opened,
    port: u16,
    replicas: u32,
) -> anyhow::Result<crate::probe::ProbeReport> {
    let ui = &ctx.ui;
    let addr = o.cluster.front_addr().to_string();
    let target = sw::front_target(ctx, &addr, port)?;
    let spinner = ui.spinner(&format!("Probing {}...", target.shown_url()));
    let mut report = sw::probe_front(&target, ctx.s.ready_timeout);
    spinner.finish();
    let checked = sw::checked_of(ctx, report.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?);
    if o.sw_state.checked.as_ref() != Some(&checked) {
        ui.info(&format!(
            "It answers {}: the front checks every task that way",
            report.as_ref().map(|r| r.server.protocol()).unwrap_or_default()
        ));
        deploy_front(ctx, o, port, replicas, Some(&checked))?;
        o.sw_state.checked = Some(checked);
        let spinner = ui.spinner("Probing through the new front...");
        report = sw::probe_front(&target, ctx.s.ready_timeout);
        spinner.finish();
    }
    let report = report?;
    let spinner = ui.spinner(&format!("Waiting until the front has all {replicas} task(s) up..."));
    let up = front::wait_up(&ctx.engine, &o.swarm.names, replicas as usize, Duration::from_secs(30))?;
    spinner.finish();
    if up < replicas as usize {
        ui.warning(&format!("The front has {up} of {replicas} task(s) up; `mcpctl status` shows which"));
    } else {
        ui.success(&format!(
            "All {replicas} task(s) answer through the front ({}, {} ms)",
            report.server.protocol(),
            report.latency.as_millis()
        ));
    }
    Ok(report)
}
