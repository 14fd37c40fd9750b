//! The built `mcpctl` against the fake engine (tests/fake-engine): every command, the exact argv
//! the engine receives, colors and -v, and every bad input with its exit code and message.
//!
//! Each test that publishes a port takes its own block from `support::ports`, which never hands
//! a port to two tests of a run, so the tests run in parallel.
//!
//! Sections, in order: start, ready, stop, restart and update, rollback, down, the project
//! lock, recovery from an interrupted swap, status, logs, list, colors and -v, bad input:
//! engine, bad input: project and settings, bad input: engine failures, the front: bad input,
//! --host: which machine the engine is on.

use std::net::TcpListener;

use serde_json::Value;

use crate::support::{
    Client, FakeMcp, Outcome, REC_CONTAINER, Response, Test, assert_ports_free, listening, ports,
    rec_inspect, rec_inspect_as, rec_missing, rec_missing_as, strip_ansi, wait_not_listening,
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
    t.answer("container-inspect", &[rec_missing(c), rec_inspect(c, "inspect-healthy", port)]);
    // Images: the Dockerfile's base image is there; the project's is made by the build.
    t.engine.images(&[(BASE, BASE_ID, &[])]);
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
    ["start", "--base-port", &port.to_string(), "--ready-timeout", "20"].map(String::from).to_vec()
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
    let mut v = s(&["run", "-d", "--name", "rec-mcp", "--label", "io.mcpctl.project=rec", "--label"]);
    v.push(format!("io.mcpctl.port={port}"));
    v.push("--label".into());
    v.push(format!("io.mcpctl.project-dir={dir}"));
    v.push("-p".into());
    v.push(format!("127.0.0.1:{port}:3001"));
    v.extend(s(&[
        "-e",
        "LOG_LEVEL",
        "-e",
        "PORT",
        "-v",
        "rec-mcp_data:/home/appuser/.rec",
        "-v",
        "rec-mcp_config:/home/appuser/.config/rec",
        "-v",
        "rec-mcp_logs:/home/appuser/.local/share/rec",
        "--restart",
        "unless-stopped",
        "--init",
        "--pull",
        "never",
        "rec-mcp",
    ]));
    v
}

/// The base image of the test projects' Dockerfile ([`crate::support::DOCKERFILE`]), and the id
/// the fake engine gives it.
const BASE: &str = "python:3.11-slim";
const BASE_ID: &str = "sha256:ba5e00000000000000000000000000000000000000000000000000000000ba5e";
/// The digest label a build call set (`sha256:` and 64 hex digits), or None.
fn digest_label(build: &[String]) -> Option<String> {
    let label = build.iter().find_map(|a| a.strip_prefix("io.mcpctl.digest="))?;
    let hex = label.strip_prefix("sha256:").unwrap_or_else(|| panic!("digest label {label}"));
    assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()), "digest label {label}");
    Some(label.to_string())
}

/// The argv of `c`'s `build` of project `rec`: podman is told to build docker-format images (for
/// HEALTHCHECK), docker's legacy builder to remove a failed step's container; the digest of the
/// build's inputs is a label.
fn expected_build_argv(t: &Test, c: Client, digest: Option<&str>) -> Vec<String> {
    let dir = t.project.display().to_string();
    let mut build = s(&["build"]);
    match c {
        Client::Podman => build.extend(s(&["--format", "docker"])),
        Client::Docker28 | Client::Docker20 => build.push("--force-rm".into()),
    }
    build.extend(s(&[
        "-t",
        "rec-mcp",
        "-f",
        &format!("{dir}/Dockerfile"),
        "--label",
        "io.mcpctl.project=rec",
    ]));
    if let Some(d) = digest {
        build.extend(["--label".into(), format!("io.mcpctl.digest={d}")]);
    }
    build.push(format!("{dir}/."));
    build
}

/// The argv of the `create` that makes the new container `name` of a swap (update, rollback):
/// the same as `run`, without `-d`, running `image`.
fn expected_create_argv(t: &Test, port: u16, name: &str, image: &str) -> Vec<String> {
    let mut v = expected_run_argv(t, port);
    assert_eq!(v[..4], ["run", "-d", "--name", "rec-mcp"]);
    v.splice(..4, s(&["create", "--name", name]));
    *v.last_mut().unwrap() = image.to_string();
    v
}

fn saved_port(t: &Test) -> Option<u64> {
    let text = std::fs::read_to_string(t.state_file("rec")).ok()?;
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("state file is not JSON ({e}): {text}"));
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
        .stdout_has(
            "✓ MCP server answers: fake-mcp 9.9.9 over streamable-http, MCP 2025-06-18 (session), 2 tools",
        )
        .stdout_has("→ Engine health check: healthy (shown, not waited for)")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .stdout_has(&format!("claude mcp add rec --transport http http://localhost:{port}/mcp"))
        .stdout_lacks("\u{1b}[");
    assert_eq!(o.stderr, "", "{}", o.dump());
    assert_eq!(o.calls[0], ["--version"], "{}", o.dump());
    // The new container of an interrupted update is looked for too, in the same call; the
    // images are looked at beside it.
    let lookups: Vec<&Vec<String>> = o.calls[1..3].iter().collect();
    assert!(lookups.contains(&&s(&["container", "inspect", "rec-mcp", "rec-mcp-next"])), "{}", o.dump());
    assert!(lookups.iter().any(|c| c[..2] == ["image", "inspect"]), "{}", o.dump());

    let digest = digest_label(o.only_call("build"));
    assert!(digest.is_some(), "the build has no digest label\n{}", o.dump());
    assert_eq!(o.only_call("build"), &expected_build_argv(&t, c, digest.as_deref()), "{}", o.dump());
    assert_eq!(o.only_call("run"), &expected_run_argv(&t, port), "{}", o.dump());
    // build comes before run; nothing is stopped or removed on a fresh start.
    let keys = o.call_keys();
    let pos = |k: &str| keys.iter().position(|x| x == k).unwrap();
    assert!(pos("build") < pos("run"), "{keys:?}");
    o.no_call("stop").no_call("rm");
    assert_eq!(saved_port(&t), Some(port as u64));
    assert!(listening(port), "the fake MCP server should still run after start");
}

#[test]
fn start_on_docker28() {
    start_happy_path(Client::Docker28, ports(10));
}

#[test]
fn start_on_docker20() {
    start_happy_path(Client::Docker20, ports(10));
}

#[test]
fn start_on_podman_builds_with_docker_format() {
    start_happy_path(Client::Podman, ports(10));
}

#[test]
fn start_when_already_running_changes_nothing() {
    let port = ports(10);
    let t = deployed(Client::Docker28, "inspect-healthy", port);
    let o = t.run(&["start", "--base-port", &port.to_string()]);
    o.code(0)
        .stdout_has("⚠ Container already running")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .no_call("build")
        .no_call("run")
        .no_call("stop")
        .no_call("rm");
}

#[test]
fn start_removes_a_stopped_container_first() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    t.answer(
        "container-inspect",
        &[
            rec_inspect(Client::Docker28, "inspect-exited", port),
            rec_inspect(Client::Docker28, "inspect-healthy", port),
        ],
    );
    let o = run(&t, &start_args(port));
    o.code(0).stdout_has("Removing stopped container").no_call("stop");
    assert_eq!(o.only_call("rm"), &s(&["rm", "rec-mcp"]));
    let keys = o.call_keys();
    assert!(keys.iter().position(|k| k == "rm") < keys.iter().position(|k| k == "build"), "{keys:?}");
}

#[test]
fn start_uses_the_saved_port_and_moves_when_it_is_taken() {
    let base = ports(10);
    assert_ports_free(base, 10);
    let t = fresh(Client::Docker28, base);
    write_state(&t, &format!("{{\"port\": {}, \"note\": \"kept\"}}", base + 5));
    let o = run(&t, &start_args(base));
    o.code(0).stdout_lacks("saved port");
    assert!(o.only_call("run").contains(&format!("127.0.0.1:{}:3001", base + 5)), "{}", o.dump());
    let kept = std::fs::read_to_string(t.state_file("rec")).unwrap();
    assert!(kept.contains("\"note\": \"kept\""), "other state keys are kept: {kept}");

    // Saved port busy (held by a host process): the first free port from the base, with a warning.
    t.engine.stop_servers();
    assert!(wait_not_listening(base + 5, std::time::Duration::from_secs(5)));
    let _hold = TcpListener::bind(("127.0.0.1", base + 5)).unwrap();
    script_lifecycle(&t, Client::Docker28, base);
    let o = run(&t, &start_args(base));
    o.code(0).stdout_has(&format!(
        "⚠ saved port {} is in use by something else: moving to port {base} (update your client's URL)",
        base + 5
    ));
    assert!(o.only_call("run").contains(&format!("127.0.0.1:{base}:3001")), "{}", o.dump());
    assert_eq!(saved_port(&t), Some(base as u64));
}

#[test]
fn start_from_another_dir_with_project_dir_flag() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    let elsewhere = t.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let t = t.cwd(&elsewhere);
    let project = t.project.display().to_string();
    let mut args = start_args(port);
    args.extend(["-C".to_string(), project]);
    run(&t, &args).code(0).stdout_has("✓ MCP server answers");
    // Without -C there is no project here.
    t.run(&["status"]).code(2).one_stderr_line("no project name:");
}

#[test]
fn project_dir_that_does_not_exist() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["status", "-C", "/nonexistent/project"]);
    o.code(2).one_stderr_line("project directory /nonexistent/project cannot be used");
    assert!(o.calls.is_empty(), "{}", o.dump());
}

// ---- ready ------------------------------------------------------------------------------------------

#[test]
fn start_fails_when_nothing_answers_mcp() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    t.answer("run", &[Response::recorded(Client::Docker28, "run-running")]); // no server
    let o = t.run(&["start", "--base-port", &port.to_string(), "--ready-timeout", "1"]);
    o.code(1)
        .stderr_has(&format!("✗ Not ready: no MCP answer from http://localhost:{port}/mcp within 1.0 s: the last attempt got connection refused"))
        .stderr_has("→ Fix: check the log lines above")
        .stderr_has("Serving HTTP on 0.0.0.0 port 3001");
    // Reported once, at the end: the log lines, the cause, the fix.
    let last: Vec<&str> = o.stderr.lines().rev().take(2).collect();
    assert!(last[0].contains("→ Fix:") && last[1].contains("✗ Not ready"), "{}", o.dump());
    assert!(o.calls_to("logs").iter().all(|c| c.contains(&"--tail".to_string())), "{}", o.dump());
}

/// Behind a shared front with TLS, clients use the front's URL (its scheme, port and /NAME
/// prefix): the diagnosis of a server that never answers names that one, not the project's port.
#[test]
fn start_behind_the_front_that_never_answers_names_the_front_s_url() {
    let base = ports(3);
    let (front_port, container_port) = (base + 1, base + 2);
    let t = fresh(Client::Docker28, base).file(
        "mcpctl.toml",
        &format!("front-group = \"pagrp\"\nfront-port = {front_port}\ntls = \"self-signed\"\n"),
    );
    // The container, on the front's network at 127.0.0.1, where nothing listens on its port.
    let on_front = rec_inspect(Client::Docker28, "inspect-healthy", base)
        .replace("\"bridge\":", "\"mcpctl-front-pagrp\":")
        .replace("172.17.0.3", "127.0.0.1");
    t.answer("container-inspect", &[rec_missing(Client::Docker28), on_front]);
    t.answer("network-inspect", &[Response::ok("[{}]\n")]);
    t.answer("create", &[Response::ok("0123456789ab\n")]);
    t.answer("start", &[Response::ok("rec-mcp\n")]);
    // The front's image is here (it is checked before anything changes).
    let haproxy_id = "sha256:4a9c0000000000000000000000000000000000000000000000000000000000fe";
    t.engine.images(&[(BASE, BASE_ID, &[]), ("haproxy:2.6", haproxy_id, &[])]);
    let cp = container_port.to_string();
    let o = t.run(&["start", "--front", "--container-port", &cp, "--ready-timeout", "1"]);
    o.code(1).stderr_has(&format!(
        "✗ Not ready: no MCP answer from https://localhost:{front_port}/rec/mcp within 1.0 s: the last attempt got connection refused"
    ));
    assert!(!o.stderr.contains(&format!("localhost:{front_port}/mcp")), "{}", o.dump());
    o.no_call("run");
}

