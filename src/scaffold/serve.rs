//! How the container serves the server over HTTP whatever its own `__main__` does: its own CLI
//! when it takes `--transport/--host/--port`; else the launcher (templates/launch.py), which
//! imports the module and serves its FastMCP / MCPServer object on 0.0.0.0; else, for a server
//! that speaks only stdio, a bridge that runs it as a child and serves it over HTTP. Read from
//! the source, statically: nothing of the project is run.

use std::path::Path;

use super::{Entry, Transport};

/// The stdio-to-HTTP bridge installed in the image, in a venv of its own (it needs mcp 1.x, while
/// the servers it runs may need mcp 2.x). Pure Python, so the image needs no Node.js.
pub(crate) const BRIDGE_PACKAGE: &str = "mcp-proxy==0.13.0";
/// The bridge's executable in the image. It passes its own stderr to its child, so what the child
/// prints (a traceback, a missing program) is in the container's log.
pub(crate) const BRIDGE_BIN: &str = "/opt/mcpctl-bridge/bin/mcp-proxy";
/// Where the launcher goes in the project (and in the image, under /mcpctl).
pub(crate) const LAUNCHER_FILE: &str = ".mcpctl/launch.py";
pub const LAUNCHER: &str = include_str!("templates/launch.py");

/// The MCP framework a file imports its server class from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framework {
    /// mcp 1.x: `from mcp.server.fastmcp import FastMCP` (gone in 2.x).
    Mcp1,
    /// mcp 2.x: `from mcp.server import MCPServer`.
    Mcp2,
    /// The standalone `fastmcp` package: `from fastmcp import FastMCP`.
    FastMcp,
}

impl Framework {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Framework::Mcp1 => "mcp 1.x FastMCP",
            Framework::Mcp2 => "mcp 2.x MCPServer",
            Framework::FastMcp => "standalone fastmcp FastMCP",
        }
    }
}

/// A server object at module level (`NAME = FastMCP(...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerObject {
    /// The module to import, dotted, as the image's PYTHONPATH sees it.
    pub(crate) module: String,
    pub(crate) object: String,
    /// None when named by `--entry MODULE:OBJECT` and its file is not found.
    pub(crate) framework: Option<Framework>,
}

/// How the file's own code starts the server, to say why it is served the way it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunStyle {
    /// `mcp.run()`: stdio, which ends as soon as a container's closed stdin does.
    Stdio,
    /// `mcp.run(transport=...)` with a transport, from the code or the environment; host and port
    /// are the constructor's (127.0.0.1:8000 unless the code passes others).
    Transport,
    /// No `run()` at all (started by a framework CLI).
    NotRun,
}

/// How the container serves the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Serve {
    /// `python -m MODULE --transport T --host 0.0.0.0 --port P`.
    OwnCli,
    /// `python /mcpctl/launch.py MODULE:OBJECT --transport T --port P`.
    Launcher(ServerObject, Option<RunStyle>),
    /// The bridge runs this command and serves it over HTTP (and SSE).
    Bridge(Vec<String>),
    /// `python -m MODULE` / `python FILE`, host, port and transport from MCP_TRANSPORT,
    /// FASTMCP_HOST, FASTMCP_PORT: nothing better was found.
    Env,
}

impl Serve {
    /// One line for init's output: which way, and why.
    pub(crate) fn describe(&self, transport: Transport) -> String {
        match self {
            Serve::OwnCli => format!("its own CLI, with --transport {} --host 0.0.0.0", transport.name()),
            Serve::Launcher(o, style) => {
                let what = o.framework.map(Framework::describe).unwrap_or("server");
                let why = match style {
                    Some(RunStyle::Stdio) => {
                        ": its own `run()` is stdio, which ends when a container's stdin closes".to_string()
                    }
                    Some(RunStyle::Transport) => {
                        ": its own `run()` would bind the constructor's host, 127.0.0.1 unless told".into()
                    }
                    Some(RunStyle::NotRun) | None => String::new(),
                };
                format!(
                    "mcpctl's launcher imports {} and serves its {what} `{}` over {} on 0.0.0.0, without running its __main__{why}",
                    o.module,
                    o.object,
                    transport.name()
                )
            }
            Serve::Bridge(cmd) => format!(
                "the stdio bridge ({BRIDGE_PACKAGE}) runs `{}` and serves it over streamable HTTP and SSE",
                cmd.join(" ")
            ),
            Serve::Env => "MCP_TRANSPORT, FASTMCP_HOST and FASTMCP_PORT in the environment".into(),
        }
    }
}

