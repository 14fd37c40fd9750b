//! The argv of every engine call, per engine kind: vectors, never shell strings.

use crate::config::{LABEL_DIGEST, LABEL_DIR, LABEL_FRONT, LABEL_PORT, LABEL_PROJECT, Settings};
use crate::dockerignore::Semantics;
use crate::process::Cmd;

use super::{Engine, EngineKind};

/// What `build` needs beyond the settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildOptions {
    pub(crate) no_cache: bool,
    /// Tags for the image; empty means the settings' image (publish tags REGISTRY:N and :latest).
    pub(crate) tags: Vec<String>,
    pub(crate) platform: Option<String>,
    /// The digest of the build's inputs, kept as a label on the image (digest.rs).
    pub(crate) digest: Option<String>,
}

/// What `run` (or `create`) needs beyond the settings.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) host_port: u16,
    /// Container name; the settings' name except for the new container of a swap.
    pub(crate) name: String,
    /// Image reference or id; the settings' image except when rolling back.
    pub(crate) image: String,
    /// `create` instead of `run -d`: a swap makes the new container while the old one serves.
    pub(crate) create_only: bool,
    /// Behind the front: on its network, publishing nothing (the front publishes the port).
    pub(crate) network: Option<String>,
}

impl RunOptions {
    pub(crate) fn new(s: &Settings, host_port: u16) -> RunOptions {
        RunOptions {
            host_port,
            name: s.container.clone(),
            image: s.image.clone(),
            create_only: false,
            network: None,
        }
    }
}

/// What `run` of a front needs.
#[derive(Debug, Clone)]
pub(crate) struct FrontRun {
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) network: String,
    /// `ADDR:PORT` on the host, and the port the front listens on inside.
    pub(crate) publish: String,
    pub(crate) listen: u16,
    /// Host directories: the config (read-only) and the runtime socket's.
    pub(crate) config_dir: String,
    pub(crate) socket_dir: String,
    /// `UID:GID` that owns those directories: the front runs as it, so it reads the 0600 files
    /// and its socket is mcpctl's to open.
    pub(crate) user: String,
}

/// Where a front's directories are mounted: the official image's config directory.
pub(crate) const FRONT_CONFIG_IN: &str = "/usr/local/etc/haproxy";
pub(crate) const FRONT_SOCKET_IN: &str = "/var/run/mcpctl-front";

