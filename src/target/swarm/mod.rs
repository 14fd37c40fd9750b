//! A Docker Swarm as the place the server runs: the engine mcpctl drives is a manager of the
//! cluster; the project is a service of `replicas` tasks on an overlay network of its own, found
//! by the front through Docker's DNS, and the front is a service too, the only one published.
//!
//! * `spec.rs`: the argv of the services (rolling updates, health check, secrets, placement);
//! * `parse.rs`: what the manager answers (`info`, `node ls`, `service ps`, `service inspect`);
//! * `front.rs`: the front's haproxy.cfg on the swarm and what its runtime API says;
//! * `health.py`: the MCP health check the tasks run (a swarm config).
//!
//! Every call goes through the engine (`Engine::call`: one place, logged with `-v`). Secrets go
//! in on stdin, never in argv; the services' specs name them, never their values.

pub(crate) mod front;
pub mod parse;
pub(crate) mod spec;

use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::config::{LABEL_PROJECT, Settings};
use crate::engine::{Engine, Failure};
use crate::error::Explained;
use crate::process::check_interrupt;
use parse::{Node, Service, SwarmInfo, Task};
pub(crate) use spec::Names;

/// The health check script the tasks run.
pub(crate) const HEALTH_PY: &str = include_str!("health.py");

/// The project's swarm, through its manager.
pub(crate) struct Swarm<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) s: &'a Settings,
    pub(crate) names: Names,
}

/// The manager and its cluster, as checked before anything changes.
pub(crate) struct Cluster {
    pub(crate) info: SwarmInfo,
    pub(crate) nodes: Vec<Node>,
}

impl Cluster {
    /// The address clients reach the front at: the manager's (the front is published there).
    pub(crate) fn front_addr(&self) -> &str {
        &self.info.node_addr
    }
}

/// How an update the swarm rolled ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Rolled {
    Completed,
    /// The swarm rolled back by itself (a task failed its health check): the message says why.
    Reverted(String),
    Paused(String),
}

