//! The built `mcpctl` against the fake engine (tests/fake-engine): every command, the exact argv
//! the engine receives, colors and -v, and every bad input with its exit code and message.
//!
//! Each test that publishes a port has its own base port (41xxx-47xxx, never shared), so the tests
//! run in parallel; `assert_ports_free` fails early when the host already uses one.

use std::net::TcpListener;

use serde_json::Value;

use crate::support::{
    Client, FakeMcp, Outcome, REC_CONTAINER, Response, Test, assert_ports_free, listening,
    rec_inspect, rec_missing, strip_ansi, wait_not_listening,
};

// ---- helpers ----------------------------------------------------------------------------------------

/// Project `rec` on `c`'s fake, scripted for a fresh deployment on `port`: the container is
/// missing, then (after `run`, which starts the fake MCP server) running and healthy.
fn fresh(c: Client, port: u16) -> Test {
    assert_ports_free(port, 2);
    let t = Test::new(c);
    script_lifecycle(&t, c, port);
    t
}

fn script_lifecycle(t: &Test, c: Client, port: u16) {
    t.answer(
        "container-inspect",
        &[rec_missing(c), rec_inspect(c, "inspect-healthy", port)],
    );
    t.answer("build", &[Response::recorded(c, "build-ok")]);
    t.answer("run", &[Response::recorded(c, "run-running").serving()]);
    t.answer("logs", &[Response::recorded(c, "logs")]);
    t.answer("rm", &[Response::ok(&format!("{REC_CONTAINER}\n"))]);
    t.answer("stop", &[Response::ok(&format!("{REC_CONTAINER}\n"))]);
}

/// A test whose container exists and runs (inspect always says so).
fn deployed(c: Client, case: &str, port: u16) -> Test {
    let t = Test::new(c);
    t.answer("container-inspect", &[rec_inspect(c, case, port)]);
    t.answer("stop", &[Response::ok(&format!("{REC_CONTAINER}\n"))]);
    t.answer("rm", &[Response::ok(&format!("{REC_CONTAINER}\n"))]);
    t.answer("logs", &[Response::recorded(c, "logs")]);
    t
}

fn start_args(port: u16) -> Vec<String> {
    [
        "start",
        "--base-port",
        &port.to_string(),
        "--ready-timeout",
        "20",
    ]
    .map(String::from)
    .to_vec()
}

fn run(t: &Test, args: &[String]) -> Outcome {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    t.run(&a)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The argv mcpctl's `run` must send for project `rec` on `port` (defaults everywhere).
fn expected_run_argv(t: &Test, port: u16) -> Vec<String> {
    let dir = t.project.display().to_string();
    let mut v = s(&[
        "run",
        "-d",
        "--name",
        "rec-mcp",
        "--label",
        "io.mcpctl.project=rec",
        "--label",
    ]);
    v.push(format!("io.mcpctl.port={port}"));
    v.push("--label".into());
    v.push(format!("io.mcpctl.project-dir={dir}"));
    v.push("-p".into());
    v.push(format!("127.0.0.1:{port}:3001"));
    v.extend(s(&[
        "-e",
        "LOG_LEVEL=INFO",
        "-e",
        "PORT=3001",
        "-v",
        "rec-mcp_data:/home/appuser/.rec",
        "-v",
        "rec-mcp_config:/home/appuser/.config/rec",
        "-v",
        "rec-mcp_logs:/home/appuser/.local/share/rec",
        "--restart",
        "unless-stopped",
        "--pull",
        "never",
        "rec-mcp",
    ]));
    v
}

fn saved_port(t: &Test) -> Option<u64> {
    let text = std::fs::read_to_string(t.state_file("rec")).ok()?;
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("state file is not JSON ({e}): {text}"));
    v.get("port").and_then(Value::as_u64)
}

fn write_state(t: &Test, text: &str) {
    let p = t.state_file("rec");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn json_stdout(o: &Outcome) -> Value {
    serde_json::from_str(o.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e})\n{}", o.dump()))
}

// ---- start ------------------------------------------------------------------------------------------

fn start_happy_path(c: Client, port: u16) {
    let t = fresh(c, port);
    let o = run(&t, &start_args(port));
    o.code(0)
        .stdout_has(&format!("{} is running (", c.program()))
        .stdout_has("✓ Image built")
        .stdout_has(&format!("✓ Container started on port {port}"))
        .stdout_has("✓ MCP server answers: fake-mcp 9.9.9 over streamable-http, protocol 2025-06-18, 2 tools")
        .stdout_has("→ Engine health check: healthy (shown, not waited for)")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .stdout_has(&format!("claude mcp add rec --transport http http://localhost:{port}/mcp"))
        .stdout_lacks("\u{1b}[");
    assert_eq!(o.stderr, "", "{}", o.dump());
    assert_eq!(o.calls[0], ["--version"], "{}", o.dump());
    assert_eq!(
        o.calls[1],
        ["container", "inspect", "rec-mcp"],
        "{}",
        o.dump()
    );

    let dir = t.project.display().to_string();
    let mut build = s(&["build"]);
    if c == Client::Podman {
        build.extend(s(&["--format", "docker"]));
    }
    build.extend(s(&[
        "-t",
        "rec-mcp",
        "-f",
        &format!("{dir}/Dockerfile"),
        "--label",
        "io.mcpctl.project=rec",
    ]));
    build.push(format!("{dir}/."));
    assert_eq!(o.only_call("build"), &build, "{}", o.dump());
    assert_eq!(
        o.only_call("run"),
        &expected_run_argv(&t, port),
        "{}",
        o.dump()
    );
    // build comes before run; nothing is stopped or removed on a fresh start.
    let keys = o.call_keys();
    let pos = |k: &str| keys.iter().position(|x| x == k).unwrap();
    assert!(pos("build") < pos("run"), "{keys:?}");
    o.no_call("stop").no_call("rm");
    assert_eq!(saved_port(&t), Some(port as u64));
    assert!(
        listening(port),
        "the fake MCP server should still run after start"
    );
}

#[test]
fn start_on_docker28() {
    start_happy_path(Client::Docker28, 41000);
}

#[test]
fn start_on_docker20() {
    start_happy_path(Client::Docker20, 41010);
}

#[test]
fn start_on_podman_builds_with_docker_format() {
    start_happy_path(Client::Podman, 41020);
}

#[test]
fn start_when_already_running_changes_nothing() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41030);
    let o = t.run(&["start", "--base-port", "41030"]);
    o.code(0)
        .stdout_has("⚠ Container already running")
        .stdout_has("→ MCP endpoint: http://localhost:41030/mcp")
        .no_call("build")
        .no_call("run")
        .no_call("stop")
        .no_call("rm");
}