impl Engine {
    pub(crate) fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        let remote =
            self.host.engine_socket().map(|s| self.kind.remote_socket_args(&s.display().to_string()));
        Cmd::new(&self.program).args(remote.unwrap_or_default()).args(args)
    }

    pub(crate) fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub(crate) fn build_args(&self, s: &Settings, o: &BuildOptions) -> Vec<String> {
        let mut a: Vec<String> = vec!["build".into()];
        if self.kind.build_needs_docker_format() {
            a.extend(["--format".into(), "docker".into()]);
        }
        if self.kind == EngineKind::Docker {
            // The legacy builder leaves a failed step's container behind unless told otherwise.
            a.push("--force-rm".into());
        }
        if let Some(p) = &o.platform {
            a.extend(["--platform".into(), p.clone()]);
        }
        if o.tags.is_empty() {
            a.extend(["-t".into(), s.image.clone()]);
        }
        for t in &o.tags {
            a.extend(["-t".into(), t.clone()]);
        }
        a.extend(["-f".into(), s.dockerfile.display().to_string()]);
        for (k, v) in build_labels(s) {
            a.extend(["--label".into(), format!("{k}={v}")]);
        }
        if let Some(d) = &o.digest {
            a.extend(["--label".into(), format!("{LABEL_DIGEST}={d}")]);
        }
        for (k, v) in &s.build_args {
            a.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
        for (id, file) in &s.build_secrets {
            a.extend(["--secret".into(), format!("id={id},src={}", file.display())]);
        }
        if o.no_cache {
            a.push("--no-cache".into());
        }
        a.push(s.context.display().to_string());
        a
    }

    /// Whose ignore-file rules decide what the build context holds (dockerignore.rs). A docker
    /// client of 23 or later builds with BuildKit when the buildx plugin is there and with the
    /// legacy builder when not, and nerdctl always with BuildKit: what either would send counts.
    pub(crate) fn context_semantics(&self, s: &Settings) -> Vec<Semantics> {
        let buildkit_forced = !self.build_env(s).is_empty();
        match self.kind {
            EngineKind::Podman => vec![Semantics::Podman],
            EngineKind::Docker if self.client_major() == Some(20) => {
                vec![if buildkit_forced { Semantics::Docker20BuildKit } else { Semantics::Docker20Legacy }]
            }
            EngineKind::Docker | EngineKind::Nerdctl => {
                vec![Semantics::DockerLegacy, Semantics::Docker20BuildKit]
            }
        }
    }

    /// The client's major version, from its `--version` line ("Docker version 28.2.2, ...").
    fn client_major(&self) -> Option<u32> {
        let v = self.version.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
        v.split('.').next()?.parse().ok()
    }

    /// Environment for `build`: docker's legacy builder cannot mount secrets, so BuildKit is
    /// asked for when there are any (the client needs it built in, or the buildx plugin).
    pub(crate) fn build_env(&self, s: &Settings) -> Vec<(&'static str, &'static str)> {
        if self.kind == EngineKind::Docker && !s.build_secrets.is_empty() {
            vec![("DOCKER_BUILDKIT", "1")]
        } else {
            Vec::new()
        }
    }

    pub(crate) fn run_args(&self, s: &Settings, o: &RunOptions) -> Vec<String> {
        let mut a: Vec<String> =
            if o.create_only { vec!["create".into()] } else { vec!["run".into(), "-d".into()] };
        a.extend(["--name".into(), o.name.clone()]);
        a.extend(["--label".into(), format!("{LABEL_PROJECT}={}", s.name)]);
        a.extend(["--label".into(), format!("{LABEL_PORT}={}", o.host_port)]);
        a.extend(["--label".into(), format!("{LABEL_DIR}={}", s.project_dir.display())]);
        match &o.network {
            Some(net) => a.extend(["--network".into(), net.clone()]),
            None => a.extend(["-p".into(), publish_spec(s, o.host_port)]),
        }
        // Names only: the values reach the engine client through its environment (`run_cmd`), so
        // no API key shows in argv, `ps` or a `-v` line.
        for k in s.env.keys() {
            a.extend(["-e".into(), k.clone()]);
        }
        if let Some(f) = &s.env_file {
            a.extend(["--env-file".into(), f.display().to_string()]);
        }
        for v in &s.volumes {
            a.extend(["-v".into(), format!("{}:{}", v.name, v.path)]);
        }
        a.extend(["--restart".into(), s.restart.clone()]);
        if s.init && self.kind.supports_init() {
            a.push("--init".into());
        }
        // The image was built here; never let a missing one turn into a registry pull.
        a.extend(["--pull".into(), "never".into()]);
        a.push(o.image.clone());
        a
    }

    /// `run`/`create` with the container's environment given to the engine client: every
    /// engine reads `-e KEY` without a value from its own environment.
    pub(crate) fn run_or_create(&self, s: &Settings, o: &RunOptions) -> Cmd {
        let mut cmd = self.cmd(self.run_args(s, o));
        for (k, v) in run_env(s, o.host_port) {
            cmd = cmd.secret_env(k, v);
        }
        cmd
    }

    /// The front's container: HAProxy in master-worker mode on its config file, restarted by the
    /// engine if it dies, without capabilities (it binds an unprivileged port as a plain user).
    pub(crate) fn front_run_args(&self, f: &FrontRun) -> Vec<String> {
        let mut a: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), f.name.clone()];
        a.extend(["--label".into(), format!("{LABEL_FRONT}={}", f.name)]);
        a.extend(["--network".into(), f.network.clone(), "-p".into(), format!("{}:{}", f.publish, f.listen)]);
        a.extend(["--user".into(), f.user.clone(), "--cap-drop".into(), "ALL".into()]);
        a.extend(["-v".into(), format!("{}:{FRONT_CONFIG_IN}:ro", f.config_dir)]);
        a.extend(["-v".into(), format!("{}:{FRONT_SOCKET_IN}", f.socket_dir)]);
        a.extend(["--restart".into(), "unless-stopped".into()]);
        // The official image is pulled when it is not here yet.
        a.extend(["--pull".into(), "missing".into(), f.image.clone()]);
        a.extend(["-f".into(), format!("{FRONT_CONFIG_IN}/haproxy.cfg")]);
        a
    }

    /// HAProxy's own check of the front's config in a container of its own (`haproxy -c`), for
    /// a front that does not run yet.
    pub(crate) fn front_check_args(&self, f: &FrontRun) -> Vec<String> {
        let mut a: Vec<String> = vec!["run".into(), "--rm".into(), "--network".into(), "none".into()];
        a.extend(["--user".into(), f.user.clone(), "--cap-drop".into(), "ALL".into()]);
        a.extend(["-v".into(), format!("{}:{FRONT_CONFIG_IN}:ro", f.config_dir)]);
        // The OAuth key files and maps the config names are in the run directory.
        a.extend(["-v".into(), format!("{}:{FRONT_SOCKET_IN}:ro", f.socket_dir)]);
        a.extend(["--pull".into(), "missing".into(), f.image.clone()]);
        a.extend(["-c".into(), "-f".into(), format!("{FRONT_CONFIG_IN}/haproxy.cfg")]);
        a
    }

    pub(crate) fn network_create_args(&self, network: &str) -> Vec<String> {
        vec![
            "network".into(),
            "create".into(),
            "--label".into(),
            format!("{LABEL_FRONT}={network}"),
            network.into(),
        ]
    }

    pub(crate) fn network_rm_args(&self, network: &str) -> Vec<String> {
        vec!["network".into(), "rm".into(), network.into()]
    }

    pub(crate) fn network_inspect_args(&self, network: &str) -> Vec<String> {
        vec!["network".into(), "inspect".into(), network.into()]
    }

    /// A signal to a container's main process (SIGUSR2: HAProxy's master reloads its config).
    pub(crate) fn kill_args(&self, container: &str, signal: &str) -> Vec<String> {
        vec!["kill".into(), "--signal".into(), signal.into(), container.into()]
    }

    pub(crate) fn exec_args(&self, container: &str, cmd: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec!["exec".into(), container.into()];
        a.extend(cmd.iter().map(|c| c.to_string()));
        a
    }

    /// Every front mcpctl made on this engine.
    pub(crate) fn ps_fronts_args(&self) -> Vec<String> {
        let format = if self.kind.ps_prints_array() { "json" } else { "{{json .}}" };
        vec![
            "ps".into(),
            "-a".into(),
            "--filter".into(),
            format!("label={LABEL_FRONT}"),
            "--format".into(),
            format.into(),
        ]
    }

    pub(crate) fn start_args(&self, container: &str) -> Vec<String> {
        vec!["start".into(), container.into()]
    }

    pub(crate) fn rename_args(&self, from: &str, to: &str) -> Vec<String> {
        vec!["rename".into(), from.into(), to.into()]
    }

    pub(crate) fn tag_args(&self, source: &str, target: &str) -> Vec<String> {
        vec!["tag".into(), source.into(), target.into()]
    }

    pub(crate) fn image_id_args(&self, image: &str) -> Vec<String> {
        vec!["image".into(), "inspect".into(), "--format".into(), "{{.Id}}".into(), image.into()]
    }

    /// The ids of several images at once, one line each, in order (fails if one is missing).
    pub(crate) fn image_ids_args(&self, images: &[String]) -> Vec<String> {
        let mut a: Vec<String> = vec!["image".into(), "inspect".into(), "--format".into(), "{{.Id}}".into()];
        a.extend(images.iter().cloned());
        a
    }

    /// The ids and labels of several images, a line each, in order (fails if one is missing).
    pub(crate) fn images_args(&self, images: &[String]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "image".into(),
            "inspect".into(),
            "--format".into(),
            "{{.Id}} {{json .Config.Labels}}".into(),
        ];
        a.extend(images.iter().cloned());
        a
    }

    /// The whole description of an image (id and labels).
    pub(crate) fn image_inspect_args(&self, image: &str) -> Vec<String> {
        vec!["image".into(), "inspect".into(), image.into()]
    }

    /// The whole descriptions of several images, in one JSON array (their layers and configs).
    pub(crate) fn images_inspect_args(&self, images: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec!["image".into(), "inspect".into()];
        a.extend(images.iter().map(|i| i.to_string()));
        a
    }

    /// Push; podman needs `--tls-verify=false` for a plain-HTTP registry on this host (docker
    /// treats 127.0.0.0/8 as insecure by itself).
    pub(crate) fn push_args(&self, image: &str) -> Vec<String> {
        let mut a: Vec<String> = vec!["push".into()];
        let host = image.split('/').next().unwrap_or("");
        let local = host.starts_with("127.") || host.starts_with("localhost");
        if self.kind == EngineKind::Podman && local && image.contains('/') {
            a.push("--tls-verify=false".into());
        }
        a.push(image.into());
        a
    }

    /// Pull, with the same plain-HTTP rule as `push_args`.
    pub(crate) fn pull_args(&self, image: &str) -> Vec<String> {
        let mut a = self.push_args(image);
        a[0] = "pull".into();
        a
    }

    pub(crate) fn volume_rm_args(&self, volume: &str) -> Vec<String> {
        vec!["volume".into(), "rm".into(), volume.into()]
    }

    pub(crate) fn inspect_args(&self, container: &str) -> Vec<String> {
        self.inspect_many_args(&[container])
    }

    pub(crate) fn inspect_many_args(&self, containers: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec!["container".into(), "inspect".into()];
        a.extend(containers.iter().map(|c| c.to_string()));
        a
    }

    /// Every container mcpctl made on this engine.
    pub(crate) fn ps_args(&self) -> Vec<String> {
        let format = if self.kind.ps_prints_array() { "json" } else { "{{json .}}" };
        vec![
            "ps".into(),
            "-a".into(),
            "--filter".into(),
            format!("label={LABEL_PROJECT}"),
            "--format".into(),
            format.into(),
        ]
    }

    pub(crate) fn stop_args(&self, container: &str, timeout: u32) -> Vec<String> {
        vec!["stop".into(), "-t".into(), timeout.to_string(), container.into()]
    }

    pub(crate) fn rm_args(&self, container: &str) -> Vec<String> {
        vec!["rm".into(), container.into()]
    }

    /// `rm -f`: only ever for a container mcpctl itself just created.
    pub(crate) fn force_rm_args(&self, container: &str) -> Vec<String> {
        vec!["rm".into(), "-f".into(), container.into()]
    }

    pub(crate) fn rmi_args(&self, image: &str) -> Vec<String> {
        vec!["rmi".into(), image.into()]
    }

    pub(crate) fn logs_args(&self, container: &str, follow: bool, tail: Option<u32>) -> Vec<String> {
        let mut a: Vec<String> = vec!["logs".into()];
        if follow {
            a.push("-f".into());
        }
        if let Some(n) = tail {
            a.extend(["--tail".into(), n.to_string()]);
        }
        a.push(container.into());
        a
    }

    pub(crate) fn volume_inspect_args(&self, volume: &str) -> Vec<String> {
        vec!["volume".into(), "inspect".into(), volume.into()]
    }
}

