//! What an engine's non-zero exit means, read from its own words, and the checked engine call:
//! a non-zero exit is an [`EngineError`] that keeps the process error (argv as a shell line,
//! status, stdout, stderr) and says what it means, so a caller accepts the outcomes it expects by
//! name ("no such container") and every other one is raised. Error texts and per-engine fixes
//! live here and nowhere else.

use std::fmt;

use crate::error::Explained;
use crate::process::{Cmd, Output, ProcessError};

use super::{Engine, EngineKind};

/// What a failed engine call means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The daemon or service cannot be reached.
    Unreachable,
    /// The container (every one named) does not exist.
    NoSuchContainer,
    NoSuchImage,
    NoSuchVolume,
    /// `run` could not bind the host port.
    PortTaken,
    /// `run`/`create`/`rename`: a container has that name already.
    NameTaken,
    /// `pull`: the registry cannot be reached (no network, its name does not resolve).
    RegistryUnreachable,
    /// `pull`: the registry has no such image or refuses it (podman: a short name no registry
    /// is configured to resolve).
    NotInRegistry,
    /// Build secrets need BuildKit, and this docker client has it only with the buildx plugin.
    NeedsBuildx,
    Other,
}

impl Failure {
    /// Read the engine's output (stderr, or a build's merged output).
    pub(crate) fn of(text: &str) -> Failure {
        if is_unreachable(text) {
            Failure::Unreachable
        } else if only_missing_containers(text) {
            Failure::NoSuchContainer
        } else if is_no_such_image(text) {
            Failure::NoSuchImage
        } else if is_no_such_volume(text) {
            Failure::NoSuchVolume
        } else if is_port_taken(text) {
            Failure::PortTaken
        } else if is_name_taken(text) {
            Failure::NameTaken
        } else if is_registry_unreachable(text) {
            Failure::RegistryUnreachable
        } else if is_not_in_registry(text) {
            Failure::NotInRegistry
        } else if text.contains("buildx component is missing") {
            Failure::NeedsBuildx
        } else {
            Failure::Other
        }
    }
}

/// An engine call that exited non-zero, and what that means.
#[derive(Debug)]
pub(crate) struct EngineError {
    pub(crate) failure: Failure,
    pub(crate) process: ProcessError,
    kind: EngineKind,
    /// The other machine the engine is on (`ssh://…`), if it is not this one.
    on: Option<String>,
}

impl EngineError {
    /// The engine's own words: its last meaningful stderr line.
    pub(crate) fn reason(&self) -> String {
        self.process.reason()
    }
}

impl fmt::Display for EngineError {
    /// One line: the engine's reason, with the fix when it is not running. The shell line is in
    /// `process` (shown with `-v`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.failure, &self.on) {
            (Failure::Unreachable, Some(host)) => write!(
                f,
                "{} on {host} is not running: {}; start it there ({}) and try again",
                self.kind.name(),
                self.reason(),
                remote_start(self.kind)
            ),
            (Failure::Unreachable, None) => write!(
                f,
                "{} is not running: {}; {} and try again",
                self.kind.name(),
                self.reason(),
                unreachable_fix(self.kind)
            ),
            (Failure::NeedsBuildx, _) => write!(f, "{}", needs_buildx()),
            _ => f.write_str(&self.reason()),
        }
    }
}

impl std::error::Error for EngineError {}

/// A build with secrets on a docker client without BuildKit: the setup is at fault, not the run
/// (exit 2).
pub(crate) fn needs_buildx() -> Explained {
    Explained::usage("build secrets need BuildKit, and this docker client has it only with the buildx plugin").fix(
        "install docker-buildx, use a client with BuildKit built in (--engine /usr/bin/docker on Debian 12), or build \
         with podman",
    )
}

fn remote_start(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Podman => "systemctl enable --now podman.socket",
        _ => "systemctl start docker",
    }
}

/// No engine socket at `socket` on the host `label` (`ssh://…`) reached as `destination`.
pub(crate) fn not_running_there(
    kind: EngineKind,
    label: &str,
    destination: &str,
    socket: &str,
) -> anyhow::Error {
    let start = match kind {
        EngineKind::Podman => {
            "start its service there (systemctl enable --now podman.socket, or `podman system service --time=0`)"
        }
        _ => "start it there (systemctl start docker)",
    };
    anyhow::Error::new(
        Explained::new(format!("{} on {label} is not running", kind.name()))
            .why(format!("no socket at {socket} there"))
            .fix(format!(
                "{start}, or name its socket in the URL: --host ssh://{destination}/path/to/socket"
            )),
    )
}