#[test]
fn start_removes_a_stopped_container_first() {
    let port = 41040;
    let t = fresh(Client::Docker28, port);
    t.answer(
        "container-inspect",
        &[
            rec_inspect(Client::Docker28, "inspect-exited", port),
            rec_inspect(Client::Docker28, "inspect-healthy", port),
        ],
    );
    let o = run(&t, &start_args(port));
    o.code(0)
        .stdout_has("Removing stopped container")
        .no_call("stop");
    assert_eq!(o.only_call("rm"), &s(&["rm", "rec-mcp"]));
    let keys = o.call_keys();
    assert!(
        keys.iter().position(|k| k == "rm") < keys.iter().position(|k| k == "build"),
        "{keys:?}"
    );
}

#[test]
fn start_uses_the_saved_port_and_moves_when_it_is_taken() {
    let base = 41050;
    assert_ports_free(base, 10);
    let t = fresh(Client::Docker28, base);
    write_state(
        &t,
        &format!("{{\"port\": {}, \"note\": \"kept\"}}", base + 5),
    );
    let o = run(&t, &start_args(base));
    o.code(0).stdout_lacks("saved port");
    assert!(
        o.only_call("run")
            .contains(&format!("127.0.0.1:{}:3001", base + 5)),
        "{}",
        o.dump()
    );
    let kept = std::fs::read_to_string(t.state_file("rec")).unwrap();
    assert!(
        kept.contains("\"note\": \"kept\""),
        "other state keys are kept: {kept}"
    );

    // Saved port busy (held by a host process): the first free port from the base, with a warning.
    t.engine.stop_servers();
    assert!(wait_not_listening(
        base + 5,
        std::time::Duration::from_secs(5)
    ));
    let _hold = TcpListener::bind(("127.0.0.1", base + 5)).unwrap();
    script_lifecycle(&t, Client::Docker28, base);
    let o = run(&t, &start_args(base));
    o.code(0).stdout_has(&format!(
        "⚠ saved port {} is in use by something else: moving to port {base} (update your client's URL)",
        base + 5
    ));
    assert!(
        o.only_call("run")
            .contains(&format!("127.0.0.1:{base}:3001")),
        "{}",
        o.dump()
    );
    assert_eq!(saved_port(&t), Some(base as u64));
}

#[test]
fn start_from_another_dir_with_project_dir_flag() {
    let port = 41070;
    let t = fresh(Client::Docker28, port);
    let elsewhere = t.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let t = t.cwd(&elsewhere);
    let project = t.project.display().to_string();
    let mut args = start_args(port);
    args.extend(["-C".to_string(), project]);
    run(&t, &args).code(0).stdout_has("✓ MCP server answers");
    // Without -C there is no project here.
    t.run(&["status"])
        .code(2)
        .one_stderr_line("no project name:");
}

#[test]
fn project_dir_that_does_not_exist() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["status", "-C", "/nonexistent/project"]);
    o.code(2)
        .one_stderr_line("project directory /nonexistent/project cannot be used");
    assert!(o.calls.is_empty(), "{}", o.dump());
}

// ---- ready ------------------------------------------------------------------------------------------

#[test]
fn start_fails_when_nothing_answers_mcp() {
    let port = 41080;
    let t = fresh(Client::Docker28, port);
    t.answer(
        "run",
        &[Response::recorded(Client::Docker28, "run-running")],
    ); // no server
    let o = t.run(&["start", "--base-port", "41080", "--ready-timeout", "1"]);
    o.code(1)
        .stderr_has("✗ Not ready: no MCP answer from http://localhost:41080/mcp within 1.0 s: the last attempt got connection refused")
        .stdout_has("→ Fix: check the log lines below")
        .stdout_has("Serving HTTP on 0.0.0.0 port 3001");
    assert!(
        o.calls_to("logs")
            .iter()
            .all(|c| c.contains(&"--tail".to_string())),
        "{}",
        o.dump()
    );
}

#[test]
fn start_fails_when_the_container_exits_while_waiting() {
    let port = 41090;
    let t = fresh(Client::Docker28, port);
    t.answer("run", &[Response::recorded(Client::Docker28, "run-exited")]);
    t.answer(
        "container-inspect",
        &[
            rec_missing(Client::Docker28),
            rec_inspect(Client::Docker28, "inspect-exited", port),
        ],
    );
    t.answer(
        "logs",
        &[Response::recorded(Client::Docker28, "logs-exited")],
    );
    let o = run(&t, &start_args(port));
    o.code(1)
        .one_stderr_line("✗ The container exited with code 3 before answering MCP");
    o.stdout_has("Last 1 log lines of rec-mcp:")
        .stdout_has("    bye");
}

// ---- stop -------------------------------------------------------------------------------------------

#[test]
fn stop_stops_and_removes_and_keeps_volumes() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41100);
    let o = t.run(&["stop"]);
    o.code(0)
        .stdout_has("→ Stopping container...")
        .stdout_has("✓ Container stopped and removed")
        .stdout_has("→ Volumes kept: rec-mcp_data, rec-mcp_config, rec-mcp_logs");
    assert_eq!(o.only_call("stop"), &s(&["stop", "-t", "10", "rec-mcp"]));
    assert_eq!(o.only_call("rm"), &s(&["rm", "rec-mcp"]));
    assert_eq!(
        o.call_keys(),
        ["--version", "container-inspect", "stop", "rm"]
    );
}

#[test]
fn stop_of_an_exited_container_only_removes_it() {
    let t = deployed(Client::Podman, "inspect-exited", 41110);
    let o = t.run(&["stop"]);
    o.code(0).no_call("stop");
    assert_eq!(o.only_call("rm"), &s(&["rm", "rec-mcp"]));
}

#[test]
fn stop_when_not_deployed() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("container-inspect", &[rec_missing(c)]);
        let o = t.run(&["stop"]);
        o.code(0)
            .stdout_has("→ Not deployed: there is no container rec-mcp")
            .no_call("stop")
            .no_call("rm");
    }
}

#[test]
fn stop_that_fails_is_reported() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41120);
    t.answer(
        "stop",
        &[Response::fail(
            1,
            "Error response from daemon: cannot stop container: rec-mcp: permission denied\n",
        )],
    );
    let o = t.run(&["stop"]);
    o.code(1).one_stderr_line("✗ Failed to stop rec-mcp: Error response from daemon: cannot stop container: rec-mcp: permission denied");
    o.no_call("rm");
}

