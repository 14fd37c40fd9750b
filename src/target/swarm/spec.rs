//! The argv of the project's swarm objects: the server's service (start-first rolling updates
//! gated on an MCP health check, automatic rollback), the front's service (the only thing
//! published, pinned to the manager), and the names of the network, secrets and configs.

use std::time::Duration;

use crate::config::{LABEL_DIR, LABEL_FRONT, LABEL_PROJECT, Settings, TransportSetting};
use crate::engine::FRONT_CONFIG_IN;

/// Where the health check script, the env file and the front's files appear in the tasks.
pub(crate) const HEALTH_IN: &str = "/mcpctl-health.py";
pub(crate) const ENV_SECRET: &str = "mcpctl-env";
pub(crate) const TOKEN_SECRET: &str = "mcpctl-token";
pub(crate) const TLS_SECRET: &str = "mcpctl-site.pem";
/// The port the front listens on inside its task.
pub(crate) const FRONT_LISTEN: u16 = 8080;
/// How often the swarm runs a task's MCP health check, and how many misses make it unhealthy.
pub(crate) const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
pub(crate) const HEALTH_RETRIES: u32 = 2;
/// How long the swarm watches an updated task before the next (a failure then rolls back).
pub(crate) const UPDATE_MONITOR: Duration = Duration::from_secs(5);

/// The names of the project's objects on the swarm.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Names {
    pub(crate) project: String,
    /// The server's service (its tasks answer at `tasks.SERVICE` on the network).
    pub(crate) service: String,
    pub(crate) front: String,
    pub(crate) network: String,
    /// Keys the content hashes in secret names (kept in the state file).
    pub(crate) salt: String,
}

impl Names {
    pub(crate) fn of(s: &Settings, salt: &str) -> Names {
        Names {
            salt: salt.to_string(),
            project: s.name.clone(),
            service: s.container.clone(),
            front: s.front.name.clone(),
            network: format!("{}-net", s.name),
        }
    }

    /// A secret's or config's name: the project's, what it holds, and a hash of its bytes (they
    /// are immutable: a change is a new one, swapped in by an update).
    pub(crate) fn object(&self, kind: &str, bytes: &[u8]) -> String {
        format!("{}-{kind}-{}", self.project, &crate::digest::salted_hex(&self.salt, bytes)[..12])
    }
}

/// What the server's service is made of, besides the settings.
#[derive(Debug, Clone)]
pub(crate) struct ServerSpec {
    /// `repo@sha256:…`: the exact bytes every node runs.
    pub(crate) image: String,
    pub(crate) replicas: u32,
    /// The front's published port: the Host the health check sends is `localhost:PORT`, as the
    /// front's own checks do.
    pub(crate) front_port: u16,
    pub(crate) health_config: String,
    /// The env secret, when the server has environment values.
    pub(crate) env_secret: Option<String>,
    /// The image's entrypoint and command, run by the wrapper that reads the env secret.
    pub(crate) command: Vec<String>,
}

fn health_mode(t: TransportSetting) -> &'static str {
    match t {
        TransportSetting::StreamableHttp => "http",
        TransportSetting::Sse => "sse",
        TransportSetting::Auto => "auto",
    }
}

fn labels(s: &Settings) -> Vec<String> {
    vec![
        "--label".into(),
        format!("{LABEL_PROJECT}={}", s.name),
        "--label".into(),
        format!("{LABEL_DIR}={}", s.project_dir.display()),
    ]
}

fn secs(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// How each task stops and is checked: the same at create and at every update (a changed
/// drain, ready timeout or port rolls the tasks like a code change).
fn task_settings(s: &Settings, spec: &ServerSpec) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    // A replaced task keeps serving its sessions for the drain timeout: Python ignores SIGWINCH,
    // so the stop signal asks nothing and the grace period is the drain.
    a.extend(["--stop-signal".into(), "SIGWINCH".into()]);
    a.extend(["--stop-grace-period".into(), secs(s.front.drain_timeout + Duration::from_secs(1))]);
    a.extend([
        "--health-cmd".into(),
        format!(
            "python3 {HEALTH_IN} {} {} {} localhost:{}",
            s.container_port,
            s.mcp_path,
            health_mode(s.transport),
            spec.front_port
        ),
    ]);
    a.extend(["--health-interval".into(), secs(HEALTH_INTERVAL), "--health-timeout".into(), "4s".into()]);
    a.extend(["--health-retries".into(), HEALTH_RETRIES.to_string()]);
    a.extend(["--health-start-period".into(), secs(s.ready_timeout)]);
    a
}

