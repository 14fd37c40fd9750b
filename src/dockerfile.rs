//! What a Dockerfile reads from outside the build context: the images its `FROM` lines (and
//! `COPY --from=`, `RUN --mount=from=`) name once build arguments are substituted, and whether it
//! fetches anything at build time (`ADD https://…`, `ADD git@…`) that no local digest can see.
//!
//! Only what the build digest needs; the engine parses the file for real.

use std::collections::{BTreeMap, BTreeSet};

/// The outside inputs of one Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct External {
    /// Images the build starts from or copies from, in order of first use, deduplicated.
    pub(crate) images: Vec<String>,
    /// A source the engine fetches at build time (its text), when there is one.
    pub(crate) remote_source: Option<String>,
}

/// Read `text` with these build arguments (the ones passed with `--build-arg`).
pub(crate) fn external(text: &str, build_args: &BTreeMap<String, String>) -> External {
    let mut out = External::default();
    let mut global_args: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: BTreeSet<String> = BTreeSet::new();
    let mut seen_from = false;
    let add = |image: String, out: &mut External| {
        if !image.is_empty() && image != "scratch" && !out.images.contains(&image) {
            out.images.push(image);
        }
    };
    for line in instructions(text) {
        let (word, rest) = split_word(&line);
        match word.to_ascii_uppercase().as_str() {
            // Only the ARGs before the first FROM can be used in FROM lines.
            "ARG" if !seen_from => {
                for decl in rest.split_whitespace() {
                    let (name, default) = match decl.split_once('=') {
                        Some((n, d)) => (n, unquote(d)),
                        None => (decl, String::new()),
                    };
                    let value = build_args.get(name).cloned().unwrap_or(default);
                    global_args.insert(name.to_string(), value);
                }
            }
            "FROM" => {
                seen_from = true;
                let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
                let image = substitute(words.first().copied().unwrap_or(""), &global_args);
                if !stages.contains(&image.to_ascii_lowercase()) {
                    add(image, &mut out);
                }
                if let [_, as_kw, name, ..] = words.as_slice()
                    && as_kw.eq_ignore_ascii_case("as")
                {
                    stages.insert(name.to_ascii_lowercase());
                }
            }
            "COPY" | "ADD" | "RUN" => {
                for from in from_flags(rest) {
                    let from = substitute(&from, &global_args);
                    let is_stage = stages.contains(&from.to_ascii_lowercase())
                        || from.chars().all(|c| c.is_ascii_digit());
                    if !is_stage {
                        add(from, &mut out);
                    }
                }
                if word.eq_ignore_ascii_case("ADD")
                    && out.remote_source.is_none()
                    && let Some(src) = remote_source(rest)
                {
                    out.remote_source = Some(src);
                }
            }
            _ => {}
        }
    }
    out
}