#[test]
fn stop_uses_stop_timeout_from_config() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41130).file(
        "pyproject.toml",
        "[project]\nname = \"rec\"\n[tool.mcpctl]\nstop-timeout = 3\n",
    );
    let o = t.run(&["stop"]);
    o.code(0);
    assert_eq!(o.only_call("stop"), &s(&["stop", "-t", "3", "rec-mcp"]));
}

#[test]
fn quiet_stop_prints_only_results() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41140);
    let o = t.run(&["stop", "-q"]);
    o.code(0)
        .stdout_has("✓ Container stopped and removed")
        .stdout_lacks("Stopping container")
        .stdout_lacks("MCP Server - Stop");
}

// ---- restart and update -----------------------------------------------------------------------------

#[test]
fn restart_stops_and_runs_again_on_the_saved_port_without_building() {
    let port = 41200;
    let t = fresh(Client::Docker28, port);
    run(&t, &start_args(port)).code(0);
    assert!(listening(port));
    // The base port moved: restart must keep the saved port, not go back to the base.
    let o = t.run(&["restart", "--base-port", "41210", "--ready-timeout", "20"]);
    o.code(0)
        .stdout_has("✓ Container stopped")
        .stdout_has("✓ Container restarted successfully")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .stdout_lacks("saved port");
    assert_eq!(
        o.call_keys()[..5],
        ["--version", "container-inspect", "stop", "rm", "run"],
        "{}",
        o.dump()
    );
    o.no_call("build");
    assert_eq!(
        o.only_call("run"),
        &expected_run_argv(&t, port),
        "{}",
        o.dump()
    );
    assert!(listening(port), "the new fake server runs");
}

#[test]
fn restart_when_missing_runs_on_the_saved_port() {
    let base = 41220;
    let t = fresh(Client::Podman, base);
    write_state(&t, &format!("{{\"port\": {}}}", base + 1));
    let o = run(
        &t,
        &["restart".into(), "--base-port".into(), base.to_string()],
    );
    o.code(0).no_call("stop").no_call("rm").no_call("build");
    assert!(
        o.only_call("run")
            .contains(&format!("127.0.0.1:{}:3001", base + 1)),
        "{}",
        o.dump()
    );
}

#[test]
fn update_rebuilds_then_replaces_the_container_on_the_same_port() {
    let port = 41230;
    let t = fresh(Client::Docker20, port);
    run(&t, &start_args(port)).code(0);
    let o = t.run(&["update", "--ready-timeout", "20"]);
    o.code(0)
        .stdout_has("→ The running container keeps serving while the image builds")
        .stdout_has("✓ MCP server updated with latest code!")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"));
    let keys = o.call_keys();
    assert_eq!(
        keys[..6],
        [
            "--version",
            "container-inspect",
            "build",
            "stop",
            "rm",
            "run"
        ],
        "{}",
        o.dump()
    );
    assert!(
        o.only_call("run")
            .contains(&format!("127.0.0.1:{port}:3001"))
    );
    assert_eq!(saved_port(&t), Some(port as u64));
}

#[test]
fn update_without_a_deployment_runs_start() {
    let port = 41240;
    let t = fresh(Client::Docker28, port);
    // update looks once, then start looks again.
    let c = Client::Docker28;
    t.answer(
        "container-inspect",
        &[
            rec_missing(c),
            rec_missing(c),
            rec_inspect(c, "inspect-healthy", port),
        ],
    );
    let o = run(
        &t,
        &["update".into(), "--base-port".into(), port.to_string()],
    );
    o.code(0)
        .stdout_has("⚠ No existing deployment found")
        .stdout_has("→ Running 'start' instead...")
        .stdout_has("MCP Server - Start: rec")
        .stdout_has("✓ MCP server is running!");
    o.only_call("build");
    o.only_call("run");
}

#[test]
fn update_with_a_broken_build_leaves_the_running_container_alone() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41250);
    write_state(&t, "{\"port\": 41250}");
    t.answer(
        "build",
        &[Response::recorded(Client::Docker28, "build-fail")],
    );
    let o = t.run(&["update"]);
    o.code(1)
        .stderr_has("Failed to build image rec-mcp")
        .no_call("stop")
        .no_call("rm")
        .no_call("run");
}

// ---- status -----------------------------------------------------------------------------------------

#[test]
fn status_not_deployed() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["status"]);
    o.code(0)
        .stdout_has("→ Status: not deployed")
        .stdout_has("→ Run 'mcpctl start' to deploy");
    assert_eq!(o.call_keys(), ["--version", "container-inspect"]);
}

#[test]
fn status_running_probes_mcp() {
    let port = 41300;
    assert_ports_free(port, 1);
    let _server = FakeMcp::start(port);
    let t = deployed(Client::Docker28, "inspect-healthy", port);
    let o = t.run(&["status"]);
    o.code(0)
        .stdout_has("MCP Server - Status: rec")
        .stdout_has("✓ Status: running (healthy)")
        .stdout_has(
            "✓ MCP: fake-mcp 9.9.9 answers over streamable-http, protocol 2025-06-18, 2 tools, ",
        )
        .stdout_has(&format!("→ Port: {port}"))
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"));
    assert_eq!(o.call_keys(), ["--version", "container-inspect"]);
}

#[test]
fn status_json_running() {
    let port = 41310;
    assert_ports_free(port, 1);
    let _server = FakeMcp::start(port);
    let t = deployed(Client::Podman, "inspect-healthy", port);
    let o = t.run(&["status", "--json"]);
    o.code(0);
    let v = json_stdout(&o);
    assert_eq!(v["name"], "rec");
    assert_eq!(v["container"], "rec-mcp");
    assert_eq!(v["image"], "rec-mcp");
    assert_eq!(v["engine"], "podman");
    assert_eq!(v["state"], "running");
    assert_eq!(v["status"], "running");
    assert_eq!(v["health"], "healthy");
    assert_eq!(v["port"], port);
    assert_eq!(v["endpoint"], format!("http://localhost:{port}/mcp"));
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["mcp"]["ok"], true);
    assert_eq!(v["mcp"]["transport"], "streamable-http");
    assert_eq!(v["mcp"]["server"], "fake-mcp");
    assert_eq!(v["mcp"]["tools"], 2);
    assert_eq!(v["mcp"]["tool_names"], serde_json::json!(["echo", "add"]));
    // Progress (the title) goes to stderr with --json; stdout is only the JSON.
    o.stderr_has("MCP Server - Status: rec");
}