#[test]
fn start_fails_when_the_container_exits_while_waiting() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    t.answer("run", &[Response::recorded(Client::Docker28, "run-exited")]);
    t.answer(
        "container-inspect",
        &[rec_missing(Client::Docker28), rec_inspect(Client::Docker28, "inspect-exited", port)],
    );
    t.answer("logs", &[Response::recorded(Client::Docker28, "logs-exited")]);
    let o = run(&t, &start_args(port));
    o.code(1).stderr_has("→ Last 1 log lines of rec-mcp:\n    bye\n  ✗ The container exited with code 3 before answering MCP\n");
    assert!(o.stderr.ends_with("✗ The container exited with code 3 before answering MCP\n"), "{}", o.dump());
}

/// Podman writes an exited container's log a moment after the exit: an empty answer is asked
/// again, and the lines it then has are shown.
#[test]
fn the_log_of_an_exited_container_is_read_once_the_engine_has_it() {
    let port = ports(10);
    let t = fresh(Client::Podman, port);
    t.answer("run", &[Response::recorded(Client::Podman, "run-exited")]);
    t.answer(
        "container-inspect",
        &[rec_missing(Client::Podman), rec_inspect(Client::Podman, "inspect-exited", port)],
    );
    t.answer(
        "logs",
        &[Response::ok(""), Response::ok("\n"), Response::ok("Traceback (most recent call last):\nboom\n")],
    );
    let o = run(&t, &start_args(port));
    o.code(1)
        .stderr_has("→ Last 2 log lines of rec-mcp:\n    Traceback (most recent call last):\n    boom\n");
    assert_eq!(o.calls_to("logs").len(), 3, "{}", o.dump());
}

/// `apt-packages` is written into the Dockerfile by init: a Dockerfile that does not install them
/// gets a warning naming them (and none once it does).
#[test]
fn start_warns_about_apt_packages_the_dockerfile_lacks() {
    let port = ports(10);
    let settings = "[project]\nname = \"rec\"\n[tool.mcpctl]\napt-packages = [\"git\", \"curl\"]\n";
    let t = fresh(Client::Docker28, port).file("pyproject.toml", settings);
    let o = run(&t, &start_args(port));
    o.code(0).stdout_has("⚠ apt-packages lists git, curl but ");
    o.stdout_has("Dockerfile does not install them: `mcpctl init --force` writes them into it");
    let t = fresh(Client::Docker28, port + 2).file("pyproject.toml", settings).file(
        "Dockerfile",
        "FROM python:3.11-slim\nRUN apt-get update && \\\n    apt-get install -y git curl\nCMD [\"python\"]\n",
    );
    let o = run(&t, &start_args(port + 2));
    o.code(0);
    assert!(!o.stdout.contains("apt-packages"), "{}", o.dump());
}

/// The stdio bridge's child (the server) dies at once, as `python -m mcp_server_git` does in an
/// image without git: the bridge ends too (the engine saw a clean exit). Start names the child
/// and shows its stderr, not the bridge's traceback, and does not say it "ran over stdio".
#[test]
fn start_names_the_bridged_child_that_exited_and_shows_its_stderr() {
    bridged_child_exited(Client::Docker28, ports(10), &[]);
    // podman's --init shows in front of the command.
    bridged_child_exited(Client::Podman, ports(10), &["/run/podman-init", "--"]);
}

fn bridged_child_exited(c: Client, port: u16, init: &[&str]) {
    let t = fresh(c, port);
    t.answer("run", &[Response::recorded(c, "run-exited")]);
    let mut exited = rec_inspect(c, "inspect-exited", port);
    let mut v: Value = serde_json::from_str(&exited.stdout).unwrap();
    let mut command = init.to_vec();
    command.extend([
        "/opt/mcpctl-bridge/bin/mcp-proxy",
        "--host",
        "0.0.0.0",
        "--port",
        "3001",
        "--pass-environment",
        "--",
        "python",
        "-m",
        "mcp_server_git",
    ]);
    v[0]["Path"] = command[0].into();
    v[0]["Args"] = serde_json::json!(command[1..]);
    v[0]["State"]["ExitCode"] = 0.into();
    exited.stdout = v.to_string();
    t.answer("container-inspect", &[rec_missing(c), exited]);
    let bridge_traceback: String = [
        "  + Exception Group Traceback (most recent call last):",
        "  |   File \"/opt/mcpctl-bridge/bin/mcp-proxy\", line 8, in <module>",
        "  |     sys.exit(main())",
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .chain((0..40).map(|i| format!("  |   frame {i} of the bridge\n")))
    .chain(["    | mcp.shared.exceptions.McpError: Connection closed\n".to_string()])
    .collect();
    let child = "Traceback (most recent call last):\n  File \"<frozen runpy>\", line 189, in _run_module_as_main\n\
                 \x20   raise ImportError(f\"Failed to initialize: {_exc}\") from _exc\n\
                 ImportError: Failed to initialize: Bad git executable.\n\
                 The git executable must be specified in one of the following ways:\n";
    let log = format!(
        "[I 2026-12-03 17:09:28,147.147 mcp_proxy.__main__] Configured default server: python -m mcp_server_git\n\
         [I 2026-12-03 17:09:28,147.147 mcp_proxy.mcp_server] Setting up default server: python -m mcp_server_git\n\
         {child}\n{bridge_traceback}"
    );
    t.answer("logs", &[Response { stderr: log, ..Default::default() }]);
    let o = run(&t, &start_args(port));
    o.code(1)
        .stderr_has("✗ The container exited with code 0 before answering MCP: the stdio server `python -m mcp_server_git`, which the bridge runs as its child, exited, and the bridge with it\n")
        .stderr_has("→ Last 5 lines `python -m mcp_server_git` wrote to stderr:\n    Traceback (most recent call last):\n")
        .stderr_has("    ImportError: Failed to initialize: Bad git executable.\n    The git executable must be specified in one of the following ways:\n  ✗")
        .stderr_has("→ Fix: fix what the server's error above says; a program or library the image lacks (e.g. git) is a Debian package: `mcpctl init --force --apt-package PKG`");
    assert!(!o.stderr.contains("ran over stdio"), "{}", o.dump());
    assert!(
        !o.stderr.contains("McpError") && !o.stderr.contains("mcp_proxy."),
        "the bridge's lines: {}",
        o.dump()
    );
    // The whole log: podman's --tail garbles a line Python wrote in pieces.
    assert!(o.calls_to("logs").contains(&&s(&["logs", "rec-mcp"])), "{}", o.dump());
}

// ---- stop -------------------------------------------------------------------------------------------

#[test]
fn stop_stops_and_removes_and_keeps_volumes() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let o = t.run(&["stop"]);
    o.code(0)
        .stdout_has("→ Stopping container...")
        .stdout_has("✓ Container stopped and removed")
        .stdout_has("→ Volumes kept: rec-mcp_data, rec-mcp_config, rec-mcp_logs");
    assert_eq!(o.only_call("stop"), &s(&["stop", "-t", "10", "rec-mcp"]));
    assert_eq!(o.only_call("rm"), &s(&["rm", "rec-mcp"]));
    assert_eq!(o.call_keys(), ["--version", "container-inspect", "stop", "rm"], "{}", o.dump());
    assert_eq!(o.only_call("container-inspect"), &s(&["container", "inspect", "rec-mcp", "rec-mcp-next"]));
}

#[test]
fn stop_of_an_exited_container_only_removes_it() {
    let t = deployed(Client::Podman, "inspect-exited", ports(10));
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
        o.code(0).stdout_has("→ Not deployed: there is no container rec-mcp").no_call("stop").no_call("rm");
    }
}

#[test]
fn stop_that_fails_is_reported() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
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
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10))
        .file("pyproject.toml", "[project]\nname = \"rec\"\n[tool.mcpctl]\nstop-timeout = 3\n");
    let o = t.run(&["stop"]);
    o.code(0);
    assert_eq!(o.only_call("stop"), &s(&["stop", "-t", "3", "rec-mcp"]));
}

#[test]
fn quiet_stop_prints_only_results() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let o = t.run(&["stop", "-q"]);
    o.code(0)
        .stdout_has("✓ Container stopped and removed")
        .stdout_lacks("Stopping container")
        .stdout_lacks("MCP Server - Stop");
}

// ---- restart and update -----------------------------------------------------------------------------

#[test]
fn restart_stops_and_runs_again_on_the_saved_port_without_building() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    run(&t, &start_args(port)).code(0);
    assert!(listening(port));
    // The base port moved: restart must keep the saved port, not go back to the base.
    let moved = ports(10).to_string();
    let o = t.run(&["restart", "--base-port", &moved, "--ready-timeout", "20"]);
    o.code(0)
        .stdout_has("✓ Container stopped")
        .stdout_has("✓ Container restarted successfully")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .stdout_lacks("saved port");
    // The engine's kind was cached by the start before: no `--version` this time.
    assert_eq!(o.call_keys()[..4], ["container-inspect", "stop", "rm", "run"], "{}", o.dump());
    o.no_call("build");
    assert_eq!(o.only_call("run"), &expected_run_argv(&t, port), "{}", o.dump());
    assert!(listening(port), "the new fake server runs");
}

#[test]
fn restart_when_missing_runs_on_the_saved_port() {
    let base = ports(10);
    let t = fresh(Client::Podman, base);
    write_state(&t, &format!("{{\"port\": {}}}", base + 1));
    let o = run(&t, &["restart".into(), "--base-port".into(), base.to_string()]);
    o.code(0).no_call("stop").no_call("rm").no_call("build");
    assert!(o.only_call("run").contains(&format!("127.0.0.1:{}:3001", base + 1)), "{}", o.dump());
}

/// One step of an expected call sequence: exactly this argv, or a run of calls each of which is
/// one of these argvs (the watching a wait does: how many depends on timing), at least `min`.
enum Step {
    One(Vec<String>),
    Any(Vec<Vec<String>>, usize),
    /// Exactly these calls, in any order (made side by side).
    Unordered(Vec<Vec<String>>),
}

fn one(v: &[&str]) -> Step {
    Step::One(s(v))
}

/// The calls are exactly `steps`, in order.
#[track_caller]
fn assert_call_steps(o: &Outcome, steps: &[Step]) {
    let mut i = 0;
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::One(argv) => {
                assert_eq!(o.calls.get(i), Some(argv), "step {n}: call {i} should be {argv:?}\n{}", o.dump());
                i += 1;
            }
            Step::Unordered(set) => {
                let mut got: Vec<Vec<String>> = o.calls.iter().skip(i).take(set.len()).cloned().collect();
                let mut want = set.clone();
                got.sort();
                want.sort();
                assert_eq!(got, want, "step {n}: calls {i}.. should be {set:?} in any order\n{}", o.dump());
                i += set.len();
            }
            Step::Any(set, min) => {
                let from = i;
                while o.calls.get(i).is_some_and(|c| set.contains(c)) {
                    i += 1;
                }
                assert!(
                    i - from >= *min,
                    "step {n}: at least {min} of {set:?} from call {from}\n{}",
                    o.dump()
                );
            }
        }
    }
    assert_eq!(i, o.calls.len(), "calls after the last step\n{}", o.dump());
}

