//! `mcpctl init`'s detection and templates, as pure functions: what the project looks like
//! (entry point, dependencies, transport) and the text of every file it writes. The flow
//! (`flows/init.rs`) decides what to write; nothing here touches the disk except to read.
//!
//! The files are the ones both seeds tell people to write by hand (the guide's Dockerfile,
//! .dockerignore and compose file; the deployment skill's example.env, nginx block and .gitignore
//! entries), made safer: published on 127.0.0.1, DNS-rebinding protection on with the allowed
//! hosts of the published port, nginx streaming, private dependencies through a build secret.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::config::Volume;

pub const DEFAULT_PYTHON_IMAGE: &str = "python:3.12-slim";
pub const DEFAULT_UV_IMAGE: &str = "ghcr.io/astral-sh/uv:latest";
/// The build secret private dependencies are installed with (`--secret id=pip_token,src=...`).
pub const SECRET_ID: &str = "pip_token";
/// Where the build-secret file is expected; ignored by git and by the build context.
pub const SECRET_FILE: &str = "token.txt";

/// How the container starts the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `python -m MODULE`. `dir` is the package directory relative to the project (`echo_server`
    /// or `src/echo_server`); `cli_flags` when the package parses `--transport/--host/--port`.
    Module { module: String, dir: String, cli_flags: bool },
    /// `python FILE`, the deployment skill's one-file server (transport/host/port from the env).
    File { file: String },
}

impl Entry {
    pub fn describe(&self) -> String {
        match self {
            Entry::Module { module, .. } => format!("python -m {module}"),
            Entry::File { file } => format!("python {file}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deps {
    /// uv.lock: `uv sync --locked`.
    UvLocked,
    /// pyproject.toml without uv.lock: `uv sync`, resolved at build time.
    Uv,
    /// requirements.txt: pip in a venv.
    Requirements,
}

impl Deps {
    pub fn describe(self) -> &'static str {
        match self {
            Deps::UvLocked => "uv.lock (uv sync --locked)",
            Deps::Uv => "pyproject.toml without uv.lock (uv sync; commit a uv.lock)",
            Deps::Requirements => "requirements.txt (pip in a venv)",
        }
    }
}

/// The transport the generated files serve (the probe's enum: one list of transports).
pub use crate::probe::Transport;

/// Everything the templates need, decided (detected or given) before any file is rendered.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub container: String,
    pub image: String,
    pub container_port: u16,
    pub host_port: u16,
    pub publish_address: String,
    pub volumes: Vec<Volume>,
    /// The container's environment as mcpctl runs it (`{port}` = the host port).
    pub env: BTreeMap<String, String>,
    pub env_file: Option<String>,
    pub restart: String,
    pub build_args: BTreeMap<String, String>,
    pub entry: Entry,
    pub deps: Deps,
    pub transport: Transport,
    pub private_deps: bool,
    /// `--registry`: the compose file's image is REGISTRY:latest.
    pub registry: Option<String>,
    /// Other local code to copy for a one-file server: top-level package directories.
    pub extra_code: Vec<String>,
    /// A virtualenv lives in the project root (pyvenv.cfg): keep bin/ lib/ include/ out.
    pub venv_in_root: bool,
}

// ---- detection ---------------------------------------------------------------------------------

/// The outcome of looking for an entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryDetection {
    Found {
        entry: Entry,
        why: String,
    },
    /// Several candidates; the user must choose with `flag`.
    Ambiguous {
        candidates: Vec<String>,
        flag: &'static str,
    },
    NotFound,
}

/// Directories never taken for the server's package.
const SKIP_DIRS: &[&str] = &["tests", "test", "scripts", "docs", "build", "dist", "node_modules"];

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `a.b.c` with Python identifiers.
pub fn valid_module(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_identifier)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Sorted names of the entries of `dir` that satisfy `keep`.
fn list(dir: &Path, keep: impl Fn(&Path, &str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.') && keep(&e.path(), &name)).then_some(name)
        })
        .collect();
    out.sort();
    out
}

/// Package directories (with `__main__.py`) at the top level and under `src/`.
fn main_packages(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (base, prefix) in [(dir.to_path_buf(), ""), (dir.join("src"), "src/")] {
        for name in
            list(&base, |p, n| p.join("__main__.py").is_file() && is_identifier(n) && !SKIP_DIRS.contains(&n))
        {
            out.push((name.clone(), format!("{prefix}{name}")));
        }
    }
    out
}

/// Top-level `.py` files that construct a FastMCP server.
fn fastmcp_files(dir: &Path) -> Vec<String> {
    list(dir, |p, n| n.ends_with(".py") && p.is_file() && read(p).contains("FastMCP("))
}

/// Whether the package's code parses all of `--transport`, `--host` and `--port`.
fn takes_cli_flags(code: &str) -> bool {
    let c = squash(code);
    ["\"--transport\"", "\"--host\"", "\"--port\""].iter().all(|f| c.contains(f))
}

/// Where the package `module` lives: `module/` or `src/module/` (dots are directories).
pub fn module_dir(dir: &Path, module: &str) -> Option<String> {
    let rel = module.replace('.', "/");
    [rel.clone(), format!("src/{rel}")].into_iter().find(|r| dir.join(r).is_dir())
}

/// `python -m PACKAGE` when a package has `__main__.py` (the project's own package first), else
/// the one top-level file that constructs `FastMCP(`.
pub fn detect_entry(dir: &Path, project_package: &str) -> EntryDetection {
    let packages = main_packages(dir);
    let module_entry = |module: &str, rel: &str| Entry::Module {
        module: module.to_string(),
        dir: rel.to_string(),
        cli_flags: takes_cli_flags(&python_code(&dir.join(rel))),
    };
    if let Some((m, rel)) = packages.iter().find(|(m, _)| m == project_package) {
        return EntryDetection::Found {
            entry: module_entry(m, rel),
            why: format!("{rel}/__main__.py, the project's package"),
        };
    }
    match packages.as_slice() {
        [(m, rel)] => {
            return EntryDetection::Found { entry: module_entry(m, rel), why: format!("{rel}/__main__.py") };
        }
        [_, _, ..] => {
            return EntryDetection::Ambiguous {
                candidates: packages.into_iter().map(|(m, _)| m).collect(),
                flag: "--package",
            };
        }
        [] => {}
    }
    let files = fastmcp_files(dir);
    match files.as_slice() {
        [f] => EntryDetection::Found {
            entry: Entry::File { file: f.clone() },
            why: format!("{f} creates FastMCP(...)"),
        },
        [] => EntryDetection::NotFound,
        _ => EntryDetection::Ambiguous { candidates: files, flag: "--entry" },
    }
}