#[test]
fn status_json_not_deployed_shows_the_saved_port() {
    let t = Test::new(Client::Docker20);
    t.answer("container-inspect", &[rec_missing(Client::Docker20)]);
    write_state(&t, "{\"port\": 41320}");
    let o = t.run(&["status", "--json"]);
    o.code(0);
    let v = json_stdout(&o);
    assert_eq!(v["state"], "not-deployed");
    assert_eq!(v["port"], 41320);
    assert_eq!(v["mcp"], Value::Null);
}

#[test]
fn status_of_an_exited_container() {
    let t = deployed(Client::Docker28, "inspect-exited", 41330);
    t.run(&["status"])
        .code(0)
        .stdout_has("⚠ Status: stopped (exited with code 3)");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(v["state"], "stopped");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["health"], Value::Null);
}

#[test]
fn status_unhealthy_and_not_answering() {
    let port = 41340;
    assert_ports_free(port, 1);
    let t = deployed(Client::Podman, "inspect-unhealthy", port);
    let o = t.run(&["status"]);
    o.code(0)
        .stdout_has("⚠ Status: running (unhealthy)")
        .stdout_has("⚠ MCP: not answering (connection refused)");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(v["health"], "unhealthy");
    assert_eq!(v["mcp"]["ok"], false);
}

#[test]
fn status_without_healthcheck_on_podman() {
    let port = 41350;
    assert_ports_free(port, 1);
    let t = deployed(Client::Podman, "inspect-nohc", port);
    t.run(&["status"])
        .code(0)
        .stdout_has("Status: running (no health check)");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(
        v["health"],
        Value::Null,
        "podman's Status \"\" is no health"
    );
}

#[test]
fn status_of_a_foreign_container() {
    let t = Test::new(Client::Docker28);
    t.answer(
        "container-inspect",
        &[rec_inspect(Client::Docker28, "inspect-healthy", 41360)
            .replace("\"io.mcpctl.project\": \"rec\",", "")],
    );
    t.run(&["status"])
        .code(0)
        .stdout_has("⚠ Status: a container named rec-mcp exists, but mcpctl did not create it");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(v["state"], "foreign");
}

// ---- logs -------------------------------------------------------------------------------------------

#[test]
fn logs_no_follow_passes_the_engine_output_through() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41400);
    let o = t.run(&["logs", "--no-follow"]);
    o.code(0)
        .stdout_has("Serving HTTP on 0.0.0.0 port 3001 (http://0.0.0.0:3001/) ...")
        .stderr_has("\"GET / HTTP/1.1\" 200 -")
        .stdout_lacks("MCP Server - Logs");
    assert_eq!(o.only_call("logs"), &s(&["logs", "rec-mcp"]));
}

#[test]
fn logs_tail_and_follow_argv() {
    let t = deployed(Client::Podman, "inspect-exited", 41410);
    let o = t.run(&["logs", "--no-follow", "--tail", "5"]);
    o.code(0);
    assert_eq!(o.only_call("logs"), &s(&["logs", "--tail", "5", "rec-mcp"]));
    let o = t.run(&["logs", "--tail", "7"]);
    o.code(0)
        .stdout_has("MCP Server - Logs: rec")
        .stdout_has("→ Press Ctrl+C to stop");
    assert_eq!(
        o.only_call("logs"),
        &s(&["logs", "-f", "--tail", "7", "rec-mcp"])
    );
}

#[test]
fn logs_of_a_missing_container() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["logs", "--no-follow"]);
    o.code(1).one_stderr_line(
        "✗ no container rec-mcp: nothing to show logs of; deploy it with `mcpctl start`",
    );
    o.no_call("logs");
}

#[test]
fn logs_that_fail() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41420);
    t.answer(
        "logs",
        &[Response::fail(
            1,
            "Error response from daemon: configured logging driver does not support reading\n",
        )],
    );
    let o = t.run(&["logs", "--no-follow"]);
    o.code(1)
        .stderr_has("configured logging driver does not support reading")
        .stderr_has("✗ docker logs exited with 1");
}

// ---- list -------------------------------------------------------------------------------------------

#[test]
fn list_shows_a_table() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("ps", &[Response::recorded(c, "ps-label")]);
        let o = t.run(&["list"]);
        o.code(0)
            .stdout_has("CONTAINER")
            .stdout_has("PROJECT")
            .stdout_has("STATE");
        let format = if c == Client::Podman {
            "json"
        } else {
            "{{json .}}"
        };
        assert_eq!(
            o.only_call("ps"),
            &s(&[
                "ps",
                "-a",
                "--filter",
                "label=io.mcpctl.project",
                "--format",
                format
            ])
        );
        let rows: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("rec-")).collect();
        assert_eq!(rows.len(), 5, "{}", o.dump());
        let running = rows
            .iter()
            .find(|l| l.starts_with("rec-running "))
            .expect("rec-running row");
        assert!(
            running.contains(" rec ") && running.contains(" running "),
            "{running}"
        );
        assert!(running.ends_with("(healthy)"), "{running}");
        let exited = rows.iter().find(|l| l.starts_with("rec-exited ")).unwrap();
        assert!(exited.contains("Exited (3)"), "{exited}");
        o.no_call("container-inspect");
    }
}

#[test]
fn list_json() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("ps", &[Response::recorded(c, "ps-label")]);
        let o = t.run(&["list", "--json"]);
        o.code(0);
        let v = json_stdout(&o);
        let arr = v.as_array().expect("an array");
        assert_eq!(arr.len(), 5);
        let mut names: Vec<&str> = arr.iter().map(|e| e["name"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "rec-created",
                "rec-exited",
                "rec-nohc",
                "rec-running",
                "rec-unhealthy"
            ]
        );
        assert!(
            arr.iter()
                .all(|e| e["labels"]["io.mcpctl.project"] == "rec"),
            "{v}"
        );
    }
}

#[test]
fn list_empty() {
    let t = Test::new(Client::Docker28);
    t.answer(
        "ps",
        &[Response::recorded(Client::Docker28, "after-cleanup-ps")],
    );
    t.run(&["list"])
        .code(0)
        .stdout_has("→ No mcpctl containers on docker");
    assert_eq!(t.run(&["list", "--json"]).code(0).stdout.trim(), "[]");
    let p = Test::new(Client::Podman);
    p.answer(
        "ps",
        &[Response::recorded(
            Client::Podman,
            "ps-name-anchored-nomatch",
        )],
    );
    p.run(&["list"])
        .code(0)
        .stdout_has("→ No mcpctl containers on podman");
}

