//! What the project looks like: its entry point, how its dependencies install, its transport.

use std::path::Path;

use super::{Deps, Entry, Transport};

/// The outcome of looking for an entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryDetection {
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
pub(crate) fn valid_module(s: &str) -> bool {
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
pub(crate) fn module_dir(dir: &Path, module: &str) -> Option<String> {
    let rel = module.replace('.', "/");
    [rel.clone(), format!("src/{rel}")].into_iter().find(|r| dir.join(r).is_dir())
}

/// `python -m PACKAGE` when a package has `__main__.py` (the project's own package first), else
/// the one top-level file that constructs `FastMCP(`.
pub(crate) fn detect_entry(dir: &Path, project_package: &str) -> EntryDetection {
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
pub(crate) fn module_entry(dir: &Path, module: &str) -> Entry {
    let rel = module_dir(dir, module).unwrap_or_else(|| module.replace('.', "/"));
    let code = python_code(&dir.join(&rel));
    Entry::Module { module: module.to_string(), cli_flags: takes_cli_flags(&code), dir: rel }
}

/// uv.lock → uv (locked); else requirements.txt → pip; else pyproject.toml → uv (unlocked).
pub(crate) fn detect_deps(dir: &Path) -> Option<Deps> {
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

/// Python dependencies that need a program or library from Debian at run time, and the Debian
/// package that brings it. Only what a slim image lacks and a dependency cannot bring itself:
/// the Python package runs an executable or loads a shared library that no wheel contains.
const APT_FOR_DEPENDENCY: &[(&str, &str, &str)] = &[
    ("gitpython", "git", "GitPython runs the git executable"),
    ("mcp-server-git", "git", "mcp-server-git's GitPython runs the git executable"),
    ("python-magic", "libmagic1", "python-magic loads libmagic"),
    ("pdf2image", "poppler-utils", "pdf2image runs poppler's pdftoppm"),
    ("pytesseract", "tesseract-ocr", "pytesseract runs the tesseract executable"),
    ("pydub", "ffmpeg", "pydub runs ffmpeg to decode and encode"),
];

/// A Debian package for the runtime image, and why it is there (one line, for init's output and
/// a Dockerfile comment: made only of constants and checked names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AptPackage {
    pub(crate) name: String,
    pub(crate) why: String,
}

/// The Debian packages the dependencies need at run time (see `APT_FOR_DEPENDENCY`), from the
/// names in uv.lock (every package, transitive ones too), requirements.txt, pyproject.toml's
/// `[project].dependencies` and the `--stdio` command (`mcp-server-git`, `python -m mcp_server_git`).
pub(crate) fn detect_apt_packages(dir: &Path, stdio: Option<&[String]>) -> Vec<AptPackage> {
    let mut found: Vec<(String, &'static str)> = Vec::new();
    let mut add = |names: Vec<String>, from: &'static str| {
        for n in names {
            if !found.iter().any(|(m, _)| *m == n) {
                found.push((n, from));
            }
        }
    };
    add(uv_lock_names(&read(&dir.join("uv.lock"))), "uv.lock");
    add(requirement_names(&read(&dir.join("requirements.txt"))), "requirements.txt");
    add(pyproject_dependency_names(&read(&dir.join("pyproject.toml"))), "pyproject.toml");
    add(stdio.map(command_package).into_iter().flatten().collect(), "the --stdio command");
    let mut out: Vec<AptPackage> = Vec::new();
    for (dep, pkg, what) in APT_FOR_DEPENDENCY {
        let Some((_, from)) = found.iter().find(|(n, _)| n == dep) else { continue };
        // The first dependency that needs a package gives the reason.
        if !out.iter().any(|p| p.name == *pkg) {
            out.push(AptPackage { name: pkg.to_string(), why: format!("{what}, found in {from}") });
        }
    }
    out
}

/// PEP 503's normal form of a distribution name: lowercase, runs of `-_.` made one `-`.
fn normal_dist_name(s: &str) -> String {
    crate::config::normalize_name(s)
}

/// The distribution name a requirement starts with (`GitPython>=3`, `mcp[cli]`, `x @ https://...`).
fn requirement_name(line: &str) -> Option<String> {
    let name: String =
        line.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
    (!name.is_empty()).then(|| normal_dist_name(&name))
}

fn requirement_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        // Options (-r, -e, --index-url) and URLs name no distribution we look for.
        .filter(|l| !l.starts_with('-') && !l.contains("://"))
        .filter_map(requirement_name)
        .collect()
}

fn pyproject_dependency_names(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let deps = doc.get("project").and_then(|p| p.get("dependencies")).and_then(|d| d.as_array());
    deps.into_iter().flatten().filter_map(|d| d.as_str()).filter_map(requirement_name).collect()
}

fn uv_lock_names(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let packages = doc.get("package").and_then(|p| p.as_array());
    packages
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name").and_then(|n| n.as_str()))
        .map(normal_dist_name)
        .collect()
}

/// The distribution a stdio command most likely runs: `python -m mod_name` → mod-name, a
/// console script `mcp-server-git` → itself.
fn command_package(cmd: &[String]) -> Option<String> {
    let word = match cmd {
        [py, m, module, ..] if py.starts_with("python") && m == "-m" => module.split('.').next()?,
        [first, ..] => first.rsplit('/').next()?,
        [] => return None,
    };
    requirement_name(word)
}

/// The Python source of a file, or of every `.py` file under a directory (a few levels deep).
pub(crate) fn python_code(path: &Path) -> String {
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
pub(crate) enum TransportReason {
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
    pub(crate) fn describe(self, t: Transport) -> String {
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
pub(crate) fn detect_transport(
    code: &str,
    deploy_files: &str,
    entry: &Entry,
) -> (Transport, TransportReason) {
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
pub(crate) fn reads_rebinding_env(code: &str) -> bool {
    code.contains("MCP_DNS_REBINDING_PROTECTION") && code.contains("MCP_ALLOWED_HOSTS")
}

/// Top-level package directories (with `__init__.py`) a one-file server may import.
pub(crate) fn local_packages(dir: &Path) -> Vec<String> {
    list(dir, |p, n| p.join("__init__.py").is_file() && is_identifier(n) && !SKIP_DIRS.contains(&n))
}
