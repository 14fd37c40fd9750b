//! End to end on real engines: mcpctl builds and runs the fixture MCP servers on docker AND podman,
//! and a real MCP client (mcpctl's own probe) talks to them.
//!
//! With MCPCTL_E2E=required (CI sets it) an engine that cannot be reached fails these tests;
//! without it they skip with one loud line. Each test has its own project name, HOME and ports
//! (`support::ports`), so they run in parallel, and a guard removes its containers and volumes even when the
//! test fails.
//!
//! Scenarios (each on docker and on podman, registered in `on_both_engines!` below):
//! * `lifecycle`: start → status/logs → data → update (new tool, same port, data kept) →
//!   restart → stop → start
//! * `digest_skips`: Builds are skipped when nothing they read changed
//! * `unused_context_change`: A file the Dockerfile never copies (the fixture's .dockerignore
//!   leaves out *.md, so a NOTES.txt) and a dev server's bound unix socket in the build
//!   context
//! * `two_projects`: Two projects from the same base port
//! * `sse`: A one-file SSE server (transport from MCP_TRANSPORT) becomes ready (transport
//!   detected) and answers over SSE
//! * `broken_bind`: A server bound to 127.0.0.1 inside the container is diagnosed, well
//!   before the deadline
//! * `crash`: A server that exits at once
//! * `rebinding`: DNS-rebinding protection with a wrong allowed host
//! * `broken_update_and_foreign`: A broken build during update leaves the running server
//!   answering
//! * `safe_updates`: Updates never take a working server down for a broken build or a broken
//!   version
//! * `concurrent_starts`: Two `start` at once on one project end with one container on one
//!   port
//! * `interrupts`: Ctrl-C during the build and during the swap
//! * `sigterm_without_handler`: A server with no SIGTERM handler
//! * `publish_and_client`: publish twice → tags 1, 2 and latest, pullable back
//! * `private_deps`: `init --private-deps` + a build secret

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, Target};
use serde_json::{Value, json};

pub(crate) use crate::support::engine_available;
use crate::support::{BASE_IMAGE, Mcpctl, Outcome, UV_IMAGE, copy_dir, interrupt_at, manifest_dir};

/// How long one real-engine mcpctl run may take.
const E2E_RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// A fixture copied into a temp dir and managed by mcpctl under a unique name.
pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
    home: std::rc::Rc<tempfile::TempDir>,
    pub(crate) engine: &'static str,
    pub(crate) name: String,
    base_port: u16,
    pub(crate) extra: Vec<String>,
    /// Environment for the engine client the test itself runs (DOCKER_HOST of another host).
    pub(crate) engine_env: Vec<(String, String)>,
    /// Environment for mcpctl itself (the engine's own DOCKER_HOST instead of --host).
    pub(crate) mcpctl_env: Vec<(String, String)>,
}

impl Project {
    pub(crate) fn new(fixture: &str, engine: &'static str, name: &str, base_port: u16) -> Project {
        Project::with_home(fixture, engine, name, base_port, std::rc::Rc::new(tempfile::tempdir().unwrap()))
    }

    /// Another project of the same user (one HOME): projects that share a front.
    pub(crate) fn beside(&self, fixture: &str, name: &str, base_port: u16) -> Project {
        Project::with_home(fixture, self.engine, name, base_port, self.home.clone())
    }