fn unreachable_fix(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => "start dockerd (systemctl start docker, or run `dockerd` as root)",
        EngineKind::Podman => "check `podman info` and `podman system connection list`",
        EngineKind::Nerdctl => "start containerd (systemctl start containerd)",
    }
}

impl Engine {
    /// Run `cmd` captured. A non-zero exit is an [`EngineError`] in the returned error's chain;
    /// a program that cannot be started is a [`ProcessError`]; Ctrl-C is `Interrupted`.
    pub(crate) fn run(&self, cmd: &Cmd) -> anyhow::Result<Output> {
        match cmd.checked() {
            Ok(out) => Ok(out),
            Err(e) => Err(match e.downcast::<ProcessError>() {
                Ok(pe) if pe.spawn_error.is_none() => {
                    let failure = Failure::of(&pe.stderr);
                    anyhow::Error::new(EngineError {
                        failure,
                        process: pe,
                        kind: self.kind,
                        on: self.host.label(),
                    })
                }
                Ok(pe) => anyhow::Error::new(pe),
                Err(other) => other,
            }),
        }
    }

    /// `run` the argv `args`.
    pub(crate) fn call<I, S>(&self, args: I) -> anyhow::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        self.run(&self.cmd(args))
    }

    /// `run`, with the failures the caller expects handed back instead of raised.
    pub(crate) fn run_expecting(
        &self,
        cmd: &Cmd,
        expected: &[Failure],
    ) -> anyhow::Result<Result<Output, EngineError>> {
        match self.run(cmd) {
            Ok(out) => Ok(Ok(out)),
            Err(e) => match e.downcast::<EngineError>() {
                Ok(ee) if expected.contains(&ee.failure) => Ok(Err(ee)),
                Ok(ee) => Err(anyhow::Error::new(ee)),
                Err(other) => Err(other),
            },
        }
    }

    /// `run_expecting` the argv `args`.
    pub(crate) fn call_expecting<I, S>(
        &self,
        args: I,
        expected: &[Failure],
    ) -> anyhow::Result<Result<Output, EngineError>>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        self.run_expecting(&self.cmd(args), expected)
    }
}

/// The engine's own words for `err` (its last stderr line), or the error itself.
pub(crate) fn engine_reason(err: &anyhow::Error) -> String {
    match err.chain().find_map(|c| c.downcast_ref::<EngineError>()) {
        Some(e) => e.reason(),
        None => format!("{err:#}"),
    }
}

/// The shell line of the engine call behind `err`, if one failed (for `-v`).
pub(crate) fn failed_call(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|c| c.downcast_ref::<EngineError>()).map(|e| {
        let status = e.process.code.map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into());
        format!("{} ({status})", e.process.cmd)
    })
}

// ---- the engines' words ---------------------------------------------------------------------------

/// `container inspect` of a name that does not exist (docker: "No such container", podman: "no
/// such container", older: "No such object").
/// A swarm service that does not exist: `service inspect` says "Error: no such service: X",
/// `service ps` "no such service: X" (fixtures/engine-outputs/swarm).
pub fn is_no_such_service(stderr: &str) -> bool {
    stderr.to_ascii_lowercase().contains("no such service")
}

pub fn is_no_such_container(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container") || s.contains("no such object")
}

/// `container inspect A B` failed only because some of them do not exist: every line of
/// stderr says so (podman prefixes the later ones with "error inspecting object").
pub fn only_missing_containers(stderr: &str) -> bool {
    let mut lines = stderr.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some() && lines.all(is_no_such_container)
}

/// An image that is not there (docker: "No such image", podman: "image not known"; `run --pull
/// never`: "unable to find image").
pub(crate) fn is_no_such_image(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such image") || s.contains("image not known") || s.contains("unable to find image")
}

/// A volume that is not there (docker: "no such volume", podman: "no such volume").
pub(crate) fn is_no_such_volume(stderr: &str) -> bool {
    stderr.to_ascii_lowercase().contains("no such volume")
}

/// The engine's daemon or service cannot be reached.
pub fn is_unreachable(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("cannot connect to the docker daemon")
        || s.contains("is the docker daemon running")
        || s.contains("error during connect")
        || s.contains("cannot connect to podman")
        || s.contains("unable to connect to podman")
        || s.contains("failed to connect to containerd")
        || (s.contains("permission denied") && s.contains(".sock"))
        || (s.contains("connection refused") && s.contains(".sock"))
        || (s.contains("no such file or directory") && s.contains(".sock"))
}

/// `run` failed because the host port is taken (docker: "port is already allocated"; podman and
/// nerdctl: "address already in use").
pub fn is_port_taken(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("port is already allocated") || s.contains("address already in use")
}