/// `service create` of the server: tasks spread over the nodes on the project's network, found
/// by DNS (`dnsrr`: no VIP, which needs IPVS), never published (only the front is).
pub(crate) fn server_create(s: &Settings, n: &Names, spec: &ServerSpec) -> Vec<String> {
    let mut a: Vec<String> =
        vec!["service".into(), "create".into(), "--detach".into(), "--name".into(), n.service.clone()];
    a.extend(labels(s));
    a.extend(["--network".into(), n.network.clone(), "--endpoint-mode".into(), "dnsrr".into()]);
    a.extend(["--replicas".into(), spec.replicas.to_string()]);
    for c in &s.placement {
        a.extend(["--constraint".into(), c.clone()]);
    }
    // Start-first, one at a time, each gated on its health check; a failure rolls back.
    a.extend(
        ["--update-order", "start-first", "--update-parallelism", "1", "--update-delay", "0s"]
            .map(String::from),
    );
    a.extend([
        "--update-failure-action".into(),
        "rollback".into(),
        "--update-monitor".into(),
        secs(UPDATE_MONITOR),
    ]);
    a.extend(["--rollback-order", "start-first", "--rollback-parallelism", "1"].map(String::from));
    a.extend(["--rollback-monitor".into(), secs(UPDATE_MONITOR)]);
    a.extend(task_settings(s, spec));
    a.extend(["--config".into(), format!("source={},target={HEALTH_IN},mode=0444", spec.health_config)]);
    if let Some(secret) = &spec.env_secret {
        a.extend(["--secret".into(), format!("source={secret},target={ENV_SECRET},mode=0444")]);
    }
    for v in &s.volumes {
        a.extend(["--mount".into(), format!("type=volume,source={},target={}", v.name, v.path)]);
    }
    if s.init {
        a.push("--init".into());
    }
    a.push("--with-registry-auth".into());
    if spec.env_secret.is_some() {
        a.extend(["--entrypoint".into(), ENV_WRAPPER.into()]);
    }
    a.push(spec.image.clone());
    if spec.env_secret.is_some() {
        a.extend(spec.command.iter().cloned());
    }
    a
}

/// Runs the image's own command with the env secret's values exported, as `-e` would have set
/// them (the secret is a file of `KEY='value'` lines). A shell string for `--entrypoint`, which
/// the client splits like a shell.
pub(crate) const ENV_WRAPPER: &str =
    "/bin/sh -c 'set -a; . /run/secrets/mcpctl-env; set +a; exec \"$@\"' mcpctl-env";

/// `service update` of the server to a new image (and env secret), detached: the flow watches
/// the update's state.
pub(crate) fn server_update(
    s: &Settings,
    n: &Names,
    old: &super::parse::Service,
    spec: &ServerSpec,
    force: bool,
) -> Vec<String> {
    let mut a: Vec<String> = vec!["service".into(), "update".into(), "--detach".into()];
    a.extend(["--image".into(), spec.image.clone(), "--replicas".into(), spec.replicas.to_string()]);
    a.extend(task_settings(s, spec));
    for c in old.configs.iter().filter(|c| **c != spec.health_config) {
        a.extend(["--config-rm".into(), c.clone()]);
    }
    if !old.configs.contains(&spec.health_config) {
        a.extend([
            "--config-add".into(),
            format!("source={},target={HEALTH_IN},mode=0444", spec.health_config),
        ]);
    }
    for s in old.secrets.iter().filter(|s| Some(*s) != spec.env_secret.as_ref()) {
        a.extend(["--secret-rm".into(), s.clone()]);
    }
    match &spec.env_secret {
        Some(secret) if !old.secrets.contains(secret) => {
            a.extend(["--secret-add".into(), format!("source={secret},target={ENV_SECRET},mode=0444")]);
        }
        _ => {}
    }
    if spec.env_secret.is_some() {
        a.extend(["--entrypoint".into(), ENV_WRAPPER.into(), "--args".into(), shell_join(&spec.command)]);
    } else {
        // Back to the image's own entrypoint and command.
        a.extend(["--entrypoint".into(), String::new(), "--args".into(), String::new()]);
    }
    if force {
        a.push("--force".into());
    }
    a.push("--with-registry-auth".into());
    a.push(n.service.clone());
    a
}

