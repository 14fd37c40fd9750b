//! What the project looks like: its entry point, how its dependencies install, its transport.

use std::path::Path;

use super::{Deps, Entry, Transport};

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

/// Top-level `.py` files that construct a FastMCP or MCPServer object, or serve over stdio.
fn server_files(dir: &Path) -> Vec<String> {
    let is_server =
        |code: String| ["FastMCP(", "MCPServer(", "stdio_server("].iter().any(|s| code.contains(s));
    list(dir, |p, n| n.ends_with(".py") && p.is_file() && is_server(read(p)))
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
    let files = server_files(dir);
    match files.as_slice() {
        [f] => EntryDetection::Found {
            entry: Entry::File { file: f.clone() },
            why: format!("{f} makes an MCP server"),
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

/// Whether the server reads MCP_DNS_REBINDING_PROTECTION and MCP_ALLOWED_HOSTS.
pub fn reads_rebinding_env(code: &str) -> bool {
    code.contains("MCP_DNS_REBINDING_PROTECTION") && code.contains("MCP_ALLOWED_HOSTS")
}

/// Top-level package directories (with `__init__.py`) a one-file server may import.
pub fn local_packages(dir: &Path) -> Vec<String> {
    list(dir, |p, n| p.join("__init__.py").is_file() && is_identifier(n) && !SKIP_DIRS.contains(&n))
}