/// A pull that never reached its registry (docker: "dial tcp: lookup registry.example ...:
/// no such host"; podman: "pinging container registry ...").
pub(crate) fn is_registry_unreachable(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("pinging container registry")
        || s.contains("dial tcp")
        || s.contains("no such host")
        || s.contains("i/o timeout")
        || s.contains("tls handshake timeout")
        || s.contains("network is unreachable")
        || s.contains("temporary failure in name resolution")
}

/// A pull the registry answered with no image (docker: "pull access denied ... repository does
/// not exist", "manifest unknown", "not found"; podman: "manifest unknown", or a short name
/// that "did not resolve to an alias and no unqualified-search registries are defined").
pub(crate) fn is_not_in_registry(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("manifest unknown")
        || s.contains("pull access denied")
        || s.contains("repository does not exist")
        || s.contains("requested access to the resource is denied")
        || (s.contains("manifest for") && s.contains("not found"))
        || s.contains("did not resolve to an alias")
        || s.contains("short-name resolution enforced")
}

/// `run` failed because the container name exists.
pub fn is_name_taken(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("is already in use") && s.contains("name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        assert!(is_no_such_container("Error: No such container: x"));
        assert!(is_no_such_container("Error: no such container x"));
        assert!(is_unreachable(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        ));
        assert!(is_port_taken(
            "docker: Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:19000 failed: port is already allocated."
        ));
        assert!(!is_port_taken("Error: no such image"));
        assert_eq!(Failure::of("Error: x: image not known"), Failure::NoSuchImage);
        assert_eq!(
            Failure::of("Error response from daemon: No such container: a\n"),
            Failure::NoSuchContainer
        );
        assert_eq!(Failure::of("Error response from daemon: get v: no such volume"), Failure::NoSuchVolume);
        assert_eq!(
            Failure::of("ERROR: BuildKit is enabled but the buildx component is missing or broken."),
            Failure::NeedsBuildx
        );
        assert_eq!(Failure::of("something else"), Failure::Other);
        // Pulls with no registry at hand, as docker 20.10 and podman 4.3 word them.
        assert_eq!(
            Failure::of(
                "Error response from daemon: Get \"https://registry.example/v2/\": dial tcp: lookup registry.example on 10.255.255.53:53: no such host"
            ),
            Failure::RegistryUnreachable
        );
        assert_eq!(
            Failure::of(
                "Error: initializing source docker://haproxy:2.6: pinging container registry registry.example: Get \"https://registry.example/v2/\": dial tcp: lookup registry.example: no such host"
            ),
            Failure::RegistryUnreachable
        );
        assert_eq!(
            Failure::of(
                "Error: short-name \"haproxy:2.6\" did not resolve to an alias and no unqualified-search registries are defined in \"/etc/containers/registries.conf\""
            ),
            Failure::NotInRegistry
        );
        assert_eq!(
            Failure::of(
                "Error response from daemon: pull access denied for some-missing, repository does not exist or may require 'docker login'"
            ),
            Failure::NotInRegistry
        );
    }

    fn engine() -> Engine {
        Engine {
            kind: EngineKind::Docker,
            program: "sh".into(),
            version: String::new(),
            host: Default::default(),
        }
    }

    #[test]
    fn a_non_zero_exit_is_the_error_and_expected_ones_come_back() {
        let e = engine();
        let missing = ["-c", "echo '[]'; echo 'Error: No such container: x' >&2; exit 1"];
        let err = e.call(missing).unwrap_err();
        let ee = err.downcast_ref::<EngineError>().unwrap();
        assert_eq!(ee.failure, Failure::NoSuchContainer);
        assert_eq!(ee.process.code, Some(1));
        assert_eq!(ee.process.stdout, "[]\n");
        assert!(ee.process.cmd.starts_with("sh -c "), "{}", ee.process.cmd);
        assert_eq!(err.to_string(), "Error: No such container: x");
        // Expected: handed back with its output.
        let back = e.call_expecting(missing, &[Failure::NoSuchContainer]).unwrap().unwrap_err();
        assert_eq!(back.process.stdout, "[]\n");
        // Not expected: raised.
        assert!(e.call_expecting(missing, &[Failure::NoSuchImage]).is_err());
        assert_eq!(e.call(["-c", "echo ok"]).unwrap().stdout, "ok\n");
        let down = e
            .call(["-c", "echo 'Cannot connect to the Docker daemon at unix:///x.sock' >&2; exit 1"])
            .unwrap_err();
        assert!(down.to_string().starts_with("docker is not running: Cannot connect"), "{down}");
        assert!(failed_call(&down).unwrap().ends_with("(exit 1)"));
    }
}
