//! End to end on a real 3-node Docker Swarm (scripts/swarm.sh: three dockerds in network
//! namespaces, a registry on the bridge), with fixtures/replica-server (mcp 2.x, both eras;
//! `whoami` names the task's container that answered). Docker only: podman has no swarm mode
//! (that refusal is tested here too).
//!
//! `swarm_cluster`, one scenario on one cluster, in order:
//! * bad input, each one line and nothing made: podman, an engine not in a swarm, no registry,
//!   a placement no node fits, more replicas than the placement allows;
//! * `start --replicas 3`: one task per node, `tasks.` resolves to three addresses, new-era calls
//!   reach all three through the front; the env value and the token are swarm secrets, absent
//!   from `service inspect` and the containers' settings;
//! * an update after a code change with a new-era client calling every 50 ms and a 2025 session
//!   open: 0 failed calls, every task on the new digest; `rollback` back to the old one and
//!   `update` again;
//! * an update whose server never answers: rolled back by the swarm, 0 failed calls, the image
//!   unchanged; `rollback` then says the swarm already did;
//! * node 3's dockerd killed and its link unplugged under load: the node Down in `status`, three
//!   tasks answering again, 0 failed new-era calls after the bound; `start` of another project
//!   refused while a node is down;
//! * `down`: no service, network, secret or config of the project left.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, ProbeError, Target};
use serde_json::{Value, json};

use crate::e2e::{Project, engine_available, timed};
use crate::front::FRONT_IMAGE;
use crate::replicas::{Caller, failures};
use crate::support::{Outcome, manifest_dir};

/// The token clients send to the front (it goes to the swarm as a secret).
const TOKEN: &str = "e2e-swarm-token-7c1f9a";
/// An env value of the server's (a swarm secret too).
const API_KEY: &str = "e2e-swarm-api-key-3b8d2e";
/// How long after a node is cut off the front may still fail a request: its checks' fall count
/// times their interval plus a timeout (target/swarm/haproxy.cfg.j2), and slack for a loaded
/// machine.
const NODE_LOSS_BOUND: Duration = Duration::from_secs(8);

struct Cluster {
    vars: BTreeMap<String, String>,
}

impl Cluster {
    fn up() -> Cluster {
        Cluster { vars: script(&["up"]) }
    }

    fn manager_sock(&self) -> String {
        format!("unix://{}", self.vars["MCPCTL_SWARM_MANAGER_SOCK"])
    }

    fn registry(&self) -> String {
        self.vars["MCPCTL_SWARM_REGISTRY"].clone()
    }

    fn manager_addr(&self) -> String {
        self.vars["MCPCTL_SWARM_ADDR_1"].clone()
    }
}

/// The cluster goes when the test ends, passed or failed: its daemons, namespaces and shims (the
/// images stay under /var/lib/mcpctl-swarm for the next run).
impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(manifest_dir().join("scripts/swarm.sh")).arg("down").output();
    }
}

fn script(args: &[&str]) -> BTreeMap<String, String> {
    let out = Command::new("bash").arg(manifest_dir().join("scripts/swarm.sh")).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/swarm.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn project(c: &Cluster, name: &str, base: u16) -> Project {
    let mut p = Project::new("replica-server", "docker", name, base);
    p.mcpctl_env = vec![("DOCKER_HOST".into(), c.manager_sock()), ("E2E_SWARM_TOKEN".into(), TOKEN.into())];
    p.engine_env = vec![("DOCKER_HOST".into(), c.manager_sock())];
    p.extra = ["--target", "swarm", "--front-image", FRONT_IMAGE, "--drain-timeout", "6"]
        .map(String::from)
        .to_vec();
    p.ok(&["init"]);
    // The env value is a secret; the front asks for the token; clients reach the front on the
    // manager's address, which DNS-rebinding protection must allow ({host}).
    let toml = p.dir.path().join("mcpctl.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace("127.0.0.1:{port}\"", "127.0.0.1:{port},{host}:{port}\"");
    let text = text.replacen(
        "[env]\n",
        &format!("token-env = \"E2E_SWARM_TOKEN\"\n\n[env]\nAPI_KEY = \"{API_KEY}\"\n"),
        1,
    );
    std::fs::write(&toml, text).unwrap();
    let server = p.dir.path().join("server.py");
    let tool = format!(
        "\n\n@mcp.tool()\ndef api_key_set() -> str:\n    \"\"\"Whether API_KEY reached the server.\"\"\"\n    import os\n\n    return str(os.environ.get(\"API_KEY\") == \"{API_KEY}\")\n\n\nif __name__"
    );
    let code = std::fs::read_to_string(&server).unwrap().replacen("\n\nif __name__", &tool, 1);
    std::fs::write(&server, code).unwrap();
    p
}

/// The project's swarm objects of one kind, by label.
fn listed(p: &Project, what: &str) -> Vec<String> {
    let label = format!("label=io.mcpctl.project={}", p.name);
    let o = p.engine_cmd(&[what, "ls", "--filter", &label, "--format", "{{.Name}}"]);
    let mut v: Vec<String> =
        String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.is_empty()).map(str::to_string).collect();
    v.sort();
    v
}