/// `--args` is split like a shell line.
fn shell_join(words: &[String]) -> String {
    words.iter().map(|w| crate::process::shell_quote(w)).collect::<Vec<_>>().join(" ")
}

/// What the front's service is made of.
#[derive(Debug, Clone)]
pub(crate) struct FrontSpec {
    pub(crate) image: String,
    pub(crate) port: u16,
    /// The manager's node id: the front is published on that node's address.
    pub(crate) node_id: String,
    pub(crate) config: String,
    pub(crate) lua: String,
    pub(crate) token_secret: Option<String>,
    pub(crate) tls_secret: Option<String>,
}

fn front_files(f: &FrontSpec) -> Vec<String> {
    let mut a = vec![
        "--config".into(),
        format!("source={},target={FRONT_CONFIG_IN}/haproxy.cfg,mode=0444", f.config),
        "--config".into(),
        format!("source={},target={FRONT_CONFIG_IN}/mcp_sse.lua,mode=0444", f.lua),
    ];
    if let Some(t) = &f.token_secret {
        a.extend(["--secret".into(), format!("source={t},target={TOKEN_SECRET},mode=0444")]);
    }
    if let Some(t) = &f.tls_secret {
        a.extend(["--secret".into(), format!("source={t},target={TLS_SECRET},mode=0444")]);
    }
    a
}

/// `service create` of the front: HAProxy on the project's network, host-published on the
/// manager (no routing mesh: it needs IPVS), without capabilities.
pub(crate) fn front_create(s: &Settings, n: &Names, f: &FrontSpec) -> Vec<String> {
    let mut a: Vec<String> =
        vec!["service".into(), "create".into(), "--detach".into(), "--name".into(), n.front.clone()];
    a.extend(labels(s));
    a.extend(["--label".into(), format!("{LABEL_FRONT}={}", n.front)]);
    a.extend(["--network".into(), n.network.clone(), "--replicas".into(), "1".into()]);
    a.extend(["--constraint".into(), format!("node.id=={}", f.node_id)]);
    a.extend([
        "--publish".into(),
        format!("mode=host,target={FRONT_LISTEN},published={},protocol=tcp", f.port),
    ]);
    // Its port is the node's: the old task must let go of it before the new one binds; it
    // finishes the requests in flight (HAProxy's soft stop) for a few seconds at most.
    a.extend(["--update-order".into(), "stop-first".into(), "--stop-grace-period".into(), "5s".into()]);
    a.extend(["--cap-drop".into(), "ALL".into()]);
    a.extend(front_files(f));
    a.push("--with-registry-auth".into());
    a.push(f.image.clone());
    a
}