#[test]
fn list_when_the_engine_is_not_running() {
    let t = Test::new(Client::Docker28);
    t.answer(
        "ps",
        &[Response::recorded(Client::Docker28, "not-running-ps")],
    );
    t.run(&["list"])
        .code(1)
        .one_stderr_line("✗ docker is not running: Cannot connect to the Docker daemon");
}

// ---- colors and -v ------------------------------------------------------------------------------------

#[test]
fn color_always_never_and_no_color() {
    let t = deployed(Client::Docker28, "inspect-healthy", 41500);
    let o = t.run(&["stop", "--color", "always"]);
    o.code(0).stdout_has("\u{1b}[");
    let plain = strip_ansi(&o.stdout);
    assert!(
        plain.contains("  ✓ Container stopped and removed"),
        "{plain}"
    );
    assert!(plain.contains("  → Stopping container..."), "{plain}");
    // The escape wraps the marker line itself.
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with("\u{1b}[") && l.contains("✓ Container stopped")),
        "{}",
        o.dump()
    );

    for args in [&["stop", "--color", "never"][..], &["stop"][..]] {
        let o = t.run(args);
        o.code(0)
            .stdout_has("  ✓ Container stopped and removed")
            .stdout_lacks("\u{1b}");
        assert!(!o.stderr.contains('\u{1b}'), "{}", o.dump());
    }
    // NO_COLOR turns auto off, CLICOLOR_FORCE turns it on, an explicit flag beats both.
    let no_color = deployed(Client::Docker28, "inspect-healthy", 41500)
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1");
    no_color.run(&["stop"]).code(0).stdout_lacks("\u{1b}");
    no_color
        .run(&["stop", "--color", "always"])
        .code(0)
        .stdout_has("\u{1b}[");
    let forced = deployed(Client::Docker28, "inspect-healthy", 41500).env("CLICOLOR_FORCE", "1");
    forced.run(&["stop"]).code(0).stdout_has("\u{1b}[");
}

#[test]
fn errors_are_colored_only_when_asked() {
    let t = Test::bare().pyproject("rec");
    let o = t.run(&["status", "--color", "always"]);
    o.code(2).stderr_has("\u{1b}[");
    assert!(
        strip_ansi(&o.stderr).contains("  ✗ no container engine found"),
        "{}",
        o.dump()
    );
    let o = t.run(&["status", "--color", "never"]);
    o.code(2)
        .stderr_lacks("\u{1b}")
        .one_stderr_line("  ✗ no container engine found");
}

#[test]
fn verbose_prints_engine_commands_shell_quoted() {
    let t = Test::new(Client::Docker28);
    t.answer("ps", &[Response::recorded(Client::Docker28, "ps-label")]);
    let bin = t.engine.bin.join("docker").display().to_string();
    let o = t.run(&["list", "-v"]);
    o.code(0)
        .stderr_has(&format!("$ {bin} --version\n"))
        .stderr_has(&format!(
            "$ {bin} ps -a --filter label=io.mcpctl.project --format '{{{{json .}}}}'\n"
        ));
    let dollar_lines: Vec<&str> = o.stderr.lines().filter(|l| l.starts_with("$ ")).collect();
    assert_eq!(
        dollar_lines.len(),
        o.calls.len(),
        "one line per engine call\n{}",
        o.dump()
    );
    // Without -v there are none.
    t.run(&["list"]).code(0).stderr_lacks("$ ");
}

#[test]
fn verbose_start_shows_run_line_and_streams_build_output() {
    let port = 41510;
    let t = fresh(Client::Docker28, port);
    let mut args = start_args(port);
    args.extend(["-v".into(), "-e".into(), "GREETING=hello world".into()]);
    let o = run(&t, &args);
    o.code(0);
    let run_line = o
        .stderr
        .lines()
        .find(|l| l.contains(" run -d "))
        .unwrap_or_else(|| panic!("{}", o.dump()));
    assert!(
        run_line.starts_with(&format!(
            "$ {}/docker run -d --name rec-mcp ",
            t.engine.bin.display()
        )),
        "{run_line}"
    );
    assert!(
        run_line.contains(&format!(" -p 127.0.0.1:{port}:3001 ")),
        "{run_line}"
    );
    assert!(
        run_line.contains(" -e 'GREETING=hello world' "),
        "{run_line}"
    );
    assert!(
        run_line.ends_with(" --restart unless-stopped --pull never rec-mcp"),
        "{run_line}"
    );
    // The build's own output is streamed (stdout and stderr of the engine, merged).
    o.stdout_has("Successfully tagged rec-ok:latest")
        .stdout_has("DEPRECATED: The legacy builder is deprecated");
    assert!(
        o.only_call("run")
            .contains(&"GREETING=hello world".to_string())
    );
}

// ---- bad input: engine ----------------------------------------------------------------------------

#[test]
fn no_engine_on_path() {
    let t = Test::bare().pyproject("rec").dockerfile();
    for cmd in ["start", "status", "list"] {
        let o = t.run(&[cmd]);
        o.code(2).one_stderr_line(
            "no container engine found: none of docker, podman, nerdctl is on PATH; install one (Debian: apt-get install docker.io, or podman) or pass --engine /path/to/binary",
        );
        assert!(o.calls.is_empty());
    }
    // The same bin dir with a fake docker in it works: the test above can fail.
    let t = t.engine("docker", Client::Docker28);
    t.answer(
        "ps",
        &[Response::recorded(Client::Docker28, "after-cleanup-ps")],
    );
    t.run(&["list"]).code(0);
}

#[test]
fn engine_not_running() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer(
            "container-inspect",
            &[Response::recorded(c, "not-running-inspect")],
        );
        let o = t.run(&["status"]);
        let (name, why, fix) = match c {
            Client::Podman => (
                "podman",
                "Error: unable to connect to Podman socket:",
                "check `podman info`",
            ),
            _ => (
                "docker",
                "Cannot connect to the Docker daemon at unix:///tmp/nonexistent.sock.",
                "start dockerd",
            ),
        };
        o.code(1)
            .one_stderr_line(&format!("✗ {name} is not running: {why}"));
        o.stderr_has(fix);
        let o = t.run(&["start"]);
        o.code(1)
            .one_stderr_line(&format!("{name} is not running"))
            .no_call("build")
            .no_call("run");
    }
}

#[test]
fn engine_flag_unknown_name() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["status", "--engine", "unknown"]);
    o.code(2).one_stderr_line(
        "--engine unknown: unknown engine; use docker, podman, nerdctl or a path to one of them",
    );
    assert!(o.calls.is_empty());
    let o = t.run_with_env(&[("MCPCTL_ENGINE", "dokker")], &["status"]);
    o.code(2).one_stderr_line("--engine dokker: unknown engine");
}