/// An entry given as `--package`: its directory if it exists (else the dotted path).
pub fn module_entry(dir: &Path, module: &str) -> Entry {
    let rel = module_dir(dir, module).unwrap_or_else(|| module.replace('.', "/"));
    let code = python_code(&dir.join(&rel));
    Entry::Module { module: module.to_string(), cli_flags: takes_cli_flags(&code), dir: rel }
}

/// uv.lock → uv (locked); else requirements.txt → pip; else pyproject.toml → uv (unlocked).
pub fn detect_deps(dir: &Path) -> Option<Deps> {
    if dir.join("uv.lock").is_file() {
        Some(Deps::UvLocked)
    } else if dir.join("requirements.txt").is_file() {
        Some(Deps::Requirements)
    } else if dir.join("pyproject.toml").is_file() {
        Some(Deps::Uv)
    } else {
        None
    }
}

/// The Python source of a file, or of every `.py` file under a directory (a few levels deep).
pub fn python_code(path: &Path) -> String {
    fn walk(p: &Path, depth: u32, out: &mut String) {
        if p.is_file() {
            if p.extension().is_some_and(|e| e == "py") {
                out.push_str(&read(p));
                out.push('\n');
            }
            return;
        }
        if depth == 0 {
            return;
        }
        let mut entries: Vec<_> =
            std::fs::read_dir(p).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            let hidden = e.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with(['.', '_']) && n != "__main__.py" && n != "__init__.py"
            });
            if !hidden {
                walk(&e, depth - 1, out);
            }
        }
    }
    let mut out = String::new();
    walk(path, 4, &mut out);
    out
}

/// Code with whitespace removed and single quotes made double, for simple pattern checks.
fn squash(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).map(|c| if c == '\'' { '"' } else { c }).collect()
}

/// Why `detect_transport` chose what it chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportReason {
    /// The code names the transport (`transport="sse"`, `.run("sse")`, an env default).
    Code,
    /// The existing Dockerfile, compose file or env files name it.
    DeployFiles,
    /// A one-file server picking its transport from MCP_TRANSPORT, which the one-file deployment
    /// shape sets to sse.
    OneFileFromEnv,
    /// Nothing says: streamable HTTP, the default. Only this one is worth asking about.
    Default,
}

impl TransportReason {
    pub fn describe(self, t: Transport) -> String {
        match self {
            TransportReason::Code => format!("the code runs transport \"{}\"", t.name()),
            TransportReason::DeployFiles => format!("the existing deployment files use {}", t.name()),
            TransportReason::OneFileFromEnv => {
                "a one-file server choosing its transport from MCP_TRANSPORT, which its Dockerfile sets to sse"
                    .into()
            }
            TransportReason::Default => "nothing in the code says; the default, streamable HTTP at /mcp".into(),
        }
    }
}

/// The transport the server runs with, and why we think so.
///
/// `code` is the entry's Python source; `deploy_files` the text of existing deployment files
/// (Dockerfile, compose, example.env, .env) if any.
pub fn detect_transport(code: &str, deploy_files: &str, entry: &Entry) -> (Transport, TransportReason) {
    let c = squash(code);
    let d = squash(deploy_files);
    let says = |t: &str| {
        [format!("transport=\"{t}\""), format!("\"MCP_TRANSPORT\",\"{t}\""), format!(".run(\"{t}\"")]
            .iter()
            .any(|p| c.contains(p))
    };
    let deploy_says = |t: &str| {
        [
            format!("MCP_TRANSPORT={t}"),
            format!("MCP_TRANSPORT:{t}"),
            format!("MCP_TRANSPORT:\"{t}\""),
            format!("\"--transport\",\"{t}\""),
        ]
        .iter()
        .any(|p| d.contains(p))
    };
    for (name, t) in [("sse", Transport::Sse), ("streamable-http", Transport::StreamableHttp)] {
        if says(name) {
            return (t, TransportReason::Code);
        }
    }
    for (name, t) in [("sse", Transport::Sse), ("streamable-http", Transport::StreamableHttp)] {
        if deploy_says(name) {
            return (t, TransportReason::DeployFiles);
        }
    }
    if matches!(entry, Entry::File { .. }) && c.contains("MCP_TRANSPORT") {
        return (Transport::Sse, TransportReason::OneFileFromEnv);
    }
    (Transport::StreamableHttp, TransportReason::Default)
}

/// Whether the server reads the guide's DNS-rebinding settings.
pub fn reads_rebinding_env(code: &str) -> bool {
    code.contains("MCP_DNS_REBINDING_PROTECTION") && code.contains("MCP_ALLOWED_HOSTS")
}

/// Top-level package directories (with `__init__.py`) a one-file server may import.
pub fn local_packages(dir: &Path) -> Vec<String> {
    list(dir, |p, n| p.join("__init__.py").is_file() && is_identifier(n) && !SKIP_DIRS.contains(&n))
}

// ---- templates ---------------------------------------------------------------------------------