/// The image id a recorded `container inspect` shows (what the old container runs).
fn image_of(r: &Response) -> String {
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v[0]["Image"].as_str().unwrap().to_string()
}

/// The digest label of the image the old container runs: built from other inputs.
const OLD_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// `fresh` + a real `start` (the fake serves on `port` for rec-mcp), then scripted for an update
/// that swaps to a new container rec-mcp-next: the build makes a new image, there is no
/// rec-mcp:previous yet, `start` answers `start` (serving or not), and rec-mcp-next, missing at
/// first, then runs. Returns the test and the id of the image the old container runs.
fn started_for_update(c: Client, port: u16, start: &[Response]) -> (Test, String) {
    let t = fresh(c, port);
    run(&t, &start_args(port)).code(0);
    assert!(listening(port));
    let healthy = rec_inspect(c, "inspect-healthy", port);
    let old_id = image_of(&healthy);
    t.answer("container-inspect", &[healthy]);
    t.answer(
        "container-inspect-next",
        &[rec_missing_as(c, "rec-mcp-next"), rec_inspect_as(c, "inspect-healthy", port, "rec-mcp-next")],
    );
    // The project's image is what the old container runs, built from other inputs.
    t.engine.images(&[(BASE, BASE_ID, &[]), ("rec-mcp", &old_id, &[("io.mcpctl.digest", OLD_DIGEST)])]);
    t.answer("tag", &[Response::ok("")]);
    t.answer("create", &[Response::recorded(c, "create")]);
    t.answer("start", start);
    t.answer("rename", &[Response::ok("")]);
    (t, old_id)
}

fn image_id_call(image: &str) -> Step {
    one(&["image", "inspect", "--format", "{{.Id}}", image])
}