#[test]
fn engine_flag_missing_path() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["status", "--engine", "/nonexistent"]);
    o.code(2).one_stderr_line(
        "--engine /nonexistent: no such file; give the path of a docker, podman or nerdctl binary",
    );
    assert!(o.calls.is_empty());
}

#[test]
fn engine_flag_known_name_not_on_path() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["status", "--engine", "podman"]);
    o.code(2)
        .one_stderr_line("--engine podman: podman is not on PATH");
    assert!(o.calls.is_empty());
}

#[test]
fn engine_flag_path_is_used_and_classified() {
    // A fake podman outside PATH, named oddly, picked by path: classified by its --version.
    let t = Test::new(Client::Docker28);
    let odd = t.engine.install("my-engine");
    t.answer(
        "--version",
        &[Response::recorded(Client::Podman, "version")],
    );
    t.answer("ps", &[Response::recorded(Client::Podman, "ps-label")]);
    let o = t.run(&["list", "--engine", &odd.display().to_string()]);
    o.code(0);
    assert_eq!(
        o.only_call("ps").last().unwrap(),
        "json",
        "podman's ps format\n{}",
        o.dump()
    );
}

#[test]
fn engine_that_is_not_an_engine() {
    let t = Test::new(Client::Docker28);
    let odd = t.engine.install("mytool");
    t.answer("--version", &[Response::ok("mytool 1.0\n")]);
    t.answer("--help", &[Response::ok("usage: mytool [flags]\n")]);
    let o = t.run(&["status", "--engine", &odd.display().to_string()]);
    o.code(2).one_stderr_line("this binary does not look like docker, podman or nerdctl (its --version printed 'mytool 1.0')");
    assert_eq!(o.call_keys(), ["--version", "--help"]);
}

#[test]
fn docker_that_is_podman_is_treated_as_podman() {
    let port = 41600;
    assert_ports_free(port, 2);
    let t = Test::bare()
        .pyproject("rec")
        .dockerfile()
        .engine("docker", Client::Podman);
    script_lifecycle(&t, Client::Podman, port);
    let o = run(&t, &start_args(port));
    o.code(0)
        .stdout_has("podman is running (podman version 4.3.1)");
    let build = o.only_call("build");
    assert_eq!(
        build[..3],
        s(&["build", "--format", "docker"]),
        "{}",
        o.dump()
    );
    t.answer("ps", &[Response::recorded(Client::Podman, "ps-label")]);
    let o = t.run(&["list", "--json"]);
    o.code(0);
    assert_eq!(o.only_call("ps").last().unwrap(), "json");
}

// ---- bad input: project and settings ------------------------------------------------------------

#[test]
fn start_without_dockerfile() {
    let t = Test::bare()
        .pyproject("rec")
        .engine("docker", Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["start"]);
    let df = t.project.join("Dockerfile").display().to_string();
    o.code(2).one_stderr_line(&format!(
        "✗ no Dockerfile at {df}: mcpctl builds the image from it"
    ));
    o.no_call("build").no_call("run");
    // --dockerfile pointing at a missing file names that file.
    let o = t.run(&["start", "--dockerfile", "docker/Prod.Dockerfile"]);
    o.code(2).one_stderr_line(&format!(
        "no Dockerfile at {}",
        t.project.join("docker/Prod.Dockerfile").display()
    ));
}

#[test]
fn no_pyproject_and_no_name() {
    let t = Test::bare().dockerfile().engine("docker", Client::Docker28);
    for cmd in ["start", "stop", "status"] {
        let o = t.run(&[cmd]);
        o.code(2).one_stderr_line("✗ no project name:");
        o.stderr_has("or give --name");
        assert!(o.calls.is_empty(), "{}", o.dump());
    }
    // With --name it goes on to the engine.
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    t.run(&["status", "--name", "rec"])
        .code(0)
        .stdout_has("Status: not deployed");
}

/// args, extra environment, the message clap's error line must contain.
type BadPortCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn base_port_out_of_range_or_not_a_number() {
    let t = Test::new(Client::Docker28);
    let cases: [BadPortCase; 4] = [
        (
            &["start", "--base-port", "70000"],
            &[],
            "base port 70000 is out of range: mcpctl tries 100 ports from it, so use 1-65436",
        ),
        (
            &["start", "--base-port", "65500"],
            &[],
            "base port 65500 is out of range",
        ),
        (
            &["start", "--base-port", "abc"],
            &[],
            "base port 'abc' is not a number: use 1-65436, e.g. 19000",
        ),
        (
            &["start"],
            &[("MCPCTL_BASE_PORT", "abc")],
            "base port 'abc' is not a number",
        ),
    ];
    for (args, env, msg) in cases {
        let o = t.run_with_env(env, args);
        o.code(2);
        let first = o.stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error: invalid value") && first.contains(msg),
            "{}",
            o.dump()
        );
        assert!(o.calls.is_empty(), "{}", o.dump());
    }
    // In the config file.
    let t = Test::new(Client::Docker28).file(
        "pyproject.toml",
        "[project]\nname = \"rec\"\n[tool.mcpctl]\nbase-port = 70000\n",
    );
    let o = t.run(&["start"]);
    o.code(2)
        .one_stderr_line("pyproject.toml: base port 70000 is out of range");
    assert!(o.calls.is_empty());
}

/// Bind 100 listeners on 127.0.0.1 from a base where all 100 are free.
fn hold_100_ports() -> (u16, Vec<TcpListener>) {
    'bases: for base in (46000..47900).step_by(200) {
        let mut held = Vec::new();
        for p in base..base + 100 {
            match TcpListener::bind(("127.0.0.1", p)) {
                Ok(l) => held.push(l),
                Err(_) => continue 'bases,
            }
        }
        return (base, held);
    }
    panic!("no range of 100 free ports in 46000-47999");
}

#[test]
fn all_100_ports_taken() {
    let (base, _held) = hold_100_ports();
    let t = fresh_without_port_check(Client::Docker28, base);
    let o = t.run(&["start", "--base-port", &base.to_string()]);
    o.code(1).one_stderr_line(&format!(
        "✗ no free port in {base}-{} on 127.0.0.1: all 100 are in use; free one, or set another base port",
        base + 99
    ));
    o.no_call("run");
    assert_eq!(saved_port(&t), None);
}

fn fresh_without_port_check(c: Client, port: u16) -> Test {
    let t = Test::new(c);
    script_lifecycle(&t, c, port);
    t
}