impl<'a> Swarm<'a> {
    pub(crate) fn new(engine: &'a Engine, s: &'a Settings, salt: &str) -> Swarm<'a> {
        Swarm { engine, s, names: Names::of(s, salt) }
    }

    fn call(&self, args: Vec<String>) -> anyhow::Result<String> {
        Ok(self.engine.call(args)?.stdout)
    }

    /// The engine must be a manager of an active swarm; says so in one line when not.
    pub(crate) fn cluster(&self) -> anyhow::Result<Cluster> {
        if !self.engine.kind.has_swarm() {
            return Err(Explained::usage(format!("{} has no swarm mode", self.engine.name()))
                .fix("use --engine docker against a swarm manager, or --target engine")
                .into());
        }
        let info = parse::swarm_info(
            &self.call(["info", "--format", "{{json .Swarm}}"].map(String::from).to_vec())?,
        )?;
        let host = self.engine.host.label().unwrap_or_else(|| "this machine".into());
        if info.state != "active" {
            return Err(Explained::usage(format!("the docker engine of {host} is not in a swarm"))
                .why(format!(
                    "its swarm state is {:?}",
                    if info.state.is_empty() { "inactive" } else { &info.state }
                ))
                .fix("run `docker swarm init` there (or join it to one), or reach a manager with --host")
                .into());
        }
        if !info.manager {
            return Err(Explained::usage(format!(
                "the docker engine of {host} is a swarm worker, not a manager"
            ))
            .why("only a manager can create and update services")
            .fix(
                "reach a manager with --host (ssh://user@manager), or promote this node: docker node promote",
            )
            .into());
        }
        let nodes =
            parse::nodes(&self.call(["node", "ls", "--format", "{{json .}}"].map(String::from).to_vec())?)?;
        Ok(Cluster { info, nodes })
    }

    /// The nodes a task of the server may run on: ready, active, and matching the placement
    /// constraints mcpctl can read (hostname, id, role, node labels); others count as matching.
    pub(crate) fn placeable(&self, nodes: &[Node]) -> anyhow::Result<Vec<Node>> {
        let ready: Vec<Node> = nodes.iter().filter(|n| n.schedulable()).cloned().collect();
        if self.s.placement.is_empty() || ready.is_empty() {
            return Ok(ready);
        }
        let mut args: Vec<String> =
            ["node", "inspect", "--format", "{{.ID}} {{json .Spec.Labels}}"].map(String::from).to_vec();
        args.extend(ready.iter().map(|n| n.id.clone()));
        let text = self.call(args)?;
        let labels: std::collections::BTreeMap<String, serde_json::Value> = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(id, j)| (id.to_string(), serde_json::from_str(j).unwrap_or(serde_json::Value::Null)))
            .collect();
        Ok(ready
            .into_iter()
            .filter(|n| {
                self.s.placement.iter().all(|c| {
                    let (key, value, eq) = match c.split_once("!=") {
                        Some((k, v)) => (k.trim(), v.trim(), false),
                        None => match c.split_once("==") {
                            Some((k, v)) => (k.trim(), v.trim(), true),
                            None => return true,
                        },
                    };
                    let have = match key {
                        "node.hostname" => Some(n.hostname.clone()),
                        "node.id" => Some(n.id.clone()),
                        "node.role" => {
                            Some(if n.manager_status.is_empty() { "worker" } else { "manager" }.to_string())
                        }
                        k => k.strip_prefix("node.labels.").map(|l| {
                            labels
                                .get(&n.id)
                                .and_then(|m| m.get(l))
                                .and_then(|v| v.as_str())
                                .unwrap_or("")
                                .to_string()
                        }),
                    };
                    match have {
                        Some(h) => (h == value) == eq,
                        None => true,
                    }
                })
            })
            .collect())
    }

    /// The service `name`, or None when there is none.
    pub(crate) fn service(&self, name: &str) -> anyhow::Result<Option<Service>> {
        let args: Vec<String> =
            vec!["service".into(), "inspect".into(), "--format".into(), "{{json .}}".into(), name.into()];
        match self.engine.call_expecting(args, &[Failure::Other])? {
            Ok(out) => Ok(Some(parse::service(&out.stdout)?)),
            Err(e) if crate::engine::is_no_such_service(&e.process.stderr) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The service's tasks, the current ones and their history (empty when it is gone).
    pub(crate) fn tasks(&self, name: &str) -> anyhow::Result<Vec<Task>> {
        let args: Vec<String> =
            ["service", "ps", "--no-trunc", "--format", "{{json .}}", name].map(String::from).to_vec();
        match self.engine.call_expecting(args, &[Failure::Other])? {
            Ok(out) => parse::tasks(&out.stdout),
            Err(e) if crate::engine::is_no_such_service(&e.process.stderr) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// A task's address on the project's network.
    pub(crate) fn task_address(&self, task: &str) -> Option<String> {
        let args: Vec<String> =
            ["inspect", "--type", "task", "--format", "{{json .NetworksAttachments}}", task]
                .map(String::from)
                .to_vec();
        let out = self.call(args).ok()?;
        parse::task_address(&out, &self.names.network)
    }

    /// Tag the local image `id` as `{repo}:{tag}`, push it, and return `repo@sha256:…`: the
    /// reference every node pulls the same bytes by.
    pub(crate) fn push(&self, id: &str, repo: &str, tag: &str) -> anyhow::Result<String> {
        let reference = format!("{repo}:{tag}");
        crate::container::tag(self.engine, id, &reference)?;
        self.engine.call(self.engine.push_args(&reference)).map_err(|e| {
            anyhow::Error::new(
                Explained::new(format!("cannot push {reference}"))
                    .why(crate::engine::engine_reason(&e))
                    .fix(format!(
                        "the swarm's nodes pull the server from the registry: check it answers at {repo} \
                         (an insecure one must be in every node's insecure-registries), or `docker login` to it"
                    )),
            )
        })?;
        let args: Vec<String> =
            ["image", "inspect", "--format", "{{json .RepoDigests}}", &reference].map(String::from).to_vec();
        let digests: Vec<String> = serde_json::from_str(self.call(args)?.trim()).unwrap_or_default();
        let name_of = |d: &str| d.split('@').next().unwrap_or("").to_string();
        digests
            .iter()
            .find(|d| name_of(d) == repo)
            .cloned()
            .ok_or_else(|| anyhow!("{reference} was pushed but the engine names no digest for it in {repo}"))
    }

    /// The project's overlay network (attachable, so a one-off container can reach the tasks).
    pub(crate) fn ensure_network(&self) -> anyhow::Result<()> {
        let exists = self
            .engine
            .call_expecting(
                vec!["network".to_string(), "inspect".into(), self.names.network.clone()],
                &[Failure::Other],
            )?
            .is_ok();
        if !exists {
            self.call(vec![
                "network".into(),
                "create".into(),
                "--driver".into(),
                "overlay".into(),
                "--attachable".into(),
                "--label".into(),
                format!("{LABEL_PROJECT}={}", self.s.name),
                self.names.network.clone(),
            ])?;
        }
        Ok(())
    }

    /// A secret or config (`what` is `secret` or `config`) holding `bytes`, named after them;
    /// made unless it exists. The bytes go on stdin.
    pub(crate) fn ensure_object(&self, what: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let name = self.names.object(kind, bytes);
        let exists = self
            .engine
            .call_expecting(vec![what.to_string(), "inspect".into(), name.clone()], &[Failure::Other])?
            .is_ok();
        if !exists {
            let cmd = self
                .engine
                .cmd(vec![
                    what.to_string(),
                    "create".into(),
                    "--label".into(),
                    format!("{LABEL_PROJECT}={}", self.s.name),
                    name.clone(),
                    "-".into(),
                ])
                .stdin_bytes(bytes.to_vec());
            self.engine.run(&cmd)?;
        }
        Ok(name)
    }

    /// The project's objects of one kind (`service`, `secret`, `config`, `network`), by label.
    pub(crate) fn listed(&self, what: &str) -> anyhow::Result<Vec<String>> {
        let out = self.call(vec![
            what.to_string(),
            "ls".into(),
            "--filter".into(),
            format!("label={LABEL_PROJECT}={}", self.s.name),
            "--format".into(),
            "{{.Name}}".into(),
        ])?;
        Ok(parse::names_list(&out))
    }

    /// Remove objects of one kind; the ones still in use stay (said in the returned list).
    pub(crate) fn remove(&self, what: &str, names: &[String]) -> anyhow::Result<Vec<String>> {
        let mut kept = Vec::new();
        for n in names {
            let r = self
                .engine
                .call_expecting(vec![what.to_string(), "rm".into(), n.clone()], &[Failure::Other])?;
            if let Err(e) = r
                && !e.process.stderr.to_lowercase().contains("not found")
            {
                kept.push(format!("{n} ({})", crate::process::last_meaningful_line(&e.process.stderr)));
            }
        }
        Ok(kept)
    }

    pub(crate) fn run(&self, args: Vec<String>) -> anyhow::Result<()> {
        self.call(args).map(|_| ())
    }

    /// Wait until `name` has `want` tasks running on the wanted spec (`image`), failing fast on a
    /// task the nodes cannot start (an image they cannot pull, no node that fits).
    pub(crate) fn wait_running(
        &self,
        name: &str,
        want: u32,
        image: Option<&str>,
        deadline: Duration,
        on_progress: &mut dyn FnMut(&[Task]),
    ) -> anyhow::Result<Vec<Task>> {
        let t0 = Instant::now();
        loop {
            check_interrupt()?;
            let tasks = self.tasks(name)?;
            let current: Vec<Task> = tasks.iter().filter(|t| !t.history && t.wanted()).cloned().collect();
            on_progress(&current);
            let on_spec = |t: &Task| image.is_none_or(|i| t.image == i);
            if current.iter().filter(|t| t.running() && on_spec(t)).count() as u32 >= want {
                return Ok(current);
            }
            if let Some(bad) = tasks.iter().filter(|t| on_spec(t)).find(|t| unstartable(&t.error)) {
                return Err(Explained::new(format!("the swarm cannot start {name}"))
                    .why(format!("task {} on {}: {}", bad.name, or_none(&bad.node), bad.error))
                    .fix(fix_for(&bad.error))
                    .into());
            }
            if t0.elapsed() > deadline {
                let why = tasks
                    .iter()
                    .filter(|t| on_spec(t))
                    .find(|t| !t.error.is_empty())
                    .map(|t| format!("task {}: {}", t.name, t.error))
                    .unwrap_or_else(|| {
                        let states: Vec<String> =
                            current.iter().map(|t| format!("{} {}", t.name, t.current)).collect();
                        format!(
                            "tasks: {}",
                            if states.is_empty() { "none".into() } else { states.join(", ") }
                        )
                    });
                let fix = if why.contains("no suitable node") {
                    fix_for(&why)
                } else {
                    "`mcpctl logs` shows what the server said; a task is healthy when it answers MCP".into()
                };
                return Err(Explained::new(format!(
                    "{name} did not have {want} healthy task(s) within {}",
                    crate::ui::secs(deadline)
                ))
                .why(why)
                .fix(fix)
                .into());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Run `args` (a `service update`, `rollback` or `update --force` of `name`, detached) and
    /// watch the update the swarm rolls until it ends: completed, rolled back by itself, paused.
    /// `image` is what the tasks should run when it completes.
    pub(crate) fn roll(
        &self,
        name: &str,
        args: Vec<String>,
        image: Option<&str>,
        deadline: Duration,
        on_progress: &mut dyn FnMut(&Service, &[Task]),
    ) -> anyhow::Result<Rolled> {
        // The status of the update before this one stays until the manager starts this one.
        let before = self.service(name)?.map(|s| s.update_started).unwrap_or_default();
        self.run(args)?;
        let t0 = Instant::now();
        loop {
            check_interrupt()?;
            let svc = self.service(name)?.ok_or_else(|| anyhow!("the service {name} is gone"))?;
            let tasks = self.tasks(name)?;
            on_progress(&svc, &tasks);
            if svc.update_started != before {
                match svc.update_state.as_str() {
                    "completed" => return Ok(Rolled::Completed),
                    "rollback_completed" => return Ok(Rolled::Reverted(svc.update_message)),
                    "paused" | "rollback_paused" => return Ok(Rolled::Paused(svc.update_message)),
                    _ => {}
                }
            } else if t0.elapsed() > Duration::from_secs(10) {
                // No update recorded: the spec asked for nothing the tasks do not run already.
                let want = image.unwrap_or(&svc.image);
                let current: Vec<&Task> = tasks.iter().filter(|t| !t.history && t.wanted()).collect();
                if !current.is_empty() && current.iter().all(|t| t.running() && t.image == want) {
                    return Ok(Rolled::Completed);
                }
            }
            if t0.elapsed() > deadline {
                return Err(Explained::new(format!(
                    "the update of {name} did not end within {}",
                    crate::ui::secs(deadline)
                ))
                .why(format!("its state is {:?} ({})", svc.update_state, svc.update_message))
                .fix("`mcpctl status` shows the tasks; the swarm goes on rolling it")
                .into());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "no node" } else { s }
}

/// A task error that waiting will not cure. Not "no suitable node": the front's old task holds
/// its host port until it has stopped, and the new one waits for it.
fn unstartable(error: &str) -> bool {
    let e = error.to_lowercase();
    [
        "no such image",
        "pull access denied",
        "manifest unknown",
        "not found: manifest",
        "connection refused",
        "address already in use",
        "invalid reference",
    ]
    .iter()
    .any(|p| e.contains(p))
}

fn fix_for(error: &str) -> String {
    let e = error.to_lowercase();
    if e.contains("port already in use") || e.contains("address already in use") {
        "the front's port is taken on the manager: pick another with --base-port".into()
    } else if e.contains("no suitable node") {
        "the placement constraints match no ready node: check `docker node ls` and --placement".into()
    } else {
        "every node must pull the image from the registry: check it answers from the nodes \
         (an insecure registry must be in each node's insecure-registries) and that they are logged in"
            .into()
    }
}