/// The calls of an update of a running rec-mcp up to starting rec-mcp-next; `digest` is the
/// label its build set.
fn update_steps_to_start(t: &Test, c: Client, port: u16, old_id: &str, digest: &str) -> Vec<Step> {
    vec![
        // The container and, side by side, our image and the base image (ids and labels).
        Step::Unordered(vec![
            s(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            s(&["image", "inspect", "--format", "{{.Id}} {{json .Config.Labels}}", "rec-mcp", BASE]),
        ]),
        Step::One(expected_build_argv(t, c, Some(digest))),
        one(&["image", "inspect", "rec-mcp"]),
        // Is the new image the one that runs (the same layers and config)? Not here.
        one(&[
            "image",
            "inspect",
            old_id,
            &t.engine.image_labelled("io.mcpctl.digest", digest).expect("the built image"),
        ]),
        image_id_call("rec-mcp:previous"),
        one(&["tag", old_id, "rec-mcp:previous"]),
        one(&["rm", "-f", "rec-mcp-next"]),
        Step::One(expected_create_argv(t, port, "rec-mcp-next", "rec-mcp")),
        // swap-stop-timeout, not stop-timeout: the old one is stopped while nothing serves.
        one(&["stop", "-t", "2", "rec-mcp"]),
        one(&["start", "rec-mcp-next"]),
    ]
}

/// What a wait for `name` may call while it polls: watch the container, look for a loopback
/// bind in its logs.
fn watching(name: &str) -> Vec<Vec<String>> {
    vec![s(&["container", "inspect", name]), s(&["logs", "--tail", "50", name])]
}

#[test]
fn update_rebuilds_then_replaces_the_container_on_the_same_port() {
    let port = ports(10);
    let c = Client::Docker20;
    let (t, old_id) = started_for_update(c, port, &[Response::ok("rec-mcp-next\n").serving()]);
    let o = t.run(&["update", "--ready-timeout", "20"]);
    o.code(0)
        .stdout_has("→ The running container keeps serving while the image builds")
        .stdout_has(&format!("→ Creating the new container on port {port} while the old one serves..."))
        .stdout_has("→ Stopping the old container (timeout 2 s)...")
        .stdout_has(&format!("✓ The new container serves on port {port}"))
        .stdout_has("✓ MCP server updated with latest code!")
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"))
        .stdout_lacks("Putting the previous container back");
    assert_eq!(o.stderr, "", "{}", o.dump());
    // The engine's kind was cached by the start before: no `--version` this time.
    let digest = digest_label(o.only_call("build")).expect("a digest label");
    let mut steps = update_steps_to_start(&t, c, port, &old_id, &digest);
    steps.extend([
        // Ready: at least the look at the new container's health check after the answer.
        Step::Any(watching("rec-mcp-next"), 1),
        one(&["rm", "rec-mcp"]),
        one(&["rename", "rec-mcp-next", "rec-mcp"]),
    ]);
    assert_call_steps(&o, &steps);
    o.no_call("run");
    assert_eq!(saved_port(&t), Some(port as u64));
    let state: Value = serde_json::from_str(&std::fs::read_to_string(t.state_file("rec")).unwrap()).unwrap();
    assert_eq!(
        state["image_id"].as_str(),
        t.engine.image_id("rec-mcp").as_deref(),
        "the state records what serves now"
    );
    assert_eq!(
        t.engine.image_id("rec-mcp:previous").as_deref(),
        Some(old_id.as_str()),
        "the old image is :previous"
    );
    assert!(listening(port), "the new fake server serves");
}

#[test]
fn update_puts_the_old_container_back_when_the_new_one_never_answers() {
    let port = ports(10);
    let c = Client::Docker28;
    // The new container starts but never serves; the old one, started again, does.
    let (t, old_id) =
        started_for_update(c, port, &[Response::ok("rec-mcp-next\n"), Response::ok("rec-mcp\n").serving()]);
    // Running when looked up; stopped by the swap; running again once started.
    let healthy = rec_inspect(c, "inspect-healthy", port);
    t.answer("container-inspect", &[healthy.clone(), rec_inspect(c, "inspect-exited", port), healthy]);
    let o = t.run(&["update", "--ready-timeout", "3"]);
    o.code(1)
        .stderr_has(&format!("✗ Not ready: no MCP answer from http://localhost:{port}/mcp within 3.0 s"))
        .stdout_has(&format!("⚠ Putting the previous container back on port {port}..."))
        .stdout_has("✓ The previous version answers again")
        .stdout_lacks("MCP server updated");
    let digest = digest_label(o.only_call("build")).expect("a digest label");
    let mut steps = update_steps_to_start(&t, c, port, &old_id, &digest);
    steps.extend([
        Step::Any(watching("rec-mcp-next"), 1),
        // The diagnosis shows the new container's last lines.
        one(&["logs", "--tail", "20", "rec-mcp-next"]),
        one(&["rm", "-f", "rec-mcp-next"]),
        // The stop has settled: the old one is started again.
        one(&["container", "inspect", "rec-mcp"]),
        one(&["start", "rec-mcp"]),
        Step::Any(watching("rec-mcp"), 1),
        // The old image is rec-mcp again, for a restart.
        one(&["tag", &old_id, "rec-mcp"]),
        // There was no :previous before the update: the one it made goes away again, or a
        // rollback would "return" to the image that is already running.
        one(&["rmi", "rec-mcp:previous"]),
    ]);
    assert_call_steps(&o, &steps);
    o.no_call("rename");
    assert!(listening(port), "the old fake server serves again");
    assert_eq!(saved_port(&t), Some(port as u64));
}

/// Ctrl-C kills the `stop` client while the engine goes on stopping the old container: the
/// put-back waits until the engine shows it stopped before starting it again (a `start` of a
/// container that is still being stopped is a no-op, and then nothing serves).
#[test]
fn ctrl_c_during_the_stop_waits_for_it_to_settle_before_putting_back() {
    let port = ports(10);
    let c = Client::Docker28;
    let (t, old_id) = started_for_update(c, port, &[Response::ok("rec-mcp\n").serving()]);
    let healthy = rec_inspect(c, "inspect-healthy", port);
    // Looked up once, then still running twice while the stop settles, then exited.
    let exited = rec_inspect(c, "inspect-exited", port);
    t.answer("container-inspect", &[healthy.clone(), healthy.clone(), healthy.clone(), exited, healthy]);
    t.answer("stop", &[Response::ok("rec-mcp\n").after(3.0)]);
    let o = t.run_interrupted_during("stop", &["update", "--ready-timeout", "20"]);
    o.code(130)
        .stdout_has(&format!("⚠ Putting the previous container back on port {port}..."))
        .stdout_has("✓ The previous version answers again");
    let digest = digest_label(o.only_call("build")).expect("a digest label");
    let mut steps = update_steps_to_start(&t, c, port, &old_id, &digest);
    steps.pop(); // interrupted before the new one was started
    steps.extend([
        one(&["rm", "-f", "rec-mcp-next"]),
        // Still running, still running, exited: only then started again.
        one(&["container", "inspect", "rec-mcp"]),
        one(&["container", "inspect", "rec-mcp"]),
        one(&["container", "inspect", "rec-mcp"]),
        one(&["start", "rec-mcp"]),
        Step::Any(watching("rec-mcp"), 1),
        one(&["tag", &old_id, "rec-mcp"]),
        one(&["rmi", "rec-mcp:previous"]),
    ]);
    assert_call_steps(&o, &steps);
    assert!(listening(port), "the old fake server serves again");
}

/// The digest label of the last build the fake engine saw.
fn last_build_digest(t: &Test) -> String {
    let builds: Vec<Vec<String>> = t.engine.calls().into_iter().filter(|c| c[0] == "build").collect();
    digest_label(builds.last().expect("a build")).expect("a digest label")
}

/// `started_for_update`, with the project's image carrying the digest the start's build set:
/// the code has not changed since.
fn started_and_unchanged(c: Client, port: u16) -> (Test, String) {
    let (t, old_id) = started_for_update(c, port, &[Response::ok("rec-mcp-next\n").serving()]);
    let digest = last_build_digest(&t);
    t.engine.images(&[(BASE, BASE_ID, &[]), ("rec-mcp", &old_id, &[("io.mcpctl.digest", &digest)])]);
    (t, old_id)
}

#[test]
fn update_with_nothing_changed_touches_nothing() {
    let port = ports(10);
    let c = Client::Podman;
    let (t, _) = started_and_unchanged(c, port);
    let o = t.run(&["update"]);
    o.code(0)
        .stdout_has(
            "✓ Image rec-mcp is up to date: nothing it is built from changed (--rebuild builds anyway)",
        )
        .stdout_has(
            "✓ Nothing changed: rec-mcp already runs this image with these settings; nothing was touched",
        )
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"));
    // The lookup and one look at the images; nothing else.
    let mut keys = o.call_keys();
    keys.sort();
    assert_eq!(keys, ["container-inspect", "image-inspect"], "{}", o.dump());
    assert!(listening(port), "the server still serves");
}

#[test]
fn update_with_the_same_image_and_other_settings_replaces_the_container() {
    let port = ports(10);
    let c = Client::Docker28;
    let (t, _) = started_and_unchanged(c, port);
    let o = t.run(&["update", "-e", "FEATURE=on"]);
    o.code(0)
        .stdout_has("✓ Image rec-mcp is up to date")
        .stdout_has("→ Same image, other settings (environment, volumes, ports, the front...): replacing the container")
        .stdout_has("✓ MCP server updated")
        .no_call("build");
    o.only_call("create");
    assert!(o.only_call("create").contains(&"FEATURE".to_string()), "{}", o.dump());
    o.only_call("rename");
    // Now it runs with those settings: the same update again changes nothing.
    t.answer("container-inspect", &[rec_inspect(c, "inspect-healthy", port)]);
    t.run(&["update", "-e", "FEATURE=on"]).code(0).stdout_has("✓ Nothing changed").no_call("create");
}

#[test]
fn update_rebuild_builds_and_replaces_even_when_nothing_changed() {
    let port = ports(10);
    let c = Client::Docker20;
    let (t, _) = started_and_unchanged(c, port);
    let o = t.run(&["update", "--rebuild"]);
    o.code(0).stdout_has("→ Building (--rebuild)").stdout_has("✓ MCP server updated");
    o.only_call("build");
    o.only_call("create");
}

/// The labels a build call set, but its digest.
fn build_labels_but_digest(build: &[String]) -> Vec<(String, String)> {
    build
        .windows(2)
        .filter(|w| w[0] == "--label")
        .filter_map(|w| w[1].split_once('='))
        .filter(|(k, _)| *k != "io.mcpctl.digest")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const CACHED_LAYERS: [&str; 2] = [
    "sha256:1a1e000000000000000000000000000000000000000000000000000000000001",
    "sha256:1a1e000000000000000000000000000000000000000000000000000000000002",
];

/// A file the Dockerfile never copies (a note) changed: the digest differs, so update builds,
/// and the engine's cache gives the running image's layers and config under another digest
/// label, so another id. That is nothing changed: no container made, stopped or removed, no tag
/// moved but the project's own; the next update says so again without a build; --rebuild
/// still replaces the container.
/// `started_for_update`, with the running image what this project's build makes (its labels and
/// layers), built before a note the Dockerfile never copies was written: the next build gives the
/// same layers from the cache under another digest label.
fn started_then_a_note(c: Client, port: u16) -> (Test, String) {
    let (t, old_id) = started_for_update(c, port, &[Response::ok("rec-mcp-next\n").serving()]);
    // The running image: what this project's build makes, built before the note was written.
    let start_build = t.engine.calls().into_iter().find(|c| c[0] == "build").expect("the start's build");
    let mut labels = build_labels_but_digest(&start_build);
    labels.push(("io.mcpctl.digest".into(), OLD_DIGEST.into()));
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    t.engine.images(&[(BASE, BASE_ID, &[]), ("rec-mcp", &old_id, &labels)]);
    t.engine.set_layers("rec-mcp", &CACHED_LAYERS);
    t.engine.build_layers(&CACHED_LAYERS);
    std::fs::write(t.project.join("NOTES.md"), "a note the Dockerfile never copies\n").unwrap();
    (t, old_id)
}

#[test]
fn update_whose_build_gives_the_running_image_touches_nothing() {
    let port = ports(10);
    let c = Client::Docker28;
    let (t, old_id) = started_then_a_note(c, port);
    let o = t.run(&["update"]);
    o.code(0)
        .stdout_has(
            "→ rec-mcp has the layers and settings of the image the container runs (only the digest label differs)",
        )
        .stdout_has(
            "✓ Nothing changed: rec-mcp already runs this image with these settings; nothing was touched",
        )
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"));
    let digest = digest_label(o.only_call("build")).expect("a digest label");
    let built = t.engine.image_labelled("io.mcpctl.digest", &digest).expect("the built image");
    assert_ne!(built, old_id);
    o.calls_to("image-inspect").iter().find(|a| a[2..] == [old_id.clone(), built.clone()]).expect("compared");
    for k in ["create", "run", "stop", "rm", "rename", "start", "tag", "rmi"] {
        o.no_call(k);
    }
    assert!(listening(port), "the server still serves");
    // The project's image is the new build (its label matches the context), nothing is :previous.
    assert_eq!(t.engine.image_id("rec-mcp").as_deref(), Some(built.as_str()));
    assert_eq!(t.engine.image_id("rec-mcp:previous"), None);

    // The next update: no build, the same answer.
    let o = t.run(&["update"]);
    o.code(0)
        .stdout_has("✓ Image rec-mcp is up to date")
        .stdout_has("✓ Nothing changed")
        .no_call("build")
        .no_call("create")
        .no_call("stop");

    // --rebuild still builds and replaces.
    t.answer(
        "container-inspect-next",
        &[rec_missing_as(c, "rec-mcp-next"), rec_inspect_as(c, "inspect-healthy", port, "rec-mcp-next")],
    );
    let o = t.run(&["update", "--rebuild", "--ready-timeout", "20"]);
    o.code(0).stdout_has("✓ MCP server updated");
    o.only_call("build");
    o.only_call("create");
}

/// The same image with other settings replaces the container, and `:previous` stays the version
/// before: a rollback must not "return" to an image of the same content.
#[test]
fn update_of_the_same_image_with_other_settings_keeps_previous() {
    let port = ports(10);
    let c = Client::Podman;
    let (t, old_id) = started_then_a_note(c, port);
    let o = t.run(&["update", "-e", "FEATURE=on", "--ready-timeout", "20"]);
    o.code(0)
        .stdout_has("→ Same image, other settings (environment, volumes, ports, the front...): replacing the container")
        .stdout_has("✓ MCP server updated");
    o.only_call("create");
    assert!(
        !o.calls.iter().any(|a| a[0] == "tag" && a.last().map(String::as_str) == Some("rec-mcp:previous")),
        "{}",
        o.dump()
    );
    assert!(o.calls.iter().all(|a| !a.contains(&old_id) || a[0] == "image"), "{}", o.dump());
}

/// A dev server's unix socket (and a fifo) in the build context: the engines build such a
/// context, and so the digest is made; here nothing else changed.
#[test]
fn update_with_a_socket_in_the_context_works() {
    let port = ports(10);
    let c = Client::Podman;
    let (t, _) = started_and_unchanged(c, port);
    let _listener = std::os::unix::net::UnixListener::bind(t.project.join("dev.sock")).unwrap();
    let o = t.run(&["update"]);
    o.code(0).stdout_has("✓ Image rec-mcp is up to date").stdout_has("✓ Nothing changed").no_call("build");
}

/// A second start with the image built from the same inputs skips the build; after a change it
/// builds, and says what changed (all of it with -v).
#[test]
fn start_skips_the_build_when_nothing_changed_and_names_what_did() {
    let port = ports(10);
    let c = Client::Docker28;
    let t = fresh(c, port);
    run(&t, &start_args(port)).code(0).only_call("build");
    let digest = last_build_digest(&t);
    assert_eq!(
        t.engine.image_label("rec-mcp", "io.mcpctl.digest"),
        Some(digest.clone()),
        "the label is on the image"
    );
    let gone = |t: &Test| {
        t.engine.stop_servers();
        t.answer("container-inspect", &[rec_missing(c), rec_inspect(c, "inspect-healthy", port)]);
    };
    gone(&t);
    let o = run(&t, &start_args(port));
    o.code(0)
        .stdout_has("✓ Image rec-mcp is up to date: nothing it is built from changed")
        .stdout_has("✓ MCP server is running!")
        .no_call("build");
    o.only_call("run");

    // Three files change and one appears: named, the first three without -v.
    gone(&t);
    let t = t.file("a.py", "1").file("b.py", "2").file("c.py", "3").file("d.py", "4");
    let o = run(&t, &start_args(port));
    o.code(0).stdout_has(
        "→ Building: since rec-mcp was built, a.py added, b.py added, c.py added and 1 more (-v lists them)",
    );
    assert_ne!(last_build_digest(&t), digest);
    // A new base image (pulled, say) changes it too; -v lists everything.
    gone(&t);
    t.engine.images(&[
        (BASE, "sha256:0ther", &[]),
        ("rec-mcp", "sha256:abc", &[("io.mcpctl.digest", &last_build_digest(&t))]),
    ]);
    let mut args = start_args(port);
    args.push("-v".into());
    run(&t, &args).code(0).stdout_has(&format!("since rec-mcp was built, base image {BASE} changed\n"));
    // --rebuild builds whatever the label says.
    gone(&t);
    let mut args = start_args(port);
    args.push("--rebuild".into());
    run(&t, &args).code(0).stdout_has("→ Building (--rebuild)").only_call("build");
}

#[test]
fn update_without_a_deployment_runs_start() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    // update looks once, then start looks again.
    let c = Client::Docker28;
    t.answer("container-inspect", &[rec_missing(c), rec_missing(c), rec_inspect(c, "inspect-healthy", port)]);
    let o = run(&t, &["update".into(), "--base-port".into(), port.to_string()]);
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
    let port = ports(10);
    let t = deployed(Client::Docker28, "inspect-healthy", port);
    write_state(&t, &format!("{{\"port\": {port}}}"));
    t.answer("build", &[Response::recorded(Client::Docker28, "build-fail")]);
    let o = t.run(&["update"]);
    o.code(1).stderr_has("Failed to build image rec-mcp").no_call("stop").no_call("rm").no_call("run");
}

// ---- rollback ---------------------------------------------------------------------------------------

#[test]
fn rollback_without_a_previous_image() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    t.answer("image-inspect", &[Response::recorded(Client::Docker28, "image-inspect-missing")]);
    let o = t.run(&["rollback"]);
    o.code(1).one_stderr_line(
        "✗ no previous image rec-mcp:previous: rollback returns to the image the last `mcpctl update` replaced, and there is none yet",
    );
    assert_call_steps(
        &o,
        &[
            one(&["--version"]),
            one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            image_id_call("rec-mcp:previous"),
        ],
    );
}

// ---- down -------------------------------------------------------------------------------------------

const VOLUMES: [&str; 3] = ["rec-mcp_data", "rec-mcp_config", "rec-mcp_logs"];

/// A running rec-mcp whose three volumes exist.
fn deployed_with_volumes(port: u16) -> Test {
    let t = deployed(Client::Docker28, "inspect-healthy", port);
    t.answer("volume-inspect", &[Response::recorded(Client::Docker28, "volume-inspect")]);
    t.answer("volume-rm", &[Response::ok("")]);
    t
}

fn down_steps() -> Vec<Step> {
    vec![
        one(&["--version"]),
        one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
        one(&["stop", "-t", "10", "rec-mcp"]),
        one(&["rm", "rec-mcp"]),
    ]
}

#[test]
fn down_removes_the_container_and_keeps_volumes() {
    let t = deployed_with_volumes(ports(10));
    let o = t.run(&["down"]);
    o.code(0)
        .stdout_has("✓ Container removed")
        .stdout_has("→ Volumes kept (add --volumes to delete them and their data)");
    assert_eq!(o.stderr, "", "{}", o.dump());
    assert_call_steps(&o, &down_steps());
}

#[test]
fn down_volumes_refuses_without_yes_when_stdin_is_not_a_terminal() {
    let t = deployed_with_volumes(ports(10));
    let o = t.run(&["down", "--volumes"]);
    // Refused before anything changes: the container is not even stopped.
    o.code(2).one_stderr_line(
        "✗ refusing to delete volumes without confirmation: there is no terminal to ask on; pass --yes to confirm",
    );
    o.no_call("stop");
    o.no_call("rm");
    o.no_call("volume-rm");
}

