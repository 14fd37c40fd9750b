//! `mcpctl init`: the built binary on copies of the fixtures (their Dockerfile and .dockerignore
//! deleted) and on a pyproject-only project; the overwrite rules; the generated compose file
//! through `docker-compose config`, compared with the settings mcpctl resolves; the nginx block
//! through `nginx -t` where nginx is installed; and end to end on docker AND podman: init, then
//! `mcpctl start` builds the generated Dockerfile and a real MCP client lists the tools.
//!
//! End-to-end scenarios (each on docker and on podman, registered in e2e.rs):
//! * `init_start_echo`: The echo package
//! * `init_start_sse`: The one-file SSE server
//! * `stdio_bridge`: A stdio-only server from PyPI behind the bridge
//! * `stdio_git_packages`: A stdio server from PyPI that needs a Debian package
//! * `bridge_child_exits`: A bridged stdio server that fails at once
//! * `stdio_exit_diagnosed`: The Dockerfile a bare-`run()` server had before (CMD python
//!   server.py)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mcpctl::config::{self, Overrides, TransportSetting};
use mcpctl::probe::{Client, ProbeError, Target};
use serde_json::Value;

use crate::support::{Mcpctl, Outcome, copy_dir, e2e_required as required, manifest_dir as root, which};

/// The built mcpctl in `dir`, with a throw-away HOME and no MCPCTL_* from the caller.
fn mcpctl(dir: &Path, home: &Path, args: &[&str]) -> Outcome {
    let d = dir.display().to_string();
    Mcpctl::new(home).env("NO_COLOR", "1").args(&["-C", &d]).args(args).output(Duration::from_secs(120))
}

/// A fixture copy without the deployment files init writes.
fn fixture_copy(fixture: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&root().join("fixtures").join(fixture), d.path());
    for f in ["Dockerfile", ".dockerignore"] {
        let _ = std::fs::remove_file(d.path().join(f));
    }
    // init only looks whether uv.lock exists; the real one is made by the engine set-up, and these
    // tests must not need it.
    if d.path().join("pyproject.toml").is_file() && !d.path().join("uv.lock").is_file() {
        std::fs::write(d.path().join("uv.lock"), "# stand-in for the lock engines-up makes\n").unwrap();
    }
    d
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))
}

const WRITTEN: [&str; 6] =
    ["Dockerfile", ".dockerignore", "docker-compose.yml", "example.env", "mcpctl.toml", ".gitignore"];

/// The files `mcpctl init` writes, whole, against tests/golden/CASE/ (`UPDATE_GOLDEN=1` rewrites
/// them after a deliberate change: review the diff). Dot files are kept as `dot.NAME`, so the
/// golden `.gitignore` is not one git reads.
fn golden(case: &str, fixture: &str, args: &[&str]) {
    let d = fixture_copy(fixture);
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    let o = mcpctl(d.path(), home.path(), &all);
    assert_eq!(o.code, 0, "{case}: {o:?}");
    let dir = root().join("tests/golden").join(case);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let written: Vec<&str> = o.stdout.lines().filter_map(|l| l.trim().strip_prefix("✓ wrote ")).collect();
    assert!(written.len() >= 6, "{case}: {o:?}");
    for f in &written {
        let got = read(d.path(), f);
        let want_path = dir.join(golden_name(f));
        if update {
            std::fs::create_dir_all(want_path.parent().unwrap()).unwrap();
            std::fs::write(&want_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&want_path).unwrap_or_else(|e| {
            panic!("{case}: no golden {}: {e} (UPDATE_GOLDEN=1 writes it)", want_path.display())
        });
        assert_eq!(got, want, "{case}: {f} differs from {}", want_path.display());
    }
    if !update {
        // Nothing golden that init no longer writes.
        let mut golden_files = Vec::new();
        collect_files(&dir, &dir, &mut golden_files);
        golden_files.sort();
        let mut w: Vec<String> = written.iter().map(|s| golden_name(s)).collect();
        w.sort();
        assert_eq!(golden_files, w, "{case}: golden files vs written");
    }
}

fn golden_name(written: &str) -> String {
    match written.rsplit_once('/') {
        Some((d, f)) => format!("{d}/{}", golden_name(f)),
        None => written.strip_prefix('.').map(|f| format!("dot.{f}")).unwrap_or_else(|| written.to_string()),
    }
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().display().to_string());
        }
    }
}

