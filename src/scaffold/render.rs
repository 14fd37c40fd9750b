//! The files `init` writes, rendered from the template files in `templates/` (compiled in): a
//! `Plan` becomes one flat context of plain values, so each template reads top to bottom like the
//! file it makes. The whole output of each is compared with golden files (tests/golden).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use super::{
    BRIDGE_BIN, BRIDGE_PACKAGE, DEFAULT_PYTHON_IMAGE, DEFAULT_UV_IMAGE, Deps, Entry, LAUNCHER, LAUNCHER_FILE,
    Plan, SECRET_FILE, SECRET_ID, Serve,
};
use crate::config::Volume;

const TEMPLATES: &[(&str, &str)] = &[
    ("Dockerfile", include_str!("templates/Dockerfile.j2")),
    ("dockerignore", include_str!("templates/dockerignore.j2")),
    ("docker-compose.yml", include_str!("templates/docker-compose.yml.j2")),
    ("example.env", include_str!("templates/example.env.j2")),
    ("nginx.conf", include_str!("templates/nginx.conf.j2")),
    ("mcpctl.toml", include_str!("templates/mcpctl.toml.j2")),
];

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = crate::template::environment();
        env.add_filter("yaml_literal", |s: String| yaml_literal(&s));
        env.add_filter("quoted", |s: String| serde_json::Value::from(s).to_string());
        for (name, text) in TEMPLATES {
            env.add_template(name, text).expect("the compiled-in templates parse");
        }
        env
    })
}

fn render(name: &str, ctx: impl Serialize) -> String {
    crate::template::render(templates(), name, ctx)
}

/// One `ARG NAME=DEFAULT` line of the Dockerfile, or one `NAME: VALUE` of the compose file.
#[derive(Serialize)]
struct Pair {
    name: String,
    value: String,
}

/// What every template may use.
#[derive(Serialize, Clone)]
struct Common<'a> {
    name: &'a str,
    image: &'a str,
    container: &'a str,
    port: u16,
    host_port: u16,
    transport: &'static str,
    private_deps: bool,
    secret_id: &'static str,
    secret_file: &'static str,
    /// The server takes transport, host and port from MCP_TRANSPORT / FASTMCP_* (not flags).
    env_transport: bool,
}

fn common(p: &Plan) -> Common<'_> {
    Common {
        name: &p.name,
        image: &p.image,
        container: &p.container,
        port: p.container_port,
        host_port: p.host_port,
        transport: p.transport.name(),
        private_deps: p.private_deps,
        secret_id: SECRET_ID,
        secret_file: SECRET_FILE,
        env_transport: p.serve == Serve::Env,
    }
}

/// The build arguments the Dockerfile declares, with their defaults.
pub(crate) fn declared_build_args(p: &Plan) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("PYTHON_IMAGE", DEFAULT_PYTHON_IMAGE)];
    if p.deps != Deps::Requirements {
        v.push(("UV_IMAGE", DEFAULT_UV_IMAGE));
    }
    v
}

/// The code paths copied into the image (directories end with `/`).
fn code_paths(p: &Plan) -> Vec<String> {
    match &p.entry {
        Entry::Module { dir, .. } => vec![format!("{dir}/")],
        Entry::File { file } => {
            let mut v = vec![file.clone()];
            v.extend(p.extra_code.iter().map(|d| format!("{d}/")));
            v
        }
        Entry::None => Vec::new(),
    }
}

/// The CMD, as JSON strings, and the comment above it.
fn command(p: &Plan) -> (Vec<String>, &'static str) {
    let quoted = |words: &[&str]| words.iter().map(|w| serde_json::Value::from(*w).to_string()).collect();
    let port = p.container_port.to_string();
    let t = p.transport.name();
    match (&p.serve, &p.entry) {
        (Serve::OwnCli, Entry::Module { module, .. }) => (
            quoted(&["python", "-m", module, "--transport", t, "--host", "0.0.0.0", "--port", &port]),
            "CRITICAL: --host 0.0.0.0 to bind to all interfaces",
        ),
        (Serve::Launcher(o, _), _) => (
            quoted(&[
                "python",
                "/mcpctl/launch.py",
                &format!("{}:{}", o.module, o.object),
                "--transport",
                t,
                "--port",
                &port,
            ]),
            "The launcher imports the server and serves it on 0.0.0.0 (its __main__ is not run)",
        ),
        (Serve::Bridge(cmd), _) => {
            let mut words =
                vec![BRIDGE_BIN, "--host", "0.0.0.0", "--port", &port, "--pass-environment", "--"];
            words.extend(cmd.iter().map(String::as_str));
            (
                quoted(&words),
                "The bridge runs the stdio server as its child: streamable HTTP at /mcp, SSE at /sse",
            )
        }
        (_, Entry::Module { module, .. }) => {
            (quoted(&["python", "-m", module]), "Binds 0.0.0.0 through FASTMCP_HOST above")
        }
        (_, Entry::File { file }) => (quoted(&["python", file]), "Binds 0.0.0.0 through FASTMCP_HOST above"),
        (_, Entry::None) => (quoted(&["python"]), "Nothing to run: give init --stdio COMMAND"),
    }
}