#[test]
fn down_volumes_yes_deletes_each_volume() {
    let t = deployed_with_volumes(ports(10));
    let o = t.run(&["down", "--volumes", "--yes"]);
    o.code(0);
    assert_eq!(o.stderr, "", "{}", o.dump());
    for v in VOLUMES {
        o.stdout_has(&format!("✓ Deleted volume {v}"));
    }
    let mut steps = down_steps();
    steps.extend(VOLUMES.map(|v| one(&["volume", "inspect", v])));
    steps.extend(VOLUMES.map(|v| one(&["volume", "rm", v])));
    assert_call_steps(&o, &steps);

    // A volume that does not exist is neither listed nor deleted.
    let t = deployed_with_volumes(ports(10));
    t.answer(
        "volume-inspect",
        &[
            Response::recorded(Client::Docker28, "volume-inspect"),
            Response::recorded(Client::Docker28, "volume-inspect-missing"),
            Response::recorded(Client::Docker28, "volume-inspect"),
        ],
    );
    let o = t.run(&["down", "--volumes", "--yes"]);
    o.code(0).stdout_has("⚠ These volumes and all their data will be deleted: rec-mcp_data, rec-mcp_logs\n");
    let rms: Vec<&Vec<String>> = o.calls_to("volume-rm");
    assert_eq!(
        rms,
        [&s(&["volume", "rm", "rec-mcp_data"]), &s(&["volume", "rm", "rec-mcp_logs"])],
        "{}",
        o.dump()
    );
}

// ---- the project lock -------------------------------------------------------------------------------

/// Lock the project's lock file as another mcpctl would, naming it `mcpctl update (pid 1)`.
fn hold_lock(t: &Test) -> std::fs::File {
    use std::io::Write;
    let state = t.state_file("rec");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let path = state.with_file_name("docker.json.lock");
    let mut f =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    f.lock().unwrap();
    write!(f, "mcpctl update (pid 1)").unwrap();
    f.flush().unwrap();
    f
}

#[test]
fn no_wait_fails_at_once_naming_the_lock_holder() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let _held = hold_lock(&t);
    let lock = t.home.join(".config/rec/docker.json.lock");
    let o = t.run(&["--no-wait", "stop"]);
    o.code(1).one_stderr_line(&format!(
        "✗ mcpctl update (pid 1) is working on this project (lock {}): wait for it to finish, or run without --no-wait to wait",
        lock.display()
    ));
    // Nothing was looked at, let alone stopped.
    assert_eq!(o.call_keys(), ["--version"], "{}", o.dump());
}

#[test]
fn a_second_mcpctl_waits_for_the_lock() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let held = hold_lock(&t);
    // The lock is let go only once mcpctl says it waits: on a loaded machine it may take longer
    // than any fixed delay to get there.
    let mut before = Vec::new();
    let o = t.run_then_at(&["stop"], "Waiting for mcpctl update (pid 1) to finish", || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        before = t.engine.calls();
        drop(held);
    });
    o.code(0)
        .stdout_has("→ Waiting for mcpctl update (pid 1) to finish...")
        .stdout_has("✓ Container stopped and removed");
    // What it did before it had the lock: nothing but asking the engine what it is.
    assert!(
        before.iter().all(|c| c == &s(&["--version"])),
        "engine calls while the lock was held: {before:?}"
    );
    assert_call_steps(
        &o,
        &[
            one(&["--version"]),
            one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            one(&["stop", "-t", "10", "rec-mcp"]),
            one(&["rm", "rec-mcp"]),
        ],
    );
    // The holder is named for the next one who waits.
    let holder = std::fs::read_to_string(t.home.join(".config/rec/docker.json.lock")).unwrap();
    assert!(holder.starts_with("mcpctl stop (pid "), "{holder:?}");
}

// ---- recovery from an interrupted swap --------------------------------------------------------------

#[test]
fn a_running_next_container_alone_gets_the_real_name() {
    let c = Client::Docker28;
    let port = ports(10);
    let t = deployed(c, "inspect-healthy", port);
    // Interrupted after the old one was removed, before the rename.
    t.answer("container-inspect", &[rec_missing(c), rec_inspect(c, "inspect-healthy", port)]);
    t.answer("container-inspect-next", &[rec_inspect_as(c, "inspect-healthy", port, "rec-mcp-next")]);
    t.answer("rename", &[Response::ok("")]);
    let o = t.run(&["stop"]);
    o.code(0)
        .stdout_has("⚠ Finished an interrupted update: rec-mcp-next is now rec-mcp")
        .stdout_has("✓ Container stopped and removed");
    assert_call_steps(
        &o,
        &[
            one(&["--version"]),
            one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            one(&["rename", "rec-mcp-next", "rec-mcp"]),
            one(&["container", "inspect", "rec-mcp"]),
            one(&["stop", "-t", "10", "rec-mcp"]),
            one(&["rm", "rec-mcp"]),
        ],
    );
}

#[test]
fn an_exited_next_container_is_removed() {
    let c = Client::Podman;
    let port = ports(10);
    let t = deployed(c, "inspect-healthy", port);
    t.answer("container-inspect-next", &[rec_inspect_as(c, "inspect-exited", port, "rec-mcp-next")]);
    let o = t.run(&["stop"]);
    o.code(0).stdout_has("⚠ Removed rec-mcp-next, left half-made by an interrupted update or rollback");
    assert_call_steps(
        &o,
        &[
            one(&["--version"]),
            one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            one(&["rm", "-f", "rec-mcp-next"]),
            one(&["container", "inspect", "rec-mcp"]),
            one(&["stop", "-t", "10", "rec-mcp"]),
            one(&["rm", "rec-mcp"]),
        ],
    );

    // The old one, stopped for the swap and never started again, is started again.
    let t = deployed(c, "inspect-exited", port);
    t.answer(
        "container-inspect",
        &[rec_inspect(c, "inspect-exited", port), rec_inspect(c, "inspect-healthy", port)],
    );
    t.answer("container-inspect-next", &[rec_inspect_as(c, "inspect-exited", port, "rec-mcp-next")]);
    t.answer("start", &[Response::ok("rec-mcp\n")]);
    let o = t.run(&["stop"]);
    o.code(0).stdout_has("⚠ Removed rec-mcp-next").stdout_has("→ Starting rec-mcp again");
    assert_call_steps(
        &o,
        &[
            one(&["--version"]),
            one(&["container", "inspect", "rec-mcp", "rec-mcp-next"]),
            one(&["rm", "-f", "rec-mcp-next"]),
            one(&["start", "rec-mcp"]),
            one(&["container", "inspect", "rec-mcp"]),
            one(&["stop", "-t", "10", "rec-mcp"]),
            one(&["rm", "rec-mcp"]),
        ],
    );
}

// ---- status -----------------------------------------------------------------------------------------

#[test]
fn status_not_deployed() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["status"]);
    o.code(0).stdout_has("→ Status: not deployed").stdout_has("→ Run 'mcpctl start' to deploy");
    assert_eq!(o.call_keys(), ["--version", "container-inspect"]);
}

/// XDG_CACHE_HOME set but empty counts as unset (the XDG spec): the engine's cached answer goes
/// under ~/.cache, not into ./mcpctl of the current directory (the project, so the build context).
#[test]
fn an_empty_xdg_cache_home_keeps_the_cache_out_of_the_project() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    t.run_with_env(&[("XDG_CACHE_HOME", "")], &["status"]).code(0);
    assert!(!t.project.join("mcpctl").exists(), "a cache dir in the project");
    assert!(t.home.join(".cache/mcpctl/engines.json").is_file(), "the engine's answer is cached in ~/.cache");
}

#[test]
fn status_running_probes_mcp() {
    let port = ports(10);
    assert_ports_free(port, 1);
    let _server = FakeMcp::start(port);
    let t = deployed(Client::Docker28, "inspect-healthy", port);
    let o = t.run(&["status"]);
    o.code(0)
        .stdout_has("MCP Server - Status: rec")
        .stdout_has("✓ Status: running (healthy)")
        .stdout_has("✓ MCP: fake-mcp 9.9.9 answers over streamable-http, MCP 2025-06-18 (session), 2 tools, ")
        .stdout_has(&format!("→ Port: {port}"))
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{port}/mcp"));
    assert_eq!(o.call_keys(), ["--version", "container-inspect"]);
    // Once the engine's kind is cached, status on a running server is one engine call.
    let again = t.run(&["status"]);
    again.code(0).stdout_has("✓ Status: running (healthy)");
    assert_eq!(again.call_keys(), ["container-inspect"]);
}

/// Podman never advances a HEALTHCHECK without systemd: status says why it stays "starting".
#[test]
fn status_on_podman_explains_a_health_check_that_never_runs() {
    let port = ports(10);
    assert_ports_free(port, 1);
    let _server = FakeMcp::start(port);
    let t = deployed(Client::Podman, "inspect-starting", port);
    let o = t.run(&["status"]);
    o.code(0)
        .stdout_has("✓ Status: running (health check starting; podman runs it only through systemd)")
        .stdout_has("✓ MCP: fake-mcp 9.9.9 answers");
    let json = t.run(&["status", "--json"]);
    json.code(0).stdout_has("\"health\":\"starting\"");
}

#[test]
fn status_json_running() {
    let port = ports(10);
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
    let port = ports(10);
    write_state(&t, &format!("{{\"port\": {port}}}"));
    let o = t.run(&["status", "--json"]);
    o.code(0);
    let v = json_stdout(&o);
    assert_eq!(v["state"], "not-deployed");
    assert_eq!(v["port"], port);
    assert_eq!(v["mcp"], Value::Null);
}

#[test]
fn status_of_an_exited_container() {
    let t = deployed(Client::Docker28, "inspect-exited", ports(10));
    t.run(&["status"]).code(0).stdout_has("⚠ Status: stopped (exited with code 3)");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(v["state"], "stopped");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["health"], Value::Null);
}

#[test]
fn status_unhealthy_and_not_answering() {
    let port = ports(10);
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
    let port = ports(10);
    assert_ports_free(port, 1);
    let t = deployed(Client::Podman, "inspect-nohc", port);
    t.run(&["status"]).code(0).stdout_has("Status: running (no health check)");
    let v = json_stdout(&t.run(&["status", "--json"]));
    assert_eq!(v["health"], Value::Null, "podman's Status \"\" is no health");
}

#[test]
fn status_of_a_foreign_container() {
    let t = Test::new(Client::Docker28);
    t.answer(
        "container-inspect",
        &[rec_inspect(Client::Docker28, "inspect-healthy", ports(10))
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
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let o = t.run(&["logs", "--no-follow"]);
    o.code(0)
        .stdout_has("Serving HTTP on 0.0.0.0 port 3001 (http://0.0.0.0:3001/) ...")
        .stderr_has("\"GET / HTTP/1.1\" 200 -")
        .stdout_lacks("MCP Server - Logs");
    assert_eq!(o.only_call("logs"), &s(&["logs", "rec-mcp"]));
}

#[test]
fn logs_tail_and_follow_argv() {
    let t = deployed(Client::Podman, "inspect-exited", ports(10));
    let o = t.run(&["logs", "--no-follow", "--tail", "5"]);
    o.code(0);
    assert_eq!(o.only_call("logs"), &s(&["logs", "--tail", "5", "rec-mcp"]));
    let o = t.run(&["logs", "--tail", "7"]);
    o.code(0).stdout_has("MCP Server - Logs: rec").stdout_has("→ Press Ctrl+C to stop");
    assert_eq!(o.only_call("logs"), &s(&["logs", "-f", "--tail", "7", "rec-mcp"]));
}

#[test]
fn logs_of_a_missing_container() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["logs", "--no-follow"]);
    o.code(1)
        .one_stderr_line("✗ no container rec-mcp: nothing to show logs of; deploy it with `mcpctl start`");
    o.no_call("logs");
}

#[test]
fn logs_that_fail() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
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

