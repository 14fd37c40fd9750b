//! `mcpctl init`: write the deployment files — Dockerfile, .dockerignore, docker-compose.yml,
//! example.env, an nginx location block, the .gitignore entries (and a mcpctl.toml turning
//! DNS-rebinding protection on) — for the project in the directory.
//!
//! Detection and templates are in `scaffold/`; this file decides, checks what exists and
//! writes. Nothing existing is overwritten without `--force`: a file that differs is listed and
//! the command exits 2 having written nothing. `.gitignore` is only ever appended to.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::config::{self, DEFAULT_BASE_PORT, Project, TransportSetting};
use crate::error::Explained;
use crate::scaffold::{self, Deps, Entry, EntryDetection, Plan, Serve, Transport};
use crate::ui::Ui;

/// One file init wants on disk.
struct Output {
    path: PathBuf,
    content: String,
    /// .gitignore: what is appended, for the message.
    appended: Vec<String>,
}

enum Change {
    Create,
    Unchanged,
    Differs,
}

pub(crate) fn init(s: &Project, ui: &Ui, args: &InitArgs) -> anyhow::Result<()> {
    ui.title("Init", &s.name);
    let interactive = args.interactive && std::io::stdin().is_terminal();
    if args.interactive && !interactive {
        ui.warning("--interactive ignored: stdin is not a terminal, so nothing is asked");
    }
    let plan = decide(s, ui, args, interactive)?;
    let outputs = outputs(s, &plan, &args.apt_packages)?;
    let changes = compare(s, &outputs, args.force, ui)?;
    write(s, &outputs, &changes, ui)?;
    advise(s, &plan, &args.apt_packages, ui);
    Ok(())
}

/// Entry point, dependencies, transport and how the container serves the server: detected,
/// given by flags, or (with --interactive) asked; each said in one line.
fn decide(s: &Project, ui: &Ui, args: &InitArgs, interactive: bool) -> anyhow::Result<Plan> {
    let dir = s.project_dir.as_path();
    let stdio = args.stdio.as_deref().map(scaffold::split_command).transpose().map_err(|e| {
        Explained::usage("--stdio")
            .why(e)
            .fix("give the command that runs the server over stdio, e.g. --stdio \"mcp-server-time\"")
    })?;
    let (entry, why) = choose_entry(dir, s, ui, args, interactive, stdio.is_some())?;
    ui.info(&format!("Server code: {}", entry.describe()));
    if !why.is_empty() {
        ui.info(&format!("  ({why})"));
    }
    let deps = choose_deps(dir, args)?;
    ui.info(&format!("Dependencies: {}", deps.describe()));
    warn_about_deps(dir, deps, ui);
    let code = match &entry {
        Entry::Module { dir: d, .. } => scaffold::python_code(&dir.join(d)),
        Entry::File { file } => scaffold::python_code(&dir.join(file)),
        Entry::None => String::new(),
    };
    let serve = match (stdio, &args.entry) {
        (Some(cmd), _) => Serve::Bridge(cmd),
        (None, Some(e)) if e.contains(':') => object_from_flag(dir, e)?,
        (None, _) => scaffold::detect_serve(dir, &entry, &code),
    };
    if let (Some(framework), Ok(reqs)) =
        (served_framework(&serve), std::fs::read_to_string(dir.join("requirements.txt")))
        && framework == scaffold::Framework::Mcp1
        && let Some(line) = scaffold::unpinned_mcp_for_v1(&reqs)
    {
        ui.warning(&format!(
            "requirements.txt has `{line}`, which installs mcp 2.x, where mcp.server.fastmcp is gone: pin `mcp<2` (or port the code to MCPServer)"
        ));
    }
    let transport = match &serve {
        // The bridge serves both; streamable HTTP is the current transport.
        Serve::Bridge(_) => Transport::StreamableHttp,
        _ => choose_transport(dir, s, &code, &entry, ui, interactive)?,
    };
    ui.info(&format!("Serving: {}", serve.describe(transport)));
    let bridged = match &serve {
        Serve::Bridge(cmd) => Some(cmd.as_slice()),
        _ => None,
    };
    let apt_packages = choose_apt_packages(s, args, scaffold::detect_apt_packages(dir, bridged));
    for p in &apt_packages {
        ui.info(&format!("System package: {}, installed in the image ({})", p.name, p.why));
    }
    Ok(Plan {
        name: s.name.clone(),
        container: s.container.clone(),
        image: s.image.clone(),
        container_port: s.container_port,
        host_port: s.base_port,
        publish_address: s.publish_address.to_string(),
        volumes: s.volumes.clone(),
        env: s.env.clone(),
        env_file: s.env_file.as_ref().map(|p| rel(dir, p)),
        restart: s.restart.clone(),
        build_args: s.build_args.clone(),
        extra_code: if matches!(entry, Entry::File { .. }) {
            scaffold::local_packages(dir)
        } else {
            Vec::new()
        },
        entry,
        serve,
        deps,
        transport,
        private_deps: args.private_deps,
        registry: args.registry.clone(),
        venv_in_root: dir.join("pyvenv.cfg").is_file(),
        apt_packages,
    })
}