#[derive(Serialize)]
struct DockerfileContext<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    build_args: Vec<Pair>,
    uv: bool,
    deps: &'static str,
    code_paths: Vec<String>,
    compile: Vec<String>,
    volume_names: Vec<&'a str>,
    volume_paths: Vec<&'a str>,
    chown: Vec<String>,
    pythonpath: &'static str,
    cmd: Vec<String>,
    cmd_comment: &'static str,
    launcher: Option<&'static str>,
    bridge: Option<&'static str>,
    apt_packages: Vec<&'a str>,
    /// `NAME: why`, one per package, for the comment above the install.
    apt_reasons: Vec<String>,
}

pub(crate) fn dockerfile(p: &Plan) -> String {
    let code_paths = code_paths(p);
    let compile = code_paths.iter().map(|c| c.trim_end_matches('/').to_string()).collect();
    // Volume paths outside the home directory need their own chown.
    let mut chown = vec!["/home/appuser".to_string()];
    for v in &p.volumes {
        if !v.path.starts_with("/home/appuser/") && !chown.contains(&v.path) {
            chown.push(v.path.clone());
        }
    }
    let pythonpath = match &p.entry {
        Entry::Module { dir, .. } if dir.starts_with("src/") => "/app/src",
        _ => "/app",
    };
    let (cmd, cmd_comment) = command(p);
    render(
        "Dockerfile",
        DockerfileContext {
            common: common(p),
            build_args: declared_build_args(p)
                .into_iter()
                .map(|(k, v)| Pair { name: k.into(), value: v.into() })
                .collect(),
            uv: p.deps != Deps::Requirements,
            deps: match p.deps {
                Deps::UvLocked => "uv-locked",
                Deps::Uv => "uv",
                Deps::Requirements => "requirements",
            },
            code_paths,
            compile,
            volume_names: p.volumes.iter().map(|v| v.name.as_str()).collect(),
            volume_paths: p.volumes.iter().map(|v| v.path.as_str()).collect(),
            chown,
            pythonpath,
            cmd,
            cmd_comment,
            launcher: matches!(p.serve, Serve::Launcher(..)).then_some(LAUNCHER_FILE),
            bridge: matches!(p.serve, Serve::Bridge(_)).then_some(BRIDGE_PACKAGE),
            apt_packages: p.apt_packages.iter().map(|a| a.name.as_str()).collect(),
            // One comment line each, whatever a reason holds.
            apt_reasons: p
                .apt_packages
                .iter()
                .map(|a| format!("{}: {}", a.name, a.why).replace(['\n', '\r'], " "))
                .collect(),
        },
    )
}

/// The launcher `init` writes beside the Dockerfile (`.mcpctl/launch.py`), when it serves the server.
pub(crate) fn launcher(p: &Plan) -> Option<&'static str> {
    matches!(p.serve, Serve::Launcher(..)).then_some(LAUNCHER)
}

pub(crate) fn dockerignore(p: &Plan) -> String {
    #[derive(Serialize)]
    struct Ctx {
        venv_in_root: bool,
        private_deps: bool,
        secret_file: &'static str,
    }
    render(
        "dockerignore",
        Ctx { venv_in_root: p.venv_in_root, private_deps: p.private_deps, secret_file: SECRET_FILE },
    )
}

/// A YAML double-quoted scalar that compose does not interpolate (`$` doubled).
fn yaml_literal(s: &str) -> String {
    yaml_quoted(&s.replace('$', "$$"))
}

/// A YAML double-quoted scalar, `${...}` left for compose to interpolate.
fn yaml_quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `${MCP_PORT:-HOSTPORT}`: the host port compose publishes on.
fn compose_port(p: &Plan) -> String {
    format!("${{MCP_PORT:-{}}}", p.host_port)
}

/// The allowed Host headers for the published port (`port` may be a compose variable).
pub(crate) fn allowed_hosts(port: &str) -> String {
    format!("localhost:{port},127.0.0.1:{port}")
}

/// The container environment the compose file and example.env set: mcpctl's, plus the transport
/// variables for env-configured servers and DNS-rebinding protection on.
fn container_env(p: &Plan) -> BTreeMap<String, String> {
    let mut env = p.env.clone();
    if common(p).env_transport {
        env.insert("MCP_TRANSPORT".into(), p.transport.name().into());
        env.insert("FASTMCP_HOST".into(), "0.0.0.0".into());
        env.insert("FASTMCP_PORT".into(), p.container_port.to_string());
    }
    env.entry("MCP_DNS_REBINDING_PROTECTION".into()).or_insert_with(|| "true".into());
    env.entry("MCP_ALLOWED_HOSTS".into()).or_insert_with(|| allowed_hosts("{port}"));
    env
}