/// `service update` of the front to new files (a config or secret changed) or image.
pub(crate) fn front_update(n: &Names, old: &super::parse::Service, f: &FrontSpec) -> Vec<String> {
    let mut a: Vec<String> =
        vec!["service".into(), "update".into(), "--detach".into(), "--image".into(), f.image.clone()];
    for c in &old.configs {
        a.extend(["--config-rm".into(), c.clone()]);
    }
    for s in &old.secrets {
        a.extend(["--secret-rm".into(), s.clone()]);
    }
    for w in front_files(f).chunks(2) {
        let flag = if w[0] == "--config" { "--config-add" } else { "--secret-add" };
        a.extend([flag.to_string(), w[1].clone()]);
    }
    a.push("--with-registry-auth".into());
    a.push(n.front.clone());
    a
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Overrides, ProjectFiles, resolve};
    use crate::target::swarm::parse::Service;

    fn settings(change: impl FnOnce(&mut crate::config::Project)) -> Settings {
        let files = ProjectFiles { project_name: Some("echo-server".into()), ..Default::default() };
        let mut project = resolve(Path::new("/p"), &files, &Overrides::default()).unwrap();
        change(&mut project);
        Settings::resolve(project, Path::new("/h"), &Default::default())
    }

    fn server(env_secret: Option<&str>) -> ServerSpec {
        ServerSpec {
            image: "10.0.0.1:5000/echo@sha256:abc".into(),
            replicas: 3,
            front_port: 19000,
            health_config: "echo-server-health-1".into(),
            env_secret: env_secret.map(str::to_string),
            command: vec!["python".into(), "-m".into(), "echo_server".into()],
        }
    }

    #[test]
    fn the_server_service_rolls_start_first_on_an_mcp_health_check_and_is_never_published() {
        let s = settings(|p| {
            p.volumes.clear();
            p.placement = vec!["node.labels.disk==ssd".into()];
        });
        let n = Names::of(&s, "salt");
        let a = server_create(&s, &n, &server(Some("echo-server-env-2")));
        let want: Vec<String> = [
            "service",
            "create",
            "--detach",
            "--name",
            "echo-server-mcp",
            "--label",
            "io.mcpctl.project=echo-server",
            "--label",
            "io.mcpctl.project-dir=/p",
            "--network",
            "echo-server-net",
            "--endpoint-mode",
            "dnsrr",
            "--replicas",
            "3",
            "--constraint",
            "node.labels.disk==ssd",
            "--update-order",
            "start-first",
            "--update-parallelism",
            "1",
            "--update-delay",
            "0s",
            "--update-failure-action",
            "rollback",
            "--update-monitor",
            "5000ms",
            "--rollback-order",
            "start-first",
            "--rollback-parallelism",
            "1",
            "--rollback-monitor",
            "5000ms",
            "--stop-signal",
            "SIGWINCH",
            "--stop-grace-period",
            "31000ms",
            "--health-cmd",
            "python3 /mcpctl-health.py 3001 /mcp auto localhost:19000",
            "--health-interval",
            "2000ms",
            "--health-timeout",
            "4s",
            "--health-retries",
            "2",
            "--health-start-period",
            &format!("{}ms", s.ready_timeout.as_millis()),
            "--config",
            "source=echo-server-health-1,target=/mcpctl-health.py,mode=0444",
            "--secret",
            "source=echo-server-env-2,target=mcpctl-env,mode=0444",
            "--init",
            "--with-registry-auth",
            "--entrypoint",
            ENV_WRAPPER,
            "10.0.0.1:5000/echo@sha256:abc",
            "python",
            "-m",
            "echo_server",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(a, want);
        assert!(!a.iter().any(|w| w.starts_with("--publish") || w == "-p"), "{a:?}");
    }

    #[test]
    fn without_env_the_image_runs_its_own_command() {
        let s = settings(|_| {});
        let n = Names::of(&s, "salt");
        let a = server_create(&s, &n, &server(None));
        assert!(!a.contains(&"--entrypoint".to_string()) && !a.contains(&"--secret".to_string()), "{a:?}");
        assert_eq!(a.last().unwrap(), "10.0.0.1:5000/echo@sha256:abc");
        // The volumes are mounted on whichever node runs the task.
        assert!(a.iter().any(|w| w.starts_with("type=volume,source=echo-server-mcp_data,target=/")), "{a:?}");
    }

    #[test]
    fn an_update_swaps_the_env_secret_and_keeps_the_health_config() {
        let s = settings(|_| {});
        let n = Names::of(&s, "salt");
        let old = Service {
            secrets: vec!["echo-server-env-1".into()],
            configs: vec!["echo-server-health-1".into()],
            ..Default::default()
        };
        let a = server_update(&s, &n, &old, &server(Some("echo-server-env-2")), false);
        let settings_at_create = task_settings(&s, &server(None));
        assert_eq!(&a[7..7 + settings_at_create.len()], settings_at_create.as_slice());
        let a: Vec<String> = a[..7].iter().chain(&a[7 + settings_at_create.len()..]).cloned().collect();
        let want: Vec<String> = [
            "service",
            "update",
            "--detach",
            "--image",
            "10.0.0.1:5000/echo@sha256:abc",
            "--replicas",
            "3",
            "--secret-rm",
            "echo-server-env-1",
            "--secret-add",
            "source=echo-server-env-2,target=mcpctl-env,mode=0444",
            "--entrypoint",
            ENV_WRAPPER,
            "--args",
            "python -m echo_server",
            "--with-registry-auth",
            "echo-server-mcp",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(a, want);
    }

    #[test]
    fn secret_names_hash_their_bytes_with_the_salt() {
        let n = Names::of(&settings(|_| {}), "one");
        let m = Names::of(&settings(|_| {}), "two");
        assert_eq!(n.object("env", b"A=1"), n.object("env", b"A=1"));
        assert_ne!(n.object("env", b"A=1"), n.object("env", b"A=2"));
        assert_ne!(n.object("env", b"A=1"), m.object("env", b"A=1"));
        assert!(n.object("token", b"x").starts_with("echo-server-token-"));
    }

    #[test]
    fn the_front_is_the_one_published_service_pinned_to_the_manager() {
        let s = settings(|_| {});
        let n = Names::of(&s, "salt");
        let f = FrontSpec {
            image: "r/x@sha256:f".into(),
            port: 19000,
            node_id: "node1".into(),
            config: "c1".into(),
            lua: "l1".into(),
            token_secret: Some("t1".into()),
            tls_secret: None,
        };
        let a = front_create(&s, &n, &f);
        let want: Vec<String> = [
            "service",
            "create",
            "--detach",
            "--name",
            "echo-server-front",
            "--label",
            "io.mcpctl.project=echo-server",
            "--label",
            "io.mcpctl.project-dir=/p",
            "--label",
            "io.mcpctl.front=echo-server-front",
            "--network",
            "echo-server-net",
            "--replicas",
            "1",
            "--constraint",
            "node.id==node1",
            "--publish",
            "mode=host,target=8080,published=19000,protocol=tcp",
            "--update-order",
            "stop-first",
            "--stop-grace-period",
            "5s",
            "--cap-drop",
            "ALL",
            "--config",
            "source=c1,target=/usr/local/etc/haproxy/haproxy.cfg,mode=0444",
            "--config",
            "source=l1,target=/usr/local/etc/haproxy/mcp_sse.lua,mode=0444",
            "--secret",
            "source=t1,target=mcpctl-token,mode=0444",
            "--with-registry-auth",
            "r/x@sha256:f",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(a, want);
        let old = Service {
            configs: vec!["c0".into(), "l1".into()],
            secrets: vec!["t0".into()],
            ..Default::default()
        };
        let u = front_update(&n, &old, &f);
        assert_eq!(
            u,
            [
                "service",
                "update",
                "--detach",
                "--image",
                "r/x@sha256:f",
                "--config-rm",
                "c0",
                "--config-rm",
                "l1",
                "--secret-rm",
                "t0",
                "--config-add",
                "source=c1,target=/usr/local/etc/haproxy/haproxy.cfg,mode=0444",
                "--config-add",
                "source=l1,target=/usr/local/etc/haproxy/mcp_sse.lua,mode=0444",
                "--secret-add",
                "source=t1,target=mcpctl-token,mode=0444",
                "--with-registry-auth",
                "echo-server-front",
            ]
            .map(String::from)
        );
    }

    #[test]
    fn the_wrapper_is_one_shell_line_the_client_splits_into_three_words() {
        assert!(ENV_WRAPPER.starts_with("/bin/sh -c '") && ENV_WRAPPER.ends_with("' mcpctl-env"));
        assert_eq!(shell_join(&["python".into(), "-m".into(), "my server".into()]), "python -m 'my server'");
    }
}