#[test]
fn corrupt_state_file_warns_and_is_rewritten() {
    let port = 41700;
    let t = fresh(Client::Docker28, port);
    write_state(&t, "{not json");
    let o = run(&t, &start_args(port));
    o.code(0)
        .stdout_has("⚠ state file ")
        .stdout_has("is unusable (not JSON");
    assert_eq!(
        o.stdout.matches("is unusable").count(),
        1,
        "warned once\n{}",
        o.dump()
    );
    assert_eq!(
        saved_port(&t),
        Some(port as u64),
        "rewritten after the start"
    );
    // And status reads it without a warning now.
    let o = t.run(&["status"]);
    o.code(0).stdout_lacks("is unusable");
}

#[test]
fn unknown_config_key() {
    let t = Test::new(Client::Docker28).file(
        "pyproject.toml",
        "[project]\nname = \"rec\"\n\n[tool.mcpctl]\nbase_prot = 1\n",
    );
    let py = t.project.join("pyproject.toml").display().to_string();
    let o = t.run(&["status"]);
    o.code(2).one_stderr_line(&format!(
        "✗ {py} at line 5: unknown key `base_prot`; see the README's settings table"
    ));
    assert!(o.calls.is_empty());
    let t = Test::new(Client::Docker28).file("mcpctl.toml", "image = 'x'\nwat = 2\n");
    t.run(&["status"])
        .code(2)
        .one_stderr_line("mcpctl.toml at line 2: unknown key `wat`");
}

#[test]
fn bad_toml() {
    let t = Test::new(Client::Docker28).file("pyproject.toml", "[project]\nname = \"rec\n");
    let o = t.run(&["status"]);
    o.code(2)
        .one_stderr_line("pyproject.toml is not valid TOML at line 2:");
    assert!(o.calls.is_empty());
    let t = Test::new(Client::Docker28).file("mcpctl.toml", "volumes = [\n");
    t.run(&["stop"])
        .code(2)
        .one_stderr_line("mcpctl.toml is not valid TOML");
}

#[test]
fn settings_in_two_places() {
    let t = Test::new(Client::Docker28)
        .file(
            "pyproject.toml",
            "[project]\nname = \"rec\"\n[tool.mcpctl]\nrestart = \"no\"\n",
        )
        .file("mcpctl.toml", "restart = \"always\"\n");
    t.run(&["status"])
        .code(2)
        .one_stderr_line("mcpctl reads one place");
}

fn foreign(label_line: &str) -> Test {
    let t = Test::new(Client::Docker28);
    t.answer(
        "container-inspect",
        &[rec_inspect(Client::Docker28, "inspect-healthy", 41800)
            .replace("\"io.mcpctl.project\": \"rec\",", label_line)],
    );
    t.answer("stop", &[Response::ok("rec-mcp\n")]);
    t.answer("rm", &[Response::ok("rec-mcp\n")]);
    t.answer("build", &[Response::recorded(Client::Docker28, "build-ok")]);
    t.answer(
        "run",
        &[Response::recorded(Client::Docker28, "run-running")],
    );
    t
}

#[test]
fn foreign_container_is_never_stopped_or_removed() {
    let t = foreign("");
    for cmd in ["stop", "start", "restart", "update"] {
        let o = t.run(&[cmd]);
        o.code(2).one_stderr_line(
            "✗ a container named rec-mcp exists but mcpctl did not create it for 'rec' (it has no io.mcpctl.project label): mcpctl never stops or removes it; remove it yourself (`docker rm -f rec-mcp`) or pick another name with --name",
        );
        o.no_call("stop")
            .no_call("rm")
            .no_call("run")
            .no_call("build");
    }
    let t = foreign("\"io.mcpctl.project\": \"other\",");
    let o = t.run(&["stop"]);
    o.code(2)
        .one_stderr_line("(it belongs to mcpctl project 'other')")
        .no_call("stop")
        .no_call("rm");
}

#[test]
fn invalid_names_are_rejected_before_any_engine_call() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["start", "--name", "bad name!"]);
    o.code(2)
        .one_stderr_line("✗ project name 'bad name!' cannot name a container");
    assert!(o.calls.is_empty(), "{}", o.dump());

    let cases = [
        (
            "volumes = { \"bad/key\" = \"/x\" }",
            "volume name 'rec-mcp_bad/key'",
        ),
        (
            "volumes = { data = \"relative/path\" }",
            "the path in the container must be absolute",
        ),
        ("volumes = { data = \"/a:b\" }", "contain no ':'"),
        ("container = \"has space\"", "container name 'has space'"),
        (
            "image = \"UPPER\"",
            "image name 'UPPER' is not a valid image reference",
        ),
        ("restart = \"sometimes\"", "restart policy 'sometimes'"),
        (
            "publish-address = \"everywhere\"",
            "publish address 'everywhere' is not an IP address",
        ),
    ];
    for (line, msg) in cases {
        let t = Test::new(Client::Docker28).file(
            "pyproject.toml",
            &format!("[project]\nname = \"rec\"\n[tool.mcpctl]\n{line}\n"),
        );
        let o = t.run(&["start"]);
        o.code(2).one_stderr_line(msg);
        assert!(o.calls.is_empty(), "{line}\n{}", o.dump());
    }
    // A good custom volume reaches the run argv.
    let port = 41810;
    assert_ports_free(port, 2);
    let t = Test::new(Client::Docker28).file(
        "pyproject.toml",
        "[project]\nname = \"rec\"\n[tool.mcpctl]\nvolumes = { cache = \"/cache\" }\n",
    );
    script_lifecycle(&t, Client::Docker28, port);
    let o = run(&t, &start_args(port));
    o.code(0);
    let argv = o.only_call("run");
    let vols: Vec<&String> = argv
        .windows(2)
        .filter(|w| w[0] == "-v")
        .map(|w| &w[1])
        .collect();
    assert_eq!(vols, ["rec-mcp_cache:/cache"]);
}

// ---- bad input: engine failures -----------------------------------------------------------------

#[test]
fn build_failure_shows_the_last_lines() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("container-inspect", &[rec_missing(c)]);
        t.answer("build", &[Response::recorded(c, "build-fail")]);
        let o = t.run(&["start"]);
        o.code(1)
            .stderr_has("✗ Build output (last lines):")
            .stderr_has(&format!("✗ Failed to build image rec-mcp ({} exited with 7): fix the error above and run again", c.program()))
            .no_call("run");
        let (step, reason) = match c {
            Client::Podman => (
                "STEP 3/3: RUN exit 7",
                "Error: building at STEP \"RUN exit 7\": while running runtime: exit status 7",
            ),
            _ => (
                "Step 3/3 : RUN exit 7",
                "The command '/bin/sh -c exit 7' returned a non-zero code: 7",
            ),
        };
        let all = format!("{}{}", o.stdout, o.stderr);
        assert!(all.contains(&format!("    {step}")), "{}", o.dump());
        assert!(all.contains(&format!("    {reason}")), "{}", o.dump());
    }
}