    fn with_home(
        fixture: &str,
        engine: &'static str,
        name: &str,
        base_port: u16,
        home: std::rc::Rc<tempfile::TempDir>,
    ) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&manifest_dir().join("fixtures").join(fixture), dir.path());
        let p = Project {
            dir,
            home,
            engine,
            // An engine given as a path (/usr/bin/docker) becomes usr-bin-docker.
            name: format!("e2e-{name}-{}", engine.trim_start_matches('/').replace('/', "-")),
            base_port,
            extra: Vec::new(),
            engine_env: Vec::new(),
            mcpctl_env: Vec::new(),
        };
        p.cleanup();
        p
    }

    pub(crate) fn container(&self) -> String {
        format!("{}-mcp", self.name)
    }

    pub(crate) fn volumes(&self) -> Vec<String> {
        ["data", "config", "logs"].iter().map(|v| format!("{}_{v}", self.container())).collect()
    }

    /// mcpctl on this project: its own HOME, engine, name, ports and the local base images.
    fn command(&self, args: &[&str]) -> Mcpctl {
        let dir = self.dir.path().display().to_string();
        let base = self.base_port.to_string();
        let fixed = [
            "-C",
            &dir,
            "--engine",
            self.engine,
            "--name",
            &self.name,
            "--base-port",
            &base,
            "--build-arg",
            &format!("PYTHON_IMAGE={BASE_IMAGE}"),
            "--build-arg",
            &format!("UV_IMAGE={UV_IMAGE}"),
            "--ready-timeout",
            "90",
        ]
        .map(String::from);
        let mut m = Mcpctl::new(self.home.path()).env("NO_COLOR", "1");
        for (k, v) in &self.mcpctl_env {
            m = m.env(k, v);
        }
        m.args(&fixed).args(&self.extra).args(args)
    }

    pub(crate) fn mcpctl(&self, args: &[&str]) -> Outcome {
        self.command(args).output(E2E_RUN_TIMEOUT)
    }

    /// The same command line, started in the background with stdout and stderr piped.
    pub(crate) fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args).spawn()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Outcome {
        let o = self.mcpctl(args);
        assert_eq!(o.code, 0, "mcpctl {args:?} on {}: {o:?}", self.engine);
        o
    }

    pub(crate) fn state_port(&self) -> u16 {
        // Renamed with --name, the fixture's package keeps its own state file per instance.
        let cfg = self.home.path().join(".config");
        // The package's directory (beside mcpctl's own, which fronts and caches use).
        let f = std::fs::read_dir(&cfg)
            .unwrap()
            .map(|d| d.unwrap().path())
            .flat_map(|pkg| {
                // A project without pyproject.toml (sse-server) is named by --name alone: docker.json.
                [pkg.join(format!("docker-{}.json", self.name)), pkg.join("docker.json")]
            })
            .find(|f| f.is_file())
            .unwrap_or_else(|| panic!("no state file under {}", cfg.display()));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        v["port"].as_u64().unwrap() as u16
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    pub(crate) fn client(&self, transport: TransportSetting) -> Client {
        let path = if transport == TransportSetting::Sse { "/sse" } else { "/mcp" };
        Client::connect(&Target::new(self.state_port(), path, transport), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("MCP client could not connect on {}: {e}", self.engine))
    }

    /// Every container, running or not, that carries this project's label.
    pub(crate) fn containers(&self) -> Vec<String> {
        let label = format!("label=io.mcpctl.project={}", self.name);
        let ps = self.engine_cmd(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
        String::from_utf8_lossy(&ps.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    pub(crate) fn engine_cmd(&self, args: &[&str]) -> std::process::Output {
        let mut c = Command::new(self.engine);
        for (k, v) in &self.engine_env {
            c.env(k, v);
        }
        c.args(args).output().unwrap()
    }

    /// The container on this machine's engine, whatever host the project is deployed on.
    pub(crate) fn inspect_local(&self) -> Option<Value> {
        let o = Command::new(self.engine).args(["container", "inspect", &self.container()]).output().unwrap();
        o.status.success().then(|| serde_json::from_slice::<Value>(&o.stdout).unwrap()[0].clone())
    }

    /// The same user as `other` (one HOME): one project deployed in several places.
    pub(crate) fn share_home(&mut self, other: &Project) {
        self.home = other.home.clone();
    }

    pub(crate) fn inspect(&self) -> Option<Value> {
        let o = self.engine_cmd(&["container", "inspect", &self.container()]);
        if !o.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        Some(v[0].clone())
    }

    pub(crate) fn volume_exists(&self, v: &str) -> bool {
        self.engine_cmd(&["volume", "inspect", v]).status.success()
    }

    pub(crate) fn cleanup(&self) {
        let _ = self.engine_cmd(&["rm", "-f", &self.container()]);
        let _ = self.engine_cmd(&["rm", "-f", &format!("{}-next", self.container())]);
        // Replicas (NAME-r2...) and anything else of this project's.
        for c in self.containers() {
            let _ = self.engine_cmd(&["rm", "-f", &c]);
        }
        // A front of its own, and its network.
        let _ = self.engine_cmd(&["rm", "-f", &format!("{}-front", self.name)]);
        let _ = self.engine_cmd(&["network", "rm", &format!("{}-front", self.name)]);
        for v in self.volumes() {
            let _ = self.engine_cmd(&["volume", "rm", "-f", &v]);
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.cleanup();
    }
}

pub(crate) fn tools(c: &mut Client) -> Vec<String> {
    let mut t = c.list_tools().unwrap();
    t.sort();
    t
}

pub(crate) fn append(c: &mut Client, text: &str) -> u64 {
    let out = c.call_tool("append_note", json!({"text": text})).unwrap();
    out.trim().parse().unwrap_or_else(|_| panic!("append_note answered {out:?}"))
}

pub(crate) fn timed(label: &str, engine: &str, f: impl FnOnce()) {
    let t0 = Instant::now();
    f();
    let line = format!("e2e {label} on {engine}: {:.1} s\n", t0.elapsed().as_secs_f64());
    eprint!("{line}");
    let times = manifest_dir().join("target/e2e-times.txt");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(times)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

// ---- the scenarios, each run on both engines ----------------------------------------------------

/// start → status/logs → data → update (new tool, same port, data kept) → restart → stop → start.
fn lifecycle(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "life", base);
    let start = p.ok(&["start"]);
    assert!(start.stdout.contains("MCP server is running!"), "{start:?}");
    let port = p.state_port();
    assert!(start.stdout.contains(&format!("http://localhost:{port}/mcp")), "{start:?}");
    assert!(
        start
            .stdout
            .contains(&format!("claude mcp add {} --transport http http://localhost:{port}/mcp", p.name))
    );

    // A real MCP client: initialize and tools/list.
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(c.server.name, "echo-server");
    assert_eq!(tools(&mut c), ["append_note", "echo"]);
    assert_eq!(c.call_tool("echo", json!({"text": "hi there"})).unwrap(), "hi there");
    let n0 = append(&mut c, "before update");
    c.close();

    // status and status --json agree with the engine.
    let st = p.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(st.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {st:?}"));
    let ins = p.inspect().expect("container exists");
    assert_eq!(v["state"], "running");
    assert_eq!(ins["State"]["Running"], true);
    assert_eq!(v["status"], ins["State"]["Status"]);
    assert_eq!(v["port"], port);
    assert_eq!(v["mcp"]["ok"], true, "{st:?}");
    assert_eq!(v["mcp"]["tools"], 2);
    let human = p.ok(&["status"]);
    assert!(human.stdout.contains("Status: running"), "{human:?}");
    assert!(human.stdout.contains(&format!("Port: {port}")), "{human:?}");

    // list: one `ps` (JSON lines on docker, one array on podman) shows our container.
    let list = p.ok(&["list", "--json"]);
    let entries: Value = serde_json::from_str(list.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {list:?}"));
    let ours = entries.as_array().unwrap().iter().find(|e| e["name"] == p.container().as_str());
    let ours = ours.unwrap_or_else(|| panic!("list has no {}: {list:?}", p.container()));
    assert_eq!(ours["state"], "running");
    assert_eq!(ours["labels"]["io.mcpctl.project"], p.name.as_str());
    assert_eq!(ours["labels"]["io.mcpctl.port"], port.to_string().as_str());

    let logs = p.ok(&["logs", "--no-follow"]);
    assert!(logs.all().contains("Uvicorn running on http://0.0.0.0:3001"), "{logs:?}");
    let tail = p.ok(&["logs", "--no-follow", "--tail", "1"]);
    assert!(tail.all().trim().lines().count() <= 2, "{tail:?}");

    // Change the code: a new tool appears after update, on the same port, with the data kept.
    add_shout_tool(p.dir.path());
    let up = p.ok(&["update"]);
    assert!(up.stdout.contains("MCP server updated"), "{up:?}");
    assert_eq!(p.state_port(), port);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    assert_eq!(c.call_tool("shout", json!({"text": "loud"})).unwrap(), "LOUD");
    assert_eq!(append(&mut c, "after update"), n0 + 1);
    c.close();

    // restart: same port, data kept.
    p.ok(&["restart"]);
    assert_eq!(p.state_port(), port);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(append(&mut c, "after restart"), n0 + 2);
    c.close();

    // stop: container gone, volumes kept, port remembered.
    let stop = p.ok(&["stop"]);
    assert!(stop.stdout.contains("Container stopped"), "{stop:?}");
    assert!(p.inspect().is_none(), "container still exists after stop");
    for v in p.volumes() {
        assert!(p.volume_exists(&v), "volume {v} was removed by stop");
    }
    assert_eq!(p.state_port(), port);
    let st = p.ok(&["status", "--json"]);
    assert!(st.stdout.contains("\"state\":\"not-deployed\""), "{st:?}");
    let again = p.ok(&["stop"]);
    assert!(again.stdout.contains("Not deployed"), "{again:?}");

    // start again: same port, data still there.
    p.ok(&["start"]);
    assert_eq!(p.state_port(), port);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(append(&mut c, "after stop and start"), n0 + 3);
    c.close();
}

/// Builds are skipped when nothing they read changed: a second start runs the same image; an
/// ignored file changes nothing, a re-included one, a line of code or a build argument does;
/// `update` with nothing changed keeps the container and its MCP sessions.
fn digest_skips(engine: &'static str, base: u16) {
    let mut p = Project::new("echo-server", engine, "digest", base);
    let dir = p.dir.path().to_path_buf();
    let ignore = dir.join(".dockerignore");
    let rules = std::fs::read_to_string(&ignore).unwrap();
    std::fs::write(&ignore, format!("{rules}notes/\n!notes/keep.txt\n")).unwrap();
    std::fs::create_dir_all(dir.join("notes")).unwrap();
    std::fs::write(dir.join("notes/ignored.txt"), "1").unwrap();
    std::fs::write(dir.join("notes/keep.txt"), "1").unwrap();
    // An earlier run on this machine may have left an image built from the same inputs: the
    // first build is forced. (Removing it instead races with the other tests' builds, which
    // share its cached layers: "unable to find image" in their LABEL step.)
    let first = p.ok(&["start", "--rebuild"]);
    assert!(first.stdout.contains("✓ Image built"), "{first:?}");
    let image = || p.inspect().expect("container")["Image"].as_str().unwrap().to_string();
    let built = image();

    // Again, with nothing changed, then with only an ignored file changed: no build, same image.
    for change in [None, Some("notes/ignored.txt")] {
        if let Some(f) = change {
            std::fs::write(dir.join(f), "2").unwrap();
        }
        p.ok(&["stop"]);
        let again = p.ok(&["start"]);
        assert!(again.stdout.contains("is up to date"), "{change:?}: {again:?}");
        assert!(!again.stdout.contains("Image built"), "{again:?}");
        assert_eq!(image(), built, "{change:?}");
    }

    // update with nothing changed: the same container, and a session opened before still works.
    let id = p.inspect().unwrap()["Id"].as_str().unwrap().to_string();
    let mut c = p.client(TransportSetting::StreamableHttp);
    let session = c.session_id().expect("a session id").to_string();
    let up = p.ok(&["update"]);
    assert!(up.stdout.contains("Nothing changed"), "{up:?}");
    assert_eq!(p.inspect().unwrap()["Id"], id.as_str(), "update replaced the container");
    assert_eq!(tools(&mut c), ["append_note", "echo"]);
    assert_eq!(c.session_id(), Some(session.as_str()));
    c.close();

    // Each of these builds, and says why. Only the code change makes another image: the
    // Dockerfile copies no notes/ and declares no MCPCTL_E2E_ARG, so the other two give the
    // running image again (from the cache) and update changes nothing.
    type Change = fn(&mut Project);
    let rebuilds: [(&str, Change, bool); 3] = [
        (
            "notes/keep.txt changed",
            |p| std::fs::write(p.dir.path().join("notes/keep.txt"), "2").unwrap(),
            false,
        ),
        ("echo_server/server.py changed", |p| add_shout_tool(p.dir.path()), true),
        (
            "build arg MCPCTL_E2E_ARG added",
            |p| p.extra = vec!["--build-arg".into(), "MCPCTL_E2E_ARG=1".into()],
            false,
        ),
    ];
    for (why, change, replaced) in rebuilds {
        let id = p.inspect().unwrap()["Id"].clone();
        change(&mut p);
        let up = p.ok(&["update"]);
        assert!(up.stdout.contains(&format!("since {}-mcp was built, {why}", p.name)), "{why}: {up:?}");
        if replaced {
            assert!(up.stdout.contains("MCP server updated"), "{why}: {up:?}");
            assert_ne!(p.inspect().unwrap()["Id"], id, "{why}");
        } else {
            assert!(up.stdout.contains("Nothing changed"), "{why}: {up:?}");
            assert_eq!(p.inspect().unwrap()["Id"], id, "{why}");
        }
    }
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    c.close();
}

/// A file the Dockerfile never copies (the fixture's .dockerignore leaves out *.md, so a NOTES.txt)
/// and a dev server's bound unix socket in the build context: update builds (the digest changed),
/// the engine's cache gives the running image again under another digest label, and that is
/// nothing changed: the same container, a session opened before still works, and the next update
/// says so without a build. A real code change then swaps, and rollback returns to the version
/// before it.
fn unused_context_change(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "dg-unused", base);
    let dir = p.dir.path().to_path_buf();
    p.ok(&["start"]);
    let id = || p.inspect().expect("container")["Id"].as_str().unwrap().to_string();
    let before = id();
    let mut c = p.client(TransportSetting::StreamableHttp);
    let session = c.session_id().expect("a session id").to_string();

    std::fs::write(dir.join("NOTES.txt"), "a note the Dockerfile never copies\n").unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("dev.sock")).unwrap();
    let up = p.ok(&["update"]);
    assert!(up.stdout.contains("✓ Image built"), "the digest changed, so it built: {up:?}");
    assert!(up.stdout.contains("Nothing changed"), "{up:?}");
    assert!(!up.stdout.contains("MCP server updated"), "{up:?}");
    assert_eq!(id(), before, "update replaced the container");
    assert_eq!(tools(&mut c), ["append_note", "echo"]);
    assert_eq!(c.session_id(), Some(session.as_str()));

    let again = p.ok(&["update"]);
    assert!(again.stdout.contains("is up to date"), "no build the second time: {again:?}");
    assert!(again.stdout.contains("Nothing changed"), "{again:?}");
    assert_eq!(id(), before, "the second update replaced the container");
    assert_eq!(c.session_id(), Some(session.as_str()));
    assert_eq!(tools(&mut c), ["append_note", "echo"]);
    c.close();
    let st = p.ok(&["status", "--json"]);
    assert!(st.stdout.contains("\"state\":\"running\""), "{st:?}");

    add_shout_tool(&dir);
    let up = p.ok(&["update"]);
    assert!(up.stdout.contains("MCP server updated"), "{up:?}");
    assert_ne!(id(), before, "a code change must replace the container");
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    c.close();
    p.ok(&["rollback"]);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo"], "rollback returns to the version before the change");
    c.close();
}

/// Two projects from the same base port: different ports, both answer.
fn two_projects(engine: &'static str, base: u16) {
    let a = Project::new("echo-server", engine, "twin-a", base);
    let b = Project::new("echo-server", engine, "twin-b", base);
    a.ok(&["start"]);
    b.ok(&["start"]);
    let (pa, pb) = (a.state_port(), b.state_port());
    assert_ne!(pa, pb);
    for p in [&a, &b] {
        let c = p.client(TransportSetting::StreamableHttp);
        assert_eq!(c.server.name, "echo-server");
        c.close();
    }
}

/// A one-file SSE server (transport from MCP_TRANSPORT) becomes ready (transport detected) and
/// answers over SSE.
fn sse(engine: &'static str, base: u16) {
    let p = Project::new("sse-server", engine, "sse", base);
    let start = p.ok(&["start"]);
    assert!(start.stdout.contains("over sse"), "{start:?}");
    let mut c = p.client(TransportSetting::Sse);
    let t = tools(&mut c);
    assert!(t.contains(&"echo".to_string()), "{t:?}");
    assert_eq!(c.call_tool("echo", json!({"text": "over sse"})).unwrap(), "over sse");
}

/// A server bound to 127.0.0.1 inside the container is diagnosed, well before the deadline.
fn broken_bind(engine: &'static str, base: u16) {
    let p = Project::new("broken-bind", engine, "bind", base);
    let o = p.mcpctl(&["start"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.all().contains("listens on 127.0.0.1 inside the container"), "{o:?}");
    assert!(o.all().contains("--host 0.0.0.0"), "{o:?}");
    // Diagnosed from the logs while waiting, not when the 90 s deadline ran out.
    assert!(!o.all().contains("within 90.0 s"), "{o:?}");
}

/// A server that exits at once: its exit code and log lines, long before the deadline.
fn crash(engine: &'static str, base: u16) {
    let mut p = Project::new("echo-server", engine, "crash", base);
    p.extra = vec!["-e".into(), "ECHO_SERVER_CRASH=1".into()];
    let o = p.mcpctl(&["start"]);
    assert_eq!(o.code, 1, "{o:?}");
    let all = o.all();
    assert!(all.contains("code 3"), "{o:?}");
    assert!(all.contains("ECHO_SERVER_CRASH is set"), "log lines missing: {o:?}");
    // Seen by the watcher, not at the deadline.
    assert!(!o.all().contains("within 90.0 s"), "{o:?}");
}

/// DNS-rebinding protection with a wrong allowed host: 421 diagnosed with the fix; the fix works.
fn rebinding(engine: &'static str, base: u16) {
    let mut p = Project::new("echo-server", engine, "rebind", base);
    p.extra = ["-e", "MCP_DNS_REBINDING_PROTECTION=true", "-e", "MCP_ALLOWED_HOSTS=wrong.example:1"]
        .map(String::from)
        .to_vec();
    let o = p.mcpctl(&["start"]);
    assert_eq!(o.code, 1, "{o:?}");
    let port = p.state_port();
    let fix = format!("MCP_ALLOWED_HOSTS=localhost:{port},127.0.0.1:{port}");
    assert!(o.all().contains("421"), "{o:?}");
    assert!(o.all().contains(&fix), "{o:?}");
    p.extra = vec!["-e".into(), "MCP_DNS_REBINDING_PROTECTION=true".into(), "-e".into(), fix];
    let o = p.mcpctl(&["restart"]);
    assert_eq!(o.code, 0, "{o:?}");
    let c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(c.server.name, "echo-server");
    c.close();
}

/// A broken build during update leaves the running server answering; a same-named container
/// mcpctl did not create is never touched.
fn broken_update_and_foreign(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "guard", base);
    p.ok(&["start"]);
    let df = p.dir.path().join("Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, text.replacen("USER appuser", "RUN exit 7\nUSER appuser", 1)).unwrap();
    let o = p.mcpctl(&["update"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.all().contains("Failed to build image"), "{o:?}");
    let c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(c.server.name, "echo-server", "old server must still answer");
    c.close();
    p.ok(&["stop"]);

    // A container with our name that mcpctl did not create.
    let run = p.engine_cmd(&["run", "-d", "--name", &p.container(), BASE_IMAGE, "sleep", "300"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for cmd in ["stop", "start", "restart"] {
        let o = p.mcpctl(&[cmd]);
        assert_eq!(o.code, 2, "{cmd}: {o:?}");
        assert!(o.stderr.contains("mcpctl did not create it"), "{cmd}: {o:?}");
    }
    let ins = p.inspect().expect("the foreign container must still exist");
    assert_eq!(ins["State"]["Running"], true, "the foreign container was stopped");
}

/// Probes the endpoint every 50 ms from another thread; counts the attempts that failed.
pub(crate) struct Watch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<(u32, Vec<String>, Duration)>,
}

impl Watch {
    pub(crate) fn start(port: u16) -> Watch {
        Watch::on(Target::new(port, "/mcp", TransportSetting::StreamableHttp))
    }

    /// Probing this target (through a front: its TLS, token and path).
    pub(crate) fn on(target: Target) -> Watch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut attempts, mut failures) = (0u32, Vec::new());
            let started = Instant::now();
            let (mut down_since, mut longest) = (None::<Instant>, Duration::ZERO);
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let t = Instant::now();
                attempts += 1;
                match mcpctl::probe::probe(&target, Duration::from_secs(5)) {
                    Ok(_) => {
                        if let Some(d) = down_since.take() {
                            longest = longest.max(d.elapsed());
                        }
                    }
                    Err(e) => {
                        down_since.get_or_insert(t);
                        failures.push(format!("at {:.2} s: {e}", (t - started).as_secs_f64()));
                    }
                }
                std::thread::sleep(Duration::from_millis(50).saturating_sub(t.elapsed()));
            }
            if let Some(d) = down_since {
                longest = longest.max(d.elapsed());
            }
            (attempts, failures, longest)
        });
        Watch { stop, handle }
    }

    /// (attempts, failures, longest outage)
    pub(crate) fn finish(self) -> (u32, Vec<String>, Duration) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

pub(crate) fn add_shout_tool(dir: &Path) {
    let server_py = dir.join("echo_server/server.py");
    let code = std::fs::read_to_string(&server_py).unwrap();
    let code = code.replacen(
        "@mcp_server.tool()\ndef echo(",
        "@mcp_server.tool()\ndef shout(text: str) -> str:\n    \"\"\"Upper-case the text.\"\"\"\n    return text.upper()\n\n\n@mcp_server.tool()\ndef echo(",
        1,
    );
    assert!(code.contains("def shout("), "fixture changed shape: cannot add a tool");
    std::fs::write(&server_py, code).unwrap();
}

/// Updates never take a working server down for a broken build or a broken version; rollback
/// returns to the previous image; data survives all of it; volumes go only with down --volumes.
fn safe_updates(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "safe", base);
    p.ok(&["start"]);
    let port = p.state_port();
    let mut c = p.client(TransportSetting::StreamableHttp);
    let n0 = append(&mut c, "first");
    c.close();

    // A broken build: the old server answers the whole time (probed every 50 ms).
    let df = p.dir.path().join("Dockerfile");
    let good_dockerfile = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, good_dockerfile.replacen("USER appuser", "RUN exit 7\nUSER appuser", 1)).unwrap();
    let w = Watch::start(port);
    let o = p.mcpctl(&["update"]);
    let (attempts, failures, _) = w.finish();
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("Failed to build image"), "{o:?}");
    assert!(attempts >= 3, "only {attempts} probes during the broken update");
    assert!(failures.is_empty(), "the server stopped answering during a broken build: {failures:?}");
    std::fs::write(&df, &good_dockerfile).unwrap();

    // A good update (new tool), then rollback brings the previous tools back, and again forward.
    add_shout_tool(p.dir.path());
    let w = Watch::start(port);
    let o = p.ok(&["update"]);
    let (_, failures, outage) = w.finish();
    eprintln!(
        "e2e {engine}: update outage seen by a 50 ms probe: {outage:?} ({} failed probes)",
        failures.len()
    );
    assert!(o.stdout.contains("MCP server updated"), "{o:?}");
    assert_eq!(p.state_port(), port);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    assert_eq!(append(&mut c, "after update"), n0 + 1);
    c.close();
    let o = p.ok(&["rollback"]);
    assert!(o.stdout.contains("The previous version is serving"), "{o:?}");
    assert_eq!(p.state_port(), port);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo"], "rollback did not bring the previous tools back");
    assert_eq!(append(&mut c, "after rollback"), n0 + 2);
    c.close();
    p.ok(&["rollback"]);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"], "a second rollback must come back");
    c.close();

    // A new version that crashes at start: automatic rollback, the old version answers, exit 1.
    let main_py = p.dir.path().join("echo_server/__main__.py");
    let good_main = std::fs::read_to_string(&main_py).unwrap();
    std::fs::write(&main_py, format!("raise SystemExit(4)\n{good_main}")).unwrap();
    let o = p.mcpctl(&["update"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.all().contains("Putting the previous container back"), "{o:?}");
    assert!(o.all().contains("The previous version answers again"), "{o:?}");
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    assert_eq!(append(&mut c, "after failed update"), n0 + 3);
    c.close();
    std::fs::write(&main_py, good_main).unwrap();
    // restart runs the version that serves, not the broken build.
    p.ok(&["restart"]);
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    c.close();

    // down keeps volumes; --volumes needs a confirmation; --yes deletes them.
    p.ok(&["down"]);
    assert!(p.inspect().is_none());
    assert!(p.volumes().iter().all(|v| p.volume_exists(v)), "down without --volumes removed a volume");
    let o = p.mcpctl(&["down", "--volumes"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("pass --yes"), "{o:?}");
    assert!(p.volumes().iter().all(|v| p.volume_exists(v)), "volumes deleted without confirmation");
    let o = p.ok(&["down", "--volumes", "--yes"]);
    assert!(o.stdout.contains("Deleted volume"), "{o:?}");
    assert!(p.volumes().iter().all(|v| !p.volume_exists(v)), "down --volumes --yes left a volume");
}

/// Two `start` at once on one project end with one container on one port.
fn concurrent_starts(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "twice", base);
    let a = p.spawn(&["start"]);
    let b = p.spawn(&["start"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let both = format!("{}{}", String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
    assert!(both.contains("Container already running"), "the second start did not see the first's container");
    let names = p.containers();
    assert_eq!(names.len(), 1, "containers: {names:?}");
    let c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(c.server.name, "echo-server");
    c.close();
}

/// Ctrl-C during the build and during the swap: something serves afterwards, and status and
/// another update recover.
fn interrupts(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "sigint", base);
    p.ok(&["start"]);
    add_shout_tool(p.dir.path());
    // A slow build step, so the interrupt lands while it runs.
    let df = p.dir.path().join("Dockerfile");
    let good = std::fs::read_to_string(&df).unwrap();
    std::fs::write(&df, good.replacen("USER appuser", "RUN sleep 20\nUSER appuser", 1)).unwrap();
    let (code, out) = interrupt_at(p.spawn(&["update"]), "Building image...");
    assert_eq!(code, 130, "{out}");
    let st = p.ok(&["status", "--json"]);
    assert!(st.stdout.contains("\"state\":\"running\""), "{st:?}");
    assert!(st.stdout.contains("\"ok\":true"), "nothing answers after Ctrl-C during the build: {st:?}");
    std::fs::write(&df, &good).unwrap();

    let (code, out) = interrupt_at(p.spawn(&["update"]), "Stopping the old container");
    assert_eq!(code, 130, "{out}");
    let st = p.ok(&["status", "--json"]);
    assert!(st.stdout.contains("\"ok\":true"), "nothing answers after Ctrl-C during the swap: {st:?}\n{out}");
    let o = p.ok(&["update"]);
    assert!(o.stdout.contains("MCP server updated"), "{o:?}");
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo", "shout"]);
    c.close();
    assert_eq!(p.containers(), [p.container()], "leftover containers");

    // `logs` follows until Ctrl-C, then exits 130.
    let (code, out) = interrupt_at(p.spawn(&["logs"]), "Press Ctrl+C to stop");
    assert_eq!(code, 130, "{out}");
}

/// A server with no SIGTERM handler: with mcpctl's default `--init` SIGTERM reaches it and it
/// ends at once (exit 143); with `init = false` it is PID 1, ignores SIGTERM and is killed when
/// the stop timeout runs out (exit 137). Exit codes, not timings, tell the two apart.
fn sigterm_without_handler(engine: &'static str, base: u16) {
    let mut p = Project::new("echo-server", engine, "sigterm", base);
    p.extra = vec!["-e".into(), "ECHO_SERVER_NO_SIGNAL_HANDLERS=1".into()];
    let stopped_exit_code = |p: &Project| {
        let out = p.engine_cmd(&["stop", "-t", "3", &p.container()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        p.inspect().expect("stopped container")["State"]["ExitCode"].as_i64().unwrap()
    };
    p.ok(&["start"]);
    assert_eq!(stopped_exit_code(&p), 143, "with --init, SIGTERM should end the server");
    p.ok(&["stop"]);
    std::fs::write(p.dir.path().join("mcpctl.toml"), "init = false\n").unwrap();
    p.ok(&["start"]);
    assert_eq!(stopped_exit_code(&p), 137, "as PID 1 without a handler, the server should ignore SIGTERM");
}

/// A real registry (Debian's docker-registry) on 127.0.0.1, stopped on drop.
pub(crate) struct Registry {
    child: std::process::Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(port: u16) -> Registry {
        Registry::start_on("127.0.0.1", port)
    }

    /// On `addr`: 0.0.0.0 also serves the test hosts on their veth addresses.
    pub(crate) fn start_on(addr: &str, port: u16) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry is not installed: run scripts/engines-up.sh");
        let r = Registry { child, port, _dir: dir };
        let t0 = Instant::now();
        while r.tags("none").is_none() && std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(20), "registry did not come up on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }

    /// The tags of a repository, from the registry's own API.
    fn tags(&self, repo: &str) -> Option<Vec<String>> {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp =
            agent.get(format!("http://127.0.0.1:{}/v2/{repo}/tags/list", self.port)).call().ok()?;
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().ok()?).ok()?;
        let mut t: Vec<String> =
            v["tags"].as_array()?.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
        t.sort();
        Some(t)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// publish twice → tags 1, 2 and latest, pullable back; a failed push leaves VERSION alone; a
/// VERSION that is not a number is refused; client --write keeps the other servers.
fn publish_and_client(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "pub", base);
    let reg = Registry::start(base + 50);
    let repo = format!("e2e-pub-{engine}");
    let registry = format!("127.0.0.1:{}/{repo}", reg.port);
    let version = p.dir.path().join("VERSION");

    let dry = p.ok(&["publish", "--registry", &registry, "--dry-run"]);
    let push_line =
        dry.stdout.lines().find(|l| l.contains(" push ") && l.ends_with(&format!("{registry}:1")));
    assert!(push_line.is_some(), "{dry:?}");
    assert!(!version.exists(), "--dry-run wrote VERSION");

    let o = p.ok(&["publish", "--registry", &registry]);
    assert!(o.stdout.contains(&format!("Published {registry}:1")), "{o:?}");
    assert_eq!(std::fs::read_to_string(&version).unwrap().trim(), "1");
    p.ok(&["publish", "--registry", &registry]);
    assert_eq!(std::fs::read_to_string(&version).unwrap().trim(), "2");
    assert_eq!(reg.tags(&repo).unwrap(), ["1", "2", "latest"]);
    for tag in ["1", "2", "latest"] {
        let image = format!("{registry}:{tag}");
        let _ = p.engine_cmd(&["rmi", &image]);
        let mut pull = vec!["pull"];
        if engine == "podman" {
            pull.push("--tls-verify=false");
        }
        pull.push(&image);
        let out = p.engine_cmd(&pull);
        assert!(out.status.success(), "pull {image}: {}", String::from_utf8_lossy(&out.stderr));
        let _ = p.engine_cmd(&["rmi", &image]);
    }

    // Not a number: refused, untouched.
    std::fs::write(&version, "v2\n").unwrap();
    let o = p.mcpctl(&["publish", "--registry", &registry]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("not a number"), "{o:?}");
    assert_eq!(std::fs::read_to_string(&version).unwrap(), "v2\n");

    // A push that fails (the registry is gone): exit 1 with the engine's error, VERSION unchanged.
    std::fs::write(&version, "2\n").unwrap();
    drop(reg);
    let o = p.mcpctl(&["publish", "--registry", &registry]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("Push of"), "{o:?}");
    assert_eq!(std::fs::read_to_string(&version).unwrap().trim(), "2", "a failed push changed VERSION");

    // client: the running server's line and entry; --write merges into .mcp.json.
    p.ok(&["start"]);
    let port = p.state_port();
    let url = format!("http://localhost:{port}/mcp");
    let mcp_json = p.dir.path().join(".mcp.json");
    std::fs::write(&mcp_json, r#"{"mcpServers": {"other": {"type": "stdio", "command": "other-server"}}}"#)
        .unwrap();
    let o = p.ok(&["client", "--write", "--token-env", "MCP_TOKEN"]);
    assert!(o.stdout.contains(&format!("claude mcp add {} --transport http {url}", p.name)), "{o:?}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&mcp_json).unwrap()).unwrap();
    assert_eq!(v["mcpServers"]["other"]["command"], "other-server", "client --write lost a server");
    assert_eq!(v["mcpServers"][&p.name]["url"], url.as_str());
    assert_eq!(v["mcpServers"][&p.name]["type"], "http");
    assert_eq!(v["mcpServers"][&p.name]["headers"]["Authorization"], "Bearer ${MCP_TOKEN}");
}

/// `init --private-deps` + a build secret: the image builds and serves, and the token is in
/// neither the image's history nor its config. Docker needs BuildKit for secrets: Debian's
/// 20.10 client has it built in, a 28.x client with the buildx plugin too; one without buildx
/// says so in one line (exit 2). What this machine's client can do is asked, not assumed.
fn private_deps(engine: &'static str, base: u16) {
    let p = Project::new("echo-server", engine, "secret", base);
    for f in ["Dockerfile", ".dockerignore"] {
        std::fs::remove_file(p.dir.path().join(f)).unwrap();
    }
    let o = p.ok(&["init", "--private-deps"]);
    assert!(o.stdout.contains("mcpctl.toml"), "{o:?}");
    let token = format!("e2e-secret-{}", std::process::id());
    std::fs::write(p.dir.path().join("token.txt"), &token).unwrap();
    if engine == "docker" && !has_buildx(engine) {
        let o = p.mcpctl(&["start"]);
        assert_eq!(o.code, 2, "{o:?}");
        assert!(o.stderr.contains("build secrets need BuildKit"), "{o:?}");
        return;
    }
    let o = p.ok(&["start"]);
    assert!(o.stdout.contains("MCP server is running!"), "{o:?}");
    let mut c = p.client(TransportSetting::StreamableHttp);
    assert_eq!(tools(&mut c), ["append_note", "echo"]);
    c.close();
    let image = format!("{}-mcp", p.name);
    for args in [vec!["history", "--no-trunc", &image], vec!["image", "inspect", &image]] {
        let out = p.engine_cmd(&args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(&token), "{args:?} shows the build secret");
    }
}

/// Whether this docker client has the buildx plugin (`docker buildx version` answers).
fn has_buildx(client: &str) -> bool {
    Command::new(client).args(["buildx", "version"]).output().is_ok_and(|o| o.status.success())
}

mod secrets {
    #[test]
    fn podman_build_secret_stays_out_of_the_image() {
        if super::engine_available("podman") {
            super::timed("private_deps", "podman", || {
                super::private_deps("podman", crate::support::ports(100))
            });
        }
    }

    #[test]
    fn docker_builtin_buildkit_client_build_secret_stays_out_of_the_image() {
        if super::engine_available("docker") && std::path::Path::new("/usr/bin/docker").is_file() {
            super::timed("private_deps", "/usr/bin/docker", || {
                super::private_deps("/usr/bin/docker", crate::support::ports(100))
            });
        } else if std::env::var("MCPCTL_E2E").as_deref() == Ok("required") {
            panic!("MCPCTL_E2E=required: Debian's docker client /usr/bin/docker (docker.io) is missing");
        }
    }

    #[test]
    fn docker_on_path_builds_with_a_secret_or_says_it_needs_buildx() {
        if super::engine_available("docker") {
            super::timed("private_deps_no_buildkit", "docker", || {
                super::private_deps("docker", crate::support::ports(100))
            });
        }
    }
}

use crate::front::{
    front_image_missing, front_mixed_tokens, front_on_off, front_shared, front_sigkill, front_token_tls,
    front_updates,
};
use crate::init::{
    bridge_child_exits, init_start_echo, init_start_sse, quickstart_mcp1, quickstart_mcp2,
    quickstart_standalone_fastmcp, stdio_bridge, stdio_exit_diagnosed, stdio_git_packages,
};
use crate::oauth::{oauth_front, oauth_shared};
use crate::replicas::{replicas_crash, replicas_spread, replicas_update};

macro_rules! on_both_engines {
    ($($scenario:ident;)*) => {
        mod docker {
            $(
                #[test]
                fn $scenario() {
                    if super::engine_available("docker") {
                        super::timed(stringify!($scenario), "docker", || super::$scenario("docker", crate::support::ports(100)));
                    }
                }
            )*
        }
        mod podman {
            $(
                #[test]
                fn $scenario() {
                    if super::engine_available("podman") {
                        super::timed(stringify!($scenario), "podman", || super::$scenario("podman", crate::support::ports(100)));
                    }
                }
            )*
        }
    };
}

// Each scenario gets its own 100 ports (support::ports), so everything can run at once.
on_both_engines! {
    lifecycle;
    digest_skips;
    unused_context_change;
    two_projects;
    sse;
    broken_bind;
    crash;
    rebinding;
    broken_update_and_foreign;
    safe_updates;
    concurrent_starts;
    interrupts;
    publish_and_client;
    sigterm_without_handler;
    init_start_echo;
    init_start_sse;
    quickstart_mcp1;
    quickstart_standalone_fastmcp;
    quickstart_mcp2;
    stdio_bridge;
    stdio_exit_diagnosed;
    stdio_git_packages;
    bridge_child_exits;
    front_updates;
    front_sigkill;
    front_token_tls;
    front_shared;
    front_on_off;
    front_mixed_tokens;
    front_image_missing;
    replicas_spread;
    replicas_update;
    replicas_crash;
    oauth_front;
    oauth_shared;
}