/// `ps` when no container matches: podman's empty array, docker's nothing.
fn no_fronts(c: Client) -> Response {
    Response::ok(if c == Client::Podman { "[]\n" } else { "" })
}

#[test]
fn list_shows_a_table() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("ps", &[Response::recorded(c, "ps-label"), no_fronts(c)]);
        let o = t.run(&["list"]);
        o.code(0).stdout_has("CONTAINER").stdout_has("PROJECT").stdout_has("STATE");
        let format = if c == Client::Podman { "json" } else { "{{json .}}" };
        assert_eq!(
            o.calls_to("ps"),
            [
                &s(&["ps", "-a", "--filter", "label=io.mcpctl.project", "--format", format]),
                &s(&["ps", "-a", "--filter", "label=io.mcpctl.front", "--format", format])
            ]
        );
        let rows: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("rec-")).collect();
        assert_eq!(rows.len(), 5, "{}", o.dump());
        let running = rows.iter().find(|l| l.starts_with("rec-running ")).expect("rec-running row");
        assert!(running.contains(" rec ") && running.contains(" running "), "{running}");
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
        t.answer("ps", &[Response::recorded(c, "ps-label"), no_fronts(c)]);
        let o = t.run(&["list", "--json"]);
        o.code(0);
        let v = json_stdout(&o);
        let arr = v.as_array().expect("an array");
        assert_eq!(arr.len(), 5);
        let mut names: Vec<&str> = arr.iter().map(|e| e["name"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["rec-created", "rec-exited", "rec-nohc", "rec-running", "rec-unhealthy"]);
        assert!(arr.iter().all(|e| e["labels"]["io.mcpctl.project"] == "rec"), "{v}");
    }
}

#[test]
fn list_empty() {
    let t = Test::new(Client::Docker28);
    t.answer("ps", &[Response::recorded(Client::Docker28, "after-cleanup-ps")]);
    t.run(&["list"]).code(0).stdout_has("→ No mcpctl containers on docker");
    assert_eq!(t.run(&["list", "--json"]).code(0).stdout.trim(), "[]");
    let p = Test::new(Client::Podman);
    p.answer("ps", &[Response::recorded(Client::Podman, "ps-name-anchored-nomatch")]);
    p.run(&["list"]).code(0).stdout_has("→ No mcpctl containers on podman");
}

#[test]
fn list_when_the_engine_is_not_running() {
    let t = Test::new(Client::Docker28);
    t.answer("ps", &[Response::recorded(Client::Docker28, "not-running-ps")]);
    t.run(&["list"]).code(1).one_stderr_line("✗ docker is not running: Cannot connect to the Docker daemon");
}

// ---- colors and -v ------------------------------------------------------------------------------------

#[test]
fn color_always_never_and_no_color() {
    let t = deployed(Client::Docker28, "inspect-healthy", ports(10));
    let o = t.run(&["stop", "--color", "always"]);
    o.code(0).stdout_has("\u{1b}[");
    let plain = strip_ansi(&o.stdout);
    assert!(plain.contains("  ✓ Container stopped and removed"), "{plain}");
    assert!(plain.contains("  → Stopping container..."), "{plain}");
    // The escape wraps the marker line itself.
    assert!(
        o.stdout.lines().any(|l| l.starts_with("\u{1b}[") && l.contains("✓ Container stopped")),
        "{}",
        o.dump()
    );

    for args in [&["stop", "--color", "never"][..], &["stop"][..]] {
        let o = t.run(args);
        o.code(0).stdout_has("  ✓ Container stopped and removed").stdout_lacks("\u{1b}");
        assert!(!o.stderr.contains('\u{1b}'), "{}", o.dump());
    }
    // NO_COLOR turns auto off, CLICOLOR_FORCE turns it on, an explicit flag beats both.
    let no_color = deployed(Client::Docker28, "inspect-healthy", ports(10))
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1");
    no_color.run(&["stop"]).code(0).stdout_lacks("\u{1b}");
    no_color.run(&["stop", "--color", "always"]).code(0).stdout_has("\u{1b}[");
    let forced = deployed(Client::Docker28, "inspect-healthy", ports(10)).env("CLICOLOR_FORCE", "1");
    forced.run(&["stop"]).code(0).stdout_has("\u{1b}[");
}

#[test]
fn errors_are_colored_only_when_asked() {
    let t = Test::bare().pyproject("rec");
    let o = t.run(&["status", "--color", "always"]);
    o.code(2).stderr_has("\u{1b}[");
    assert!(strip_ansi(&o.stderr).contains("  ✗ no container engine found"), "{}", o.dump());
    let o = t.run(&["status", "--color", "never"]);
    o.code(2).stderr_lacks("\u{1b}").one_stderr_line("  ✗ no container engine found");
}

#[test]
fn verbose_prints_engine_commands_shell_quoted() {
    let t = Test::new(Client::Docker28);
    t.answer("ps", &[Response::recorded(Client::Docker28, "ps-label")]);
    let bin = t.engine.bin.join("docker").display().to_string();
    let o = t.run(&["list", "-v"]);
    o.code(0)
        .stderr_has(&format!("$ {bin} --version\n"))
        .stderr_has(&format!("$ {bin} ps -a --filter label=io.mcpctl.project --format '{{{{json .}}}}'\n"));
    let dollar_lines: Vec<&str> = o.stderr.lines().filter(|l| l.starts_with("$ ")).collect();
    assert_eq!(dollar_lines.len(), o.calls.len(), "one line per engine call\n{}", o.dump());
    // Without -v there are none.
    t.run(&["list"]).code(0).stderr_lacks("$ ");
}

#[test]
fn verbose_start_shows_run_line_and_streams_build_output() {
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    let mut args = start_args(port);
    args.extend(["-v".into(), "-e".into(), "GREETING=hello world".into(), "-e".into(), "API_TOKEN".into()]);
    let o =
        t.run_with_env(&[("API_TOKEN", "tok-s3cr3t")], &args.iter().map(String::as_str).collect::<Vec<_>>());
    o.code(0);
    let run_line =
        o.stderr.lines().find(|l| l.contains(" run -d ")).unwrap_or_else(|| panic!("{}", o.dump()));
    // Values reach the engine through its environment: shown as ***, never in argv.
    assert!(
        run_line.starts_with(&format!(
            "$ API_TOKEN=*** GREETING=*** LOG_LEVEL=*** PORT=*** {}/docker run -d --name rec-mcp ",
            t.engine.bin.display()
        )),
        "{run_line}"
    );
    assert!(run_line.contains(&format!(" -p 127.0.0.1:{port}:3001 ")), "{run_line}");
    assert!(run_line.contains(" -e API_TOKEN -e GREETING -e LOG_LEVEL -e PORT "), "{run_line}");
    assert!(!o.stderr.contains("s3cr3t") && !o.stdout.contains("s3cr3t"), "{}", o.dump());
    assert!(!o.calls.iter().flatten().any(|a| a.contains("s3cr3t") || a.contains("hello")), "{}", o.dump());
    let passed = t.engine.env_passed();
    for want in ["API_TOKEN=tok-s3cr3t", "GREETING=hello world", "LOG_LEVEL=INFO", "PORT=3001"] {
        assert!(passed.iter().any(|p| p == want), "{want} not passed: {passed:?}");
    }
    assert!(run_line.ends_with(" --restart unless-stopped --init --pull never rec-mcp"), "{run_line}");
    // The build's own output is streamed (stdout and stderr of the engine, merged).
    o.stdout_has("Successfully tagged rec-ok:latest")
        .stdout_has("DEPRECATED: The legacy builder is deprecated");
    assert!(o.only_call("run").contains(&"GREETING".to_string()));
}

#[test]
fn env_key_without_value_must_be_set() {
    let t = Test::new(Client::Docker28);
    t.run(&["start", "-e", "MCPCTL_TEST_UNSET_TOKEN"])
        .code(2)
        .one_stderr_line(
            "-e MCPCTL_TEST_UNSET_TOKEN: MCPCTL_TEST_UNSET_TOKEN is not set in mcpctl's environment",
        )
        .no_call("run");
}

/// Completions and the man page need no project and no engine, and know every command.
#[test]
fn completions_and_man_page_from_the_clap_definition() {
    let t = Test::bare();
    let bash = t.run(&["completions", "bash"]);
    bash.code(0).stdout_has("_mcpctl()").stdout_has("rollback").stdout_has("--ready-timeout");
    assert!(bash.calls.is_empty(), "{}", bash.dump());
    // bash accepts it and registers the completion.
    let script = t.root.join("mcpctl.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let out = std::process::Command::new("bash")
        .args(["-c", &format!("source {} && complete -p mcpctl", script.display())])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("_mcpctl"), "{out:?}");
    t.run(&["completions", "zsh"]).code(0).stdout_has("#compdef mcpctl");
    t.run(&["completions", "fish"]).code(0).stdout_has("complete -c mcpctl");
    t.run(&["completions", "tcsh"]).code(2).stderr_has("invalid value 'tcsh'");
    let man = t.run(&["man"]);
    man.code(0).stdout_has(".TH mcpctl 1").stdout_has("update").stdout_has("Exit codes");
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
    t.answer("ps", &[Response::recorded(Client::Docker28, "after-cleanup-ps")]);
    t.run(&["list"]).code(0);
}

#[test]
fn engine_not_running() {
    for c in Client::ALL {
        let t = Test::new(c);
        t.answer("container-inspect", &[Response::recorded(c, "not-running-inspect")]);
        let o = t.run(&["status"]);
        let (name, why, fix) = match c {
            Client::Podman => ("podman", "Error: unable to connect to Podman socket:", "check `podman info`"),
            _ => (
                "docker",
                "Cannot connect to the Docker daemon at unix:///tmp/nonexistent.sock.",
                "start dockerd",
            ),
        };
        o.code(1).one_stderr_line(&format!("✗ {name} is not running: {why}"));
        o.stderr_has(fix);
        let o = t.run(&["start"]);
        o.code(1).one_stderr_line(&format!("{name} is not running")).no_call("build").no_call("run");
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
    o.code(2).one_stderr_line("--engine podman: podman is not on PATH");
    assert!(o.calls.is_empty());
}

#[test]
fn engine_flag_path_is_used_and_classified() {
    // A fake podman outside PATH, named oddly, picked by path: classified by its --version.
    let t = Test::new(Client::Docker28);
    let odd = t.engine.install("my-engine");
    t.answer("--version", &[Response::recorded(Client::Podman, "version")]);
    t.answer("ps", &[Response::recorded(Client::Podman, "ps-label"), no_fronts(Client::Podman)]);
    let o = t.run(&["list", "--engine", &odd.display().to_string()]);
    o.code(0);
    assert!(o.calls_to("ps").iter().all(|c| c.last().unwrap() == "json"), "podman's ps format\n{}", o.dump());
}

#[test]
fn engine_that_is_not_an_engine() {
    let t = Test::new(Client::Docker28);
    let odd = t.engine.install("mytool");
    t.answer("--version", &[Response::ok("mytool 1.0\n")]);
    t.answer("--help", &[Response::ok("usage: mytool [flags]\n")]);
    let o = t.run(&["status", "--engine", &odd.display().to_string()]);
    o.code(2).one_stderr_line(
        "this binary does not look like docker, podman or nerdctl (its --version printed \"mytool 1.0\")",
    );
    assert_eq!(o.call_keys(), ["--version", "--help"]);
}

#[test]
fn docker_that_is_podman_is_treated_as_podman() {
    let port = ports(10);
    assert_ports_free(port, 2);
    let t = Test::bare().pyproject("rec").dockerfile().engine("docker", Client::Podman);
    script_lifecycle(&t, Client::Podman, port);
    let o = run(&t, &start_args(port));
    o.code(0).stdout_has("podman is running (podman version 4.3.1)");
    let build = o.only_call("build");
    assert_eq!(build[..3], s(&["build", "--format", "docker"]), "{}", o.dump());
    t.answer("ps", &[Response::recorded(Client::Podman, "ps-label"), no_fronts(Client::Podman)]);
    let o = t.run(&["list", "--json"]);
    o.code(0);
    assert!(o.calls_to("ps").iter().all(|c| c.last().unwrap() == "json"), "{}", o.dump());
}

// ---- bad input: project and settings ------------------------------------------------------------

#[test]
fn start_without_dockerfile() {
    let t = Test::bare().pyproject("rec").engine("docker", Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["start"]);
    let df = t.project.join("Dockerfile").display().to_string();
    o.code(2).one_stderr_line(&format!("✗ no Dockerfile at {df}: mcpctl builds the image from it"));
    o.no_call("build").no_call("run");
    // --dockerfile pointing at a missing file names that file.
    let o = t.run(&["start", "--dockerfile", "docker/Prod.Dockerfile"]);
    o.code(2)
        .one_stderr_line(&format!("no Dockerfile at {}", t.project.join("docker/Prod.Dockerfile").display()));
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
    t.run(&["status", "--name", "rec"]).code(0).stdout_has("Status: not deployed");
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
        (&["start", "--base-port", "65500"], &[], "base port 65500 is out of range"),
        (&["start", "--base-port", "abc"], &[], "base port \"abc\" is not a number: use 1-65436, e.g. 19000"),
        (&["start"], &[("MCPCTL_BASE_PORT", "abc")], "base port \"abc\" is not a number"),
    ];
    for (args, env, msg) in cases {
        let o = t.run_with_env(env, args);
        o.code(2);
        let first = o.stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error: invalid value") && first.contains(msg), "{}", o.dump());
        assert!(o.calls.is_empty(), "{}", o.dump());
    }
    // In the config file.
    let t = Test::new(Client::Docker28)
        .file("pyproject.toml", "[project]\nname = \"rec\"\n[tool.mcpctl]\nbase-port = 70000\n");
    let o = t.run(&["start"]);
    o.code(2).one_stderr_line("pyproject.toml: base port 70000 is out of range");
    assert!(o.calls.is_empty());
}