#[test]
fn run_failure_shows_the_engine_error() {
    let port = 41900;
    assert_ports_free(port, 2);
    let t = fresh_without_port_check(Client::Podman, port);
    t.answer(
        "run",
        &[Response::fail(
            125,
            "Error: invalid reference format: repository name must be lowercase\n",
        )],
    );
    let o = run(&t, &start_args(port));
    o.code(1).one_stderr_line(
        "✗ Failed to start container rec-mcp: Error: invalid reference format: repository name must be lowercase",
    );
    assert_eq!(o.calls_to("run").len(), 1);
    // The container a failed run leaves behind is removed.
    assert_eq!(o.only_call("rm"), &s(&["rm", "-f", "rec-mcp"]));
    assert_eq!(saved_port(&t), None);
}

#[test]
fn run_with_a_missing_image_says_to_build() {
    let port = 41910;
    assert_ports_free(port, 2);
    let t = deployed(Client::Podman, "inspect-exited", port);
    t.answer(
        "container-inspect",
        &[
            rec_missing(Client::Podman),
            rec_inspect(Client::Podman, "inspect-healthy", port),
        ],
    );
    t.answer(
        "run",
        &[Response::fail(125, "Error: rec-mcp: image not known\n")],
    );
    write_state(&t, &format!("{{\"port\": {port}}}"));
    let o = t.run(&["restart"]);
    o.code(1).one_stderr_line("✗ no image rec-mcp to run (Error: rec-mcp: image not known): build it with `mcpctl start` or `mcpctl update`");
}

/// docker puts a usage hint after the error: the message must show the error, not the hint.
#[test]
fn run_failure_on_docker_shows_the_error_not_the_help_hint() {
    for c in [Client::Docker28, Client::Docker20] {
        let port = 41920;
        assert_ports_free(port, 2);
        let t = fresh_without_port_check(c, port);
        t.answer(
            "run",
            &[Response::recorded(c, "run-name-taken").replace("rec-running", "rec-mcp")],
        );
        let o = run(&t, &start_args(port));
        o.code(2)
            .stderr_has("is already in use")
            .stderr_lacks("docker run --help");
    }
}

/// A name conflict leaves nothing behind (fixtures README), and the container holding the name is
/// not ours to remove: `rm -f` must not follow it.
#[test]
fn run_name_conflict_does_not_remove_the_other_container() {
    for c in Client::ALL {
        let port = 41930;
        assert_ports_free(port, 2);
        let t = fresh_without_port_check(c, port);
        t.answer(
            "run",
            &[Response::recorded(c, "run-name-taken").replace("rec-running", "rec-mcp")],
        );
        let o = run(&t, &start_args(port));
        o.code(2).no_call("rm");
    }
}

fn port_taken_retry(c: Client, base: u16) {
    assert_ports_free(base, 3);
    let t = fresh_without_port_check(c, base);
    t.answer(
        "run",
        &[
            Response::recorded(c, "run-port-taken"),
            Response::recorded(c, "run-running").serving(),
        ],
    );
    t.answer("rm", &[Response::recorded(c, "rm-f-missing")]);
    t.answer(
        "container-inspect",
        &[rec_missing(c), rec_inspect(c, "inspect-healthy", base + 1)],
    );
    let o = run(&t, &start_args(base));
    o.code(0)
        .stdout_has(&format!(
            "⚠ port {base} was taken when the engine bound it; trying the next one"
        ))
        .stdout_has(&format!("✓ Container started on port {}", base + 1))
        .stdout_has(&format!(
            "→ MCP endpoint: http://localhost:{}/mcp",
            base + 1
        ));
    let runs = o.calls_to("run");
    assert_eq!(runs.len(), 2, "{}", o.dump());
    assert!(
        runs[0].contains(&format!("127.0.0.1:{base}:3001")),
        "{}",
        o.dump()
    );
    assert!(
        runs[1].contains(&format!("127.0.0.1:{}:3001", base + 1)),
        "{}",
        o.dump()
    );
    assert_eq!(o.only_call("rm"), &s(&["rm", "-f", "rec-mcp"]));
    let keys = o.call_keys();
    let run_at: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| *k == "run")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        keys[run_at[0] + 1],
        "rm",
        "the leftover is removed right after the failed run: {keys:?}"
    );
    assert_eq!(saved_port(&t), Some(base as u64 + 1));
}

#[test]
fn port_taken_retry_docker28() {
    port_taken_retry(Client::Docker28, 42000);
}

#[test]
fn port_taken_retry_docker20() {
    port_taken_retry(Client::Docker20, 42010);
}

#[test]
fn port_taken_retry_podman() {
    port_taken_retry(Client::Podman, 42020);
}

#[test]
fn publishing_on_all_interfaces_warns() {
    let port = 42100;
    assert_ports_free(port, 2);
    let t = fresh(Client::Docker28, port);
    let mut args = start_args(port);
    args.extend(["--publish-address".into(), "0.0.0.0".into()]);
    let o = run(&t, &args);
    // The fake MCP server listens on 127.0.0.1, which 0.0.0.0 publishing also reaches.
    o.code(0).stdout_has(
        "⚠ publishing on 0.0.0.0: anyone on the network can reach this unauthenticated server",
    );
    assert!(
        o.only_call("run").contains(&format!("0.0.0.0:{port}:3001")),
        "{}",
        o.dump()
    );
}

#[test]
fn help_and_version() {
    let t = Test::bare();
    let o = t.run(&["--help"]);
    o.code(0)
        .stdout_has("Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 130 interrupted.");
    for cmd in [
        "start", "stop", "restart", "update", "status", "logs", "list",
    ] {
        assert!(
            o.stdout.contains(&format!("  {cmd}")),
            "{cmd}\n{}",
            o.dump()
        );
    }
    t.run(&["--version"])
        .code(0)
        .stdout_has(&format!("mcpctl {}", env!("CARGO_PKG_VERSION")));
    let o = t.run(&["frobnicate"]);
    o.code(2).stderr_has("unrecognized subcommand 'frobnicate'");
    assert!(o.calls.is_empty());
}