/// The Debian packages for the runtime image: `apt-packages` from the settings, then
/// `--apt-package`, then what the dependencies need (detected); each once, with why.
fn choose_apt_packages(
    s: &Project,
    args: &InitArgs,
    detected: Vec<scaffold::AptPackage>,
) -> Vec<scaffold::AptPackage> {
    let file = s.config_file.as_deref().and_then(|f| f.file_name()).map(|f| f.to_string_lossy().into_owned());
    let from_file = s.apt_packages.iter().map(|n| scaffold::AptPackage {
        name: n.clone(),
        why: format!("apt-packages in {}", file.as_deref().unwrap_or("the settings")),
    });
    let from_flags = args
        .apt_packages
        .iter()
        .map(|n| scaffold::AptPackage { name: n.clone(), why: "--apt-package".into() });
    let mut out: Vec<scaffold::AptPackage> = Vec::new();
    for p in from_file.chain(from_flags).chain(detected) {
        if !out.iter().any(|o| o.name == p.name) {
            out.push(p);
        }
    }
    out
}

fn served_framework(serve: &Serve) -> Option<scaffold::Framework> {
    match serve {
        Serve::Launcher(o, _) => o.framework,
        _ => None,
    }
}

fn warn_about_deps(dir: &Path, deps: Deps, ui: &Ui) {
    if deps == Deps::Requirements && !dir.join("requirements.txt").is_file() {
        ui.warning("requirements.txt does not exist yet: create it before building");
    }
    if deps != Deps::Requirements && !dir.join("pyproject.toml").is_file() {
        ui.warning("pyproject.toml does not exist: uv needs it to install the dependencies");
    }
}

/// `--entry MODULE:OBJECT`: the launcher serves that object.
fn object_from_flag(dir: &Path, e: &str) -> anyhow::Result<Serve> {
    let (module, object) = e.split_once(':').unwrap_or((e, ""));
    let module = module.trim_end_matches(".py").replace('/', ".");
    if !scaffold::valid_module(&module) || !scaffold::valid_module(object) || object.contains('.') {
        return Err(Explained::usage(format!(
            "--entry {e:?} is not MODULE:OBJECT (e.g. --entry server:mcp or --entry my_pkg.app:server)"
        ))
        .into());
    }
    let file = ["", "src/"]
        .iter()
        .map(|p| dir.join(format!("{p}{}.py", module.replace('.', "/"))))
        .find(|f| f.is_file());
    let framework =
        file.and_then(|f| std::fs::read_to_string(f).ok()).and_then(|c| scaffold::framework_of(&c));
    Ok(Serve::Launcher(scaffold::ServerObject { module, object: object.to_string(), framework }, None))
}