/// Decide how the container serves the server at `entry` (`code` is its Python source).
pub(crate) fn detect_serve(dir: &Path, entry: &Entry, code: &str) -> Serve {
    if let Entry::Module { cli_flags: true, .. } = entry {
        return Serve::OwnCli;
    }
    if let Some((object, style)) = server_object(dir, entry) {
        return Serve::Launcher(object, Some(style));
    }
    let stdio_only =
        ["stdio_server(", "run_stdio_async(", "mcp.server.stdio"].iter().any(|p| code.contains(p));
    match entry {
        Entry::Module { module, .. } if stdio_only => {
            Serve::Bridge(vec!["python".into(), "-m".into(), module.clone()])
        }
        Entry::File { file } if stdio_only => Serve::Bridge(vec!["python".into(), file.clone()]),
        _ => Serve::Env,
    }
}

/// The first module-level `NAME = FastMCP(...)` / `NAME = MCPServer(...)` in the entry's files.
pub(crate) fn server_object(dir: &Path, entry: &Entry) -> Option<(ServerObject, RunStyle)> {
    python_files(dir, entry).into_iter().find_map(|rel| {
        let code = std::fs::read_to_string(dir.join(&rel)).ok()?;
        let object = assigned_server(&code)?;
        let style = run_style(&code, &object);
        let framework = framework_of(&code);
        Some((ServerObject { module: module_of(&rel), object, framework }, style))
    })
}

/// The framework of the server class a file imports.
pub(crate) fn framework_of(code: &str) -> Option<Framework> {
    let lines: Vec<&str> = code.lines().map(str::trim).collect();
    let imports = |from: &str, what: &str| {
        lines.iter().any(|l| l.starts_with(&format!("from {from} import")) && l.contains(what))
    };
    if imports("fastmcp", "FastMCP") || lines.contains(&"import fastmcp") {
        Some(Framework::FastMcp)
    } else if imports("mcp.server.mcpserver", "MCPServer") || imports("mcp.server", "MCPServer") {
        Some(Framework::Mcp2)
    } else if imports("mcp.server.fastmcp", "FastMCP") || imports("mcp.server", "FastMCP") {
        Some(Framework::Mcp1)
    } else {
        None
    }
}

/// `NAME = FastMCP(` or `NAME: FastMCP = FastMCP(` at the start of a line.
fn assigned_server(code: &str) -> Option<String> {
    code.lines().find_map(|l| {
        if l.starts_with(char::is_whitespace) {
            return None;
        }
        let (lhs, rhs) = l.split_once('=')?;
        let rhs = rhs.trim_start();
        let class = ["FastMCP(", "MCPServer(", "fastmcp.FastMCP("].iter().any(|c| rhs.starts_with(c));
        let name = lhs.split(':').next()?.trim();
        (class && is_identifier(name)).then(|| name.to_string())
    })
}

fn run_style(code: &str, object: &str) -> RunStyle {
    let squashed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if squashed.contains(&format!("{object}.run()")) {
        RunStyle::Stdio
    } else if squashed.contains(&format!("{object}.run(")) {
        RunStyle::Transport
    } else {
        RunStyle::NotRun
    }
}

/// The `.py` files of the entry, the entry file or module first.
fn python_files(dir: &Path, entry: &Entry) -> Vec<String> {
    match entry {
        Entry::File { file } => vec![file.clone()],
        Entry::Module { dir: pkg, .. } => {
            let mut files = Vec::new();
            collect_py(dir, pkg, 4, &mut files);
            // The package's own modules before its __main__ (which usually imports the server).
            files.sort_by_key(|f| (f.ends_with("__main__.py"), f.clone()));
            files
        }
        Entry::None => Vec::new(),
    }
}

fn collect_py(root: &Path, rel: &str, depth: u32, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let child = format!("{rel}/{name}");
        if e.path().is_dir() && depth > 0 && !name.starts_with(['.', '_']) {
            collect_py(root, &child, depth - 1, out);
        } else if name.ends_with(".py") {
            out.push(child);
        }
    }
}