/// Bind 100 listeners on 127.0.0.1: a block of ports no other test is given.
fn hold_100_ports() -> (u16, Vec<TcpListener>) {
    let base = ports(100);
    let held = (base..base + 100)
        .map(|p| TcpListener::bind(("127.0.0.1", p)).unwrap_or_else(|e| panic!("cannot hold port {p}: {e}")))
        .collect();
    (base, held)
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
    let port = ports(10);
    let t = fresh(Client::Docker28, port);
    write_state(&t, "{not json");
    let o = run(&t, &start_args(port));
    o.code(0).stdout_has("⚠ state file ").stdout_has("is unusable (not JSON");
    assert_eq!(o.stdout.matches("is unusable").count(), 1, "warned once\n{}", o.dump());
    assert_eq!(saved_port(&t), Some(port as u64), "rewritten after the start");
    // And status reads it without a warning now.
    let o = t.run(&["status"]);
    o.code(0).stdout_lacks("is unusable");
}

#[test]
fn unknown_config_key() {
    let t = Test::new(Client::Docker28)
        .file("pyproject.toml", "[project]\nname = \"rec\"\n\n[tool.mcpctl]\nbase_prot = 1\n");
    let py = t.project.join("pyproject.toml").display().to_string();
    let o = t.run(&["status"]);
    o.code(2).one_stderr_line(&format!(
        "✗ {py} at line 5: unknown key `base_prot`; see the README's settings table"
    ));
    assert!(o.calls.is_empty());
    let t = Test::new(Client::Docker28).file("mcpctl.toml", "image = 'x'\nwat = 2\n");
    t.run(&["status"]).code(2).one_stderr_line("mcpctl.toml at line 2: unknown key `wat`");
}

#[test]
fn bad_toml() {
    let t = Test::new(Client::Docker28).file("pyproject.toml", "[project]\nname = \"rec\n");
    let o = t.run(&["status"]);
    o.code(2).one_stderr_line("pyproject.toml is not valid TOML at line 2:");
    assert!(o.calls.is_empty());
    let t = Test::new(Client::Docker28).file("mcpctl.toml", "volumes = [\n");
    t.run(&["stop"]).code(2).one_stderr_line("mcpctl.toml is not valid TOML");
}

#[test]
fn settings_in_two_places() {
    let t = Test::new(Client::Docker28)
        .file("pyproject.toml", "[project]\nname = \"rec\"\n[tool.mcpctl]\nrestart = \"no\"\n")
        .file("mcpctl.toml", "restart = \"always\"\n");
    t.run(&["status"]).code(2).one_stderr_line("mcpctl reads one place");
}

fn foreign(label_line: &str) -> Test {
    let t = Test::new(Client::Docker28);
    t.answer(
        "container-inspect",
        &[rec_inspect(Client::Docker28, "inspect-healthy", ports(10))
            .replace("\"io.mcpctl.project\": \"rec\",", label_line)],
    );
    t.answer("stop", &[Response::ok("rec-mcp\n")]);
    t.answer("rm", &[Response::ok("rec-mcp\n")]);
    t.answer("build", &[Response::recorded(Client::Docker28, "build-ok")]);
    t.answer("run", &[Response::recorded(Client::Docker28, "run-running")]);
    t
}

#[test]
fn foreign_container_is_never_stopped_or_removed() {
    let t = foreign("");
    for cmd in ["stop", "start", "restart", "update"] {
        let o = t.run(&[cmd]);
        o.code(2).one_stderr_line(
            "✗ a container named rec-mcp exists but mcpctl did not create it for \"rec\" (it has no io.mcpctl.project label): mcpctl never stops or removes it; remove it yourself (`docker rm -f rec-mcp`) or pick another name with --name",
        );
        o.no_call("stop").no_call("rm").no_call("run").no_call("build");
    }
    let t = foreign("\"io.mcpctl.project\": \"other\",");
    let o = t.run(&["stop"]);
    o.code(2).one_stderr_line("(it belongs to mcpctl project \"other\")").no_call("stop").no_call("rm");
}

#[test]
fn invalid_names_are_rejected_before_any_engine_call() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["start", "--name", "bad name!"]);
    o.code(2).one_stderr_line("✗ project name \"bad name!\" cannot name a container");
    assert!(o.calls.is_empty(), "{}", o.dump());
    // A name with a newline stays on one line, escaped, so the error is not split in two.
    let o = t.run(&["start", "--name", "a\nbind :1"]);
    o.code(2).one_stderr_line("✗ project name \"a\\nbind :1\" cannot name a container");
    assert_eq!(o.stderr.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{}", o.dump());

    let cases = [
        ("volumes = { \"bad/key\" = \"/x\" }", "volume name \"rec-mcp_bad/key\""),
        ("volumes = { data = \"relative/path\" }", "the path in the container must be absolute"),
        ("volumes = { data = \"/a:b\" }", "contain no ':'"),
        ("container = \"has space\"", "container name \"has space\""),
        ("image = \"UPPER\"", "image name \"UPPER\" is not a valid image reference"),
        ("restart = \"sometimes\"", "restart policy \"sometimes\""),
        ("publish-address = \"everywhere\"", "publish address \"everywhere\" is not an IP address"),
    ];
    for (line, msg) in cases {
        let t = Test::new(Client::Docker28)
            .file("pyproject.toml", &format!("[project]\nname = \"rec\"\n[tool.mcpctl]\n{line}\n"));
        let o = t.run(&["start"]);
        o.code(2).one_stderr_line(msg);
        assert!(o.calls.is_empty(), "{line}\n{}", o.dump());
    }
    // A good custom volume reaches the run argv.
    let port = ports(10);
    assert_ports_free(port, 2);
    let t = Test::new(Client::Docker28).file(
        "pyproject.toml",
        "[project]\nname = \"rec\"\n[tool.mcpctl]\nvolumes = { cache = \"/cache\" }\n",
    );
    script_lifecycle(&t, Client::Docker28, port);
    let o = run(&t, &start_args(port));
    o.code(0);
    let argv = o.only_call("run");
    let vols: Vec<&String> = argv.windows(2).filter(|w| w[0] == "-v").map(|w| &w[1]).collect();
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
            .stderr_has("→ Build output (last lines):")
            .stderr_has(&format!("✗ Failed to build image rec-mcp ({} exited with 7)\n", c.program()))
            .stderr_has("→ Fix: fix the error above and run again")
            .no_call("run");
        let (step, reason) = match c {
            Client::Podman => (
                "STEP 3/3: RUN exit 7",
                "Error: building at STEP \"RUN exit 7\": while running runtime: exit status 7",
            ),
            _ => ("Step 3/3 : RUN exit 7", "The command '/bin/sh -c exit 7' returned a non-zero code: 7"),
        };
        let all = format!("{}{}", o.stdout, o.stderr);
        assert!(all.contains(&format!("    {step}")), "{}", o.dump());
        assert!(all.contains(&format!("    {reason}")), "{}", o.dump());
    }
}

#[test]
fn run_failure_shows_the_engine_error() {
    let port = ports(10);
    assert_ports_free(port, 2);
    let t = fresh_without_port_check(Client::Podman, port);
    t.answer(
        "run",
        &[Response::fail(125, "Error: invalid reference format: repository name must be lowercase\n")],
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
    let port = ports(10);
    assert_ports_free(port, 2);
    let t = deployed(Client::Podman, "inspect-exited", port);
    t.answer(
        "container-inspect",
        &[rec_missing(Client::Podman), rec_inspect(Client::Podman, "inspect-healthy", port)],
    );
    t.answer("run", &[Response::fail(125, "Error: rec-mcp: image not known\n")]);
    write_state(&t, &format!("{{\"port\": {port}}}"));
    let o = t.run(&["restart"]);
    o.code(1).one_stderr_line("✗ no image rec-mcp to run (Error: rec-mcp: image not known): build it with `mcpctl start` or `mcpctl update`");
}

/// docker puts a usage hint after the error: the message must show the error, not the hint.
#[test]
fn run_failure_on_docker_shows_the_error_not_the_help_hint() {
    for c in [Client::Docker28, Client::Docker20] {
        let port = ports(10);
        assert_ports_free(port, 2);
        let t = fresh_without_port_check(c, port);
        t.answer("run", &[Response::recorded(c, "run-name-taken").replace("rec-running", "rec-mcp")]);
        let o = run(&t, &start_args(port));
        o.code(2).stderr_has("is already in use").stderr_lacks("docker run --help");
    }
}

/// A name conflict leaves nothing behind (fixtures README), and the container holding the name is
/// not ours to remove: `rm -f` must not follow it.
#[test]
fn run_name_conflict_does_not_remove_the_other_container() {
    for c in Client::ALL {
        let port = ports(10);
        assert_ports_free(port, 2);
        let t = fresh_without_port_check(c, port);
        t.answer("run", &[Response::recorded(c, "run-name-taken").replace("rec-running", "rec-mcp")]);
        let o = run(&t, &start_args(port));
        o.code(2).no_call("rm");
    }
}

fn port_taken_retry(c: Client, base: u16) {
    assert_ports_free(base, 3);
    let t = fresh_without_port_check(c, base);
    t.answer(
        "run",
        &[Response::recorded(c, "run-port-taken"), Response::recorded(c, "run-running").serving()],
    );
    t.answer("rm", &[Response::recorded(c, "rm-f-missing")]);
    t.answer("container-inspect", &[rec_missing(c), rec_inspect(c, "inspect-healthy", base + 1)]);
    let o = run(&t, &start_args(base));
    o.code(0)
        .stdout_has(&format!("⚠ port {base} was taken when the engine bound it; trying the next one"))
        .stdout_has(&format!("✓ Container started on port {}", base + 1))
        .stdout_has(&format!("→ MCP endpoint: http://localhost:{}/mcp", base + 1));
    let runs = o.calls_to("run");
    assert_eq!(runs.len(), 2, "{}", o.dump());
    assert!(runs[0].contains(&format!("127.0.0.1:{base}:3001")), "{}", o.dump());
    assert!(runs[1].contains(&format!("127.0.0.1:{}:3001", base + 1)), "{}", o.dump());
    assert_eq!(o.only_call("rm"), &s(&["rm", "-f", "rec-mcp"]));
    let keys = o.call_keys();
    let run_at: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| *k == "run").map(|(i, _)| i).collect();
    assert_eq!(keys[run_at[0] + 1], "rm", "the leftover is removed right after the failed run: {keys:?}");
    assert_eq!(saved_port(&t), Some(base as u64 + 1));
}