pub(crate) fn compose(p: &Plan) -> String {
    let port = compose_port(p);
    let declared = declared_build_args(p);
    let mut args: Vec<Pair> = declared
        .iter()
        .map(|(k, d)| {
            let v = p.build_args.get(*k).map(String::as_str).unwrap_or(d);
            Pair { name: k.to_string(), value: yaml_quoted(&format!("${{{k}:-{}}}", v.replace('$', "$$"))) }
        })
        .collect();
    for (k, v) in p.build_args.iter().filter(|(k, _)| !declared.iter().any(|(d, _)| d == k)) {
        args.push(Pair { name: k.clone(), value: yaml_literal(v) });
    }
    let env: Vec<Pair> = container_env(p)
        .into_iter()
        .map(|(k, v)| {
            let value = if k == "LOG_LEVEL" {
                yaml_quoted(&format!("${{LOG_LEVEL:-{}}}", v.replace('$', "$$")))
            } else {
                // `{port}` is mcpctl's placeholder for the host port.
                yaml_quoted(&v.replace('$', "$$").replace("{port}", &port))
            };
            Pair { name: k, value }
        })
        .collect();
    let image = match &p.registry {
        Some(r) => format!("{r}:latest"),
        None => p.image.clone(),
    };
    #[derive(Serialize)]
    struct ComposeVolume<'a> {
        key: String,
        path: &'a str,
        name: &'a str,
    }
    #[derive(Serialize)]
    struct Ctx<'a> {
        #[serde(flatten)]
        common: Common<'a>,
        publish_address: &'a str,
        compose_args: Vec<Pair>,
        compose_image: String,
        compose_ports: String,
        compose_env: Vec<Pair>,
        env_file: Option<&'a str>,
        volumes: Vec<ComposeVolume<'a>>,
        restart: &'a str,
    }
    let volumes = volume_keys(p)
        .into_iter()
        .map(|(key, v)| ComposeVolume { key, path: &v.path, name: &v.name })
        .collect();
    render(
        "docker-compose.yml",
        Ctx {
            common: common(p),
            publish_address: &p.publish_address,
            compose_args: args,
            compose_image: yaml_literal(&image),
            compose_ports: yaml_quoted(&format!("{}:{port}:{}", p.publish_address, p.container_port)),
            compose_env: env,
            env_file: p.env_file.as_deref(),
            volumes,
            restart: &p.restart,
        },
    )
}

/// Short compose keys for the volumes: the suffix after `<container>_` (`data`, `config`, `logs`).
pub(crate) fn volume_keys(p: &Plan) -> Vec<(String, &Volume)> {
    let prefix = format!("{}_", p.container);
    p.volumes
        .iter()
        .map(|v| {
            let key = v.name.strip_prefix(&prefix).unwrap_or(&v.name);
            let key: String = key
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
                .collect();
            (key, v)
        })
        .collect()
}

pub(crate) fn example_env(p: &Plan) -> String {
    #[derive(Serialize)]
    struct Ctx<'a> {
        #[serde(flatten)]
        common: Common<'a>,
        log_level: &'a str,
        allowed_hosts: String,
    }
    render(
        "example.env",
        Ctx {
            common: common(p),
            log_level: p.env.get("LOG_LEVEL").map(String::as_str).unwrap_or("INFO"),
            allowed_hosts: allowed_hosts(&p.host_port.to_string()),
        },
    )
}

pub(crate) fn nginx(p: &Plan) -> String {
    render("nginx.conf", common(p))
}

/// A new mcpctl.toml: DNS-rebinding protection on, with the allowed hosts of whatever port mcpctl
/// publishes on (`{port}`), plus what flags decided that a later `mcpctl start` must repeat.
/// `apt_packages`: the ones `--apt-package` gave (detected ones are detected again).
pub(crate) fn mcpctl_toml(
    p: &Plan,
    name: Option<&str>,
    base_port: Option<u16>,
    apt_packages: &[String],
) -> String {
    #[derive(Serialize)]
    struct Ctx<'a> {
        #[serde(flatten)]
        common: Common<'a>,
        toml_name: Option<&'a str>,
        toml_base_port: Option<u16>,
        toml_apt_packages: &'a [String],
    }
    render(
        "mcpctl.toml",
        Ctx {
            common: common(p),
            toml_name: name,
            toml_base_port: base_port,
            toml_apt_packages: apt_packages,
        },
    )
}

/// The lines of `wanted` that `existing` (a .gitignore) does not already ignore.
pub(crate) fn gitignore_missing<'a>(existing: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    let have: Vec<&str> = existing.lines().map(|l| l.trim().trim_start_matches('/')).collect();
    wanted.iter().copied().filter(|w| !have.contains(w)).collect()
}

/// `existing` with the missing lines appended (nothing removed).
pub(crate) fn gitignore_with(existing: &str, missing: &[&str]) -> String {
    let mut out = existing.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !missing.is_empty() {
        out.push_str("# mcpctl init: the published version and local secrets\n");
    }
    for m in missing {
        out.push_str(m);
        out.push('\n');
    }
    out
}
