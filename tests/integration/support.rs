//! Shared helpers for the integration tests, in the spirit of `just`'s test harness: a [`Test`]
//! is a throw-away directory holding a project, a HOME and a `bin/` dir with a fake engine
//! (tests/fake-engine/engine.sh) that is the only thing on PATH; [`Test::run`] runs the built
//! `mcpctl` there and returns an [`Outcome`]: exit code, stdout, stderr and every argv the fake
//! engine received.
//!
//! The fake engine answers from a scenario dir: [`Test::answer`] gives it a sequence of
//! [`Response`]s per subcommand key (`--version`, `container-inspect`, `container-inspect-next`
//! for `container inspect *-next`, `image-inspect`, `build`, `run`, `create`, `start`, `rm`,
//! `stop`, `rename`, `tag`, `logs`, `ps`, `volume-rm`, ...); the n-th call gets the n-th response
//! and the last one repeats. Responses
//! are usually the real recordings in fixtures/engine-outputs ([`Response::recorded`]), with the
//! recorded container name and port rewritten ([`rec_inspect`]).
//!
//! [`Mcpctl`] is the one way any test runs the binary (fake engine, real engines, init): a clean
//! environment, a throw-away HOME, and an [`Outcome`] back. The real-engine helpers (which engine
//! the e2e tests may use, [`interrupt_at`]) are here too.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const MCPCTL: &str = env!("CARGO_BIN_EXE_mcpctl");

/// How long one mcpctl run may take before the harness kills it and fails the test.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The project name every recording belongs to (`io.mcpctl.project=rec`).
pub const REC_PROJECT: &str = "rec";
/// The container mcpctl derives for [`REC_PROJECT`].
pub const REC_CONTAINER: &str = "rec-mcp";
/// The host port the recordings published rec-running on.
pub const REC_PORT: u16 = 18700;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn recordings_dir() -> PathBuf {
    manifest_dir().join("fixtures/engine-outputs")
}

pub fn fake_engine_dir() -> PathBuf {
    manifest_dir().join("tests/fake-engine")
}

/// The real python3 (not a pyenv shim, which would need the caller's PATH) to run fake_mcp.py.
pub fn python3() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 must be on PATH to run the fake MCP server");
        assert!(out.status.success(), "python3 -c failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

// ---- recorded engine outputs ----------------------------------------------------------------------

/// The three recorded clients (fixtures/engine-outputs/README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Docker28,
    Docker20,
    Podman,
}

impl Client {
    pub const ALL: [Client; 3] = [Client::Docker28, Client::Docker20, Client::Podman];

    pub fn dir(self) -> &'static str {
        match self {
            Client::Docker28 => "docker28",
            Client::Docker20 => "docker20",
            Client::Podman => "podman",
        }
    }

    /// The name the binary has on PATH.
    pub fn program(self) -> &'static str {
        match self {
            Client::Docker28 | Client::Docker20 => "docker",
            Client::Podman => "podman",
        }
    }
}