#[test]
fn golden_files_for_each_fixture() {
    golden("echo-server", "echo-server", &[]);
    golden("echo-server-private-deps", "echo-server", &["--private-deps", "--registry", "ghcr.io/org/echo"]);
    golden("sse-server", "sse-server", &["--name", "sse-server"]);
    golden("broken-bind", "broken-bind", &["--name", "broken-bind"]);
    golden("quickstart-fastmcp1", "quickstart-fastmcp1", &["--name", "weather"]);
    golden("standalone-fastmcp", "standalone-fastmcp", &["--name", "weather"]);
    golden("mcp2-mcpserver", "mcp2-mcpserver", &["--name", "weather"]);
    golden("stdio-time", "stdio-time", &["--name", "time", "--stdio", "mcp-server-time"]);
    // git detected from the dependencies, openssh-client asked for: both in the runtime stage.
    golden(
        "stdio-git",
        "stdio-git",
        &["--name", "git", "--stdio", "python -m mcp_server_git", "--apt-package", "openssh-client"],
    );
}

/// What init added and why; a name that is not a Debian package's is one line and nothing is written.
#[test]
fn init_says_which_system_packages_it_adds() {
    let d = fixture_copy("stdio-git");
    let home = tempfile::tempdir().unwrap();
    let o = mcpctl(d.path(), home.path(), &["init", "--stdio", "python -m mcp_server_git"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.contains(
            "System package: git, installed in the image (mcp-server-git's GitPython runs the git executable, found in requirements.txt)"
        ),
        "{o:?}"
    );
    assert!(read(d.path(), "Dockerfile").contains("apt-get install -y --no-install-recommends git &&"));
    for bad in ["git;id", "git curl", "Git", "git\nRUN id"] {
        let d = fixture_copy("stdio-git");
        let o = mcpctl(d.path(), home.path(), &["init", "--stdio", "mcp-server-git", "--apt-package", bad]);
        assert_eq!(o.code, 2, "{bad:?}: {o:?}");
        assert!(o.stderr.contains("is not a Debian package name"), "{bad:?}: {o:?}");
        assert!(!d.path().join("Dockerfile").exists(), "{bad:?}: a Dockerfile was written");
    }
    // --apt-package is recorded in the mcpctl.toml init writes: a later init keeps the package.
    let d = fixture_copy("stdio-git");
    let o = mcpctl(d.path(), home.path(), &["init", "--stdio", "mcp-server-git", "--apt-package", "curl"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(read(d.path(), "mcpctl.toml").contains("apt-packages = [\"curl\"]\n"), "{o:?}");
    std::fs::remove_file(d.path().join("Dockerfile")).unwrap();
    let o = mcpctl(d.path(), home.path(), &["init", "--stdio", "mcp-server-git"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.contains("System package: curl, installed in the image (apt-packages in mcpctl.toml)"),
        "{o:?}"
    );
    assert!(read(d.path(), "Dockerfile").contains("--no-install-recommends curl git &&"), "{o:?}");
    // Settings that exist are left alone, and init says what to add there.
    let o = mcpctl(
        d.path(),
        home.path(),
        &["init", "--force", "--stdio", "mcp-server-git", "--apt-package", "jq"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.contains(
            "--apt-package is not recorded in mcpctl.toml (left alone): add \"jq\" to its apt-packages so a later `mcpctl init --force` keeps it"
        ),
        "{o:?}"
    );
    // The same check for the setting, which init also reads.
    let d = fixture_copy("stdio-git");
    std::fs::write(d.path().join("mcpctl.toml"), "apt-packages = [\"git && curl x\"]\n").unwrap();
    let o = mcpctl(d.path(), home.path(), &["init", "--stdio", "mcp-server-git"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("apt-packages: 'git && curl x' is not a Debian package name"), "{o:?}");
    assert_eq!(o.stderr.trim().lines().count(), 1, "{o:?}");
    assert!(!d.path().join("Dockerfile").exists());
}

#[test]
fn init_writes_every_file_for_the_echo_package() {
    let d = fixture_copy("echo-server");
    let home = tempfile::tempdir().unwrap();
    let o = mcpctl(d.path(), home.path(), &["init"]);
    assert_eq!(o.code, 0, "{o:?}");
    for f in WRITTEN {
        assert!(o.stdout.contains(&format!("✓ wrote {f}\n")), "{f}: {o:?}");
    }
    assert!(o.stdout.contains("✓ wrote nginx/echo-server.conf"), "{o:?}");
    assert!(o.stdout.contains("python -m echo_server"), "{o:?}");
    assert!(o.stdout.contains("uv.lock"), "{o:?}");
    assert!(o.stdout.contains("mcpctl start"), "{o:?}");
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("ARG PYTHON_IMAGE=python:3.12-slim\n"), "{df}");
    assert!(df.contains("ARG UV_IMAGE=ghcr.io/astral-sh/uv:latest\n"), "{df}");
    assert!(df.contains("RUN uv sync --locked --no-dev --no-install-project"), "{df}");
    assert!(df.contains(
        "CMD [\"python\", \"-m\", \"echo_server\", \"--transport\", \"streamable-http\", \"--host\", \"0.0.0.0\", \"--port\", \"3001\"]"
    ));
    // The generated mcpctl.toml is read back by mcpctl as its settings: protection on, hosts follow the port.
    let files = config::read_project(d.path()).unwrap();
    let s = config::resolve(d.path(), &files, &Overrides::default()).unwrap();
    assert_eq!(s.env["MCP_DNS_REBINDING_PROTECTION"], "true");
    assert_eq!(s.env["MCP_ALLOWED_HOSTS"], "localhost:{port},127.0.0.1:{port}");
    assert_eq!(s.name, "echo-server");
    let gi = read(d.path(), ".gitignore");
    assert!(gi.lines().any(|l| l == "VERSION") && gi.lines().any(|l| l == ".env"));
    // A second run changes nothing.
    let again = mcpctl(d.path(), home.path(), &["init"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.stdout.contains("✓ wrote"), "{again:?}");
    assert!(again.stdout.contains("unchanged Dockerfile"), "{again:?}");
}

#[test]
fn init_one_file_sse_server() {
    let d = fixture_copy("sse-server");
    let home = tempfile::tempdir().unwrap();
    // No pyproject.toml and no --name: named after its directory, kept in mcpctl.toml.
    let unnamed = fixture_copy("sse-server");
    let o = mcpctl(unnamed.path(), home.path(), &["init"]);
    assert_eq!(o.code, 0, "{o:?}");
    let dir_name = mcpctl::config::normalize_name(&unnamed.path().file_name().unwrap().to_string_lossy());
    assert!(read(unnamed.path(), "mcpctl.toml").contains(&format!("name = \"{dir_name}\"")), "{o:?}");
    // With --name, that name is kept in mcpctl.toml.
    let o = mcpctl(d.path(), home.path(), &["--name", "sse-server", "init"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("Server code: the file sse_server.py"), "{o:?}");
    assert!(o.stdout.contains("Transport: sse at /sse"), "{o:?}");
    assert!(
        o.stdout.contains("launcher imports sse_server and serves its mcp 1.x FastMCP `mcp` over sse"),
        "{o:?}"
    );
    // The launcher applies DNS-rebinding protection itself.
    assert!(!o.stdout.contains("does not read MCP_DNS_REBINDING_PROTECTION"), "{o:?}");
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("-r requirements.txt"), "{df}");
    assert!(!df.contains("MCP_TRANSPORT"), "{df}");
    assert!(df.contains("CMD [\"python\", \"/mcpctl/launch.py\", \"sse_server:mcp\", \"--transport\", \"sse\", \"--port\", \"3001\"]"), "{df}");
    assert_eq!(read(d.path(), ".mcpctl/launch.py"), mcpctl::scaffold::LAUNCHER);
    assert!(read(d.path(), "nginx/sse-server.conf").contains("/messages/"));
    let files = config::read_project(d.path()).unwrap();
    let s = config::resolve(d.path(), &files, &Overrides::default()).unwrap();
    assert_eq!(s.name, "sse-server");
    assert_eq!(s.transport, TransportSetting::Sse);
}

#[test]
fn init_on_a_pyproject_only_project_needs_the_entry_point() {
    let d = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"empty-server\"\n").unwrap();
    let o = mcpctl(d.path(), home.path(), &["init"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("no entry point"), "{o:?}");
    assert!(o.stderr.contains("--package PACKAGE") && o.stderr.contains("--entry FILE"), "{o:?}");
    assert!(!d.path().join("Dockerfile").exists(), "wrote on error");

    // Given the package: generated (uv without a lock), with a warning that it does not exist yet.
    let o = mcpctl(d.path(), home.path(), &["init", "--package", "empty_server"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("empty_server/__main__.py does not exist"), "{o:?}");
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("COPY pyproject.toml ./\n"), "{df}");
    assert!(df.contains("RUN uv sync --no-dev --no-install-project"), "{df}");
    assert!(df.contains("\"-m\", \"empty_server\""), "{df}");

    let bad = mcpctl(d.path(), home.path(), &["init", "--force", "--package", "no-dash"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn init_names_ambiguous_candidates() {
    let d = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    for f in ["a.py", "b.py"] {
        std::fs::write(d.path().join(f), "mcp = FastMCP('x')\n").unwrap();
    }
    std::fs::write(d.path().join("requirements.txt"), "mcp\n").unwrap();
    let o = mcpctl(d.path(), home.path(), &["--name", "amb", "init"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("a.py, b.py") && o.stderr.contains("--entry"), "{o:?}");
    let o = mcpctl(
        d.path(),
        home.path(),
        &["--name", "amb", "init", "--entry", "b.py", "--transport", "streamable-http"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("\"/mcpctl/launch.py\", \"b:mcp\", \"--transport\", \"streamable-http\""), "{df}");
    // MODULE:OBJECT names the object itself.
    let o = mcpctl(d.path(), home.path(), &["--name", "amb", "init", "--force", "--entry", "a:mcp"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(read(d.path(), "Dockerfile").contains("\"a:mcp\""), "{o:?}");
    for bad in ["a:", "a:m.x", "nope:m", ":m"] {
        let o = mcpctl(d.path(), home.path(), &["--name", "amb", "init", "--force", "--entry", bad]);
        assert_eq!(o.code, 2, "{bad}: {o:?}");
        assert_eq!(o.stderr.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{bad}: {o:?}");
    }
}

#[test]
fn init_never_overwrites_without_force() {
    let d = fixture_copy("echo-server");
    let home = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("Dockerfile"), "FROM mine\n").unwrap();
    std::fs::write(d.path().join("example.env"), "MINE=1\n").unwrap();
    std::fs::write(d.path().join(".gitignore"), "dist/\n.env").unwrap();
    let o = mcpctl(d.path(), home.path(), &["init"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stdout.contains("would change: Dockerfile (exists, differs)"), "{o:?}");
    assert!(o.stdout.contains("would change: example.env (exists, differs)"), "{o:?}");
    assert!(o.stderr.contains("--force"), "{o:?}");
    assert_eq!(read(d.path(), "Dockerfile"), "FROM mine\n");
    assert_eq!(read(d.path(), "example.env"), "MINE=1\n");
    assert_eq!(read(d.path(), ".gitignore"), "dist/\n.env");
    assert!(!d.path().join("docker-compose.yml").exists(), "nothing is written when something differs");

    let o = mcpctl(d.path(), home.path(), &["init", "--force"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("overwrote Dockerfile (--force)"), "{o:?}");
    assert!(read(d.path(), "Dockerfile").contains("AS runtime"));
    assert!(read(d.path(), "example.env").contains("MCP_ALLOWED_HOSTS="));
    // .gitignore: appended, nothing removed, nothing doubled.
    let gi = read(d.path(), ".gitignore");
    assert!(gi.starts_with("dist/\n.env\n"), "{gi}");
    assert_eq!(gi.lines().filter(|l| *l == ".env").count(), 1, "{gi}");
    assert!(gi.lines().any(|l| l == "VERSION"), "{gi}");
    assert!(o.stdout.contains("added VERSION to .gitignore"), "{o:?}");
}

#[test]
fn init_leaves_existing_mcpctl_settings_alone() {
    let d = fixture_copy("echo-server");
    let home = tempfile::tempdir().unwrap();
    let py = read(d.path(), "pyproject.toml") + "\n[tool.mcpctl]\nbase-port = 19500\n";
    std::fs::write(d.path().join("pyproject.toml"), &py).unwrap();
    let o = mcpctl(d.path(), home.path(), &["init", "--private-deps"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!d.path().join("mcpctl.toml").exists());
    assert_eq!(read(d.path(), "pyproject.toml"), py);
    assert!(o.stdout.contains("MCP_ALLOWED_HOSTS = "), "hint: {o:?}");
    assert!(read(d.path(), "docker-compose.yml").contains("${MCP_PORT:-19500}"));
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("RUN --mount=type=secret,id=pip_token"), "{df}");
    assert!(!df.lines().any(|l| l.starts_with("ARG") && l.contains("TOKEN")), "{df}");
    assert!(read(d.path(), ".gitignore").lines().any(|l| l == "token.txt"));
    assert!(read(d.path(), ".dockerignore").lines().any(|l| l == "token.txt"));
}

/// The interpreter docker-compose runs on has PyYAML (compose needs it): YAML → JSON with it.
fn yaml_to_json(compose_bin: &Path, yaml: &str) -> Value {
    let script = std::fs::read_to_string(compose_bin).unwrap_or_default();
    let python = script
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|l| l.trim().to_string())
        .filter(|p| Path::new(p).is_file())
        .unwrap_or_else(|| "/usr/bin/python3".into());
    let mut child = Command::new(python)
        .args(["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), yaml.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `docker-compose config` accepts the file, and what it resolves is what mcpctl would run.
#[test]
fn compose_file_passes_docker_compose_config() {
    let Some(compose_bin) = which("docker-compose") else {
        let msg = "docker-compose is not installed; run scripts/engines-up.sh";
        if required() {
            panic!("MCPCTL_E2E=required: {msg}");
        }
        eprintln!("\n!!!!! SKIPPING the compose check: {msg} !!!!!\n");
        return;
    };
    for (fixture, extra) in [
        ("echo-server", vec!["--base-port", "19400"]),
        ("sse-server", vec!["--name", "sse-server", "-e", "API_KEY=a$b"]),
    ] {
        let d = fixture_copy(fixture);
        let home = tempfile::tempdir().unwrap();
        let mut args = extra.clone();
        args.push("init");
        let o = mcpctl(d.path(), home.path(), &args);
        assert_eq!(o.code, 0, "{o:?}");
        let out = Command::new(&compose_bin)
            .arg("config")
            .current_dir(d.path())
            .env_remove("MCP_PORT")
            .env_remove("LOG_LEVEL")
            .env_remove("PYTHON_IMAGE")
            .env_remove("UV_IMAGE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker-compose config on {fixture}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = yaml_to_json(&compose_bin, &String::from_utf8_lossy(&out.stdout));

        // The settings mcpctl runs with in this project (mcpctl.toml now written).
        let files = config::read_project(d.path()).unwrap();
        let ov = Overrides {
            name: (fixture == "sse-server").then(|| "sse-server".to_string()),
            base_port: (fixture == "echo-server").then_some(19400),
            env: if fixture == "sse-server" { vec![("API_KEY".into(), Some("a$b".into()))] } else { vec![] },
            ..Default::default()
        };
        let s = config::resolve(d.path(), &files, &ov).unwrap();
        let svc = &v["services"][&s.name];
        assert_eq!(svc["container_name"], s.container.as_str(), "{v}");
        assert_eq!(svc["image"], s.image.as_str(), "{v}");
        assert_eq!(svc["restart"], s.restart.as_str(), "{v}");
        let port = svc["ports"][0].as_str().unwrap_or_default().to_string();
        assert_eq!(port, format!("{}:{}:{}/tcp", s.publish_address, s.base_port, s.container_port), "{v}");
        let env = &svc["environment"];
        for (k, val) in &s.env {
            let want = val.replace("{port}", &s.base_port.to_string());
            // `config` prints a file compose can read again: literal `$` comes back as `$$`.
            let got = env[k].as_str().map(|g| g.replace("$$", "$"));
            assert_eq!(got.as_deref(), Some(want.as_str()), "{k}: {v}");
        }
        assert_eq!(env["MCP_DNS_REBINDING_PROTECTION"], "true");
        let hp = s.base_port;
        assert_eq!(env["MCP_ALLOWED_HOSTS"], format!("localhost:{hp},127.0.0.1:{hp}").as_str());
        let mounts: Vec<&str> =
            svc["volumes"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
        for vol in &s.volumes {
            let key = vol.name.strip_prefix(&format!("{}_", s.container)).unwrap();
            assert!(mounts.contains(&format!("{key}:{}:rw", vol.path).as_str()), "{mounts:?}");
            assert_eq!(v["volumes"][key]["name"], vol.name.as_str(), "{v}");
        }
        let args = &svc["build"]["args"];
        assert_eq!(args["PYTHON_IMAGE"], "python:3.12-slim");
        if fixture == "sse-server" {
            // Served by the launcher: no transport variables needed.
            assert_eq!(env["MCP_TRANSPORT"], Value::Null);
        } else {
            assert_eq!(args["UV_IMAGE"], "ghcr.io/astral-sh/uv:latest");
        }
    }
}

/// The nginx block parses inside a server block (where nginx is installed; optional).
#[test]
fn nginx_block_passes_nginx_t() {
    let nginx = which("nginx").or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()));
    let Some(nginx) = nginx else {
        assert!(
            !required(),
            "MCPCTL_E2E=required: nginx is missing (scripts/engines-up.sh installs nginx-light)"
        );
        eprintln!("\n!!!!! SKIPPING nginx_block_passes_nginx_t: nginx is not installed !!!!!\n");
        return;
    };
    for (fixture, extra) in [("echo-server", vec![]), ("sse-server", vec!["--name", "sse-server"])] {
        let d = fixture_copy(fixture);
        let home = tempfile::tempdir().unwrap();
        let mut args = extra.clone();
        args.push("init");
        assert_eq!(mcpctl(d.path(), home.path(), &args).code, 0);
        let block = d.path().join(format!("nginx/{fixture}.conf"));
        let conf = d.path().join("nginx-test.conf");
        std::fs::write(
            &conf,
            format!(
                "pid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  \
                 access_log off;\n  server {{\n    listen 127.0.0.1:1;\n    include {b};\n  }}\n}}\n",
                p = d.path().display(),
                b = block.display()
            ),
        )
        .unwrap();
        let o = Command::new(&nginx).arg("-t").arg("-p").arg(d.path()).arg("-c").arg(&conf).output().unwrap();
        assert!(o.status.success(), "nginx -t on {fixture}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

// ---- end to end: init, then mcpctl start builds and runs the generated Dockerfile --------------
// (e2e.rs's Project and engine checks; the scenarios are listed there with the others.)

use crate::e2e::Project;

/// A fixture copy for init under e2e's Project: without the files init writes.
fn init_project(fixture: &str, engine: &'static str, name: &str, base: u16) -> Project {
    let p = Project::new(fixture, engine, name, base);
    for f in ["Dockerfile", ".dockerignore"] {
        let _ = std::fs::remove_file(p.dir.path().join(f));
    }
    p
}

/// The echo package: init → start; tools listed; DNS-rebinding protection really on (a foreign
/// Host gets 421) with the published port allowed.
pub(crate) fn init_start_echo(engine: &'static str, base: u16) {
    let p = init_project("echo-server", engine, "init-echo", base);
    p.ok(&["init"]);
    p.ok(&["start"]);
    let t = Target::new(p.state_port(), "/mcp", TransportSetting::StreamableHttp);
    let mut c = Client::connect(&t, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("MCP client on {engine}: {e}"));
    assert_eq!(c.server.name, "echo-server");
    let mut tools = c.list_tools().unwrap();
    tools.sort();
    assert_eq!(tools, ["append_note", "echo"]);
    assert_eq!(c.call_tool("append_note", serde_json::json!({"text": "kept"})).unwrap(), "1");
    c.close();
    let mut foreign = t.clone();
    foreign.host = Some("evil.example:80".into());
    match Client::connect(&foreign, Duration::from_secs(10)) {
        Err(ProbeError::Status { code: 421, .. }) => {}
        Err(e) => panic!("a foreign Host should get 421, got {e}"),
        Ok(_) => panic!("a foreign Host was answered: DNS-rebinding protection is off"),
    }
    // The container runs as the non-root user of the generated Dockerfile.
    let user = p.engine_cmd(&["exec", &p.container(), "id", "-u"]);
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "1000");
}

/// The one-file SSE server: init → start over SSE; tools listed.
pub(crate) fn init_start_sse(engine: &'static str, base: u16) {
    let p = init_project("sse-server", engine, "init-sse", base);
    p.ok(&["init"]);
    let start = p.ok(&["start"]);
    assert!(start.stdout.contains("over sse"), "{start:?}");
    let mut c =
        Client::connect(&Target::new(p.state_port(), "/sse", TransportSetting::Sse), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("MCP client on {engine}: {e}"));
    let mut tools = c.list_tools().unwrap();
    tools.sort();
    assert_eq!(tools, ["add", "echo"]);
    assert_eq!(c.call_tool("add", serde_json::json!({"a": 2, "b": 3})).unwrap(), "5");
    c.close();
}

/// A client on the project's published port: initialize, then tools (sorted).
fn connect(p: &Project, engine: &str) -> (Client, Vec<String>) {
    let t = Target::new(p.state_port(), "/mcp", TransportSetting::StreamableHttp);
    let mut c = Client::connect(&t, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("MCP client on {engine}: {e}"));
    let mut tools = c.list_tools().unwrap();
    tools.sort();
    (c, tools)
}

/// A server as its framework's quickstart writes it (a bare `run()`, which is stdio), unchanged:
/// init writes a Dockerfile whose launcher serves the object over HTTP; it answers; the launcher's
/// DNS-rebinding protection answers a foreign Host with 421.
fn quickstart(fixture: &str, framework: &str, engine: &'static str, base: u16) {
    let p = init_project(fixture, engine, fixture, base);
    let server_py = std::fs::read_to_string(p.dir.path().join("server.py")).unwrap();
    let init = p.ok(&["init"]);
    assert!(
        init.stdout.contains(&format!("launcher imports server and serves its {framework} `mcp`")),
        "{init:?}"
    );
    assert!(init.stdout.contains("its own `run()` is stdio"), "{init:?}");
    p.ok(&["start"]);
    assert_eq!(
        std::fs::read_to_string(p.dir.path().join("server.py")).unwrap(),
        server_py,
        "the server file was changed"
    );
    let (mut c, tools) = connect(&p, engine);
    assert_eq!(c.server.name, "weather");
    assert_eq!(tools, ["forecast"]);
    assert!(c.call_tool("forecast", serde_json::json!({"city": "Oslo"})).unwrap().contains("Oslo"));
    c.close();
    let mut foreign = Target::new(p.state_port(), "/mcp", TransportSetting::StreamableHttp);
    foreign.host = Some("evil.example:80".into());
    match Client::connect(&foreign, Duration::from_secs(10)) {
        Err(ProbeError::Status { code: 421, .. }) => {}
        Err(e) => panic!("a foreign Host should get 421, got {e}"),
        Ok(_) => panic!("a foreign Host was answered: DNS-rebinding protection is off"),
    }
}

pub(crate) fn quickstart_mcp1(engine: &'static str, base: u16) {
    quickstart("quickstart-fastmcp1", "mcp 1.x FastMCP", engine, base);
}

pub(crate) fn quickstart_standalone_fastmcp(engine: &'static str, base: u16) {
    quickstart("standalone-fastmcp", "standalone fastmcp FastMCP", engine, base);
}

pub(crate) fn quickstart_mcp2(engine: &'static str, base: u16) {
    quickstart("mcp2-mcpserver", "mcp 2.x MCPServer", engine, base);
}

/// A stdio-only server from PyPI behind the bridge: start, list, call; update after a change to
/// its pinned version runs the other version.
pub(crate) fn stdio_bridge(engine: &'static str, base: u16) {
    let p = init_project("stdio-time", engine, "stdio-time", base);
    let init = p.ok(&["init", "--stdio", "mcp-server-time"]);
    assert!(init.stdout.contains("the stdio bridge (mcp-proxy==0.13.0) runs `mcp-server-time`"), "{init:?}");
    let start = p.ok(&["start"]);
    assert!(start.stdout.contains("over streamable-http"), "{start:?}");
    let (mut c, tools) = connect(&p, engine);
    assert!(tools.contains(&"get_current_time".to_string()), "{tools:?}");
    let now = c.call_tool("get_current_time", serde_json::json!({"timezone": "UTC"})).unwrap();
    assert!(now.contains("UTC") && now.contains("datetime"), "{now}");
    c.close();
    let installed = |p: &Project| {
        let o = p.engine_cmd(&["exec", &p.container(), "/app/.venv/bin/pip", "show", "mcp-server-time"]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("Version: ").map(str::to_string))
    };
    assert_eq!(installed(&p).as_deref(), Some("2026.10.19"));
    let reqs = p.dir.path().join("requirements.txt");
    std::fs::write(&reqs, std::fs::read_to_string(&reqs).unwrap().replace("2026.10.19", "2026.10.10"))
        .unwrap();
    let up = p.ok(&["update"]);
    assert!(
        up.stdout.contains("requirements.txt changed") && up.stdout.contains("MCP server updated"),
        "{up:?}"
    );
    assert_eq!(installed(&p).as_deref(), Some("2026.10.10"));
    let (mut c, tools) = connect(&p, engine);
    assert!(tools.contains(&"get_current_time".to_string()), "{tools:?}");
    assert!(c.call_tool("get_current_time", serde_json::json!({"timezone": "UTC"})).unwrap().contains("UTC"));
    c.close();
}

/// A stdio server from PyPI that needs a Debian package: mcp-server-git's GitPython runs git,
/// which the slim image lacks (its child used to die at once). init finds that in requirements.txt
/// and installs git in the image; the server answers, and a real git_status runs git in there.
pub(crate) fn stdio_git_packages(engine: &'static str, base: u16) {
    let p = init_project("stdio-git", engine, "sx-git", base);
    let init = p.ok(&["init", "--stdio", "python -m mcp_server_git"]);
    assert!(
        init.stdout.contains("System package: git, installed in the image (mcp-server-git's GitPython runs the git executable, found in requirements.txt)"),
        "{init:?}"
    );
    p.ok(&["start"]);
    // git is in the image, for the server's own user.
    let repo = "/home/appuser/sx-repo";
    let made = p.engine_cmd(&["exec", &p.container(), "git", "init", "-q", repo]);
    assert!(made.status.success(), "git init in the container on {engine}: {made:?}");
    let (mut c, tools) = connect(&p, engine);
    assert!(tools.contains(&"git_status".to_string()), "{tools:?}");
    let status = c.call_tool("git_status", serde_json::json!({"repo_path": repo})).unwrap();
    assert!(status.contains("No commits yet"), "{status}");
    c.close();
}

/// A bridged stdio server that fails at once: start says that the bridge's child exited, names
/// its command and shows the child's own error, seen when it happened (not at the deadline).
pub(crate) fn bridge_child_exits(engine: &'static str, base: u16) {
    let p = init_project("stdio-time", engine, "sx-child-exit", base);
    p.ok(&["init", "--stdio", "python -c \"raise RuntimeError('sx: the stdio server cannot start')\""]);
    let o = p.mcpctl(&["start"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stderr.contains(
            "the stdio server `python -c raise RuntimeError('sx: the stdio server cannot start')`, which the bridge runs as its child, exited"
        ),
        "{o:?}"
    );
    let shown =
        o.stderr.split("wrote to stderr:\n").nth(1).unwrap_or_else(|| panic!("no child's stderr: {o:?}"));
    assert!(shown.contains("    RuntimeError: sx: the stdio server cannot start\n"), "{o:?}");
    assert!(!o.stderr.contains("ran over stdio") && !o.stderr.contains("McpError"), "{o:?}");
    assert!(!o.all().contains("within 60.0 s"), "{o:?}");
}

/// The Dockerfile a bare-`run()` server had before (CMD python server.py): the container ends
/// cleanly at once, and start says that it ran over stdio and how to fix it.
pub(crate) fn stdio_exit_diagnosed(engine: &'static str, base: u16) {
    let p = init_project("quickstart-fastmcp1", engine, "stdio-exit", base);
    std::fs::write(
        p.dir.path().join("Dockerfile"),
        "ARG PYTHON_IMAGE=python:3.12-slim\nFROM ${PYTHON_IMAGE}\nWORKDIR /app\nCOPY requirements.txt ./\n\
         RUN python3 -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir -r requirements.txt\n\
         COPY server.py ./\nENV PATH=\"/app/.venv/bin:$PATH\" MCP_TRANSPORT=streamable-http FASTMCP_HOST=0.0.0.0 FASTMCP_PORT=3001\n\
         CMD [\"python\", \"server.py\"]\n",
    )
    .unwrap();
    let o = p.mcpctl(&["start"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("most likely ran over stdio"), "{o:?}");
    assert!(o.stderr.contains("mcpctl init --force"), "{o:?}");
    // Seen by the watcher as it happened, not when the 90 s deadline ran out.
    assert!(!o.all().contains("within 90.0 s"), "{o:?}");
}

/// `--interactive` on a real terminal (tmux): the ambiguous entry point is asked for, and the
/// answer is used. Without a terminal nothing is asked (see init_names_ambiguous_candidates).
#[test]
fn init_interactive_asks_on_a_terminal() {
    let Some(tmux) = which("tmux") else {
        assert!(!required(), "MCPCTL_E2E=required: tmux is missing (scripts/engines-up.sh installs it)");
        eprintln!("\n!!!!! SKIPPING init_interactive_asks_on_a_terminal: tmux is not installed !!!!!\n");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = "from mcp.server.fastmcp import FastMCP\nm = FastMCP(\"a\")\n";
    std::fs::write(d.path().join("a.py"), server).unwrap();
    std::fs::write(d.path().join("b.py"), server).unwrap();
    std::fs::write(d.path().join("requirements.txt"), "mcp>=1.20,<2\n").unwrap();
    let session = format!("mcpctl-init-{}", std::process::id());
    let script = format!(
        "cd '{}' && HOME='{}' '{}' --name amb init --interactive; echo $? > exit-code; sleep 30",
        d.path().display(),
        home.path().display(),
        env!("CARGO_BIN_EXE_mcpctl")
    );
    let tm = |args: &[&str]| Command::new(&tmux).args(args).output().unwrap();
    assert!(tm(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "50", &script]).status.success());
    let screen = || String::from_utf8_lossy(&tm(&["capture-pane", "-p", "-t", &session]).stdout).into_owned();
    let t0 = Instant::now();
    while !screen().contains("Package to run with python -m, or a .py file to run") {
        if t0.elapsed() > Duration::from_secs(15) {
            tm(&["kill-session", "-t", &session]);
            panic!("no question on the terminal:\n{}", screen());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tm(&["send-keys", "-t", &session, "b.py", "Enter"]);
    // Nothing in the code names a transport: that is asked too.
    while !screen().contains("Transport, streamable-http or sse") {
        if t0.elapsed() > Duration::from_secs(15) {
            tm(&["kill-session", "-t", &session]);
            panic!("no transport question on the terminal:\n{}", screen());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tm(&["send-keys", "-t", &session, "sse", "Enter"]);
    let exit = d.path().join("exit-code");
    while !exit.exists() {
        if t0.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let shown = screen();
    tm(&["kill-session", "-t", &session]);
    assert_eq!(std::fs::read_to_string(&exit).unwrap_or_default().trim(), "0", "{shown}");
    let df = read(d.path(), "Dockerfile");
    assert!(df.contains("COPY b.py ./b.py") && df.contains("\"b:m\""), "the answer was not used: {df}");
    assert!(shown.contains("Transport: sse at /sse (answered"), "{shown}");
    assert!(read(d.path(), "mcpctl.toml").contains("transport = \"sse\""), "{shown}");
}
