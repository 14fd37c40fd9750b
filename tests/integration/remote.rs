//! End to end on another machine's engine over SSH. The "machine" is made by the tests
//! (scripts/test-host.sh): a network namespace with its own address, its own dockerd (and podman
//! service) and its own sshd, reached with a key the script makes. It has no route to any package
//! registry, so the images it runs come from a registry on this machine's address on its veth,
//! published here with `mcpctl publish`.
//!
//! Each test has its own host (its own namespace index), project names and ports, so they run in
//! parallel with everything else.
//!
//! Scenarios:
//! * `remote_lifecycle`: The whole path on another host
//! * `remote_two_hosts`: The same project here and on two hosts at once
//! * `remote_bad_inputs`: Each bad host is one clear line and a non-zero exit, and nothing is
//!   made on either machine

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcpctl::config::TransportSetting;
use mcpctl::probe::Target;
use serde_json::Value;

use crate::e2e::{Project, Registry, Watch, add_shout_tool, engine_available, timed};
use crate::support::{Outcome, manifest_dir};

const FRONT_IMAGE: &str = "mcpctl-haproxy:local";

/// A host made by scripts/test-host.sh, taken down on drop.
struct TestHost {
    name: String,
    /// Its address, and this machine's address on the same veth (where the registry listens).
    addr: String,
    here: String,
    ssh_config: PathBuf,
    docker_sock: String,
    podman_sock: Option<String>,
}

impl TestHost {
    fn up(name: &str, n: u8) -> TestHost {
        let vars = script(&["up", name, &n.to_string()]);
        TestHost {
            name: name.to_string(),
            addr: vars["MCPCTL_TEST_HOST_ADDR"].clone(),
            here: format!("10.231.{n}.1"),
            ssh_config: PathBuf::from(&vars["MCPCTL_TEST_HOST_SSH_CONFIG"]),
            docker_sock: vars["MCPCTL_TEST_HOST_DOCKER_SOCK"].clone(),
            podman_sock: None,
        }
    }

    fn with_podman(mut self) -> TestHost {
        let vars = script(&["podman-up", &self.name]);
        self.podman_sock = Some(vars["MCPCTL_TEST_HOST_PODMAN_SOCK"].clone());
        self
    }

    /// `--host` for the engine: docker finds its socket through the sshd's DOCKER_HOST; podman's
    /// is named in the URL, as podman's own connection URLs do.
    fn url(&self, engine: &str) -> String {
        match (engine, &self.podman_sock) {
            ("podman", Some(sock)) => format!("ssh://{}{sock}", self.name),
            _ => format!("ssh://{}", self.name),
        }
    }

    /// How mcpctl names the host in its output.
    fn label(&self) -> String {
        format!("ssh://{}", self.name)
    }

    /// The engine client pointed straight at the host's socket (to check what mcpctl did there).
    fn engine_env(&self, engine: &str) -> (String, String) {
        match engine {
            "podman" => ("CONTAINER_HOST".into(), format!("unix://{}", self.podman_sock.as_ref().unwrap())),
            _ => ("DOCKER_HOST".into(), format!("unix://{}", self.docker_sock)),
        }
    }

    /// A project of this suite deployed on this host.
    fn project(&self, engine: &'static str, name: &str, base: u16) -> Project {
        let mut p = Project::new("echo-server", engine, name, base);
        p.extra = vec![
            "--host".into(),
            self.url(engine),
            "--ssh-config".into(),
            self.ssh_config.display().to_string(),
        ];
        p.engine_env = vec![self.engine_env(engine)];
        p.cleanup();
        p
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(manifest_dir().join("scripts/test-host.sh"))
            .args(["down", &self.name])
            .output();
    }
}