/// One recorded file, verbatim: `<client>/<case>.<ext>` (ext: stdout, stderr, rc).
pub fn recording(client: Client, case: &str, ext: &str) -> String {
    let p = recordings_dir().join(client.dir()).join(format!("{case}.{ext}"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read recording {}: {e}", p.display()))
}

/// One answer of the fake engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub stdout: String,
    pub stderr: String,
    pub rc: i32,
    /// Start fake_mcp.py on the container's host port: `run`'s `-p`, or for `start NAME` the
    /// `-p` NAME was created with.
    pub serve: bool,
    /// Seconds the fake waits before answering.
    pub sleep: Option<f64>,
}

impl Response {
    pub fn ok(stdout: &str) -> Response {
        Response { stdout: stdout.into(), ..Default::default() }
    }

    pub fn fail(rc: i32, stderr: &str) -> Response {
        Response { stderr: stderr.into(), rc, ..Default::default() }
    }

    /// A recorded case, all three files.
    pub fn recorded(client: Client, case: &str) -> Response {
        let rc = recording(client, case, "rc");
        Response {
            stdout: recording(client, case, "stdout"),
            stderr: recording(client, case, "stderr"),
            rc: rc.trim().parse().unwrap_or_else(|_| panic!("{case}.rc is not a number: {rc:?}")),
            serve: false,
            sleep: None,
        }
    }

    /// Replace text in stdout and stderr; panics when `from` is in neither, so a rewrite that
    /// silently stops matching a re-recorded file fails the test instead of testing nothing.
    pub fn replace(mut self, from: &str, to: &str) -> Response {
        assert!(
            self.stdout.contains(from) || self.stderr.contains(from),
            "rewrite of {from:?}: not in the response {self:?}"
        );
        self.stdout = self.stdout.replace(from, to);
        self.stderr = self.stderr.replace(from, to);
        self
    }

    /// Also start the fake MCP server on the published host port.
    pub fn serving(mut self) -> Response {
        self.serve = true;
        self
    }

    /// Answer only after `secs` seconds.
    pub fn after(mut self, secs: f64) -> Response {
        self.sleep = Some(secs);
        self
    }
}

/// A recorded `container inspect` case (`inspect-healthy`, `-nohc`, `-exited`, ...) rewritten to
/// describe [`REC_CONTAINER`] published on `port` (when the recording has a port).
pub fn rec_inspect(client: Client, case: &str, port: u16) -> Response {
    rec_inspect_as(client, case, port, REC_CONTAINER)
}

/// [`rec_inspect`] describing the container `name` (e.g. `rec-mcp-next`, the new container of
/// a swap), still labelled as project [`REC_PROJECT`]'s.
pub fn rec_inspect_as(client: Client, case: &str, port: u16, name: &str) -> Response {
    let r = Response::recorded(client, case);
    let recorded_name = match serde_json::from_str::<serde_json::Value>(&r.stdout) {
        Ok(v) => v[0]["Name"].as_str().unwrap_or_default().trim_start_matches('/').to_string(),
        Err(_) => String::new(),
    };
    let recorded_name = if recorded_name.is_empty() { "rec-nope".to_string() } else { recorded_name };
    assert!(recorded_name.starts_with("rec-"), "{case}: unexpected recorded name {recorded_name}");
    let r = r.replace(&recorded_name, name);
    let recorded_port = (REC_PORT..REC_PORT + 4).find(|p| r.stdout.contains(&format!("\"{p}\"")));
    match recorded_port {
        Some(p) => r.replace(&format!("\"{p}\""), &format!("\"{port}\"")),
        None => r,
    }
}

/// `container inspect` of a missing [`REC_CONTAINER`], as `client` answers it.
pub fn rec_missing(client: Client) -> Response {
    rec_missing_as(client, REC_CONTAINER)
}

/// `container inspect` of a missing container `name`, as `client` answers it.
pub fn rec_missing_as(client: Client, name: &str) -> Response {
    Response::recorded(client, "inspect-missing").replace("rec-nope", name)
}

// ---- the fake engine ------------------------------------------------------------------------------

/// An image for the fake engine's store: name, id, labels.
pub type StoredImage<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// tests/fake-engine/engine.sh installed in a bin dir, with its scenario dir and argv log.
#[derive(Debug)]
pub struct FakeEngine {
    pub bin: PathBuf,
    pub scenario: PathBuf,
    pub log: PathBuf,
}

impl FakeEngine {
    /// Empty bin dir (no engine yet), empty scenario, empty log.
    pub fn create(root: &Path) -> FakeEngine {
        let fe = FakeEngine {
            bin: root.join("bin"),
            scenario: root.join("scenario"),
            log: root.join("engine-calls.log"),
        };
        std::fs::create_dir_all(&fe.bin).unwrap();
        std::fs::create_dir_all(&fe.scenario).unwrap();
        std::fs::write(&fe.log, "").unwrap();
        fe
    }

    /// Put the fake on PATH as `name` (docker, podman, nerdctl, or anything else).
    pub fn install(&self, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dst = self.bin.join(name);
        std::fs::copy(fake_engine_dir().join("engine.sh"), &dst).unwrap();
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
        dst
    }

    /// Answer calls with `key` with these responses in order (the last repeats). Replaces what
    /// was set for the key before and restarts its count.
    pub fn answer(&self, key: &str, responses: &[Response]) {
        assert!(!responses.is_empty(), "answer({key}): give at least one response");
        for entry in std::fs::read_dir(&self.scenario).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{key}.")) {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        let _ = std::fs::remove_file(self.scenario.join(".calls").join(key));
        for (i, r) in responses.iter().enumerate() {
            let file = |ext: &str| self.scenario.join(format!("{key}.{}.{ext}", i + 1));
            std::fs::write(file("stdout"), &r.stdout).unwrap();
            std::fs::write(file("stderr"), &r.stderr).unwrap();
            std::fs::write(file("rc"), r.rc.to_string()).unwrap();
            if r.serve {
                std::fs::write(file("serve"), "").unwrap();
            }
            if let Some(secs) = r.sleep {
                std::fs::write(file("sleep"), secs.to_string()).unwrap();
            }
        }
    }

    /// Keep an image store (tests/fake-engine/images.py) holding these images (name, id,
    /// labels): `image inspect` and `rmi` answer from it, `build`, `tag` and `rmi` change it.
    pub fn images(&self, images: &[StoredImage]) {
        let mut store = serde_json::Map::new();
        for (name, id, labels) in images {
            let name = if name.rsplit('/').next().unwrap_or(name).contains(':') {
                name.to_string()
            } else {
                format!("{name}:latest")
            };
            let labels: serde_json::Map<String, serde_json::Value> =
                labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
            store.insert(name, serde_json::json!({"id": id, "labels": labels}));
        }
        std::fs::write(self.scenario.join("images.json"), serde_json::Value::Object(store).to_string())
            .unwrap();
    }

    /// Give a stored image these layers (the store keeps none unless told).
    pub fn set_layers(&self, name: &str, layers: &[&str]) {
        let path = self.scenario.join("images.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let key = if name.contains(':') { name.to_string() } else { format!("{name}:latest") };
        v[key]["layers"] = serde_json::json!(layers);
        std::fs::write(path, v.to_string()).unwrap();
    }

    /// What the next builds make: these layers (the engine's cache giving an earlier build's).
    pub fn build_layers(&self, layers: &[&str]) {
        std::fs::write(self.scenario.join("build-layers"), serde_json::json!(layers).to_string()).unwrap();
    }

    /// The id of the stored image (tagged or not) with this label value.
    pub fn image_labelled(&self, label: &str, value: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.scenario.join("images.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.as_object()?
            .values()
            .find(|i| i["labels"][label].as_str() == Some(value))
            .and_then(|i| i["id"].as_str())
            .map(str::to_string)
    }

    /// The id the store has for an image now.
    pub fn image_id(&self, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.scenario.join("images.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let key = if name.contains(':') { name.to_string() } else { format!("{name}:latest") };
        v[key]["id"].as_str().map(str::to_string)
    }

    /// The labels the store has for an image now.
    pub fn image_label(&self, name: &str, label: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.scenario.join("images.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let key = if name.contains(':') { name.to_string() } else { format!("{name}:latest") };
        v[key]["labels"][label].as_str().map(str::to_string)
    }

    /// Every `KEY=VALUE` the fake read from its environment for `-e KEY`, oldest first.
    pub fn env_passed(&self) -> Vec<String> {
        let mut p = self.log.as_os_str().to_owned();
        p.push(".env");
        std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// Every argv the fake received so far, oldest first (without the program name).
    pub fn calls(&self) -> Vec<Vec<String>> {
        parse_call_log(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// The environment the fake needs.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("FAKE_ENGINE_SCENARIO", self.scenario.clone().into()),
            ("FAKE_ENGINE_LOG", self.log.clone().into()),
            ("FAKE_ENGINE_MCP", fake_engine_dir().join("fake_mcp.py").into()),
            ("FAKE_ENGINE_PYTHON", python3().into()),
            ("FAKE_MCP_TIMEOUT", "60".into()),
        ]
    }

    /// Pids of fake MCP servers started by `run`/`start` and not yet stopped by `stop`/`rm`.
    pub fn server_pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.scenario.join("mcp.pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// End the fake MCP servers this engine started (they also end on their own after 60 s).
    pub fn stop_servers(&self) {
        for pid in self.server_pids() {
            let _ = Command::new("kill").arg(pid.to_string()).stderr(Stdio::null()).status();
        }
        let _ = std::fs::write(self.scenario.join("mcp.pids"), "");
        // The per-container lists (engine.sh) name the same pids: forget them too.
        if let Ok(dir) = std::fs::read_dir(self.scenario.join("containers")) {
            for e in dir.flatten() {
                if e.file_name().to_string_lossy().ends_with(".pids") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// The fake's log: one call per line, arguments separated by U+001F.
pub fn parse_call_log(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| if l.is_empty() { Vec::new() } else { l.split('\u{1f}').map(str::to_string).collect() })
        .collect()
}

/// The key the fake answers a call with (see engine.sh).
pub fn call_key(argv: &[String]) -> String {
    match argv.first().map(String::as_str) {
        None => "none".into(),
        Some("container")
            if argv.get(1).map(String::as_str) == Some("inspect")
                && argv.get(2).is_some_and(|n| n.ends_with("-next")) =>
        {
            "container-inspect-next".into()
        }
        Some(first @ ("container" | "image" | "volume" | "network")) => {
            format!("{first}-{}", argv.get(1).map(String::as_str).unwrap_or(""))
        }
        Some(first) => first.to_string(),
    }
}

// ---- the project ------------------------------------------------------------------------------------

/// A minimal Dockerfile; the fake engine never reads it, mcpctl only checks it exists.
pub const DOCKERFILE: &str = "FROM python:3.11-slim\nCMD [\"python\", \"-m\", \"server\"]\n";

pub fn pyproject(name: &str) -> String {
    format!("[project]\nname = \"{name}\"\nversion = \"0.1.0\"\n")
}

// ---- one test: project + HOME + fake engine, and runs of mcpctl ---------------------------------

pub struct Test {
    /// Removed, with everything in it, when the test ends.
    _tmp: TempDir,
    pub root: PathBuf,
    pub project: PathBuf,
    pub home: PathBuf,
    pub engine: FakeEngine,
    env: BTreeMap<String, OsString>,
    cwd: PathBuf,
}

impl Test {
    /// An empty project dir, an empty HOME and an empty bin dir (no engine on PATH).
    pub fn bare() -> Test {
        let tmp = tempfile::Builder::new().prefix("mcpctl-it-").tempdir().unwrap();
        // Canonical, so paths mcpctl prints (it canonicalizes the project dir) compare equal.
        let root = tmp.path().canonicalize().unwrap();
        let project = root.join("project");
        let home = root.join("home");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let engine = FakeEngine::create(&root);
        Test { cwd: project.clone(), _tmp: tmp, root, project, home, engine, env: BTreeMap::new() }
    }

    /// Project `rec` (pyproject.toml + Dockerfile) and `client`'s fake on PATH under its usual
    /// name, answering `--version` as recorded.
    pub fn new(client: Client) -> Test {
        Test::bare().pyproject(REC_PROJECT).dockerfile().engine(client.program(), client)
    }

    /// Install the fake as `name`, answering `--version` with `client`'s recorded version.
    pub fn engine(self, name: &str, client: Client) -> Test {
        self.engine.install(name);
        self.engine.answer("--version", &[Response::recorded(client, "version")]);
        self
    }

    pub fn pyproject(self, name: &str) -> Test {
        self.file("pyproject.toml", &pyproject(name))
    }

    pub fn dockerfile(self) -> Test {
        self.file("Dockerfile", DOCKERFILE)
    }

    /// Write a file relative to the project dir.
    pub fn file(self, rel: &str, text: &str) -> Test {
        let p = self.project.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// Set an environment variable for every run.
    pub fn env(mut self, k: &str, v: impl Into<OsString>) -> Test {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Run mcpctl from this directory instead of the project dir.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Test {
        self.cwd = dir.into();
        self
    }

    /// Give the fake engine a sequence of responses for `key` (see [`FakeEngine::answer`]).
    pub fn answer(&self, key: &str, responses: &[Response]) -> &Test {
        self.engine.answer(key, responses);
        self
    }

    /// The state file mcpctl keeps for a project whose package is `package`.
    pub fn state_file(&self, package: &str) -> PathBuf {
        self.home.join(".config").join(package).join("docker.json")
    }

    /// Run mcpctl with `args` in the project dir. The environment is the test's minus every
    /// MCPCTL_* variable and the color switches, with HOME and PATH (the bin dir only) replaced.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_env(&[], args)
    }

    /// [`Test::run`] with extra environment variables for this run only.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        let before = self.engine.calls().len();
        let mut o = run_command(self.command(env, args), args, RUN_TIMEOUT);
        o.calls = self.engine.calls().split_off(before);
        o
    }

    /// Start mcpctl in the background and send it SIGINT once the fake engine has received a
    /// call with `key` (the fake logs a call before it answers, so the SIGINT lands during it).
    pub fn run_interrupted_during(&self, key: &str, args: &[&str]) -> Outcome {
        let before = self.engine.calls().len();
        let mut child = self.command(&[], args).spawn().expect("cannot start mcpctl");
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let t_out = std::thread::spawn(move || read_all(out));
        let t_err = std::thread::spawn(move || read_all(err));
        let t0 = Instant::now();
        while !self.engine.calls()[before..].iter().any(|c| call_key(c) == key) {
            assert!(t0.elapsed() < RUN_TIMEOUT, "mcpctl never called {key}");
            assert!(child.try_wait().unwrap().is_none(), "mcpctl exited before calling {key}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -INT failed");
        let code = child.wait().unwrap().code().unwrap_or(-1);
        let (stdout, stderr) = (t_out.join().unwrap(), t_err.join().unwrap());
        let calls = self.engine.calls().split_off(before);
        Outcome {
            args: args.iter().map(|s| s.to_string()).collect(),
            code,
            stdout,
            stderr,
            calls,
            took: t0.elapsed(),
        }
    }

    /// Run mcpctl; once a line containing `needle` is on its stdout, call `then` and let the run
    /// finish. For a step that must happen
    /// while mcpctl waits, however long the machine takes to get it there.
    pub fn run_then_at(&self, args: &[&str], needle: &str, then: impl FnOnce()) -> Outcome {
        use std::io::BufRead;
        let before = self.engine.calls().len();
        let t0 = Instant::now();
        let mut child = self.command(&[], args).spawn().expect("cannot start mcpctl");
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let t_err = std::thread::spawn(move || read_all(err));
        let (tx, rx) = std::sync::mpsc::channel();
        let needle_owned = needle.to_string();
        let t_out = std::thread::spawn(move || {
            let mut seen = String::new();
            let mut told = false;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                seen.push_str(&line);
                seen.push('\n');
                if !told && line.contains(&needle_owned) {
                    told = true;
                    let _ = tx.send(());
                }
            }
            seen
        });
        match rx.recv_timeout(RUN_TIMEOUT) {
            Ok(()) => then(),
            Err(_) => {
                let _ = child.kill();
            }
        }
        let code = child.wait().unwrap().code().unwrap_or(-1);
        let (stdout, stderr) = (t_out.join().unwrap(), t_err.join().unwrap());
        assert!(stdout.contains(needle), "mcpctl never printed {needle:?}\n{stdout}\n{stderr}");
        Outcome {
            args: args.iter().map(|s| s.to_string()).collect(),
            code,
            stdout,
            stderr,
            calls: self.engine.calls().split_off(before),
            took: t0.elapsed(),
        }
    }

    /// The command line of one mcpctl run: the fake engine's directory is the whole PATH.
    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut run = Mcpctl::new(&self.home).cwd(&self.cwd).env("PATH", &self.engine.bin);
        for (k, v) in self.engine.env() {
            run = run.env(k, v);
        }
        for (k, v) in &self.env {
            run = run.env(k, v);
        }
        for (k, v) in env {
            run = run.env(k, v);
        }
        run.args(args).command()
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        self.engine.stop_servers();
    }
}

/// One run of mcpctl: a clean environment (no MCPCTL_*, color switches, engine hosts or TERM from
/// the caller), its own HOME, stdin closed, both pipes read.
pub struct Mcpctl {
    cmd: Command,
    args: Vec<String>,
}

impl Mcpctl {
    pub fn new(home: &Path) -> Mcpctl {
        let mut cmd = Command::new(MCPCTL);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("MCPCTL_")
                || k.starts_with("FAKE_")
                || ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "DOCKER_HOST", "CONTAINER_HOST", "TERM"]
                    .contains(&k.as_ref())
            {
                cmd.env_remove(k.as_ref());
            }
        }
        cmd.env("HOME", home).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        Mcpctl { cmd, args: Vec::new() }
    }

    pub fn cwd(mut self, dir: &Path) -> Mcpctl {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, k: impl AsRef<std::ffi::OsStr>, v: impl AsRef<std::ffi::OsStr>) -> Mcpctl {
        self.cmd.env(k, v);
        self
    }

    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Mcpctl {
        for a in args {
            self.cmd.arg(a.as_ref());
            self.args.push(a.as_ref().to_string());
        }
        self
    }

    pub fn command(self) -> Command {
        self.cmd
    }

    /// Run to the end (killed, failing the test, after `timeout`).
    pub fn output(self, timeout: Duration) -> Outcome {
        let args = self.args.clone();
        run_command(self.cmd, &args, timeout)
    }

    pub fn spawn(mut self) -> Child {
        self.cmd.spawn().expect("cannot start mcpctl")
    }
}

/// Run `cmd` (mcpctl with `args`) to the end, with a timeout.
pub fn run_command<S: AsRef<str>>(cmd: Command, args: &[S], timeout: Duration) -> Outcome {
    let t0 = Instant::now();
    let (code, stdout, stderr) = run_with_timeout(cmd, timeout);
    Outcome {
        args: args.iter().map(|s| s.as_ref().to_string()).collect(),
        code,
        stdout,
        stderr,
        calls: Vec::new(),
        took: t0.elapsed(),
    }
}

/// Spawn, collect both pipes on threads, and kill the child if it outlives `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (i32, String, String) {
    let mut child: Child = cmd.spawn().expect("cannot start mcpctl");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mcpctl ran longer than {timeout:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = t_out.join().unwrap();
    let stderr = t_err.join().unwrap();
    // A signal is not an exit code; -1 never equals what a test expects.
    (status.code().unwrap_or(-1), stdout, stderr)
}

fn read_all(mut r: impl Read) -> String {
    let mut s = Vec::new();
    let _ = r.read_to_end(&mut s);
    String::from_utf8_lossy(&s).into_owned()
}

/// What one mcpctl run did.
#[derive(Clone)]
pub struct Outcome {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The argv of every engine call this run made, in order (fake engine only).
    pub calls: Vec<Vec<String>>,
    pub took: Duration,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dump())
    }
}

impl Outcome {
    /// stdout and stderr, for "somewhere in the output" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Everything, for assertion messages.
    pub fn dump(&self) -> String {
        let calls: Vec<String> = self.calls.iter().map(|c| c.join(" ")).collect();
        format!(
            "mcpctl {:?} exited {} after {:?}\n--- stdout\n{}--- stderr\n{}--- engine calls\n{}",
            self.args,
            self.code,
            self.took,
            self.stdout,
            self.stderr,
            calls.join("\n")
        )
    }

    #[track_caller]
    pub fn code(&self, expected: i32) -> &Outcome {
        assert_eq!(self.code, expected, "wrong exit code\n{}", self.dump());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Outcome {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{}", self.dump());
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Outcome {
        assert!(!self.stdout.contains(needle), "stdout has {needle:?}\n{}", self.dump());
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Outcome {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{}", self.dump());
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Outcome {
        assert!(!self.stderr.contains(needle), "stderr has {needle:?}\n{}", self.dump());
        self
    }

    /// stderr is exactly one non-empty line, and it contains `needle`.
    #[track_caller]
    pub fn one_stderr_line(&self, needle: &str) -> &Outcome {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one stderr line\n{}", self.dump());
        assert!(lines[0].contains(needle), "the stderr line lacks {needle:?}\n{}", self.dump());
        self
    }

    /// The calls with this key (`run`, `container-inspect`, ...).
    pub fn calls_to(&self, key: &str) -> Vec<&Vec<String>> {
        self.calls.iter().filter(|c| call_key(c) == key).collect()
    }

    /// The keys of all calls, in order.
    pub fn call_keys(&self) -> Vec<String> {
        self.calls.iter().map(|c| call_key(c)).collect()
    }

    /// The only call with this key.
    #[track_caller]
    pub fn only_call(&self, key: &str) -> &Vec<String> {
        let c = self.calls_to(key);
        assert_eq!(c.len(), 1, "expected one {key} call\n{}", self.dump());
        c[0]
    }

    #[track_caller]
    pub fn no_call(&self, key: &str) -> &Outcome {
        assert!(self.calls_to(key).is_empty(), "unexpected {key} call\n{}", self.dump());
        self
    }
}

// ---- ports and servers ------------------------------------------------------------------------------

/// Where test ports come from: below Linux's default ephemeral range (32768-60999), where the
/// source port of any outgoing connection (a probe of another test's server) could hold a test's
/// port for a moment. scripts/bench.sh uses 31000-31299. MCPCTL_TEST_PORT_BASE may start a run
/// up to 44000 (a second checkout's block, which then risks that moment).
const TEST_PORTS: std::ops::Range<u16> = 20000..44000;

/// The first port not handed out yet in this run (0: not read yet). `MCPCTL_TEST_PORT_BASE` moves
/// the start, so two test runs on one machine at once (two checkouts) take disjoint ports.
static NEXT_PORT: std::sync::Mutex<u16> = std::sync::Mutex::new(0);

/// `count` consecutive ports, free on this host now and never handed to another test of this
/// run: the one place tests get ports, so two tests running at once never share one.
pub fn ports(count: u16) -> u16 {
    let mut next = NEXT_PORT.lock().unwrap_or_else(|e| e.into_inner());
    if *next == 0 {
        *next = std::env::var("MCPCTL_TEST_PORT_BASE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|p| TEST_PORTS.contains(p))
            .unwrap_or(TEST_PORTS.start);
    }
    loop {
        let base = *next;
        assert!(
            u32::from(base) + u32::from(count) <= u32::from(TEST_PORTS.end),
            "no {count} free ports left in {TEST_PORTS:?} for this test run"
        );
        *next = base + count;
        let free =
            |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("0.0.0.0", p)).is_ok();
        // A block with a port in use (another program, a container left from an earlier run) is
        // skipped whole: a test may use any port of its block.
        if (base..base + count).all(free) {
            return base;
        }
    }
}

/// Fail the test early (with a clear message) when a port it relies on is in use on this host.
#[track_caller]
pub fn assert_ports_free(base: u16, count: u16) {
    for p in base..base + count {
        assert!(
            TcpListener::bind(("127.0.0.1", p)).is_ok(),
            "port {p} is in use on this host; the test needs {base}-{} free",
            base + count - 1
        );
    }
}

/// fake_mcp.py started by a test itself (e.g. for `status` of a container "already running").
pub struct FakeMcp {
    child: Child,
}

impl FakeMcp {
    /// Start on 127.0.0.1:port and wait until it accepts connections.
    pub fn start(port: u16) -> FakeMcp {
        let child = Command::new(python3())
            .arg(fake_engine_dir().join("fake_mcp.py"))
            .args(["--port", &port.to_string(), "--timeout", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start fake_mcp.py");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(10), "fake_mcp.py did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        FakeMcp { child }
    }
}

impl Drop for FakeMcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Is something listening on 127.0.0.1:port?
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// Wait until nothing listens on the port any more (a stopped fake server).
pub fn wait_not_listening(port: u16, within: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if !listening(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Strip ANSI escape sequences (CSI ... letter).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---- real engines ---------------------------------------------------------------------------------

/// The images the fixtures build FROM, made by scripts/engines-up.sh (nothing can be pulled here).
pub const BASE_IMAGE: &str = "mcpctl-python:bookworm";
pub const UV_IMAGE: &str = "mcpctl-uv:local";

/// MCPCTL_E2E=required (CI): an engine or tool the tests need that is missing fails them.
pub fn e2e_required() -> bool {
    std::env::var("MCPCTL_E2E").as_deref() == Ok("required")
}

/// Can this engine run the tests? Fails (required) or skips loudly (local) when not.
pub fn engine_available(engine: &str) -> bool {
    let required = e2e_required();
    let info = Command::new(engine).arg("info").output();
    let answers = matches!(&info, Ok(o) if o.status.success());
    let base = answers
        && Command::new(engine)
            .args(["image", "inspect", BASE_IMAGE])
            .output()
            .is_ok_and(|o| o.status.success());
    let locked = manifest_dir().join("fixtures/echo-server/uv.lock").is_file();
    let why = if !answers {
        format!("`{engine} info` fails: the engine is not installed or not running")
    } else if !base {
        format!("{engine} has no {BASE_IMAGE} image")
    } else if !locked {
        "fixtures/echo-server/uv.lock is missing".to_string()
    } else {
        return true;
    };
    let msg = format!("{why}; run scripts/engines-up.sh (or `make engines`)");
    if required {
        panic!("MCPCTL_E2E=required: {msg}");
    }
    eprintln!("\n!!!!! SKIPPING end-to-end test on {engine}: {msg} !!!!!\n");
    false
}

/// Copy a fixture (without __pycache__).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Wait for a line containing `needle` on the child's stdout, then SIGINT the child.
pub fn interrupt_at(mut child: Child, needle: &str) -> (i32, String) {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains(needle) {
            let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
            assert!(ok.success());
            break;
        }
    }
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status.code().unwrap_or(-1), format!("{seen}\n--- stderr\n{err}"))
}

/// A program on PATH.
pub fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}