/// What each output would do to the file there now; a file that differs stops init (exit 2,
/// nothing written) unless `--force`.
fn compare(s: &Project, outputs: &[Output], force: bool, ui: &Ui) -> anyhow::Result<Vec<Change>> {
    let dir = s.project_dir.as_path();
    let mut changes = Vec::new();
    for o in outputs {
        let change = match std::fs::read(&o.path) {
            Ok(old) if old == o.content.as_bytes() => Change::Unchanged,
            // .gitignore is appended to: never a conflict.
            Ok(_) if !o.appended.is_empty() => Change::Create,
            Ok(_) => Change::Differs,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Change::Create,
            Err(e) => {
                return Err(Explained::usage(format!("cannot read {}", o.path.display()))
                    .why(e.to_string())
                    .fix("check its permissions")
                    .into());
            }
        };
        changes.push(change);
    }
    let differ: Vec<String> = outputs
        .iter()
        .zip(&changes)
        .filter(|(_, c)| matches!(c, Change::Differs))
        .map(|(o, _)| rel(dir, &o.path))
        .collect();
    if !differ.is_empty() && !force {
        for d in &differ {
            ui.warning(&format!("would change: {d} (exists, differs)"));
        }
        let (s1, s2) = if differ.len() == 1 { ("s", "s") } else { ("", "") };
        return Err(Explained::usage(format!(
            "{} exist{s1} and differ{s2} from what mcpctl init writes",
            differ.join(", ")
        ))
        .why("nothing was written")
        .fix("compare, then run `mcpctl init --force` to overwrite (other files are left alone)")
        .into());
    }
    Ok(changes)
}

fn write(s: &Project, outputs: &[Output], changes: &[Change], ui: &Ui) -> anyhow::Result<()> {
    for (o, c) in outputs.iter().zip(changes) {
        let name = rel(&s.project_dir, &o.path);
        if matches!(c, Change::Unchanged) {
            ui.info(&format!("unchanged {name}"));
            continue;
        }
        if let Some(parent) = o.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
        }
        let existed = o.path.exists();
        std::fs::write(&o.path, &o.content).map_err(|e| anyhow::anyhow!("cannot write {name}: {e}"))?;
        if !o.appended.is_empty() && existed {
            ui.success(&format!("added {} to {name}", o.appended.join(", ")));
        } else if matches!(c, Change::Differs) {
            ui.success(&format!("overwrote {name} (--force)"));
        } else {
            ui.success(&format!("wrote {name}"));
        }
    }
    Ok(())
}

/// What to do next, and what init could not do for the user.
fn advise(s: &Project, plan: &Plan, flag_packages: &[String], ui: &Ui) {
    let dir = s.project_dir.as_path();
    let code = match &plan.entry {
        Entry::Module { dir: d, .. } => scaffold::python_code(&dir.join(d)),
        Entry::File { file } => scaffold::python_code(&dir.join(file)),
        Entry::None => String::new(),
    };
    // The launcher applies the protection itself; a server started otherwise must read the settings.
    if matches!(plan.serve, Serve::OwnCli | Serve::Env) && !scaffold::reads_rebinding_env(&code) {
        ui.warning(
            "the server does not read MCP_DNS_REBINDING_PROTECTION / MCP_ALLOWED_HOSTS: pass \
             TransportSecuritySettings(enable_dns_rebinding_protection=..., allowed_hosts=...) to \
             FastMCP from them so the protection applies",
        );
    }
    if s.config_file.is_some() && !s.env.contains_key("MCP_ALLOWED_HOSTS") {
        let from = s.config_file.as_deref().map(|p| rel(dir, p)).unwrap_or_default();
        ui.info(&format!(
            "{from} has settings already (left alone); to turn DNS-rebinding protection on under \
             mcpctl add to its env: MCP_DNS_REBINDING_PROTECTION = \"true\", \
             MCP_ALLOWED_HOSTS = \"localhost:{{port}},127.0.0.1:{{port}}\""
        ));
    }
    if let Serve::Bridge(_) = plan.serve {
        ui.info("The stdio server gets the container's environment: API keys go in with `mcpctl start -e KEY` (never into the image)");
    }
    let unrecorded: Vec<&str> =
        flag_packages.iter().filter(|p| !s.apt_packages.contains(p)).map(String::as_str).collect();
    if let (Some(f), false) = (&s.config_file, unrecorded.is_empty()) {
        ui.info(&format!(
            "--apt-package is not recorded in {} (left alone): add {} to its apt-packages so a later `mcpctl init --force` keeps {}",
            rel(dir, f),
            unrecorded.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", "),
            if unrecorded.len() == 1 { "it" } else { "them" }
        ));
    }
    if plan.private_deps {
        ui.info(&format!(
            "Private dependencies: put the token in {} and build with --secret id={},src={} \
             (docker needs BuildKit; podman build takes it as is)",
            scaffold::SECRET_FILE,
            scaffold::SECRET_ID,
            scaffold::SECRET_FILE
        ));
    }
    ui.blank();
    ui.info("Next: build, run and wait until it answers MCP:");
    ui.command_line("mcpctl start");
    ui.blank();
}

