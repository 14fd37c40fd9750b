//! `mcpctl init`'s detection and templates, as pure functions: what the project looks like
//! (entry point, dependencies, transport: `detect.rs`) and the text of every file it writes
//! (`render.rs`, from the template files in `templates/`). The flow (`flows/init.rs`) decides
//! what to write; nothing here touches the disk except to read.
//!
//! The files are the ones people write by hand to deploy a FastMCP server (see the README),
//! made safer: published on 127.0.0.1, DNS-rebinding protection on with the allowed hosts of the
//! published port, nginx streaming, private dependencies through a build secret.

use std::collections::BTreeMap;

use crate::config::Volume;

pub(crate) const DEFAULT_PYTHON_IMAGE: &str = "python:3.12-slim";
pub(crate) const DEFAULT_UV_IMAGE: &str = "ghcr.io/astral-sh/uv:latest";
/// The build secret private dependencies are installed with (`--secret id=pip_token,src=...`).
pub(crate) const SECRET_ID: &str = "pip_token";
/// Where the build-secret file is expected; ignored by git and by the build context.
pub(crate) const SECRET_FILE: &str = "token.txt";

/// Where the server's own code is (how it is served: `serve.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A package run as `python -m MODULE`. `dir` is its directory relative to the project
    /// (`echo_server` or `src/echo_server`); `cli_flags` when it parses `--transport/--host/--port`.
    Module { module: String, dir: String, cli_flags: bool },
    /// A one-file server.
    File { file: String },
    /// No local code: the server is one of the dependencies (a stdio package run by the bridge).
    None,
}

impl Entry {
    pub(crate) fn describe(&self) -> String {
        match self {
            Entry::Module { module, .. } => format!("the package {module} (python -m {module})"),
            Entry::File { file } => format!("the file {file}"),
            Entry::None => "none: the server comes from the dependencies".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deps {
    /// uv.lock: `uv sync --locked`.
    UvLocked,
    /// pyproject.toml without uv.lock: `uv sync`, resolved at build time.
    Uv,
    /// requirements.txt: pip in a venv.
    Requirements,
}

impl Deps {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Deps::UvLocked => "uv.lock (uv sync --locked)",
            Deps::Uv => "pyproject.toml without uv.lock (uv sync; commit a uv.lock)",
            Deps::Requirements => "requirements.txt (pip in a venv)",
        }
    }
}

/// The transport the generated files serve (the probe's enum: one list of transports).
pub(crate) use crate::config::Transport;

/// Everything the templates need, decided (detected or given) before any file is rendered.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) container: String,
    pub(crate) image: String,
    pub(crate) container_port: u16,
    pub(crate) host_port: u16,
    pub(crate) publish_address: String,
    pub(crate) volumes: Vec<Volume>,
    /// The container's environment as mcpctl runs it (`{port}` = the host port).
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) env_file: Option<String>,
    pub(crate) restart: String,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) entry: Entry,
    pub(crate) serve: Serve,
    pub(crate) deps: Deps,
    pub(crate) transport: Transport,
    pub(crate) private_deps: bool,
    /// `--registry`: the compose file's image is REGISTRY:latest.
    pub(crate) registry: Option<String>,
    /// Other local code to copy for a one-file server: top-level package directories.
    pub(crate) extra_code: Vec<String>,
    /// A virtualenv lives in the project root (pyvenv.cfg): keep bin/ lib/ include/ out.
    pub(crate) venv_in_root: bool,
    /// Debian packages installed in the runtime image (checked names), with why.
    pub(crate) apt_packages: Vec<AptPackage>,
}

mod detect;
mod render;
mod serve;