#[test]
fn port_taken_retry_docker28() {
    port_taken_retry(Client::Docker28, ports(10));
}

#[test]
fn port_taken_retry_docker20() {
    port_taken_retry(Client::Docker20, ports(10));
}

#[test]
fn port_taken_retry_podman() {
    port_taken_retry(Client::Podman, ports(10));
}

#[test]
fn publishing_on_all_interfaces_warns() {
    let port = ports(10);
    assert_ports_free(port, 2);
    let t = fresh(Client::Docker28, port);
    let mut args = start_args(port);
    args.extend(["--publish-address".into(), "0.0.0.0".into()]);
    let o = run(&t, &args);
    // The fake MCP server listens on 127.0.0.1, which 0.0.0.0 publishing also reaches.
    o.code(0)
        .stdout_has("⚠ publishing on 0.0.0.0: anyone on the network can reach this unauthenticated server");
    assert!(o.only_call("run").contains(&format!("0.0.0.0:{port}:3001")), "{}", o.dump());
}

#[test]
fn help_and_version() {
    let t = Test::bare();
    let o = t.run(&["--help"]);
    o.code(0).stdout_has("Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 130 interrupted.");
    for cmd in ["start", "stop", "restart", "update", "status", "logs", "list"] {
        assert!(o.stdout.contains(&format!("  {cmd}")), "{cmd}\n{}", o.dump());
    }
    t.run(&["--version"]).code(0).stdout_has(&format!("mcpctl {}", env!("CARGO_PKG_VERSION")));
    let o = t.run(&["frobnicate"]);
    o.code(2).stderr_has("unrecognized subcommand 'frobnicate'");
    assert!(o.calls.is_empty());
}

// ---- the front: bad input -----------------------------------------------------------------------

/// Each bad front setting is one line, exit 2, and no engine call (nothing is touched).
#[test]
fn front_settings_that_cannot_work() {
    let t = Test::new(Client::Docker28).file("not-a-cert.pem", "hello\n").file("empty.token", "\n");
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["start", "--front", "--tls", "bogus"],
            "",
            "tls \"bogus\" is not one mcpctl knows; use off or self-signed",
        ),
        (
            &["start", "--front", "--tls-cert", "missing.pem"],
            "",
            "HTTPS at the front needs both --tls-cert and --tls-key",
        ),
        (&["start", "--front", "--tls-cert", "missing.pem", "--tls-key", "missing.key"], "", "tls-cert"),
        (
            &["start", "--front", "--tls-cert", "not-a-cert.pem", "--tls-key", "not-a-cert.pem"],
            "",
            "holds no PEM certificate",
        ),
        (&["start", "--front", "--drain-timeout=-1"], "", "drain timeout -1 s is out of range"),
        (&["start", "--front"], "token-file = \"empty.token\"\n", "token file"),
    ];
    for (args, toml, msg) in cases {
        std::fs::write(t.project.join("mcpctl.toml"), toml).unwrap();
        let o = t.run(args);
        o.code(2);
        let line = o.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(line.contains(msg), "{args:?}: {}", o.dump());
        assert_eq!(o.stderr.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{args:?}: {}", o.dump());
        o.no_call("run").no_call("build").no_call("network-create");
    }
}

/// A token with a space in it would become two lines of the front's token file.
#[test]
fn a_token_with_spaces_is_refused() {
    let t = Test::new(Client::Docker28).file("mcpctl.toml", "token-env = \"FRONT_TOKEN\"\n");
    let o = t.run_with_env(&[("FRONT_TOKEN", "two words")], &["start", "--front"]);
    o.code(2).one_stderr_line("the bearer token holds spaces or control characters");
    o.no_call("run").no_call("build");
    assert!(!o.all().contains("two words"), "{}", o.dump());
}

#[test]
fn logs_of_a_front_that_is_not_there() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run(&["logs", "--front", "--no-follow"]);
    o.code(1)
        .one_stderr_line("no front rec-front: rec runs without one; turn it on with `mcpctl update --front`");
}

/// Stats come from the front's log: without a front, one line says so and how to get one; no
/// engine call reads any log.
#[test]
fn stats_without_a_front() {
    let t = Test::new(Client::Docker28);
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    for args in [&["stats"][..], &["stats", "--json"]] {
        let o = t.run(args);
        o.code(1).one_stderr_line(
            "no stats for rec: they come from the front's log, and it runs without a front; turn one on with `mcpctl update --front` (replicas run behind one too)",
        );
        o.no_call("logs");
    }
}

// ---- --host: which machine the engine is on -------------------------------------------------------

#[test]
fn hosts_mcpctl_cannot_use_are_refused_before_any_engine_call() {
    let t = Test::new(Client::Docker28);
    // An engine on another machine over TCP: its published ports would be out of reach.
    let o = t.run_with_env(&[("DOCKER_HOST", "tcp://10.1.2.3:2376")], &["start"]);
    o.code(2).one_stderr_line("DOCKER_HOST is tcp://10.1.2.3:2376: an engine on another machine over TCP");
    assert!(o.stderr.contains("--host ssh://user@10.1.2.3"), "{}", o.dump());
    o.no_call("run").no_call("build").no_call("ps");
    // One on this machine over TCP, or another local socket, is this machine.
    t.answer("container-inspect", &[rec_missing(Client::Docker28)]);
    let o = t.run_with_env(&[("DOCKER_HOST", "unix:///run/user/1000/docker.sock")], &["status"]);
    assert_eq!(o.code, 0, "{}", o.dump());
    assert!(o.stdout.contains("not deployed"), "{}", o.dump());
    let o = t.run(&["--host", "ssh://", "status"]);
    o.code(2).one_stderr_line("--host \"ssh://\" names no usable host");
    let o = t.run(&["--host", "ssh://-oProxyCommand=touch", "status"]);
    o.code(2).one_stderr_line("names no usable host");
    let o = t.run(&["--host", "box.example", "status"]);
    o.code(2).one_stderr_line("is not an ssh:// URL");
    let o = t.run_with_env(&[("DOCKER_CONTEXT", "prod")], &["status"]);
    o.code(2).one_stderr_line("the docker context \"prod\" is in use but its endpoint cannot be read");
}

#[test]
fn nerdctl_has_no_remote_mode() {
    let t = Test::bare().engine("nerdctl", Client::Docker28).pyproject("rec");
    t.engine.answer("--version", &[Response::ok("nerdctl version 1.7.6\n")]);
    let o = t.run(&["--engine", "nerdctl", "--host", "ssh://deploy@box", "status"]);
    o.code(2).one_stderr_line("nerdctl has no remote mode");
    assert!(o.calls.iter().all(|c| c.first().map(String::as_str) == Some("--version")), "{}", o.dump());
}

#[test]
fn an_unreachable_host_is_one_line_and_nothing_is_saved() {
    let t = Test::new(Client::Docker28);
    // Without an ssh client: say so.
    let o = t.run(&["--host", "ssh://nobody@127.0.0.1:1", "start"]);
    o.code(2).one_stderr_line("the ssh client is not installed");
    // With the real one: nothing listens on port 1 of this machine, so ssh is refused at once.
    let ssh = which::which("ssh").expect("ssh is installed here (openssh-client)");
    std::os::unix::fs::symlink(ssh, t.engine.bin.join("ssh")).unwrap();
    let o = t.run(&["--host", "ssh://nobody@127.0.0.1:1", "start"]);
    o.code(1);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "the cause, then the fix: {}", o.dump());
    assert!(
        lines[0].contains(
            "cannot reach ssh://nobody@127.0.0.1:1 over ssh: ssh: connect to host 127.0.0.1 port 1"
        ),
        "{}",
        o.dump()
    );
    assert!(lines[1].contains("check with `ssh -p 1 nobody@127.0.0.1`"), "{}", o.dump());
    o.no_call("run").no_call("build").no_call("ps");
    assert!(!t.state_file("rec").exists() && !t.home.join(".config/rec").exists(), "{}", o.dump());
}

#[test]
fn a_run_image_that_is_not_a_reference_is_refused() {
    let t = Test::new(Client::Docker28);
    let o = t.run(&["--run-image", "my image", "start"]);
    o.code(2).one_stderr_line("run image \"my image\" is not a valid image reference");
    o.no_call("run").no_call("pull").no_call("build");
}

/// A front image that is not here and cannot be pulled (no registry at hand, or none that has it):
/// one line saying which image, why, and `--front-image`; exit 1; nothing built, made or run.
#[test]
fn a_front_image_that_cannot_be_pulled_changes_nothing() {
    // The engines' own words on this kind of machine (docker 20.10, podman 4.3).
    let cases = [
        (
            Client::Docker28,
            "Error response from daemon: Get \"https://registry.example/v2/\": dial tcp: lookup registry.example on 10.255.255.53:53: no such host",
            "its registry cannot be reached",
        ),
        (
            Client::Podman,
            "Error: short-name \"some-missing:tag\" did not resolve to an alias and no unqualified-search registries are defined in \"/etc/containers/registries.conf\"",
            "its registry has no such image",
        ),
    ];
    for (client, pull_error, why) in cases {
        let t = Test::new(client);
        t.answer("image-inspect", &[Response::recorded(client, "image-inspect-missing")]);
        t.answer("pull", &[Response::fail(125, pull_error)]);
        let o = t.run(&["start", "--front", "--front-image", "some-missing:tag"]);
        o.code(1).one_stderr_line(&format!(
            "the front's image some-missing:tag is not here and cannot be pulled: {why}"
        ));
        o.stderr_has("pass --front-image IMAGE naming an image the engine has")
            .stderr_has("nothing was changed");
        assert_eq!(o.only_call("image-inspect").last().map(String::as_str), Some("some-missing:tag"));
        assert_eq!(o.only_call("pull")[1..], ["some-missing:tag".to_string()]);
        for key in ["build", "run", "create", "network-create", "network-inspect", "container-inspect", "rm"]
        {
            o.no_call(key);
        }
        assert!(!t.state_file("rec").exists(), "a state was saved: {}", o.dump());
        // An image that is there: no pull, and the start goes on past the check.
        t.answer("image-inspect@some-missing:tag", &[Response::recorded(client, "image-inspect")]);
        let o = t.run(&["start", "--front", "--front-image", "some-missing:tag"]);
        o.no_call("pull");
        assert!(!o.calls_to("container-inspect").is_empty(), "{}", o.dump());
    }
}