/// The files, in the order they are reported.
fn outputs(s: &Project, plan: &Plan, flag_packages: &[String]) -> anyhow::Result<Vec<Output>> {
    let dir = s.project_dir.as_path();
    let file = |path: PathBuf, content: String| Output { path, content, appended: Vec::new() };
    let mut v = vec![
        file(s.dockerfile.clone(), scaffold::dockerfile(plan)),
        file(s.context.join(".dockerignore"), scaffold::dockerignore(plan)),
        file(dir.join("docker-compose.yml"), scaffold::compose(plan)),
        file(dir.join("example.env"), scaffold::example_env(plan)),
        file(dir.join("nginx").join(format!("{}.conf", s.name)), scaffold::nginx(plan)),
    ];
    if let Some(launcher) = scaffold::launcher(plan) {
        v.push(file(dir.join(scaffold::LAUNCHER_FILE), launcher.to_string()));
    }

    // mcpctl.toml only where mcpctl has no settings yet (pyproject's [tool.mcpctl] or mcpctl.toml).
    if s.config_file.is_none() {
        let files = config::read_project(dir)?;
        let name = files.project_name.is_none().then_some(s.name.as_str());
        let base = (s.base_port != DEFAULT_BASE_PORT).then_some(s.base_port);
        v.push(file(dir.join("mcpctl.toml"), scaffold::mcpctl_toml(plan, name, base, flag_packages)));
    }

    let gi = dir.join(".gitignore");
    let existing = std::fs::read_to_string(&gi).unwrap_or_default();
    let mut wanted = vec!["VERSION", ".env"];
    if plan.private_deps {
        wanted.push(scaffold::SECRET_FILE);
    }
    let missing = scaffold::gitignore_missing(&existing, &wanted);
    v.push(Output {
        path: gi,
        content: scaffold::gitignore_with(&existing, &missing),
        appended: missing.iter().map(|m| m.to_string()).collect(),
    });
    Ok(v)
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

/// `--package` / `--entry`, else detection, else (interactive) a question, else a usage error.
fn choose_entry(
    dir: &Path,
    s: &Project,
    ui: &Ui,
    args: &InitArgs,
    interactive: bool,
    stdio: bool,
) -> anyhow::Result<(Entry, String)> {
    if let Some(m) = &args.package {
        return Ok((module_from_flag(dir, m, ui)?, "--package".into()));
    }
    if let Some(e) = args.entry.as_deref().filter(|e| e.contains(':')) {
        return Ok((code_of_object(dir, e)?, "--entry".into()));
    }
    if let Some(f) = &args.entry {
        return Ok((file_from_flag(dir, f, ui)?, "--entry".into()));
    }
    let problem = match scaffold::detect_entry(dir, &s.package) {
        EntryDetection::Found { entry, why } => return Ok((entry, why)),
        EntryDetection::NotFound if stdio => {
            return Ok((
                Entry::None,
                "no server code here: --stdio runs a command the dependencies install".into(),
            ));
        }
        EntryDetection::Ambiguous { candidates, flag } => {
            let what = if flag == "--package" { "PACKAGE" } else { "FILE" };
            Explained::usage(format!("more than one possible entry point ({})", candidates.join(", ")))
                .fix(format!("pass {flag} {what} to choose"))
        }
        EntryDetection::NotFound => Explained::usage(format!("no entry point found in {}", dir.display()))
            .why("no PACKAGE/__main__.py (python -m PACKAGE) and no top-level .py file that makes an MCP server")
            .fix("pass --package PACKAGE, --entry FILE or MODULE:OBJECT, or --stdio COMMAND for a stdio-only server"),
    };
    if !interactive {
        return Err(problem.into());
    }
    ui.warning(&problem.to_string());
    let answer = ask("Package to run with python -m, or a .py file to run")?;
    if answer.ends_with(".py") {
        Ok((file_from_flag(dir, &answer, ui)?, "answered".into()))
    } else {
        Ok((module_from_flag(dir, &answer, ui)?, "answered".into()))
    }
}

fn module_from_flag(dir: &Path, m: &str, ui: &Ui) -> anyhow::Result<Entry> {
    if !scaffold::valid_module(m) {
        return Err(Explained::usage(format!("--package {m:?} is not a Python module name"))
            .fix("use letters, digits and '_' (dots for subpackages), e.g. --package my_server")
            .into());
    }
    let entry = scaffold::module_entry(dir, m);
    if let Entry::Module { dir: d, .. } = &entry
        && !dir.join(d).join("__main__.py").is_file()
    {
        ui.warning(&format!(
            "{d}/__main__.py does not exist yet: `python -m {m}` needs it before the image runs"
        ));
    }
    Ok(entry)
}

/// The code to copy for `--entry MODULE:OBJECT`: the top module's file or package.
fn code_of_object(dir: &Path, e: &str) -> anyhow::Result<Entry> {
    let top = e.split([':', '.']).next().unwrap_or_default().trim_end_matches(".py");
    if dir.join(format!("{top}.py")).is_file() {
        return Ok(Entry::File { file: format!("{top}.py") });
    }
    match scaffold::module_dir(dir, top) {
        Some(d) => Ok(Entry::Module { module: top.to_string(), dir: d, cli_flags: false }),
        None => Err(Explained::usage(format!("--entry {e}"))
            .why(format!("there is no {top}.py, {top}/ or src/{top}/ in {}", dir.display()))
            .fix("name a module of the project")
            .into()),
    }
}

fn file_from_flag(dir: &Path, f: &str, ui: &Ui) -> anyhow::Result<Entry> {
    let p = Path::new(f);
    let inside = p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if !inside || !f.ends_with(".py") || f.contains(['"', '\\']) {
        return Err(Explained::usage(format!(
            "--entry {f:?} must be a .py file inside the project, given relative to it, e.g. --entry server.py"
        ))
        .into());
    }
    let f = f.trim_start_matches("./").to_string();
    if !dir.join(&f).is_file() {
        ui.warning(&format!("{f} does not exist yet"));
    }
    Ok(Entry::File { file: f })
}

fn choose_deps(dir: &Path, args: &InitArgs) -> anyhow::Result<Deps> {
    match args.deps.as_deref() {
        Some("uv") if dir.join("uv.lock").is_file() => Ok(Deps::UvLocked),
        Some("uv") => Ok(Deps::Uv),
        Some(_) => Ok(Deps::Requirements),
        None => scaffold::detect_deps(dir).ok_or_else(|| {
            Explained::usage(format!("no uv.lock, requirements.txt or pyproject.toml in {}", dir.display()))
                .why("mcpctl cannot tell how to install the dependencies")
                .fix("create requirements.txt (or a pyproject.toml and `uv lock`)")
                .into()
        }),
    }
}

fn choose_transport(
    dir: &Path,
    s: &Project,
    code: &str,
    entry: &Entry,
    ui: &Ui,
    interactive: bool,
) -> anyhow::Result<Transport> {
    let given = match s.transport {
        TransportSetting::Sse => Some(Transport::Sse),
        TransportSetting::StreamableHttp => Some(Transport::StreamableHttp),
        TransportSetting::Auto => None,
    };
    if let Some(t) = given {
        ui.info(&format!("Transport: {} (as set)", t.name()));
        return Ok(t);
    }
    let deploy: String = ["Dockerfile", "docker-compose.yml", "docker-compose.yaml", "example.env", ".env"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let (mut t, reason) = scaffold::detect_transport(code, &deploy, entry);
    let mut why = reason.describe(t);
    if interactive && reason == scaffold::TransportReason::Default {
        let a = ask("Transport, streamable-http or sse [streamable-http]")?;
        match a.as_str() {
            "" | "streamable-http" | "http" => why = "answered".into(),
            "sse" => {
                t = Transport::Sse;
                why = "answered".into();
            }
            other => {
                return Err(Explained::usage(format!("transport {other:?} is not one mcpctl knows"))
                    .fix("use streamable-http or sse")
                    .into());
            }
        }
    }
    ui.info(&format!("Transport: {} at {} ({why}; --transport changes it)", t.name(), t.path()));
    Ok(t)
}

/// One question on the terminal; the answer trimmed.
fn ask(question: &str) -> anyhow::Result<String> {
    eprint!("  ? {question}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line)?;
    if n == 0 {
        return Err(Explained::usage("no answer (end of input)")
            .fix("pass the value as a flag instead")
            .into());
    }
    Ok(line.trim().to_string())
}