pub(crate) use detect::*;
pub(crate) use render::*;
pub use serve::*;

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
            serve: match &entry {
                Entry::Module { cli_flags: true, .. } => Serve::OwnCli,
                _ => Serve::Env,
            },
            entry,
            deps,
            transport,
            private_deps: false,
            registry: None,
            extra_code: vec![],
            venv_in_root: false,
            apt_packages: vec![],
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
        assert!(why.contains("makes an MCP server"), "{why}");
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
        // The same env-driven code as a package: streamable HTTP, the default.
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
        let t = mcpctl_toml(&p, Some("sse-server"), Some(19100), &[]);
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
        let cfg: crate::config::FileConfig = toml::from_str(&mcpctl_toml(&p, None, None, &[])).unwrap();
        assert_eq!(cfg.build_secrets.unwrap()[SECRET_ID], std::path::PathBuf::from(SECRET_FILE));
        // Packages given with --apt-package are kept for a later `init --force`.
        let t = mcpctl_toml(&p, None, None, &["git".into(), "g++".into()]);
        let cfg: crate::config::FileConfig = toml::from_str(&t).unwrap();
        assert_eq!(cfg.apt_packages.unwrap(), ["git", "g++"]);
        assert!(!mcpctl_toml(&p, None, None, &[]).contains("apt-packages"));
    }

    #[test]
    fn system_packages_are_detected_from_the_dependencies() {
        let names = |v: Vec<AptPackage>| v.into_iter().map(|p| p.name).collect::<Vec<_>>();
        // requirements.txt: mcp-server-git brings GitPython, which runs git.
        let d = tree(&[("requirements.txt", "# the server\nmcp-server-git==2026.10.19  # pinned\n")]);
        let found = detect_apt_packages(d.path(), None);
        assert_eq!(names(found.clone()), ["git"]);
        assert!(
            found[0].why == "mcp-server-git's GitPython runs the git executable, found in requirements.txt",
            "{found:?}"
        );
        // uv.lock lists transitive ones too (GitPython under another name's server).
        let lock = "version = 1\n[[package]]\nname = \"some-server\"\nversion = \"1\"\n\n\
                    [[package]]\nname = \"GitPython\"\nversion = \"3.1.45\"\n\n\
                    [[package]]\nname = \"python_magic\"\nversion = \"0.4\"\n";
        let d = tree(&[("uv.lock", lock), ("pyproject.toml", "[project]\nname = \"x\"\n")]);
        let found = detect_apt_packages(d.path(), None);
        assert_eq!(names(found.clone()), ["git", "libmagic1"]);
        assert!(found[0].why == "GitPython runs the git executable, found in uv.lock", "{found:?}");
        // pyproject's dependencies, with extras and markers; one package for two reasons.
        let d = tree(&[(
            "pyproject.toml",
            "[project]\nname = \"x\"\ndependencies = [\"pdf2image>=1.17\", \"PyTesseract ; python_version>'3'\", \"mcp[cli]\", \"gitpython\", \"mcp-server-git\"]\n",
        )]);
        assert_eq!(names(detect_apt_packages(d.path(), None)), ["git", "poppler-utils", "tesseract-ocr"]);
        // The --stdio command names the server's distribution.
        let d = tree(&[("requirements.txt", "-r base.txt\nhttpx\ngit+https://github.com/o/r.git\n")]);
        assert!(detect_apt_packages(d.path(), None).is_empty());
        for cmd in [&["python", "-m", "mcp_server_git", "--repository", "/r"][..], &["mcp-server-git"][..]] {
            let cmd: Vec<String> = cmd.iter().map(|w| w.to_string()).collect();
            let found = detect_apt_packages(d.path(), Some(&cmd));
            assert_eq!(names(found.clone()), ["git"], "{cmd:?}");
            assert!(found[0].why.ends_with("found in the --stdio command"), "{found:?}");
        }
        // Broken files are no dependencies, not an error.
        let d = tree(&[("uv.lock", "[[package"), ("pyproject.toml", "dependencies = 3")]);
        assert!(detect_apt_packages(d.path(), None).is_empty());
    }

    #[test]
    fn the_table_installs_only_valid_debian_names() {
        let d = tree(&[(
            "requirements.txt",
            "gitpython\nmcp-server-git\npython-magic\npdf2image\npytesseract\npydub\n",
        )]);
        let found = detect_apt_packages(d.path(), None);
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found.iter().all(|p| crate::config::valid_apt_package(&p.name)), "{found:?}");
    }

    #[test]
    fn system_packages_go_into_the_runtime_stage() {
        let mut p = plan(echo_module(), Deps::UvLocked, Transport::StreamableHttp);
        let plain = dockerfile(&p);
        assert!(!plain.contains("apt-get"), "{plain}");
        p.apt_packages = vec![
            AptPackage { name: "git".into(), why: "GitPython runs the git executable".into() },
            AptPackage { name: "curl".into(), why: "--apt-package\nUSER root".into() },
        ];
        let df = dockerfile(&p);
        let runtime = df.split("AS runtime\n").nth(1).unwrap();
        assert!(
            runtime.starts_with(
                "# Debian packages the server needs at run time:\n#   git: GitPython runs the git executable\n\
                 #   curl: --apt-package USER root\nRUN apt-get update && \\\n    \
                 DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git curl && \\\n    \
                 rm -rf /var/lib/apt/lists/*\nRUN groupadd"
            ),
            "{df}"
        );
        // Installed as root, before the image switches to appuser.
        assert!(df.find("apt-get install").unwrap() < df.find("USER appuser").unwrap());
        assert!(!df.split("AS runtime").next().unwrap().contains("apt-get"), "not in the build stage: {df}");
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