/// The build arguments the Dockerfile declares, with their defaults.
pub fn declared_build_args(p: &Plan) -> Vec<(&'static str, &'static str)> {
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
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

pub fn dockerfile(p: &Plan) -> String {
    let port = p.container_port;
    let uv = p.deps != Deps::Requirements;
    let mut f = String::new();
    let _ = writeln!(
        f,
        "# {name}: generated by `mcpctl init`. Base images are build arguments with the public\n\
         # defaults, so a build can use local or mirrored ones:\n\
         #   mcpctl start --build-arg PYTHON_IMAGE=python:3.12-slim\n\
         #   docker build --build-arg PYTHON_IMAGE=... -t {image} .\n\
         #   podman build --format docker ... (the OCI format drops HEALTHCHECK)",
        name = p.name,
        image = p.image
    );
    if p.private_deps {
        let _ = writeln!(
            f,
            "#\n\
             # Private dependencies come in through a build secret, never a build argument (a build\n\
             # argument stays in the image history). Put the token in {SECRET_FILE} (git- and\n\
             # docker-ignored) and build with:\n\
             #   DOCKER_BUILDKIT=1 docker build --secret id={SECRET_ID},src={SECRET_FILE} -t {image} .\n\
             #   podman build --format docker --secret id={SECRET_ID},src={SECRET_FILE} -t {image} .\n\
             # The token is used as a GitHub credential for git+https://github.com/... requirements.",
            image = p.image
        );
    }
    for (k, v) in declared_build_args(p) {
        let _ = writeln!(f, "ARG {k}={v}");
    }
    f.push('\n');
    if uv {
        f.push_str(
            "# The legacy docker builder cannot expand an ARG inside COPY --from, hence a named stage.\n\
             FROM ${UV_IMAGE} AS uv\n\n",
        );
    }
    f.push_str("# Build stage - install the dependencies into /app/.venv\n");
    f.push_str("FROM ${PYTHON_IMAGE} AS builder\n");
    if uv {
        f.push_str(
            "COPY --from=uv /uv /usr/local/bin/uv\n\
             ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \\\n    \
             UV_PROJECT_ENVIRONMENT=/app/.venv\n",
        );
    }
    f.push_str("WORKDIR /app\n");
    if p.private_deps {
        f.push_str(
            "# git fetches the private git+https:// dependencies (in this stage only).\n\
             RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && \\\n    \
             rm -rf /var/lib/apt/lists/*\n",
        );
    }
    let install = match p.deps {
        Deps::UvLocked => {
            f.push_str("COPY pyproject.toml uv.lock ./\n");
            f.push_str(
                "# The venv's python is the base image's python3 (/usr/local/bin on python:*-slim, /usr/bin on Debian).\n",
            );
            "uv sync --locked --no-dev --no-install-project --no-cache --python python3"
        }
        Deps::Uv => {
            f.push_str("COPY pyproject.toml ./\n");
            f.push_str(
                "# No uv.lock: dependencies are resolved at build time. Run `uv lock`, commit uv.lock and\n\
                 # run `mcpctl init --force` for reproducible builds (uv sync --locked).\n",
            );
            "uv sync --no-dev --no-install-project --no-cache --python python3"
        }
        Deps::Requirements => {
            f.push_str("COPY requirements.txt ./\n");
            f.push_str(
                "# A venv: Debian's python3 has no pip of its own (python3-venv brings one into the venv).\n",
            );
            "python3 -m venv /app/.venv && \\\n    \
             /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt"
        }
    };
    if p.private_deps {
        let _ = writeln!(
            f,
            "# The secret is mounted for this RUN only, read into this RUN's environment, and never\n\
             # written to a layer (GIT_CONFIG_* instead of a ~/.gitconfig).\n\
             RUN --mount=type=secret,id={SECRET_ID} \\\n    \
             if [ -s /run/secrets/{SECRET_ID} ]; then \\\n        \
             export GIT_CONFIG_COUNT=1 \\\n            \
             GIT_CONFIG_KEY_0=\"url.https://x-access-token:$(cat /run/secrets/{SECRET_ID})@github.com/.insteadOf\" \\\n            \
             GIT_CONFIG_VALUE_0=\"https://github.com/\"; \\\n    \
             fi && \\\n    \
             {install}"
        );
    } else {
        let _ = writeln!(f, "RUN {install}");
    }
    let paths = code_paths(p);
    for c in &paths {
        let _ = writeln!(f, "COPY {c} ./{c}");
    }
    let compile: Vec<&str> = paths.iter().map(|c| c.trim_end_matches('/')).collect();
    let _ = writeln!(f, "RUN python3 -m compileall -q {}", compile.join(" "));
    f.push('\n');

    f.push_str(
        "# Runtime stage - minimal image, non-root user\n\
         FROM ${PYTHON_IMAGE} AS runtime\n\
         RUN groupadd --gid 1000 appuser && \\\n    \
         useradd --uid 1000 --gid 1000 --create-home appuser\n\
         WORKDIR /app\n\
         COPY --from=builder /app/.venv /app/.venv\n",
    );
    for c in &paths {
        let t = c.trim_end_matches('/');
        let _ = writeln!(f, "COPY --from=builder /app/{t} /app/{t}");
    }
    if uv {
        f.push_str("COPY --from=builder /app/pyproject.toml /app/pyproject.toml\n");
    }
    f.push('\n');

    // Data directories: the volumes mcpctl (and the compose file) mount.
    let _ = writeln!(
        f,
        "# Data directories (volumes: {}). /app stays root-owned and\n\
         # read-only for appuser: a recursive chown would copy the whole venv into another layer.",
        p.volumes.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    let mut chown = vec!["/home/appuser".to_string()];
    for v in &p.volumes {
        if !v.path.starts_with("/home/appuser/") && !chown.contains(&v.path) {
            chown.push(v.path.clone());
        }
    }
    if p.volumes.is_empty() {
        f.push_str("RUN chown -R appuser:appuser /home/appuser\n");
    } else {
        let dirs: Vec<&str> = p.volumes.iter().map(|v| v.path.as_str()).collect();
        let _ = writeln!(
            f,
            "RUN mkdir -p {} && \\\n    chown -R appuser:appuser {}",
            dirs.join(" \\\n             "),
            chown.join(" ")
        );
    }
    f.push('\n');
    f.push_str("USER appuser\n");
    let pythonpath = match &p.entry {
        Entry::Module { dir, .. } if dir.starts_with("src/") => "/app/src",
        _ => "/app",
    };
    let _ = writeln!(
        f,
        "ENV PATH=\"/app/.venv/bin:$PATH\" PYTHONPATH=\"{pythonpath}\" HOME=\"/home/appuser\" PYTHONUNBUFFERED=1"
    );
    let _ = writeln!(f, "ENV LOG_LEVEL=\"INFO\" PORT=\"{port}\"");
    let env_transport = !matches!(p.entry, Entry::Module { cli_flags: true, .. });
    if env_transport {
        let _ = writeln!(
            f,
            "# Transport, host and port for the server (FastMCP's constructor must pass host/port on:\n\
             # host=os.getenv(\"FASTMCP_HOST\", ...), port=int(os.getenv(\"FASTMCP_PORT\", ...))).\n\
             ENV MCP_TRANSPORT={t} FASTMCP_HOST=0.0.0.0 FASTMCP_PORT={port}",
            t = p.transport.name()
        );
    }
    let _ = writeln!(f, "EXPOSE {port}\n");
    let _ = writeln!(
        f,
        "# Health check - the server accepts connections on {port} (mcpctl waits for an MCP answer instead)\n\
         HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \\\n    \
         CMD python -c \"import socket; s = socket.socket(); s.settimeout(5); s.connect(('127.0.0.1', {port})); s.close()\"\n"
    );
    let cmd: Vec<String> = match &p.entry {
        Entry::Module { module, cli_flags: true, .. } => {
            f.push_str("# CRITICAL: --host 0.0.0.0 to bind to all interfaces\n");
            let port_s = port.to_string();
            ["python", "-m", module, "--transport", p.transport.name()]
                .into_iter()
                .chain(["--host", "0.0.0.0", "--port", &port_s])
                .map(json_str)
                .collect()
        }
        Entry::Module { module, .. } => {
            f.push_str("# Binds 0.0.0.0 through FASTMCP_HOST above\n");
            ["python", "-m", module].into_iter().map(json_str).collect()
        }
        Entry::File { file } => {
            f.push_str("# Binds 0.0.0.0 through FASTMCP_HOST above\n");
            ["python", file].into_iter().map(json_str).collect()
        }
    };
    let _ = writeln!(f, "CMD [{}]", cmd.join(", "));
    f
}

pub fn dockerignore(p: &Plan) -> String {
    let mut f =
        String::from("# Generated by mcpctl init: keeps the build context small and secrets out of it.\n");
    if p.venv_in_root {
        f.push_str("# A virtualenv in the project root\nbin/\nlib/\nlib64/\ninclude/\npyvenv.cfg\n");
    }
    f.push_str(
        "# A bare name matches at the top only: **/ catches Python's caches in every package.\n\
         .venv/\nvenv/\n.Python\n**/__pycache__/\n**/*.py[cod]\n**/*$py.class\n**/*.egg-info/\n\
         tests/\n**/.pytest_cache/\n.coverage\nhtmlcov/\n.git/\n.gitignore\n\
         .env\n.env.*\nVERSION\n*.md\n.vscode/\n.idea/\n.claude/\n**/*.swp\n**/*.swo\n**/*~\n**/.DS_Store\n\
         docker-data/\n",
    );
    if p.private_deps {
        let _ = writeln!(f, "{SECRET_FILE}");
    }
    f
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
pub fn allowed_hosts(port: &str) -> String {
    format!("localhost:{port},127.0.0.1:{port}")
}

/// The container environment the compose file and example.env set: mcpctl's, plus the transport
/// variables for env-configured servers and DNS-rebinding protection on.
fn container_env(p: &Plan) -> BTreeMap<String, String> {
    let mut env = p.env.clone();
    if !matches!(p.entry, Entry::Module { cli_flags: true, .. }) {
        env.insert("MCP_TRANSPORT".into(), p.transport.name().into());
        env.insert("FASTMCP_HOST".into(), "0.0.0.0".into());
        env.insert("FASTMCP_PORT".into(), p.container_port.to_string());
    }
    env.entry("MCP_DNS_REBINDING_PROTECTION".into()).or_insert_with(|| "true".into());
    env.entry("MCP_ALLOWED_HOSTS".into()).or_insert_with(|| allowed_hosts("{port}"));
    env
}

pub fn compose(p: &Plan) -> String {
    let port = compose_port(p);
    let mut f = String::new();
    let _ = writeln!(
        f,
        "# Generated by mcpctl init. `mcpctl start` runs the same container without compose: use one\n\
         # or the other for {container}.\n\
         # Published on {addr} only: the server has no authentication of its own. To reach it from\n\
         # elsewhere, put it behind nginx (nginx/{name}.conf) with TLS and auth.\n\
         # MCP_PORT (default {hp}) chooses the host port; DNS-rebinding protection follows it.\n\
         version: \"3.8\"\n\
         services:\n  {name}:",
        container = p.container,
        addr = p.publish_address,
        name = p.name,
        hp = p.host_port,
    );
    f.push_str("    build:\n      context: .\n");
    let declared = declared_build_args(p);
    let mut args: Vec<(String, String)> = declared
        .iter()
        .map(|(k, d)| {
            let v = p.build_args.get(*k).map(String::as_str).unwrap_or(d);
            (k.to_string(), yaml_quoted(&format!("${{{k}:-{}}}", v.replace('$', "$$"))))
        })
        .collect();
    for (k, v) in &p.build_args {
        if !declared.iter().any(|(d, _)| d == k) {
            args.push((k.clone(), yaml_literal(v)));
        }
    }
    f.push_str("      args:\n");
    for (k, v) in &args {
        let _ = writeln!(f, "        {k}: {v}");
    }
    let image = match &p.registry {
        Some(r) => format!("{r}:latest"),
        None => p.image.clone(),
    };
    let _ = writeln!(f, "    image: {}", yaml_literal(&image));
    let _ = writeln!(f, "    container_name: {}", yaml_literal(&p.container));
    let _ = writeln!(
        f,
        "    ports:\n      - {}",
        yaml_quoted(&format!("{}:{port}:{}", p.publish_address, p.container_port))
    );
    f.push_str("    environment:\n");
    for (k, v) in container_env(p) {
        let value = if k == "LOG_LEVEL" {
            yaml_quoted(&format!("${{LOG_LEVEL:-{}}}", v.replace('$', "$$")))
        } else {
            // `{port}` is mcpctl's placeholder for the host port.
            yaml_quoted(&v.replace('$', "$$").replace("{port}", &port))
        };
        let _ = writeln!(f, "      {k}: {value}");
    }
    if let Some(e) = &p.env_file {
        let _ = writeln!(f, "    env_file:\n      - {}", yaml_literal(e));
    }
    if !p.volumes.is_empty() {
        f.push_str("    volumes:\n");
        for (key, v) in volume_keys(p) {
            let _ = writeln!(f, "      - {}", yaml_literal(&format!("{key}:{}", v.path)));
        }
    }
    let _ = writeln!(f, "    restart: {}", yaml_literal(&p.restart));
    if !p.volumes.is_empty() {
        f.push_str(
            "\n# The same named volumes mcpctl mounts, so data is shared whichever runs the server.\n\
             volumes:\n",
        );
        for (key, v) in volume_keys(p) {
            let _ = writeln!(f, "  {key}:\n    name: {}", yaml_literal(&v.name));
        }
    }
    f
}

/// Short compose keys for the volumes: the suffix after `<container>_` (`data`, `config`, `logs`).
pub fn volume_keys(p: &Plan) -> Vec<(String, &Volume)> {
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

pub fn example_env(p: &Plan) -> String {
    let hp = p.host_port.to_string();
    let mut f = format!(
        "# {name}: copy to .env (git-ignored) and fill in. docker-compose reads .env for the ${{...}}\n\
         # values in docker-compose.yml; `mcpctl start --env-file .env` passes it to the container.\n\
         # mcpctl itself sets MCP_ALLOWED_HOSTS for the port it publishes on.\n\n\
         # Host port docker-compose publishes on (127.0.0.1 only)\n\
         MCP_PORT={hp}\n\n",
        name = p.name
    );
    if !matches!(p.entry, Entry::Module { cli_flags: true, .. }) {
        let _ = writeln!(
            f,
            "# MCP transport: \"stdio\" for local dev, \"{t}\" in the container\n\
             MCP_TRANSPORT={t}\n\
             # FastMCP network settings (sse and streamable-http)\n\
             FASTMCP_HOST=0.0.0.0\n\
             FASTMCP_PORT={port}\n",
            t = p.transport.name(),
            port = p.container_port
        );
    }
    let level = p.env.get("LOG_LEVEL").map(String::as_str).unwrap_or("INFO");
    let _ = writeln!(
        f,
        "LOG_LEVEL={level}\n\n\
         # DNS-rebinding protection: only these Host headers are answered (others get HTTP 421).\n\
         # Behind nginx, keep the Host nginx forwards (localhost:PORT) in the list.\n\
         MCP_DNS_REBINDING_PROTECTION=true\n\
         MCP_ALLOWED_HOSTS={}\n",
        allowed_hosts(&hp)
    );
    f.push_str("# App-specific variables below\n");
    f
}

pub fn nginx(p: &Plan) -> String {
    let hp = p.host_port;
    let name = &p.name;
    let mut f = format!(
        "# nginx: {name} behind a reverse proxy at /{name}/ (generated by mcpctl init).\n\
         # Put this location inside your HTTPS `server {{ ... }}` block. The MCP server does not\n\
         # authenticate: check a Bearer token here (or in an auth_request) before proxy_pass.\n\
         # {hp} is the first port mcpctl tries; if it was busy, `mcpctl status` shows the one it took.\n\
         location /{name}/ {{\n\
         \x20   proxy_pass http://127.0.0.1:{hp}/;\n\
         \x20   proxy_http_version 1.1;\n\
         \x20   proxy_set_header Connection \"\";\n\
         \x20   # DNS-rebinding protection answers only the allowed hosts (MCP_ALLOWED_HOSTS).\n\
         \x20   proxy_set_header Host localhost:{hp};\n\
         \x20   proxy_set_header X-Real-IP $remote_addr;\n\
         \x20   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20   proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20   proxy_set_header X-Forwarded-Host $host;\n\
         \x20   proxy_set_header X-Forwarded-Prefix /{name};\n\
         \x20   # Streams must reach the client as they are written, and stay open.\n\
         \x20   proxy_buffering off;\n\
         \x20   proxy_cache off;\n\
         \x20   proxy_request_buffering off;\n\
         \x20   chunked_transfer_encoding on;\n\
         \x20   proxy_read_timeout 24h;\n\
         \x20   proxy_send_timeout 24h;\n\
         }}\n"
    );
    match p.transport {
        Transport::Sse => {
            let _ = write!(
                f,
                "\n# SSE: clients connect to https://HOST/{name}/sse and POST to the message endpoint the\n\
                 # server announces. It announces an absolute path (/messages/?session_id=...), so unless\n\
                 # the server knows its prefix, also forward that path (one SSE server per nginx host):\n\
                 # location /messages/ {{\n\
                 #     proxy_pass http://127.0.0.1:{hp}/messages/;\n\
                 #     proxy_http_version 1.1;\n\
                 #     proxy_set_header Connection \"\";\n\
                 #     proxy_set_header Host localhost:{hp};\n\
                 #     proxy_buffering off;\n\
                 # }}\n"
            );
        }
        Transport::StreamableHttp => {
            let _ = write!(
                f,
                "\n# Streamable HTTP: clients use https://HOST/{name}/mcp\n\
                 #   claude mcp add {name} --transport http https://HOST/{name}/mcp\n"
            );
        }
    }
    f
}

/// A new mcpctl.toml: DNS-rebinding protection on, with the allowed hosts of whatever port mcpctl
/// publishes on (`{port}`), plus what flags decided that a later `mcpctl start` must repeat.
pub fn mcpctl_toml(p: &Plan, name: Option<&str>, base_port: Option<u16>) -> String {
    let mut f = String::from("# mcpctl settings (see mcpctl's README). Written by `mcpctl init`.\n");
    if let Some(n) = name {
        let _ = writeln!(f, "name = {}", json_str(n));
    }
    if let Some(b) = base_port {
        let _ = writeln!(f, "base-port = {b}");
    }
    if p.transport == Transport::Sse {
        f.push_str("transport = \"sse\"\n");
    }
    if p.private_deps {
        let _ = writeln!(
            f,
            "\n# Passed to the build as a secret (never a build argument); keep the file out of git.\n\
             [build-secrets]\n{SECRET_ID} = {}",
            json_str(SECRET_FILE)
        );
    }
    f.push_str(
        "\n# {port} is the host port mcpctl publishes on.\n\
         [env]\n\
         MCP_DNS_REBINDING_PROTECTION = \"true\"\n\
         MCP_ALLOWED_HOSTS = \"localhost:{port},127.0.0.1:{port}\"\n",
    );
    f
}

/// The lines of `wanted` that `existing` (a .gitignore) does not already ignore.
pub fn gitignore_missing<'a>(existing: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    let have: Vec<&str> = existing.lines().map(|l| l.trim().trim_start_matches('/')).collect();
    wanted.iter().copied().filter(|w| !have.contains(w)).collect()
}

/// `existing` with the missing lines appended (nothing removed).
pub fn gitignore_with(existing: &str, missing: &[&str]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        d
    }

    fn plan(entry: Entry, deps: Deps, transport: Transport) -> Plan {
        let c = "echo-server-mcp";
        Plan {
            name: "echo-server".into(),
            container: c.into(),
            image: c.into(),
            container_port: 3001,
            host_port: 19000,
            publish_address: "127.0.0.1".into(),
            volumes: ["data", "config", "logs"]
                .iter()
                .zip([
                    "/home/appuser/.echo_server",
                    "/home/appuser/.config/echo_server",
                    "/home/appuser/.local/share/echo_server",
                ])
                .map(|(k, p)| Volume { name: format!("{c}_{k}"), path: p.into() })
                .collect(),
            env: [("PORT", "3001"), ("LOG_LEVEL", "INFO")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_file: None,
            restart: "unless-stopped".into(),
            build_args: BTreeMap::new(),
            entry,
            deps,
            transport,
            private_deps: false,
            registry: None,
            extra_code: vec![],
            venv_in_root: false,
        }
    }

    fn echo_module() -> Entry {
        Entry::Module { module: "echo_server".into(), dir: "echo_server".into(), cli_flags: true }
    }

    const CLICK: &str = "@click.option(\"--port\")\n@click.option('--host')\n@click.option(\"--transport\", default=\"stdio\")\n";

    #[test]
    fn a_package_with_main_runs_as_a_module() {
        let d = tree(&[
            ("pyproject.toml", "[project]\nname = \"echo-server\"\n"),
            ("echo_server/__init__.py", ""),
            ("echo_server/__main__.py", "from echo_server.server import main\n"),
            ("echo_server/server.py", CLICK),
            ("tests/__main__.py", ""),
            ("helper.py", "x = FastMCP(\"no\")\n"),
        ]);
        match detect_entry(d.path(), "echo_server") {
            EntryDetection::Found { entry, why } => {
                assert_eq!(entry, echo_module());
                assert!(why.contains("echo_server/__main__.py"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_package_without_cli_flags_gets_the_environment() {
        let d = tree(&[
            ("srv/__main__.py", "mcp = FastMCP('x')\nmcp.run(transport='sse')\n"),
            ("src/other/__init__.py", ""),
        ]);
        let EntryDetection::Found { entry, .. } = detect_entry(d.path(), "nope") else { panic!() };
        assert_eq!(entry, Entry::Module { module: "srv".into(), dir: "srv".into(), cli_flags: false });
        let code = python_code(&d.path().join("srv"));
        assert_eq!(detect_transport(&code, "", &entry).0, Transport::Sse);
        let df = dockerfile(&plan(entry, Deps::UvLocked, Transport::Sse));
        assert!(df.contains("ENV MCP_TRANSPORT=sse FASTMCP_HOST=0.0.0.0 FASTMCP_PORT=3001"), "{df}");
        assert!(df.ends_with("CMD [\"python\", \"-m\", \"srv\"]\n"), "{df}");
    }

    #[test]
    fn src_layout_packages_are_found() {
        let d = tree(&[("src/my_pkg/__main__.py", "")]);
        let EntryDetection::Found { entry, .. } = detect_entry(d.path(), "my_pkg") else { panic!() };
        let df = dockerfile(&plan(entry, Deps::UvLocked, Transport::StreamableHttp));
        assert!(df.contains("COPY src/my_pkg/ ./src/my_pkg/\n"), "{df}");
        assert!(df.contains("PYTHONPATH=\"/app/src\""), "{df}");
    }

    #[test]
    fn a_single_fastmcp_file_is_the_entry() {
        let d = tree(&[
            (
                "sse_server.py",
                "mcp = FastMCP(\n  'sse-server')\nmcp.run(transport=os.getenv(\"MCP_TRANSPORT\", \"stdio\"))\n",
            ),
            ("util.py", "def f(): pass\n"),
            ("requirements.txt", "mcp\n"),
        ]);
        let EntryDetection::Found { entry, why } = detect_entry(d.path(), "x") else { panic!() };
        assert_eq!(entry, Entry::File { file: "sse_server.py".into() });
        assert!(why.contains("FastMCP"), "{why}");
        assert_eq!(detect_deps(d.path()), Some(Deps::Requirements));
        let code = python_code(&d.path().join("sse_server.py"));
        let (t, why) = detect_transport(&code, "", &entry);
        assert_eq!((t, why), (Transport::Sse, TransportReason::OneFileFromEnv));
        assert!(why.describe(t).contains("MCP_TRANSPORT"));
    }

    #[test]
    fn ambiguous_entries_name_the_candidates_and_the_flag() {
        let d = tree(&[("a.py", "FastMCP(\"a\")"), ("b.py", "FastMCP(\"b\")")]);
        assert_eq!(
            detect_entry(d.path(), "x"),
            EntryDetection::Ambiguous { candidates: vec!["a.py".into(), "b.py".into()], flag: "--entry" }
        );
        let d = tree(&[("one/__main__.py", ""), ("two/__main__.py", "")]);
        assert_eq!(
            detect_entry(d.path(), "x"),
            EntryDetection::Ambiguous { candidates: vec!["one".into(), "two".into()], flag: "--package" }
        );
        // The project's own package settles it.
        assert!(matches!(
            detect_entry(d.path(), "two"),
            EntryDetection::Found { entry: Entry::Module { module, .. }, .. } if module == "two"
        ));
        let d = tree(&[("pyproject.toml", "[project]\nname = \"e\"\n")]);
        assert_eq!(detect_entry(d.path(), "e"), EntryDetection::NotFound);
    }

    #[test]
    fn uv_lock_wins_over_requirements() {
        let d = tree(&[("uv.lock", ""), ("requirements.txt", ""), ("pyproject.toml", "")]);
        assert_eq!(detect_deps(d.path()), Some(Deps::UvLocked));
        let d = tree(&[("pyproject.toml", "")]);
        assert_eq!(detect_deps(d.path()), Some(Deps::Uv));
        let d = tree(&[("x.py", "")]);
        assert_eq!(detect_deps(d.path()), None);
    }

    #[test]
    fn transport_detection() {
        let file = Entry::File { file: "s.py".into() };
        let m = echo_module();
        for code in [
            "mcp.run(transport='sse')",
            "mcp.run(transport = \"sse\")",
            "t = os.getenv('MCP_TRANSPORT', 'sse')",
            "t = os.environ.get(\"MCP_TRANSPORT\", \"sse\")",
            "mcp.run(\"sse\")",
        ] {
            assert_eq!(detect_transport(code, "", &m).0, Transport::Sse, "{code}");
        }
        assert_eq!(
            detect_transport("mcp.run(transport='streamable-http')", "", &file).0,
            Transport::StreamableHttp
        );
        assert_eq!(
            detect_transport("click.Choice(['stdio', 'sse', 'streamable-http'])", "", &m).0,
            Transport::StreamableHttp
        );
        assert_eq!(detect_transport("", "ENV MCP_TRANSPORT=sse\n", &m).0, Transport::Sse);
        assert_eq!(
            detect_transport("", "CMD [\"python\", \"-m\", \"x\", \"--transport\", \"sse\"]", &m).0,
            Transport::Sse
        );
        // The same env-driven code as a package: the guide's default.
        assert_eq!(
            detect_transport("os.getenv('MCP_TRANSPORT', 'stdio')", "", &m).0,
            Transport::StreamableHttp
        );
    }

    #[test]
    fn module_dockerfile_matches_the_improved_guide() {
        let df = dockerfile(&plan(echo_module(), Deps::UvLocked, Transport::StreamableHttp));
        for line in [
            "ARG PYTHON_IMAGE=python:3.12-slim\n",
            "ARG UV_IMAGE=ghcr.io/astral-sh/uv:latest\n",
            "FROM ${UV_IMAGE} AS uv\n",
            "FROM ${PYTHON_IMAGE} AS builder\n",
            "COPY --from=uv /uv /usr/local/bin/uv\n",
            "COPY pyproject.toml uv.lock ./\n",
            "RUN uv sync --locked --no-dev --no-install-project --no-cache --python python3\n",
            "COPY echo_server/ ./echo_server/\n",
            "FROM ${PYTHON_IMAGE} AS runtime\n",
            "useradd --uid 1000 --gid 1000 --create-home appuser\n",
            "COPY --from=builder /app/echo_server /app/echo_server\n",
            "RUN mkdir -p /home/appuser/.echo_server \\\n             /home/appuser/.config/echo_server \\\n             /home/appuser/.local/share/echo_server && \\\n    chown -R appuser:appuser /home/appuser\n",
            "USER appuser\n",
            "PYTHONPATH=\"/app\"",
            "EXPOSE 3001\n",
            "HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \\\n",
            "s.connect(('127.0.0.1', 3001))",
            "CMD [\"python\", \"-m\", \"echo_server\", \"--transport\", \"streamable-http\", \"--host\", \"0.0.0.0\", \"--port\", \"3001\"]\n",
        ] {
            assert!(df.contains(line), "missing {line:?} in\n{df}");
        }
        assert!(!df.contains("MCP_TRANSPORT"), "{df}");
        assert!(!df.contains("--mount=type=secret"), "{df}");
        assert!(!df.contains("syntax="), "{df}");
        let unlocked = dockerfile(&plan(echo_module(), Deps::Uv, Transport::StreamableHttp));
        assert!(unlocked.contains("COPY pyproject.toml ./\n"), "{unlocked}");
        assert!(unlocked.contains("RUN uv sync --no-dev --no-install-project"), "{unlocked}");
        assert!(unlocked.contains("commit uv.lock"), "{unlocked}");
        assert!(!unlocked.contains("--locked --no-dev"), "{unlocked}");
    }

    #[test]
    fn one_file_dockerfile_follows_the_deployment_skill() {
        let mut p = plan(Entry::File { file: "sse_server.py".into() }, Deps::Requirements, Transport::Sse);
        p.extra_code = vec!["tools".into()];
        let df = dockerfile(&p);
        for line in [
            "ARG PYTHON_IMAGE=python:3.12-slim\n",
            "COPY requirements.txt ./\n",
            "python3 -m venv /app/.venv",
            "pip install --no-cache-dir --disable-pip-version-check -r requirements.txt\n",
            "COPY sse_server.py ./sse_server.py\n",
            "COPY tools/ ./tools/\n",
            "COPY --from=builder /app/tools /app/tools\n",
            "ENV MCP_TRANSPORT=sse FASTMCP_HOST=0.0.0.0 FASTMCP_PORT=3001\n",
            "HEALTHCHECK --interval=30s",
            "/home/appuser/.local/share/echo_server",
            "CMD [\"python\", \"sse_server.py\"]\n",
        ] {
            assert!(df.contains(line), "missing {line:?} in\n{df}");
        }
        assert!(!df.contains("UV_IMAGE"), "{df}");
    }

    #[test]
    fn private_deps_use_a_build_secret_never_an_argument() {
        for deps in [Deps::UvLocked, Deps::Requirements] {
            let mut p = plan(echo_module(), deps, Transport::StreamableHttp);
            p.private_deps = true;
            let df = dockerfile(&p);
            assert!(df.contains("RUN --mount=type=secret,id=pip_token \\\n"), "{df}");
            assert!(df.contains("/run/secrets/pip_token"), "{df}");
            assert!(df.contains("--secret id=pip_token,src=token.txt"), "{df}");
            let args: Vec<&str> = df.lines().filter(|l| l.starts_with("ARG ")).collect();
            assert!(
                args.iter().all(|a| a.contains("_IMAGE=")),
                "only base images are build arguments: {args:?}"
            );
            assert!(!df.contains("CR_PAT") && !df.contains("ENV GIT_"), "{df}");
            assert!(dockerignore(&p).lines().any(|l| l == "token.txt"));
        }
    }

    #[test]
    fn compose_publishes_on_localhost_with_protection_and_shared_volumes() {
        let mut p = plan(echo_module(), Deps::UvLocked, Transport::StreamableHttp);
        p.build_args.insert("PYTHON_IMAGE".into(), "local:py".into());
        p.env.insert("TOKEN".into(), "a$b".into());
        let c = compose(&p);
        for line in [
            "version: \"3.8\"\n",
            "services:\n  echo-server:\n",
            "        PYTHON_IMAGE: \"${PYTHON_IMAGE:-local:py}\"\n",
            "        UV_IMAGE: \"${UV_IMAGE:-ghcr.io/astral-sh/uv:latest}\"\n",
            "    image: \"echo-server-mcp\"\n",
            "    container_name: \"echo-server-mcp\"\n",
            "      - \"127.0.0.1:${MCP_PORT:-19000}:3001\"\n",
            "      MCP_DNS_REBINDING_PROTECTION: \"true\"\n",
            "      MCP_ALLOWED_HOSTS: \"localhost:${MCP_PORT:-19000},127.0.0.1:${MCP_PORT:-19000}\"\n",
            "      LOG_LEVEL: \"${LOG_LEVEL:-INFO}\"\n",
            "      TOKEN: \"a$$b\"\n",
            "      - \"data:/home/appuser/.echo_server\"\n",
            "  data:\n    name: \"echo-server-mcp_data\"\n",
            "  logs:\n    name: \"echo-server-mcp_logs\"\n",
            "    restart: \"unless-stopped\"\n",
        ] {
            assert!(c.contains(line), "missing {line:?} in\n{c}");
        }
        p.registry = Some("ghcr.io/org/echo".into());
        assert!(compose(&p).contains("    image: \"ghcr.io/org/echo:latest\"\n"));
    }

    #[test]
    fn example_env_and_nginx() {
        let p = plan(Entry::File { file: "s.py".into() }, Deps::Requirements, Transport::Sse);
        let e = example_env(&p);
        for line in [
            "MCP_PORT=19000\n",
            "MCP_TRANSPORT=sse\n",
            "FASTMCP_HOST=0.0.0.0\n",
            "FASTMCP_PORT=3001\n",
            "MCP_DNS_REBINDING_PROTECTION=true\n",
            "MCP_ALLOWED_HOSTS=localhost:19000,127.0.0.1:19000\n",
        ] {
            assert!(e.contains(line), "missing {line:?} in\n{e}");
        }
        let n = nginx(&p);
        for line in [
            "location /echo-server/ {\n",
            "    proxy_pass http://127.0.0.1:19000/;\n",
            "    proxy_http_version 1.1;\n",
            "    proxy_set_header Connection \"\";\n",
            "    proxy_set_header Host localhost:19000;\n",
            "    proxy_buffering off;\n",
            "    proxy_cache off;\n",
            "    proxy_read_timeout 24h;\n",
            "/sse",
            "/messages/",
        ] {
            assert!(n.contains(line), "missing {line:?} in\n{n}");
        }
        // The Host nginx forwards is one the allowed hosts accept.
        assert!(allowed_hosts("19000").split(',').any(|h| h == "localhost:19000"));
    }

    #[test]
    fn mcpctl_toml_parses_as_mcpctl_config() {
        let p = plan(Entry::File { file: "s.py".into() }, Deps::Requirements, Transport::Sse);
        let t = mcpctl_toml(&p, Some("sse-server"), Some(19100));
        let cfg: crate::config::FileConfig = toml::from_str(&t).unwrap();
        assert_eq!(cfg.name.as_deref(), Some("sse-server"));
        assert_eq!(cfg.base_port, Some(19100));
        assert_eq!(cfg.transport.as_deref(), Some("sse"));
        let env = cfg.env.unwrap();
        assert_eq!(env["MCP_ALLOWED_HOSTS"].as_str(), Some("localhost:{port},127.0.0.1:{port}"));
        assert_eq!(env["MCP_DNS_REBINDING_PROTECTION"].as_str(), Some("true"));
        // Private dependencies: the secret file is wired into the build, as a secret.
        let mut p = plan(Entry::File { file: "s.py".into() }, Deps::Requirements, Transport::Sse);
        p.private_deps = true;
        let cfg: crate::config::FileConfig = toml::from_str(&mcpctl_toml(&p, None, None)).unwrap();
        assert_eq!(cfg.build_secrets.unwrap()[SECRET_ID], std::path::PathBuf::from(SECRET_FILE));
    }

    /// Python's caches and editor files in any package stay out of the context on every engine
    /// (a bare `__pycache__/` matches only at the top), so running the server locally does not
    /// change the build digest.
    #[test]
    fn dockerignore_keeps_caches_out_at_any_depth_on_every_engine() {
        use crate::dockerignore::{Patterns, Semantics};
        let text = dockerignore(&plan(echo_module(), Deps::UvLocked, Transport::StreamableHttp));
        for sem in [
            Semantics::DockerLegacy,
            Semantics::Docker20Legacy,
            Semantics::Docker20BuildKit,
            Semantics::Podman,
        ] {
            let p = Patterns::parse(&text, sem);
            for gone in [
                "echo_server/__pycache__/server.cpython-311.pyc",
                "__pycache__",
                "a/b/x.pyo",
                "pkg/.x.py.swp",
                ".env",
                "tests/t.py",
                "README.md",
            ] {
                assert!(p.excluded(gone), "{sem:?}: {gone} is sent");
            }
            for kept in ["echo_server/server.py", "pyproject.toml", "uv.lock", "echo_server/docs/x.md"] {
                assert!(!p.excluded(kept), "{sem:?}: {kept} is left out");
            }
        }
    }

    #[test]
    fn gitignore_entries_are_appended_once() {
        assert_eq!(gitignore_missing("", &["VERSION", ".env"]), ["VERSION", ".env"]);
        assert_eq!(gitignore_missing("/VERSION\n.venv\n", &["VERSION", ".env"]), [".env"]);
        assert!(gitignore_missing("VERSION\n.env\n", &["VERSION", ".env"]).is_empty());
        let out = gitignore_with("dist/\n*.pyc", &[".env"]);
        assert!(out.starts_with("dist/\n*.pyc\n"), "{out}");
        assert!(out.ends_with(".env\n"), "{out}");
    }
}