/// Run scripts/test-host.sh and read the `KEY=VALUE` lines it prints.
fn script(args: &[&str]) -> BTreeMap<String, String> {
    let out =
        Command::new("bash").arg(manifest_dir().join("scripts/test-host.sh")).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/test-host.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// A server on this machine on `port`, counting who connects: a probe meant for the other host
/// must never reach it.
struct Decoy {
    port: u16,
    hits: Arc<AtomicU32>,
}

impl Decoy {
    fn listen(port: u16) -> Decoy {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let hits = Arc::new(AtomicU32::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                h.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
        Decoy { port, hits }
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Publish the echo server here (`mcpctl publish` to a registry on this machine) and give the
/// name the other host pulls it by.
struct Published {
    publisher: Project,
    registry: Registry,
    repo: String,
    here: String,
}

impl Published {
    fn new(engine: &'static str, name: &str, base: u16, host: &TestHost) -> Published {
        let registry = Registry::start_on("0.0.0.0", base + 90);
        let publisher = Project::new("echo-server", engine, &format!("{name}-pub"), base + 80);
        let repo = format!("{name}-{engine}");
        Published { publisher, here: host.here.clone(), repo, registry }
    }

    /// `mcpctl publish` once more; the reference the other host pulls the new version by.
    fn publish(&self) -> String {
        let local = format!("127.0.0.1:{}/{}", self.registry.port, self.repo);
        let o = self.publisher.ok(&["publish", "--registry", &local]);
        let version = std::fs::read_to_string(self.publisher.dir.path().join("VERSION")).unwrap();
        assert!(o.stdout.contains(&format!("Published {local}:{}", version.trim())), "{o:?}");
        format!("{}:{}/{}:{}", self.here, self.registry.port, self.repo, version.trim())
    }
}

fn json(o: &Outcome) -> Value {
    serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {o:?}"))
}

fn state_files(p: &Project) -> Vec<String> {
    let mut out = Vec::new();
    for pkg in std::fs::read_dir(p.home().join(".config")).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(pkg.path()).into_iter().flatten().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// The whole path on another host: a published image started there (a process here on the same
/// port number is never probed), status, logs and list naming the host; a build there from the
/// context sent by the engine client; the front turned on with its port on the host's network;
/// an update to a new version and a rollback with a client probing the host's address every
/// 50 ms: 0 failed requests; stop.
fn remote_lifecycle(engine: &'static str, base: u16, n: u8) {
    let mut host = TestHost::up(&format!("rl{}", &engine[..1]), n);
    if engine == "podman" {
        host = host.with_podman();
    }
    let published = Published::new(engine, "rl", base, &host);
    let v1 = published.publish();
    let decoy = Decoy::listen(base);
    let p = host.project(engine, "rlife", base);
    let label = format!("on {}", host.label());

    let start = p.ok(&["start", "--run-image", &v1]);
    assert!(start.stdout.contains(&label), "{start:?}");
    assert!(start.stdout.contains(&format!("Pulling {v1}")), "{start:?}");
    assert!(start.stdout.contains(&format!("http://localhost:{base}/mcp")), "{start:?}");
    assert!(start.stdout.contains("loopback of"), "the ssh -L hint is missing: {start:?}");
    // Its own state file, beside the one a local deployment would use.
    assert!(
        state_files(&p).iter().any(|f| f.ends_with(&format!("@{}.json", host.name))),
        "{:?}",
        state_files(&p)
    );

    let st = json(&p.ok(&["status", "--json"]));
    assert_eq!(st["host"], host.label().as_str());
    assert_eq!(st["state"], "running");
    assert_eq!(st["port"], base);
    assert_eq!(st["mcp"]["server"], "echo-server", "{st}");
    assert_eq!(decoy.hits(), 0, "a probe reached this machine's port {}", decoy.port);
    // Nothing of it here.
    assert!(p.inspect_local().is_none(), "the container was made on this machine");
    assert!(p.inspect().is_some(), "no container on the host");

    // The same published image again: nothing to do, the container (and its sessions) untouched.
    let id = p.inspect().unwrap()["Id"].clone();
    let same = p.ok(&["update", "--run-image", &v1]);
    assert!(same.stdout.contains("Nothing changed"), "{same:?}");
    assert_eq!(p.inspect().unwrap()["Id"], id, "the container was replaced");
    // An image that is not there: one line, and the one serving keeps serving.
    let missing = format!("{}:{}/{}-none:9", host.here, published.registry.port, published.repo);
    let o = p.mcpctl(&["update", "--run-image", &missing]);
    assert_eq!(o.code, 1, "{o:?}");
    let errors: Vec<&str> = o.stderr.lines().filter(|l| l.contains('✗')).collect();
    assert!(errors.len() == 1 && errors[0].contains(&format!("cannot pull {missing}")), "{o:?}");
    assert_eq!(p.inspect().unwrap()["Id"], id, "a failed pull touched the container");
    assert_eq!(json(&p.ok(&["status", "--json"]))["mcp"]["server"], "echo-server");

    let logs = p.ok(&["logs", "--no-follow", "--tail", "50"]);
    assert!(logs.stdout.contains("Uvicorn running") || logs.stderr.contains("Uvicorn running"), "{logs:?}");
    let list = p.ok(&["list"]);
    assert!(list.stdout.contains(&label) && list.stdout.contains(&p.container()), "{list:?}");

    // A build on the host: the context goes up through the engine client.
    std::fs::write(
        p.dir.path().join("Dockerfile"),
        format!("FROM {v1}\nCOPY pyproject.toml /app/built-there.toml\n"),
    )
    .unwrap();
    let built = p.ok(&["update"]);
    assert!(built.stdout.contains("Image built"), "{built:?}");
    let exec = p.engine_cmd(&["exec", &p.container(), "ls", "/app/built-there.toml"]);
    assert!(exec.status.success(), "the image built there lacks the file: {exec:?}");

    // The front, on the host's network: clients reach it at the host's address.
    let front =
        ["--front", "--front-image", FRONT_IMAGE, "--publish-address", "0.0.0.0", "--drain-timeout", "3"];
    let mut args = vec!["update", "--run-image", &v1];
    args.extend(front);
    let on = p.ok(&args);
    assert!(on.stdout.contains(&format!("http://{}:{base}/mcp", host.addr)), "{on:?}");
    let mut t = Target::new(base, "/mcp", TransportSetting::StreamableHttp);
    t.addr = host.addr.parse().unwrap();

    add_shout_tool(published.publisher.dir.path());
    let v2 = published.publish();
    let w = Watch::on(t.clone());
    std::thread::sleep(Duration::from_millis(300));
    let mut args = vec!["update", "--run-image", &v2];
    args.extend(front);
    let up = p.ok(&args);
    assert!(up.stdout.contains(&format!("Pulling {v2}")), "{up:?}");
    let (attempts, failures, _) = w.finish();
    eprintln!("e2e remote {engine}: update through the front: {attempts} probes, {} failed", failures.len());
    assert!(
        attempts >= 10 && failures.is_empty(),
        "update: {} of {attempts} failed: {failures:?}",
        failures.len()
    );
    let st = json(&p.ok(&["status", "--json"]));
    assert_eq!(st["mcp"]["tools"], 3, "v2 has the shout tool: {st}");

    let w = Watch::on(t);
    let mut args = vec!["rollback"];
    args.extend(front);
    p.ok(&args);
    let (attempts, failures, _) = w.finish();
    eprintln!(
        "e2e remote {engine}: rollback through the front: {attempts} probes, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "rollback: {} of {attempts} failed: {failures:?}", failures.len());

    p.ok(&["stop"]);
    let st = json(&p.ok(&["status", "--json"]));
    assert_ne!(st["state"], "running", "{st}");
    p.ok(&["down"]);
    // Nothing is behind the front any more: the next start is as its flags say, on the same port.
    let state = state_files(&p).into_iter().find(|f| f.contains('@')).unwrap();
    let pkg = std::fs::read_dir(p.home().join(".config")).unwrap().flatten().next().unwrap().path();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(pkg.join(state)).unwrap()).unwrap();
    assert!(saved["front"].is_null() && saved["port"] == base, "{saved}");
    assert_eq!(decoy.hits(), 0, "a probe reached this machine's port {}", decoy.port);
}

/// The same project here and on two hosts at once: three deployments, three state files, each
/// status about its own.
fn remote_two_hosts(engine: &'static str, base: u16, n: u8) {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| TestHost::up("rta", n));
        let b = s.spawn(|| TestHost::up("rtb", n + 1));
        (a.join().unwrap(), b.join().unwrap())
    });
    let published = Published::new(engine, "rt", base, &a);
    let v1 = published.publish();
    let image_b = v1.replace(&a.here, &b.here);
    let pa = a.project(engine, "rtwo", base);
    let mut pb = b.project(engine, "rtwo", base);
    // One user, one project, two hosts; the second named the engine client's own way.
    pb.share_home(&pa);
    pb.extra.clear();
    pb.mcpctl_env = vec![
        ("DOCKER_HOST".into(), format!("ssh://{}", b.name)),
        ("MCPCTL_SSH_CONFIG".into(), b.ssh_config.display().to_string()),
    ];
    let local = pa.beside("echo-server", "rtwo", base + 50);

    pa.ok(&["start", "--run-image", &v1]);
    pb.ok(&["start", "--run-image", &image_b]);
    local.ok(&["start"]);
    let files = state_files(&pa);
    assert_eq!(files.len(), 3, "one state file per host: {files:?}");

    for (p, host) in [(&pa, Some(&a)), (&pb, Some(&b)), (&local, None)] {
        let st = json(&p.ok(&["status", "--json"]));
        assert_eq!(st["state"], "running", "{st}");
        assert_eq!(st["host"], host.map(|h| h.label()).unwrap_or_else(|| "local".into()).as_str());
        assert_eq!(st["mcp"]["server"], "echo-server", "{st}");
    }
    pa.ok(&["stop"]);
    let st = json(&pb.ok(&["status", "--json"]));
    assert_eq!(st["state"], "running", "stopping it on one host stopped it on the other: {st}");
    let st = json(&local.ok(&["status", "--json"]));
    assert_eq!(st["state"], "running", "{st}");
    drop(published);
}

/// Each bad host is one clear line and a non-zero exit, and nothing is made on either machine.
fn remote_bad_inputs(engine: &'static str, base: u16, n: u8) {
    let host = TestHost::up(&format!("rb{}", &engine[..1]), n);
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(&host.ssh_config).unwrap();
    let variant = |name: &str, from: &str, to: &str| -> PathBuf {
        let f = dir.path().join(name);
        let text = cfg
            .lines()
            .map(|l| if l.trim_start().starts_with(from) { to.to_string() } else { l.to_string() });
        std::fs::write(&f, text.collect::<Vec<_>>().join("\n") + "\n").unwrap();
        f
    };
    // A key the host does not know; a known_hosts file without the host's key.
    let other_key = dir.path().join("other_key");
    let kg = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .output()
        .unwrap();
    assert!(kg.status.success());
    let wrong_key = variant("wrong-key", "IdentityFile", &format!("  IdentityFile {}", other_key.display()));
    let empty_known = dir.path().join("known_hosts");
    std::fs::write(&empty_known, "").unwrap();
    let unknown_key = variant(
        "unknown-key",
        "UserKnownHostsFile",
        &format!("  UserKnownHostsFile {}", empty_known.display()),
    );
    let unreachable = variant("unreachable", "HostName", &format!("  HostName 10.231.{n}.3"));

    let cases: [(&str, String, &Path, &str); 4] = [
        ("unreachable", host.url(engine), &unreachable, "cannot reach"),
        ("auth refused", host.url(engine), &wrong_key, "refused the ssh login"),
        ("unknown host key", host.url(engine), &unknown_key, "host key"),
        (
            "engine down",
            format!("ssh://{}/run/mcpctl-host/{}/nothing.sock", host.name, host.name),
            &host.ssh_config,
            "is not running",
        ),
    ];
    for (what, url, cfg, says) in cases {
        let mut p = Project::new("echo-server", engine, "rbad", base);
        p.extra = vec!["--host".into(), url.clone(), "--ssh-config".into(), cfg.display().to_string()];
        p.engine_env = vec![("DOCKER_HOST".into(), format!("unix://{}", host.docker_sock))];
        let o = p.mcpctl(&["start"]);
        assert_ne!(o.code, 0, "{what}: {o:?}");
        let errors: Vec<&str> = o.stderr.lines().filter(|l| l.contains('✗')).collect();
        assert_eq!(errors.len(), 1, "{what}: one error line: {o:?}");
        assert!(errors[0].contains(says), "{what}: {o:?}");
        assert!(!o.stderr.contains("panicked"), "{what}: {o:?}");
        // Nothing changed: no state, no container on the host or here.
        assert!(
            !p.home().join(".config").exists() || state_files(&p).is_empty(),
            "{what}: {:?}",
            state_files(&p)
        );
        assert!(p.inspect().is_none(), "{what}: a container was made on the host");
        assert!(p.inspect_local().is_none(), "{what}: a container was made here");
    }

    // The engine there stops after a command connected: the shared connection is still up, the
    // engine behind it is not.
    let mut p = host.project(engine, "rbad", base);
    p.extra.extend(["--run-image".to_string(), "mcpctl-python:bookworm".to_string()]);
    p.ok(&["status"]);
    let pid = std::fs::read_to_string(format!("/run/mcpctl-host/{}/docker.pid", host.name)).unwrap();
    Command::new("kill").arg(pid.trim()).status().unwrap();
    let t0 = std::time::Instant::now();
    while Path::new(&host.docker_sock).exists() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = p.mcpctl(&["start"]);
    assert_ne!(o.code, 0, "{o:?}");
    let errors: Vec<&str> = o.stderr.lines().filter(|l| l.contains('✗')).collect();
    assert_eq!(errors.len(), 1, "one error line: {o:?}");
    assert!(errors[0].contains(&format!("docker on {} is not running", host.label())), "{o:?}");
    assert!(errors[0].contains("start it there"), "{o:?}");
    assert!(state_files(&p).is_empty(), "{:?}", state_files(&p));
}

macro_rules! remote_tests {
    ($($scenario:ident => $engine:literal, $n:expr;)*) => {
        $(
            #[test]
            fn $scenario() {
                if engine_available($engine) {
                    timed(stringify!($scenario), $engine, || super::$scenario($engine, crate::support::ports(100), $n));
                }
            }
        )*
    };
}

pub(crate) mod docker {
    use super::*;
    remote_tests! {
        remote_lifecycle => "docker", 41;
        remote_two_hosts => "docker", 42;
        remote_bad_inputs => "docker", 44;
    }
}

pub(crate) mod podman {
    use super::*;
    remote_tests! {
        remote_lifecycle => "podman", 45;
    }
}