fn swarm_cleanup(p: &Project) {
    for what in ["service", "network", "secret", "config"] {
        for n in listed(p, what) {
            let _ = p.engine_cmd(&[what, "rm", &n]);
        }
    }
}

/// One 2026-07-28 call through the front at `addr:port` with the token.
fn modern_call(addr: &str, port: u16, tool: &str) -> Result<String, String> {
    crate::replicas::modern_call_at(addr, port, tool, json!({}), Some(TOKEN))
}

/// A new-era client calling `whoami` every 50 ms through the front, with the token.
fn call_every_50ms(addr: &str, port: u16) -> Caller {
    Caller::at(addr, port, Some(TOKEN))
}

fn spread(addr: &str, port: u16, n: usize) -> BTreeSet<String> {
    (0..n).map(|_| modern_call(addr, port, "whoami").expect("a new-era call failed")).collect()
}

/// `service ps` of the server: (node, image, current state) of the tasks meant to run.
fn tasks(p: &Project) -> Vec<(String, String, String)> {
    let svc = format!("{}-mcp", p.name);
    let o = p.engine_cmd(&[
        "service",
        "ps",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}} {{.Image}} {{.CurrentState}}",
        &svc,
    ]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.splitn(3, ' ');
            Some((w.next()?.to_string(), w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

fn service_image(p: &Project) -> String {
    let o = p.engine_cmd(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &format!("{}-mcp", p.name),
    ]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn status_json(p: &Project) -> Value {
    let o = p.ok(&["status", "--json"]);
    serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {o:?}"))
}

fn refused(o: &Outcome, needle: &str) {
    assert_ne!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains(needle), "expected {needle:?}: {o:?}");
}

fn swarm_cluster(base: u16) {
    let c = Cluster::up();
    let (addr, registry) = (c.manager_addr(), c.registry());
    let p = project(&c, "sw", base);
    swarm_cleanup(&p);
    let push = format!("{registry}/{}", p.name);

    // ---- bad input: one line each, nothing made ----
    let mut pod = Project::new("replica-server", "podman", "swpod", base + 50);
    pod.extra = ["--target", "swarm", "--push-to", &push].map(String::from).to_vec();
    refused(&pod.mcpctl(&["start"]), "podman has no swarm mode");
    let mut here = Project::new("replica-server", "docker", "swhere", base + 60);
    here.extra = ["--target", "swarm", "--push-to", &push].map(String::from).to_vec();
    refused(&here.mcpctl(&["start"]), "is not in a swarm");
    refused(&p.mcpctl(&["start"]), "no registry for the swarm's nodes");
    refused(
        &p.mcpctl(&["start", "--push-to", &push, "--placement", "node.hostname==nowhere"]),
        "no ready node fits",
    );
    refused(
        &p.mcpctl(&["start", "--push-to", &push, "--replicas", "3", "--placement", "node.hostname==sw1"]),
        "3 replicas, but the placement allows 1 node(s): sw1",
    );
    refused(&p.mcpctl(&["start", "--push-to", &push, "--no-front"]), "a swarm target without the front");
    assert_eq!(listed(&p, "service"), Vec::<String>::new(), "a refused start made services");

    // ---- start: three replicas, one per node ----
    let o = p.ok(&["start", "--push-to", &push, "--replicas", "3", "--ready-timeout", "60"]);
    let port = p.state_port();
    assert!(o.stdout.contains(&format!("MCP endpoint: http://{addr}:{port}/mcp")), "{o:?}");
    assert!(o.stdout.contains("All 3 task(s) answer through the front"), "{o:?}");
    let t = tasks(&p);
    let nodes: BTreeSet<&str> = t.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(nodes.len(), 3, "one task per node: {t:?}");
    assert!(
        t.iter().all(|(_, i, s)| i.starts_with(&push) && i.contains("@sha256:") && s.starts_with("Running")),
        "{t:?}"
    );
    let hosts = spread(&addr, port, 30);
    assert_eq!(hosts.len(), 3, "30 new-era calls reached {hosts:?}");
    assert_eq!(modern_call(&addr, port, "api_key_set").unwrap(), "True");
    // tasks.SERVICE from inside the front: three addresses.
    let front = p.engine_cmd(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={}-front", p.name),
    ]);
    let front = String::from_utf8_lossy(&front.stdout).trim().to_string();
    let resolve = format!(
        "import socket;print(len({{a[4][0] for a in socket.getaddrinfo('tasks.{}-mcp',0,socket.AF_INET)}}))",
        p.name
    );
    let o = p.engine_cmd(&["exec", &front, "python3", "-c", &resolve]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "3", "{o:?}");
    // The secrets are the swarm's: nowhere in the specs or the containers' settings.
    assert_eq!(listed(&p, "secret").len(), 2, "{:?}", listed(&p, "secret"));
    for svc in ["mcp", "front"] {
        let o = p.engine_cmd(&["service", "inspect", &format!("{}-{svc}", p.name)]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && !text.contains(TOKEN) && !text.contains(API_KEY), "{svc}: {text}");
    }
    let o = p.engine_cmd(&["ps", "-q", "--filter", &format!("label=io.mcpctl.project={}", p.name)]);
    for id in String::from_utf8_lossy(&o.stdout).lines() {
        let o = p.engine_cmd(&["inspect", id]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(!text.contains(TOKEN) && !text.contains(API_KEY), "{text}");
    }
    // Without the token: 401.
    let mut anon = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    anon.addr = addr.parse().unwrap();
    assert!(matches!(
        mcpctl::probe::probe(&anon, Duration::from_secs(5)),
        Err(ProbeError::Status { code: 401, .. })
    ));
    let st = status_json(&p);
    assert_eq!(st["tasks"].as_array().unwrap().len(), 3, "{st}");
    assert!(
        st["tasks"].as_array().unwrap().iter().all(|t| t["front"] == "up" && t["state"] == "running"),
        "{st}"
    );
    assert_eq!(st["mcp"]["answers"], true, "{st}");
    let first_image = service_image(&p);

    // ---- an update under load: 0 failed calls, all tasks on the new digest ----
    let server = p.dir.path().join("server.py");
    let code = std::fs::read_to_string(&server).unwrap();
    let two = code.replacen(
        "\n\nif __name__",
        "\n\n@mcp.tool()\ndef version() -> str:\n    \"\"\"Which code runs.\"\"\"\n    return \"two\"\n\n\nif __name__",
        1,
    );
    std::fs::write(&server, &two).unwrap();
    let mut target = anon.clone();
    target.bearer = Some(TOKEN.into());
    let mut session = Client::connect_2025(&target, Duration::from_secs(30)).expect("a 2025 session");
    let mine = crate::front::call(&mut session, "whoami", json!({})).unwrap();
    let caller = call_every_50ms(&addr, port);
    let t0 = Instant::now();
    let mut run = crate::front::Running::spawn(&p, &["update", "--push-to", &push, "--ready-timeout", "60"]);
    let (mut session_calls, mut session_404) = (0, false);
    while !run.done() {
        if !session_404 {
            match crate::front::call(&mut session, "whoami", json!({})) {
                Ok(h) => {
                    assert_eq!(h, mine, "a 2025 session moved task");
                    session_calls += 1;
                }
                // Its task was replaced and the drain timeout passed: start over.
                Err(ProbeError::Status { code: 404, .. }) => session_404 = true,
                Err(e) => panic!("a 2025 session call failed during the update: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let (code_, out) = run.finish();
    let made = caller.finish();
    assert_eq!(code_, 0, "{out}");
    let failed = failures(&made, t0);
    eprintln!(
        "e2e swarm: update: {} new-era calls, {} failed, in {:.1} s; the 2025 session made {session_calls} calls (404 after drain: {session_404})",
        made.len(),
        failed.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(made.len() >= 20, "only {} calls during the update", made.len());
    assert!(failed.is_empty(), "new-era calls failed during the update: {failed:?}");
    assert!(session_calls >= 3, "the 2025 session made {session_calls} calls");
    let second_image = service_image(&p);
    assert_ne!(second_image, first_image);
    let t = tasks(&p);
    assert!(t.len() == 3 && t.iter().all(|(_, i, _)| *i == second_image), "{t:?} vs {second_image}");
    assert_eq!(modern_call(&addr, port, "version").unwrap(), "two");
    assert_eq!(spread(&addr, port, 30).len(), 3);

    // ---- rollback and forward again ----
    p.ok(&["rollback"]);
    assert_eq!(service_image(&p), first_image);
    // The old code has no version tool (the server answers with an error result).
    for _ in 0..6 {
        let v = modern_call(&addr, port, "version").unwrap_or_default();
        assert!(v.contains("Unknown tool"), "after rollback a call reached the new code: {v}");
    }
    p.ok(&["update", "--push-to", &push, "--ready-timeout", "60"]);
    assert_eq!(service_image(&p), second_image);

    // ---- an update whose server never answers: the swarm rolls back, nobody notices ----
    // At import: mcpctl's launcher imports the module (its __main__ block never runs).
    let hang = format!("{two}\ntime.sleep(100000)\n");
    std::fs::write(&server, &hang).unwrap();
    let caller = call_every_50ms(&addr, port);
    let t0 = Instant::now();
    let o = p.mcpctl(&["update", "--push-to", &push, "--ready-timeout", "15"]);
    let made = caller.finish();
    refused(&o, "the swarm rolled the service back to the previous image by itself");
    let failed = failures(&made, t0);
    eprintln!(
        "e2e swarm: broken update: {} new-era calls, {} failed, rolled back in {:.1} s",
        made.len(),
        failed.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "calls failed during the broken update: {failed:?}");
    assert_eq!(service_image(&p), second_image, "the broken image serves");
    assert_eq!(modern_call(&addr, port, "version").unwrap(), "two");
    refused(&p.mcpctl(&["rollback"]), "the last update was already rolled back");
    std::fs::write(&server, &two).unwrap();

    // ---- a node lost under load ----
    let caller = call_every_50ms(&addr, port);
    let killed = Instant::now();
    script(&["kill-node", "3"]);
    let (mut down_after, mut back_after) = (None, None);
    while killed.elapsed() < Duration::from_secs(90) {
        let st = status_json(&p);
        let sw3_down =
            st["nodes"].as_array().unwrap().iter().any(|n| n["hostname"] == "sw3" && n["status"] == "down");
        if sw3_down && down_after.is_none() {
            down_after = Some(killed.elapsed());
        }
        let running: Vec<&Value> = st["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["state"] == "running" && t["node"] != "sw3")
            .collect();
        if sw3_down && running.len() == 3 && running.iter().all(|t| t["front"] == "up") {
            back_after = Some(killed.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let made = caller.finish();
    let late = failures(&made, killed + NODE_LOSS_BOUND);
    eprintln!(
        "e2e swarm: node loss: {} new-era calls, {} failed within {NODE_LOSS_BOUND:?}, {} after; node down after {down_after:?}, 3 tasks again after {back_after:?}",
        made.len(),
        failures(&made, killed).len() - late.len(),
        late.len()
    );
    assert!(down_after.is_some(), "sw3 never showed as down in status");
    assert!(back_after.is_some(), "three tasks never answered again on sw1 and sw2");
    assert!(late.is_empty(), "new-era calls failed after the bound: {late:?}");
    let o = p.ok(&["status"]);
    assert!(o.stdout.contains("Node sw3: down"), "{o:?}");
    // A node down at start: refused before anything is made.
    let other = project(&c, "sw2nd", base + 70);
    refused(&other.mcpctl(&["start", "--push-to", &push]), "swarm node(s) not ready: sw3");
    assert_eq!(listed(&other, "service"), Vec::<String>::new());
    script(&["revive-node", "3"]);

    // ---- down leaves nothing ----
    p.ok(&["down"]);
    for what in ["service", "network", "secret", "config"] {
        assert_eq!(listed(&p, what), Vec::<String>::new(), "down left a {what}");
    }
}

mod docker {
    #[test]
    fn swarm_cluster() {
        if super::engine_available("docker") {
            super::timed("swarm_cluster", "docker", || super::swarm_cluster(crate::support::ports(100)));
        }
    }
}