/// The instructions, continuation lines joined, comments and blank lines dropped. Honours the
/// `# escape=` parser directive.
fn instructions(text: &str) -> Vec<String> {
    let escape = text
        .lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .find_map(|l| {
            let d = l.trim_start().trim_start_matches('#').trim();
            let (k, v) = d.split_once('=')?;
            (k.trim().eq_ignore_ascii_case("escape")).then(|| v.trim().chars().next()).flatten()
        })
        .unwrap_or('\\');
    let mut out = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let t = raw.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        // Comment lines inside a continued instruction are dropped too.
        if !cur.is_empty() && t.starts_with('#') {
            continue;
        }
        match t.strip_suffix(escape) {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn split_word(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    }
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    s.to_string()
}

/// `--from=X` of COPY/ADD and `from=X` inside `--mount=…` of RUN.
fn from_flags(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in rest.split_whitespace() {
        if !w.starts_with("--") {
            break;
        }
        if let Some(v) = w.strip_prefix("--from=") {
            out.push(unquote(v));
        } else if let Some(m) = w.strip_prefix("--mount=") {
            out.extend(m.split(',').filter_map(|kv| kv.strip_prefix("from=")).map(unquote));
        }
    }
    out
}

/// The first source of an ADD that the engine fetches itself (a URL or a git remote).
fn remote_source(rest: &str) -> Option<String> {
    let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
    let sources = words.split_last().map(|(_, s)| s).unwrap_or(&[]);
    sources
        .iter()
        .map(|s| s.trim_matches(|c| c == '"' || c == '[' || c == ']' || c == ','))
        .find(|s| s.contains("://") || s.starts_with("git@"))
        .map(str::to_string)
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alt}`, as the engines expand FROM lines.
fn substitute(word: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
            out.push_str(&expand(&inner, args));
        } else {
            let name: String =
                std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_')).collect();
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(args.get(&name).map(String::as_str).unwrap_or(""));
            }
        }
    }
    out
}

fn expand(inner: &str, args: &BTreeMap<String, String>) -> String {
    let set = |n: &str| args.get(n).filter(|v| !v.is_empty()).cloned();
    if let Some((name, default)) = inner.split_once(":-") {
        return set(name).unwrap_or_else(|| default.to_string());
    }
    if let Some((name, alt)) = inner.split_once(":+") {
        return set(name).map(|_| alt.to_string()).unwrap_or_default();
    }
    args.get(inner).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The Dockerfile `mcpctl init` writes, in short.
    const INIT_STYLE: &str = "# generated\nARG PYTHON_IMAGE=python:3.12-slim\nARG UV_IMAGE=ghcr.io/astral-sh/uv:latest\n\n\
        FROM ${UV_IMAGE} AS uv\n\nFROM ${PYTHON_IMAGE} AS builder\nCOPY --from=uv /uv /usr/local/bin/uv\n\
        RUN uv sync \\\n    --locked\nFROM ${PYTHON_IMAGE} AS runtime\nCOPY --from=builder /app /app\n";

    #[test]
    fn base_images_follow_build_args_and_skip_stages() {
        let e = external(INIT_STYLE, &BTreeMap::new());
        assert_eq!(e.images, ["ghcr.io/astral-sh/uv:latest", "python:3.12-slim"]);
        assert_eq!(e.remote_source, None);
        let e = external(INIT_STYLE, &args(&[("PYTHON_IMAGE", "mcpctl-python:bookworm")]));
        assert_eq!(e.images, ["ghcr.io/astral-sh/uv:latest", "mcpctl-python:bookworm"]);
    }

    #[test]
    fn a_stage_built_from_another_stage_is_no_image() {
        let df = "FROM mcpctl-python:bookworm AS base\nFROM base AS app\nFROM Base\nCOPY --from=0 /a /b\n";
        assert_eq!(external(df, &BTreeMap::new()).images, ["mcpctl-python:bookworm"]);
    }

    #[test]
    fn copy_and_mount_from_an_image_count() {
        let df = "FROM scratch\nCOPY --from=ghcr.io/astral-sh/uv:0.5 --chown=1 /uv /uv\n\
                  RUN --mount=type=bind,from=busybox:1,target=/b true\n";
        assert_eq!(external(df, &BTreeMap::new()).images, ["ghcr.io/astral-sh/uv:0.5", "busybox:1"]);
    }

    #[test]
    fn platform_flag_and_lowercase_keywords() {
        let df = "arg TAG=3\nfrom --platform=$BUILDPLATFORM python:${TAG} as b\n";
        assert_eq!(external(df, &BTreeMap::new()).images, ["python:3"]);
    }

    #[test]
    fn substitution_forms() {
        let a = args(&[("A", "x"), ("E", "")]);
        assert_eq!(substitute("$A-${A}", &a), "x-x");
        assert_eq!(substitute("${E:-d}/${N:-n}/${A:-d}", &a), "d/n/x");
        assert_eq!(substitute("${A:+alt}${E:+no}", &a), "alt");
        assert_eq!(substitute("cost$", &a), "cost$");
    }

    #[test]
    fn remote_add_is_found() {
        let df = "FROM scratch\nADD --chmod=644 https://example.org/x.tgz /x\n";
        assert_eq!(
            external(df, &BTreeMap::new()).remote_source.as_deref(),
            Some("https://example.org/x.tgz")
        );
        let df = "FROM scratch\nADD [\"git@github.com:o/r.git\", \"/src\"]\n";
        assert_eq!(external(df, &BTreeMap::new()).remote_source.as_deref(), Some("git@github.com:o/r.git"));
        let df = "FROM scratch\nADD local.tgz /x\nCOPY http.txt /h\n";
        assert_eq!(external(df, &BTreeMap::new()).remote_source, None);
    }

    #[test]
    fn continuations_comments_and_the_escape_directive() {
        let df = "# escape=`\nFROM a:1 `\n  AS one\n# c\nRUN x\n";
        assert_eq!(external(df, &BTreeMap::new()).images, ["a:1"]);
        assert_eq!(instructions("FROM a \\\n# note\n  AS b\n"), ["FROM a  AS b"]);
    }
}