/// The labels every build of the project sets.
pub(crate) fn build_labels(s: &Settings) -> Vec<(String, String)> {
    vec![(LABEL_PROJECT.to_string(), s.name.clone())]
}

/// The container's environment; `{port}` in a value stands for the published host port and
/// `{host}` for the name clients reach the host by, so
/// MCP_ALLOWED_HOSTS can follow it.
pub(crate) fn run_env(s: &Settings, host_port: u16) -> Vec<(String, String)> {
    s.env
        .iter()
        .map(|(k, v)| {
            (k.clone(), v.replace("{port}", &host_port.to_string()).replace("{host}", &s.host_name))
        })
        .collect()
}

fn publish_spec(s: &Settings, host_port: u16) -> String {
    match s.publish_address {
        std::net::IpAddr::V6(a) => format!("[{a}]:{host_port}:{}", s.container_port),
        std::net::IpAddr::V4(a) => format!("{a}:{host_port}:{}", s.container_port),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::{Overrides, ProjectFiles, resolve};

    fn settings() -> Settings {
        settings_with(|_| {})
    }

    /// The settings with the project's changed first (Settings are never changed once made).
    fn settings_with(change: impl FnOnce(&mut crate::config::Project)) -> Settings {
        let files = ProjectFiles { project_name: Some("echo-server".into()), ..Default::default() };
        let o =
            Overrides { build_args: vec![("PYTHON_IMAGE".into(), "base:1".into())], ..Default::default() };
        let mut project = resolve(Path::new("/p"), &files, &o).unwrap();
        change(&mut project);
        Settings::resolve(project, Path::new("/h"), &Default::default())
    }

    fn engine(kind: EngineKind) -> Engine {
        Engine { kind, program: PathBuf::from(kind.name()), version: String::new(), host: Default::default() }
    }

    #[test]
    fn build_argv_per_engine() {
        let s = settings();
        let o = BuildOptions::default();
        let docker = engine(EngineKind::Docker).build_args(&s, &o);
        assert_eq!(
            docker,
            [
                "build",
                "--force-rm",
                "-t",
                "echo-server-mcp",
                "-f",
                "/p/Dockerfile",
                "--label",
                "io.mcpctl.project=echo-server",
                "--build-arg",
                "PYTHON_IMAGE=base:1",
                "/p/."
            ]
        );
        let podman = engine(EngineKind::Podman).build_args(&s, &o);
        assert_eq!(&podman[..3], ["build", "--format", "docker"]);
        assert_eq!(&podman[3..], &docker[2..]);
        let nerdctl = engine(EngineKind::Nerdctl).build_args(&s, &o);
        assert_eq!(nerdctl[0], "build");
        assert_eq!(&nerdctl[1..], &docker[2..]);
    }

    #[test]
    fn run_argv_keeps_docker_py_names_and_publishes_on_localhost() {
        let s = settings();
        let a = engine(EngineKind::Docker).run_args(&s, &RunOptions::new(&s, 19000));
        assert_eq!(
            a,
            [
                "run",
                "-d",
                "--name",
                "echo-server-mcp",
                "--label",
                "io.mcpctl.project=echo-server",
                "--label",
                "io.mcpctl.port=19000",
                "--label",
                "io.mcpctl.project-dir=/p",
                "-p",
                "127.0.0.1:19000:3001",
                "-e",
                "LOG_LEVEL",
                "-e",
                "PORT",
                "-v",
                "echo-server-mcp_data:/home/appuser/.echo_server",
                "-v",
                "echo-server-mcp_config:/home/appuser/.config/echo_server",
                "-v",
                "echo-server-mcp_logs:/home/appuser/.local/share/echo_server",
                "--restart",
                "unless-stopped",
                "--init",
                "--pull",
                "never",
                "echo-server-mcp"
            ]
        );
        assert_eq!(engine(EngineKind::Podman).run_args(&s, &RunOptions::new(&s, 19000)), a);
        // nerdctl has no --init.
        let n = engine(EngineKind::Nerdctl).run_args(&s, &RunOptions::new(&s, 19000));
        assert_eq!(n, a.iter().filter(|x| *x != "--init").cloned().collect::<Vec<_>>());
        // `{port}` in an env value is the host port.
        let with_hosts = settings_with(|p| {
            p.env.insert("MCP_ALLOWED_HOSTS".into(), "localhost:{port},127.0.0.1:{port}".into());
            p.env.insert("API_TOKEN".into(), "s3cr3t".into());
        });
        let h = engine(EngineKind::Docker).run_or_create(&with_hosts, &RunOptions::new(&with_hosts, 19007));
        let env = h.envs();
        assert!(
            env.contains(&("MCP_ALLOWED_HOSTS".into(), "localhost:19007,127.0.0.1:19007".into())),
            "{env:?}"
        );
        assert!(env.contains(&("API_TOKEN".into(), "s3cr3t".into())), "{env:?}");
        // Values never in argv, nor in the shell line -v prints.
        assert!(h.argv().windows(2).any(|w| w == ["-e", "API_TOKEN"]), "{h}");
        assert!(!h.argv().iter().any(|a| a.contains("s3cr3t") || a.contains("localhost:19007")), "{h}");
        assert!(h.to_string().contains("API_TOKEN=*** ") && !h.to_string().contains("s3cr3t"), "{h}");
        // A swap creates the new container under another name, without starting it.
        let o = RunOptions {
            create_only: true,
            name: "x-next".into(),
            image: "sha256:abc".into(),
            ..RunOptions::new(&s, 19000)
        };
        let c = engine(EngineKind::Docker).run_args(&s, &o);
        assert_eq!(&c[..3], ["create", "--name", "x-next"]);
        assert_eq!(c.last().unwrap(), "sha256:abc");
    }

    #[test]
    fn front_argv_on_every_engine() {
        let f = FrontRun {
            name: "echo-front".into(),
            image: "haproxy:2.6".into(),
            network: "echo-front".into(),
            publish: "127.0.0.1:19443".into(),
            listen: 8443,
            config_dir: "/home/u/.config/mcpctl/fronts/echo-front/config".into(),
            socket_dir: "/home/u/.config/mcpctl/fronts/echo-front/run".into(),
            user: "1000:1000".into(),
        };
        for k in [EngineKind::Docker, EngineKind::Podman, EngineKind::Nerdctl] {
            let e = engine(k);
            assert_eq!(
                e.front_run_args(&f),
                [
                    "run",
                    "-d",
                    "--name",
                    "echo-front",
                    "--label",
                    "io.mcpctl.front=echo-front",
                    "--network",
                    "echo-front",
                    "-p",
                    "127.0.0.1:19443:8443",
                    "--user",
                    "1000:1000",
                    "--cap-drop",
                    "ALL",
                    "-v",
                    "/home/u/.config/mcpctl/fronts/echo-front/config:/usr/local/etc/haproxy:ro",
                    "-v",
                    "/home/u/.config/mcpctl/fronts/echo-front/run:/var/run/mcpctl-front",
                    "--restart",
                    "unless-stopped",
                    "--pull",
                    "missing",
                    "haproxy:2.6",
                    "-f",
                    "/usr/local/etc/haproxy/haproxy.cfg",
                ]
            );
            assert_eq!(
                e.network_create_args("n"),
                ["network", "create", "--label", "io.mcpctl.front=n", "n"]
            );
            assert_eq!(e.network_rm_args("n"), ["network", "rm", "n"]);
            assert_eq!(e.kill_args("f", "USR2"), ["kill", "--signal", "USR2", "f"]);
            assert_eq!(e.exec_args("f", &["haproxy", "-c"]), ["exec", "f", "haproxy", "-c"]);
        }
    }

    #[test]
    fn small_argvs() {
        for k in [EngineKind::Docker, EngineKind::Podman, EngineKind::Nerdctl] {
            let e = engine(k);
            assert_eq!(e.inspect_args("x"), ["container", "inspect", "x"]);
            assert_eq!(e.stop_args("x", 10), ["stop", "-t", "10", "x"]);
            assert_eq!(e.rm_args("x"), ["rm", "x"]);
            assert_eq!(e.push_args("ghcr.io/o/s:2"), ["push", "ghcr.io/o/s:2"]);
            assert_eq!(e.logs_args("x", true, None), ["logs", "-f", "x"]);
            assert_eq!(e.logs_args("x", false, Some(20)), ["logs", "--tail", "20", "x"]);
        }
        assert_eq!(
            engine(EngineKind::Docker).ps_args(),
            ["ps", "-a", "--filter", "label=io.mcpctl.project", "--format", "{{json .}}"]
        );
        assert_eq!(
            engine(EngineKind::Podman).ps_args(),
            ["ps", "-a", "--filter", "label=io.mcpctl.project", "--format", "json"]
        );
    }

    #[test]
    fn build_secrets_are_secrets_never_build_args() {
        let s = settings_with(|p| {
            p.build_secrets.insert("pip_token".into(), PathBuf::from("/p/token.txt"));
        });
        for k in [EngineKind::Docker, EngineKind::Podman] {
            let a = engine(k).build_args(&s, &BuildOptions::default());
            let i = a.iter().position(|x| x == "--secret").unwrap();
            assert_eq!(a[i + 1], "id=pip_token,src=/p/token.txt");
            assert!(!a.iter().any(|x| x.contains("pip_token") && x.starts_with("PIP")));
        }
        assert_eq!(engine(EngineKind::Docker).build_env(&s), [("DOCKER_BUILDKIT", "1")]);
        assert!(engine(EngineKind::Podman).build_env(&s).is_empty());
        assert!(engine(EngineKind::Docker).build_env(&settings()).is_empty());
    }

    #[test]
    fn publish_build_and_push_argv() {
        let s = settings();
        let o = BuildOptions {
            no_cache: true,
            tags: vec!["127.0.0.1:5000/echo:3".into(), "127.0.0.1:5000/echo:latest".into()],
            platform: Some("linux/amd64".into()),
            digest: None,
        };
        let a = engine(EngineKind::Podman).build_args(&s, &o);
        assert_eq!(
            &a[..9],
            [
                "build",
                "--format",
                "docker",
                "--platform",
                "linux/amd64",
                "-t",
                "127.0.0.1:5000/echo:3",
                "-t",
                "127.0.0.1:5000/echo:latest"
            ]
        );
        assert!(a.contains(&"--no-cache".to_string()));
        assert!(!a.contains(&"echo-server-mcp".to_string()));
        assert_eq!(
            engine(EngineKind::Podman).push_args("127.0.0.1:5000/echo:3"),
            ["push", "--tls-verify=false", "127.0.0.1:5000/echo:3"]
        );
        assert_eq!(
            engine(EngineKind::Docker).push_args("127.0.0.1:5000/echo:3"),
            ["push", "127.0.0.1:5000/echo:3"]
        );
    }
}