/// `src/pkg/server.py` → `pkg.server` (the image's PYTHONPATH has /app/src); `pkg/__init__.py` → `pkg`.
fn module_of(rel: &str) -> String {
    let rel = rel.strip_prefix("src/").unwrap_or(rel).trim_end_matches(".py");
    let rel = rel.strip_suffix("/__init__").unwrap_or(rel);
    rel.replace('/', ".")
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// The stdio command the bridge runs, when a container's process (`command`) is the bridge as
/// init writes it (`mcp-proxy [OPTIONS] -- COMMAND ARGS`).
pub(crate) fn bridge_child(command: &[String]) -> Option<&[String]> {
    let (first, rest) = command.split_first()?;
    if first != BRIDGE_BIN && first.rsplit('/').next() != Some("mcp-proxy") {
        return None;
    }
    let child = &rest[rest.iter().position(|a| a == "--")? + 1..];
    (!child.is_empty()).then_some(child)
}

/// What the bridge's child wrote to stderr in its last run, from the container's log lines: what
/// follows the bridge's own last log line (`[I 2026-… mcp_proxy.mcp_server] Setting up …`) up to
/// the traceback the bridge prints when its child is gone (the one through the bridge's own
/// executable). A restarted container's log holds several runs; only the last counts.
pub(crate) fn bridge_child_stderr(lines: &[String]) -> Vec<String> {
    let bridge_frame = format!("File \"{BRIDGE_BIN}\"");
    let end = match lines.iter().rposition(|l| l.contains(&bridge_frame)) {
        Some(i) if i > 0 && lines[i - 1].contains("Traceback (most recent call last)") => i - 1,
        Some(i) => i,
        None => lines.len(),
    };
    let own_log = |l: &String| l.starts_with('[') && l.contains(" mcp_proxy.");
    let start = lines[..end].iter().rposition(own_log).map_or(0, |i| i + 1);
    let child = &lines[start..end];
    let first = child.iter().position(|l| !l.trim().is_empty()).unwrap_or(child.len());
    let last = child.iter().rposition(|l| !l.trim().is_empty()).map_or(first, |i| i + 1);
    child[first..last].to_vec()
}

/// Split `--stdio "COMMAND ARGS"` like a shell would split words: spaces, '…' and "…" quotes.
pub(crate) fn split_command(s: &str) -> Result<Vec<String>, String> {
    let (mut words, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in {s:?}"));
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("no command".into());
    }
    Ok(words)
}

/// A requirement that lets pip install mcp 2.x for code written for mcp 1.x (`mcp.server.fastmcp`
/// is gone there): the line, when there is one.
pub(crate) fn unpinned_mcp_for_v1(requirements: &str) -> Option<String> {
    requirements
        .lines()
        .map(str::trim)
        .find(|l| {
            let name: String =
                l.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
            name.eq_ignore_ascii_case("mcp")
                && !l.contains("<2")
                && !l.contains("==1.")
                && !l.contains("~=1.")
        })
        .map(str::to_string)
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

    const QUICKSTART: &str = "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP(\"weather\")\n\n\
        @mcp.tool()\ndef forecast(city: str) -> str:\n    return city\n\nif __name__ == \"__main__\":\n    mcp.run()\n";

    #[test]
    fn the_quickstart_file_is_served_by_the_launcher() {
        let d = tree(&[("server.py", QUICKSTART)]);
        let entry = Entry::File { file: "server.py".into() };
        let serve = detect_serve(d.path(), &entry, QUICKSTART);
        let want =
            ServerObject { module: "server".into(), object: "mcp".into(), framework: Some(Framework::Mcp1) };
        assert_eq!(serve, Serve::Launcher(want, Some(RunStyle::Stdio)));
        let line = serve.describe(Transport::StreamableHttp);
        assert!(line.contains("imports server and serves its mcp 1.x FastMCP `mcp`"), "{line}");
        assert!(line.contains("stdio"), "{line}");
    }

    #[test]
    fn frameworks_from_imports() {
        assert_eq!(framework_of("from fastmcp import FastMCP\n"), Some(Framework::FastMcp));
        assert_eq!(framework_of("import fastmcp\n"), Some(Framework::FastMcp));
        assert_eq!(framework_of("from mcp.server import MCPServer\n"), Some(Framework::Mcp2));
        assert_eq!(
            framework_of("from mcp.server.mcpserver import MCPServer, Context\n"),
            Some(Framework::Mcp2)
        );
        assert_eq!(framework_of("from mcp.server.fastmcp import FastMCP, Context\n"), Some(Framework::Mcp1));
        assert_eq!(framework_of("import os\n"), None);
    }

    #[test]
    fn objects_in_a_package_and_run_styles() {
        let d = tree(&[
            ("src/pkg/__main__.py", "from pkg.app import server\nserver.run(transport='sse')\n"),
            ("src/pkg/app.py", "from mcp.server import MCPServer\nserver: MCPServer = MCPServer('x')\n"),
            ("src/pkg/tools/helpers.py", "def f(): pass\n"),
        ]);
        let entry = Entry::Module { module: "pkg".into(), dir: "src/pkg".into(), cli_flags: false };
        let (o, style) = server_object(d.path(), &entry).unwrap();
        assert_eq!(
            (o.module.as_str(), o.object.as_str(), o.framework),
            ("pkg.app", "server", Some(Framework::Mcp2))
        );
        assert_eq!(style, RunStyle::NotRun, "run() is called in __main__, not in the object's file");
        assert_eq!(run_style("m.run(transport=os.getenv('T', 'sse'))", "m"), RunStyle::Transport);
        assert_eq!(run_style("  m.run( )", "m"), RunStyle::Stdio);
        // Indented assignments are not module level.
        assert_eq!(assigned_server("def f():\n    m = FastMCP('x')\n"), None);
        assert_eq!(module_of("pkg/__init__.py"), "pkg");
    }

    #[test]
    fn a_package_with_its_own_flags_keeps_its_cli_and_stdio_servers_go_to_the_bridge() {
        let d = tree(&[(
            "s.py",
            "from mcp.server.stdio import stdio_server\nasync def main():\n    async with stdio_server() as (r, w): ...\n",
        )]);
        let cli = Entry::Module { module: "m".into(), dir: "m".into(), cli_flags: true };
        assert_eq!(detect_serve(d.path(), &cli, ""), Serve::OwnCli);
        let file = Entry::File { file: "s.py".into() };
        let code = std::fs::read_to_string(d.path().join("s.py")).unwrap();
        assert_eq!(detect_serve(d.path(), &file, &code), Serve::Bridge(vec!["python".into(), "s.py".into()]));
        assert_eq!(detect_serve(d.path(), &file, "print(1)"), Serve::Env);
    }

    #[test]
    fn the_bridge_s_child_is_read_from_the_container_s_command() {
        let words = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let bridged = words(&[BRIDGE_BIN, "--host", "0.0.0.0", "--port", "3001", "--pass-environment", "--"]);
        let mut cmd = bridged.clone();
        cmd.extend(words(&["python", "-m", "mcp_server_git"]));
        assert_eq!(bridge_child(&cmd), Some(&words(&["python", "-m", "mcp_server_git"])[..]));
        assert_eq!(bridge_child(&bridged), None, "no child");
        assert_eq!(bridge_child(&words(&["python", "-m", "echo_server", "--", "x"])), None);
        assert_eq!(bridge_child(&[]), None);
    }

    /// The log of a bridged child that failed twice (the container restarted): mcp-proxy's lines,
    /// the child's traceback, mcp-proxy's own traceback; then the same again.
    #[test]
    fn the_child_s_stderr_is_what_lies_between_the_bridge_s_lines() {
        let run = |n: u32| {
            vec![
                "[I 2026-12-03 17:09:28,147.147 mcp_proxy.__main__] Configured default server: python -m m"
                    .into(),
                "[I 2026-12-03 17:09:28,147.147 mcp_proxy.mcp_server] Setting up default server: python -m m"
                    .into(),
                "Traceback (most recent call last):".into(),
                "  File \"/app/.venv/lib/python3.11/site-packages/m/__init__.py\", line 5, in <module>"
                    .into(),
                format!("RuntimeError: run {n} cannot start"),
                "".into(),
                "  + Exception Group Traceback (most recent call last):".into(),
                format!("  |   File \"{BRIDGE_BIN}\", line 8, in <module>"),
                "  |     sys.exit(main())".into(),
                "    | mcp.shared.exceptions.McpError: Connection closed".into(),
                "    +------------------------------------".into(),
            ]
        };
        let mut log: Vec<String> = run(1);
        log.extend(run(2));
        let got = bridge_child_stderr(&log);
        assert_eq!(got[0], "Traceback (most recent call last):");
        assert_eq!(got.last().unwrap(), "RuntimeError: run 2 cannot start");
        assert_eq!(got.len(), 3, "{got:?}");
        // A tail that starts inside the child's output, and a child that printed nothing.
        assert_eq!(bridge_child_stderr(&log[15..]), ["RuntimeError: run 2 cannot start"]);
        let silent: Vec<String> = log[..2].iter().chain(&log[6..11]).cloned().collect();
        assert!(bridge_child_stderr(&silent).is_empty(), "{:?}", bridge_child_stderr(&silent));
        // No bridge traceback (yet): everything after the bridge's last line.
        assert_eq!(bridge_child_stderr(&log[..5]).len(), 3);
    }

    #[test]
    fn commands_split_like_shell_words() {
        assert_eq!(
            split_command("mcp-server-time --local-timezone 'Europe/Paris'").unwrap(),
            ["mcp-server-time", "--local-timezone", "Europe/Paris"]
        );
        assert_eq!(split_command("  a  \"b c\" ''").unwrap(), ["a", "b c", ""]);
        assert!(split_command("a 'b").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn v1_code_with_an_unbounded_mcp_requirement() {
        assert_eq!(unpinned_mcp_for_v1("mcp[cli]\n").as_deref(), Some("mcp[cli]"));
        assert_eq!(unpinned_mcp_for_v1("mcp>=1.20\nhttpx\n").as_deref(), Some("mcp>=1.20"));
        assert_eq!(unpinned_mcp_for_v1("mcp[cli]>=1.20,<2\n"), None);
        assert_eq!(unpinned_mcp_for_v1("mcp-server-time==1\n"), None);
    }
}
