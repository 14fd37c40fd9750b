//! The build context as the engine sees it: ignore-file rules (.dockerignore, .containerignore and
//! `<Dockerfile>.dockerignore`) and the walk that lists every file, directory and symlink the
//! engine's `COPY . …` would receive.
//!
//! The build digest ("skip the build when nothing the build reads has changed") hashes that list,
//! so it must hold everything the engine uses, or more: an extra entry costs a rebuild, a missing
//! one would skip a build the engine would have done. The engines do not agree on the rules, so
//! each is modelled on its own source and checked against what it actually received
//! (`fixtures/dockerignore/`):
//!
//! * [`Semantics::DockerLegacy`]: docker CLI >= 23 with the legacy builder. The client tars the
//!   context with moby/patternmatcher 0.6 and go-archive's `TarWithOptions`.
//! * [`Semantics::Docker20Legacy`] and [`Semantics::Docker20BuildKit`]: docker CLI 20.10, whose
//!   tar walk or BuildKit session (fsutil) uses docker/docker 20.10's `pkg/fileutils`.
//! * [`Semantics::Podman`]: podman 4.3 (buildah 1.28 `copier`, containers/storage 1.43
//!   `pkg/fileutils`, openshift/imagebuilder's `ParseIgnore`).
//!
//! The Dockerfile and the ignore file are filtered like any other file here; under the legacy
//! builder they always travel but the daemon drops them before `COPY` when they are excluded, so
//! the result is the same. The engine reads both in every case, so a digest should always cover them.
//!
//! Patterns are translated to Go regular expressions exactly as each engine does; the few regexp
//! constructs outside the small subset implemented here make a pattern "unsure", which is resolved
//! towards sending more: an unsure exclusion matches nothing, an unsure `!` exception matches
//! everything.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Which engine's ignore rules apply. They differ; see the module doc and `fixtures/dockerignore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Semantics {
    /// docker CLI >= 23, legacy builder (moby/patternmatcher 0.6, go-archive).
    DockerLegacy,
    /// docker CLI 20.10, legacy builder (docker/docker 20.10 pkg/fileutils and pkg/archive).
    Docker20Legacy,
    /// docker CLI 20.10 with `DOCKER_BUILDKIT=1` (the same matcher as 20.10, fsutil's walk).
    Docker20BuildKit,
    /// podman 4.3 (buildah 1.28, containers/storage 1.43).
    Podman,
}

/// The three matchers behind the four engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Patternmatcher,
    Fileutils20,
    Storage,
}

impl Semantics {
    /// The ignore files the engine looks for, first found wins, for the Dockerfile at `dockerfile`
    /// (absolute, or relative to the context). Recorded: the legacy builder reads only
    /// `.dockerignore`; BuildKit prefers `<Dockerfile>.dockerignore`; podman prefers
    /// `<Dockerfile>.dockerignore`, then `<Dockerfile>.containerignore`, then `.containerignore`.
    pub(crate) fn ignore_candidates(self, dockerfile: &str) -> Vec<String> {
        let own = |ext: &str| format!("{dockerfile}.{ext}");
        match self {
            Semantics::DockerLegacy | Semantics::Docker20Legacy => vec![".dockerignore".into()],
            Semantics::Docker20BuildKit => vec![own("dockerignore"), ".dockerignore".into()],
            Semantics::Podman => vec![
                own("dockerignore"),
                own("containerignore"),
                ".containerignore".into(),
                ".dockerignore".into(),
            ],
        }
    }

    fn flavor(self) -> Flavor {
        match self {
            Semantics::DockerLegacy => Flavor::Patternmatcher,
            Semantics::Docker20Legacy | Semantics::Docker20BuildKit => Flavor::Fileutils20,
            Semantics::Podman => Flavor::Storage,
        }
    }

    /// fsutil sends an excluded directory it descends into; the tar walks and buildah's copier
    /// leave it out, and it only appears (mode 0755) as the parent of something sent under it.
    fn sends_descended_dirs(self) -> bool {
        self == Semantics::Docker20BuildKit
    }
}

/// An ignore file's rules, parsed for one engine.
#[derive(Debug, Clone)]
pub(crate) struct Patterns {
    semantics: Semantics,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// A `!` line: re-includes what it matches.
    exception: bool,
    /// The cleaned pattern without its `!`, as the engine keeps it (`Pattern.String()`).
    text: String,
    /// Path components in `text`: fileutils 20.10 checks the parent prefix of that length.
    dirs: usize,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(goregex::Regex),
    /// A regexp this module cannot evaluate exactly (see the module doc).
    Unsure,
}

impl Patterns {
    /// Parse an ignore file's text the way `semantics`' engine does: moby's `ReadAll` plus its
    /// matcher (`#` comments, trimmed lines, `!` exceptions, Go's `filepath.Clean`, a leading `/`
    /// dropped, `**`, `?`, `*`, classes, `\` escapes), or for podman imagebuilder's `ParseIgnore`
    /// (only `/` trimmed from the raw line) plus containers/storage's matcher. A rule the engine
    /// would reject (a bare `!`) fails that engine's build, so it is dropped here.
    pub(crate) fn parse(text: &str, semantics: Semantics) -> Patterns {
        let lines = match semantics.flavor() {
            Flavor::Storage => imagebuilder_lines(text),
            _ => moby_lines(text),
        };
        let rules = lines.iter().filter_map(|l| Rule::new(l, semantics.flavor())).collect();
        Patterns { semantics, rules }
    }

    /// The rules `semantics`' engine applies to `context` built with the Dockerfile at
    /// `dockerfile`: its ignore file (see [`Semantics::ignore_candidates`]), or none.
    pub(crate) fn for_context(
        context: &Path,
        dockerfile: &str,
        semantics: Semantics,
    ) -> io::Result<Patterns> {
        let candidates = semantics.ignore_candidates(dockerfile);
        let names: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let text = match ignore_file(context, &names) {
            Some(file) => fs::read_to_string(file)?,
            None => String::new(),
        };
        Ok(Patterns::parse(&text, semantics))
    }

    /// Is this context-relative path (forward slashes, no leading "./") excluded? The last
    /// matching rule wins and `!` re-includes; a path under a matching directory counts as
    /// matched, in the engine's own way (which differs: see `fixtures/dockerignore`).
    #[cfg(test)]
    pub(crate) fn excluded(&self, rel: &str) -> bool {
        if self.semantics.flavor() != Flavor::Patternmatcher {
            return self.evaluate(rel, &[]).0;
        }
        // Only patternmatcher's answer depends on the ancestors' evaluation.
        let mut parent = Vec::new();
        let mut excluded = false;
        for end in rel.match_indices('/').map(|(i, _)| i).chain([rel.len()]) {
            (excluded, parent) = self.evaluate(&rel[..end], &parent);
        }
        excluded
    }

    /// One step of the walk: whether `path` is excluded given what its parent directory's step
    /// returned (empty at the top level), and what to hand `path`'s own children (patternmatcher's
    /// per-rule results; the other matchers need nothing).
    fn evaluate(&self, path: &str, parent: &[bool]) -> (bool, Vec<bool>) {
        match self.semantics.flavor() {
            Flavor::Patternmatcher => self.patternmatcher_step(path, parent),
            Flavor::Fileutils20 => (self.excluded_fileutils20(path), Vec::new()),
            Flavor::Storage => (last_match(self.rules.iter().map(|r| (r, r.matches(path)))), Vec::new()),
        }
    }

    /// Whether the engine's walk still descends into the excluded directory `rel` because an
    /// exception may re-include something under it. The engines test the exception's text, not
    /// its meaning: `!docs/keep.md` keeps `docs` open but `!*/keep.md` does not.
    pub(crate) fn may_reinclude_under(&self, rel: &str) -> bool {
        let mut exceptions = self.rules.iter().filter(|r| r.exception);
        match self.semantics.flavor() {
            Flavor::Storage => {
                // buildah compares without the trailing '/', so `!src/x` also keeps `s` open.
                let dir = rel.trim_matches('/');
                exceptions.any(|r| format!("{}/", r.text.trim_matches('/')).starts_with(dir))
            }
            _ => exceptions.any(|r| format!("{}/", r.text).starts_with(&format!("{rel}/"))),
        }
    }

    /// go-archive's walk: patternmatcher's `MatchesUsingParentResults` with the parent
    /// directory's per-rule results. The walk never evaluates ".", so the top level gets none and,
    /// having no parent directories, needs no parent check; deeper paths only reuse the results.
    fn patternmatcher_step(&self, path: &str, parent: &[bool]) -> (bool, Vec<bool>) {
        let mut matched = false;
        let mut info = vec![false; self.rules.len()];
        for (i, rule) in self.rules.iter().enumerate() {
            let mut m = parent.get(i).copied().unwrap_or(false);
            if !m {
                // patternmatcher skips a rule that cannot change the outcome, and then records
                // it as not matched for the children: that is observable (parent_results_order).
                if rule.exception != matched {
                    continue;
                }
                m = rule.matches(path);
            }
            info[i] = m;
            if m {
                matched = !rule.exception;
            }
        }
        (matched, info)
    }

    /// fileutils 20.10's `Matches`: the path itself, or only the parent prefix with as many
    /// components as the pattern (so `a/**/b` misses `a/x/y/b/f`: doublestar_descend).
    fn excluded_fileutils20(&self, rel: &str) -> bool {
        let parent_dirs: Vec<&str> = match rel.rfind('/') {
            Some(i) => rel[..i].split('/').collect(),
            None => Vec::new(),
        };
        last_match(self.rules.iter().map(|r| {
            let prefix_matches =
                || r.dirs <= parent_dirs.len() && r.matches(&parent_dirs[..r.dirs].join("/"));
            (r, r.matches(rel) || prefix_matches())
        }))
    }
}

/// The result of evaluating every rule in order: the last match decides.
fn last_match<'a>(results: impl Iterator<Item = (&'a Rule, bool)>) -> bool {
    results.fold(false, |excluded, (rule, m)| if m { !rule.exception } else { excluded })
}

/// moby's `ignorefile.ReadAll`: BOM and `\r` dropped, `#` lines skipped before trimming, each
/// pattern (after a `!`) trimmed and cleaned, a leading `/` removed.
fn moby_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        if p.is_empty() && !invert {
            continue;
        }
        let mut p = if p.is_empty() { String::new() } else { go_clean(p) };
        if p.len() > 1 && p.starts_with('/') {
            p.remove(0);
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

/// imagebuilder's `ParseIgnore`: empty and `#` lines skipped, `/` trimmed from both ends of the
/// raw line and nothing else, so "  /x" keeps its slash (and never matches: whitespace case).
fn imagebuilder_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_matches('/'))
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

impl Rule {
    /// The matcher constructor (`patternmatcher.New` / `NewPatternMatcher`) for one line.
    fn new(line: &str, flavor: Flavor) -> Option<Rule> {
        let p = line.trim();
        if p.is_empty() {
            return None;
        }
        let p = go_clean(p);
        let (exception, text) = match p.strip_prefix('!') {
            Some("") => return None,
            // storage re-cleans the exception and drops its leading '/'; moby's ReadAll did that.
            Some(rest) if flavor == Flavor::Storage => {
                let cleaned = go_clean(rest);
                (true, cleaned.strip_prefix('/').map(String::from).unwrap_or(cleaned))
            }
            Some(rest) => (true, rest.to_string()),
            None => (false, p),
        };
        let matcher = match flavor {
            Flavor::Patternmatcher => compile_patternmatcher(&text),
            Flavor::Fileutils20 => compile_fileutils(&text, "$"),
            Flavor::Storage => compile_fileutils(&text, "(/.*)?$"),
        };
        Some(Rule { exception, dirs: text.split('/').count(), text, matcher })
    }

    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => path.ends_with(s.as_str()) || s.strip_prefix('/') == Some(path),
            Matcher::Regex(re) => re.is_match(path),
            Matcher::Unsure => self.exception,
        }
    }
}

/// moby/patternmatcher 0.6's `compile`: exact, prefix (`a/**`), suffix (`**/a`) or regexp.
/// `.+()|{}$` are escaped; `[` `]` and `^` pass into the regexp as they are.
fn compile_patternmatcher(p: &str) -> Matcher {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = scanned(p).collect();
    let (mut re, mut kind, mut i) = (String::from("^"), Kind::Exact, 0);
    while i < chars.len() {
        let first = i == 0;
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1 + usize::from(chars.get(i + 1) == Some(&'/'));
                if i < chars.len() {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                } else if kind == Kind::Exact {
                    kind = Kind::Prefix;
                } else {
                    re.push_str(".*");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' | '?' => {
                re.push_str(if ch == '*' { "[^/]*" } else { "[^/]" });
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' if i < chars.len() => {
                re.push('\\');
                re.push(chars[i]);
                i += 1;
                kind = Kind::Regex;
            }
            '[' | ']' => {
                re.push(ch);
                kind = Kind::Regex;
            }
            _ => re.push(ch),
        }
    }
    match kind {
        Kind::Exact => Matcher::Exact(p.to_string()),
        Kind::Prefix => Matcher::Prefix(p[..p.len() - 2].to_string()),
        // Go slices off two bytes; after a BOM that cuts a character and can never match.
        Kind::Suffix => p.get(2..).map_or(Matcher::Unsure, |s| Matcher::Suffix(s.to_string())),
        Kind::Regex => regex_matcher(&(re + "$")),
    }
}

/// The older translation shared by docker/docker 20.10 (`end` = "$") and containers/storage 1.43
/// (`end` = "(/.*)?$", which is how storage matches everything under a matched directory).
/// Only `.` and `$` are escaped, so `+ ( ) | { }` keep their regexp meaning here.
fn compile_fileutils(p: &str, end: &str) -> Matcher {
    let storage = end != "$";
    let mut chars = scanned(p).peekable();
    let mut re = String::from("^");
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                chars.next_if_eq(&'/');
                re.push_str(if chars.peek().is_none() { ".*" } else { "(.*/)?" });
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '.' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.next() {
                Some(next) => {
                    re.push('\\');
                    re.push(next);
                }
                // storage rejects a trailing backslash (the build fails); 20.10 keeps it, so
                // it escapes the '$' that follows.
                None if storage => return Matcher::Unsure,
                None => re.push('\\'),
            },
            _ => re.push(ch),
        }
    }
    regex_matcher(&(re + end))
}

/// The characters Go's `text/scanner` hands the translators: a leading BOM is skipped, which is
/// why podman, which keeps a BOM on the first line, still matches it (bom_crlf).
fn scanned(p: &str) -> std::str::Chars<'_> {
    p.strip_prefix('\u{feff}').unwrap_or(p).chars()
}

fn regex_matcher(re: &str) -> Matcher {
    goregex::Regex::parse(re).map_or(Matcher::Unsure, Matcher::Regex)
}

/// Go's `filepath.Clean` on a Unix path.
fn go_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(seg),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// One entry the engine would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextEntry {
    /// Context-relative, '/'-separated.
    pub(crate) path: String,
    pub(crate) kind: EntryKind,
    /// Permission bits including exec, setuid/setgid and sticky (`st_mode & 0o7777`).
    pub(crate) mode: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A named pipe: the legacy builders' tar and podman's copier send it as a pipe (recorded).
    Fifo,
    /// A socket under BuildKit: fsutil sends it and the image gets an empty file with the
    /// socket's mode (recorded); the other builders leave sockets out.
    EmptyFile,
}

/// The mode the tar extraction (moby) and buildah's copier give a parent directory that was not sent.
const IMPLIED_DIR_MODE: u32 = 0o755;

/// Which ignore file applies: the first of `candidates` (names relative to `context`, or
/// absolute paths) that exists, e.g. [`Semantics::ignore_candidates`].
pub(crate) fn ignore_file(context: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(|c| context.join(c)).find(|p| p.exists())
}

/// Every file, directory and symlink under `context` the engine would send, sorted by path, not
/// following symlinks, skipping what `patterns` exclude and descending into an excluded directory
/// only when an exception may re-include something under it. Such a directory is listed as the
/// engine has it: under BuildKit always, as it is; otherwise only when something under it is
/// listed, with the mode 0755 the engine gives a parent it has to create (reinclude_dir_mode).
///
/// Sockets and fifos are listed as each engine sends them (`special_entry`). I/O errors are
/// returned, not skipped, and so are names the digest could not handle: a non-UTF-8 name, and a
/// device that is not excluded.
pub(crate) fn walk(context: &Path, patterns: &Patterns) -> io::Result<Vec<ContextEntry>> {
    let mut out = Vec::new();
    visit(context, "", &[], patterns, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// `parent` is what `Patterns::evaluate` returned for `dir` (see there).
fn visit(
    dir: &Path,
    prefix: &str,
    parent: &[bool],
    patterns: &Patterns,
    out: &mut Vec<ContextEntry>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let rel = relative_name(prefix, &entry)?;
        let is_dir = entry.file_type()?.is_dir();
        let (excluded, info) = patterns.evaluate(&rel, parent);
        if !excluded {
            let Some(e) = context_entry(&entry.path(), rel.clone(), patterns.semantics)? else {
                continue;
            };
            out.push(e);
            if is_dir {
                visit(&entry.path(), &rel, &info, patterns, out)?;
            }
        } else if is_dir && patterns.may_reinclude_under(&rel) {
            let mut under = Vec::new();
            visit(&entry.path(), &rel, &info, patterns, &mut under)?;
            if patterns.semantics.sends_descended_dirs() {
                out.push(ContextEntry {
                    path: rel,
                    kind: EntryKind::Dir,
                    mode: mode_bits(&fs::symlink_metadata(entry.path())?),
                });
            } else if !under.is_empty() {
                out.push(ContextEntry { path: rel, kind: EntryKind::Dir, mode: IMPLIED_DIR_MODE });
            }
            out.append(&mut under);
        }
    }
    Ok(())
}

fn relative_name(prefix: &str, entry: &fs::DirEntry) -> io::Result<String> {
    let name = entry.file_name().into_string().map_err(|_| {
        let msg = format!("{}: the name is not UTF-8", entry.path().display());
        io::Error::new(io::ErrorKind::InvalidData, msg)
    })?;
    Ok(if prefix.is_empty() { name } else { format!("{prefix}/{name}") })
}

/// The entry as `semantics`' engine sends it, or None when it leaves it out.
fn context_entry(path: &Path, rel: String, semantics: Semantics) -> io::Result<Option<ContextEntry>> {
    let meta = fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    let kind = if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else {
        match special_entry(&ft, semantics) {
            Some(Some(kind)) => kind,
            Some(None) => return Ok(None),
            None => {
                let msg = format!(
                    "{}: a device file, not a file, directory, symlink, socket or fifo; exclude it in .dockerignore",
                    path.display()
                );
                return Err(io::Error::new(io::ErrorKind::Unsupported, msg));
            }
        }
    };
    Ok(Some(ContextEntry { path: rel, kind, mode: mode_bits(&meta) }))
}

/// A socket or a fifo, as real builds of a context holding both showed (`COPY . /ctx/`, then
/// `ls -la /ctx`): docker's legacy builder (20.10 and 28 clients) logs "sockets not supported",
/// leaves the socket out and sends the fifo; BuildKit (docker 20.10 with DOCKER_BUILDKIT=1)
/// leaves the fifo out and makes the socket an empty file with its mode; podman 4.3 leaves the
/// socket out and sends the fifo. `Some(None)`: left out; None: not a socket or fifo.
#[cfg(unix)]
fn special_entry(ft: &fs::FileType, semantics: Semantics) -> Option<Option<EntryKind>> {
    use std::os::unix::fs::FileTypeExt;
    let buildkit = semantics == Semantics::Docker20BuildKit;
    if ft.is_socket() {
        Some(buildkit.then_some(EntryKind::EmptyFile))
    } else if ft.is_fifo() {
        Some((!buildkit).then_some(EntryKind::Fifo))
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special_entry(_: &fs::FileType, _: Semantics) -> Option<Option<EntryKind>> {
    None
}

#[cfg(unix)]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() { 0o555 } else { 0o755 }
}

/// The part of Go's RE2 syntax (with `regexp.Compile`'s Perl flags) that the translated patterns
/// can contain: literals, escapes, `.`, `^`, `$`, classes (ranges, negation, `[:name:]`, `\d \s
/// \w`), groups, `|` and greedy or lazy repetition. Anything else, valid or not in Go, is `None`.
mod goregex {
    #[derive(Debug, Clone)]
    pub(crate) struct Regex(Node);

    #[derive(Debug, Clone)]
    enum Node {
        Lit(char),
        Set(Set),
        Begin,
        End,
        Alt(Vec<Vec<Node>>),
        Repeat(Box<Node>, u32, Option<u32>),
    }

    #[derive(Debug, Clone)]
    struct Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    }

    impl Set {
        fn contains(&self, c: char) -> bool {
            self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
        }
    }

    impl Regex {
        pub(crate) fn parse(src: &str) -> Option<Regex> {
            let mut p = Parser { s: src.chars().collect(), i: 0 };
            let node = p.alternation()?;
            // A ')' without its '(' stops the alternation before the end.
            (p.i == p.s.len()).then_some(Regex(node))
        }

        /// Go's `MatchString`: a match anywhere, `^` and `$` anchoring to the text's ends.
        pub(crate) fn is_match(&self, text: &str) -> bool {
            let t: Vec<char> = text.chars().collect();
            // Most translations are one branch starting with `^`: only the start can match.
            let anchored = match &self.0 {
                Node::Alt(alts) => alts.len() == 1 && matches!(alts[0].first(), Some(Node::Begin)),
                _ => false,
            };
            let last = if anchored { 0 } else { t.len() };
            (0..=last).any(|start| match_node(&self.0, &t, start, &|_| true))
        }
    }

    fn match_seq(seq: &[Node], t: &[char], i: usize, k: &dyn Fn(usize) -> bool) -> bool {
        match seq.split_first() {
            None => k(i),
            Some((n, rest)) => match_node(n, t, i, &|j| match_seq(rest, t, j, k)),
        }
    }

    fn match_node(n: &Node, t: &[char], i: usize, k: &dyn Fn(usize) -> bool) -> bool {
        match n {
            Node::Lit(c) => t.get(i) == Some(c) && k(i + 1),
            Node::Set(s) => t.get(i).is_some_and(|&c| s.contains(c)) && k(i + 1),
            Node::Begin => i == 0 && k(i),
            Node::End => i == t.len() && k(i),
            Node::Alt(alts) => alts.iter().any(|seq| match_seq(seq, t, i, k)),
            Node::Repeat(inner, min, max) => match_repeat(inner, *min, *max, t, i, k),
        }
    }

    fn match_repeat(
        n: &Node,
        min: u32,
        max: Option<u32>,
        t: &[char],
        i: usize,
        k: &dyn Fn(usize) -> bool,
    ) -> bool {
        let less = max.map(|m| m.saturating_sub(1));
        if min > 0 {
            return match_node(n, t, i, &|j| match_repeat(n, min - 1, less, t, j, k));
        }
        if max == Some(0) {
            return k(i);
        }
        // `j > i`: an iteration that consumed nothing would loop forever.
        match_node(n, t, i, &|j| j > i && match_repeat(n, 0, less, t, j, k)) || k(i)
    }

    struct Parser {
        s: Vec<char>,
        i: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.s.get(self.i).copied()
        }

        fn at(&self, off: usize) -> Option<char> {
            self.s.get(self.i + off).copied()
        }

        fn eat(&mut self, c: char) -> bool {
            let hit = self.peek() == Some(c);
            self.i += usize::from(hit);
            hit
        }

        fn next(&mut self) -> Option<char> {
            let c = self.peek()?;
            self.i += 1;
            Some(c)
        }

        fn alternation(&mut self) -> Option<Node> {
            let mut alts = vec![self.concat()?];
            while self.eat('|') {
                alts.push(self.concat()?);
            }
            Some(Node::Alt(alts))
        }

        fn concat(&mut self) -> Option<Vec<Node>> {
            let mut seq = Vec::new();
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    break;
                }
                let atom = self.atom()?;
                seq.push(self.quantified(atom)?);
            }
            Some(seq)
        }

        fn atom(&mut self) -> Option<Node> {
            let c = self.next()?;
            match c {
                '(' => {
                    if self.eat('?') && !self.eat(':') {
                        return None;
                    }
                    let inner = self.alternation()?;
                    self.eat(')').then_some(inner)
                }
                '[' => self.class(),
                '.' => Some(Node::Set(Set { negated: true, ranges: vec![('\n', '\n')] })),
                '^' => Some(Node::Begin),
                '$' => Some(Node::End),
                '\\' => match self.escape()? {
                    Esc::Char(c) => Some(Node::Lit(c)),
                    Esc::Set(s) => Some(Node::Set(s)),
                },
                '*' | '+' | '?' => None,
                '{' if self.repeat_count(self.i - 1).is_some() => None,
                c => Some(Node::Lit(c)),
            }
        }

        /// An optional repetition after `atom`; a second one is Go's "invalid nested repetition".
        fn quantified(&mut self, atom: Node) -> Option<Node> {
            let Some((min, max)) = self.quantifier() else { return Some(atom) };
            self.eat('?'); // lazy: the same yes/no answer
            if self.quantifier().is_some() {
                return None;
            }
            Some(Node::Repeat(Box::new(atom), min, max))
        }

        fn quantifier(&mut self) -> Option<(u32, Option<u32>)> {
            let q = match self.peek()? {
                '*' => (0, None),
                '+' => (1, None),
                '?' => (0, Some(1)),
                '{' => {
                    let (min, max, len) = self.repeat_count(self.i)?;
                    self.i += len - 1;
                    (min, max)
                }
                _ => return None,
            };
            self.i += 1;
            Some(q)
        }

        /// `{n}`, `{n,}` or `{n,m}` at `start`: (min, max, length). Anything else is a literal '{'.
        fn repeat_count(&self, start: usize) -> Option<(u32, Option<u32>, usize)> {
            let rest: String = self.s[start..].iter().collect();
            let body = &rest[1..rest.find('}')?];
            let (lo, hi) = match body.split_once(',') {
                Some((lo, "")) => (lo, None),
                Some((lo, hi)) => (lo, Some(hi)),
                None => (body, Some(body)),
            };
            let num =
                |s: &str| (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?;
            let min: u32 = num(lo)?;
            let max = match hi {
                Some(h) => Some(num(h)?),
                None => None,
            };
            let len = body.chars().count() + 2;
            // Go rejects these; an unsure pattern is the safe reading.
            (min <= 1000 && max.is_none_or(|m| m <= 1000 && m >= min)).then_some((min, max, len))
        }

        fn class(&mut self) -> Option<Node> {
            let negated = self.eat('^');
            let mut ranges = Vec::new();
            let mut first = true;
            loop {
                let c = self.peek()?;
                if c == ']' && !first {
                    self.i += 1;
                    return Some(Node::Set(Set { negated, ranges }));
                }
                first = false;
                if c == '['
                    && self.at(1) == Some(':')
                    && let Some(named) = self.named_class()
                {
                    ranges.extend(named?);
                    continue;
                }
                self.class_item(&mut ranges)?;
            }
        }

        /// `[:name:]`: None when there is no closing ":]" (then '[' is a literal), Some(None) for an
        /// unknown or negated name (an error in Go).
        fn named_class(&mut self) -> Option<Option<Vec<(char, char)>>> {
            let rest: String = self.s[self.i + 2..].iter().collect();
            let name = &rest[..rest.find(":]")?];
            self.i += name.chars().count() + 4;
            Some(posix_class(name))
        }

        fn class_item(&mut self, ranges: &mut Vec<(char, char)>) -> Option<()> {
            let lo = match self.class_char()? {
                Esc::Char(c) => c,
                Esc::Set(s) => {
                    ranges.extend(s.ranges);
                    return Some(());
                }
            };
            let hi = if self.peek() == Some('-') && self.at(1).is_some_and(|c| c != ']') {
                self.i += 1;
                match self.class_char()? {
                    Esc::Char(hi) if hi >= lo => hi,
                    _ => return None,
                }
            } else {
                lo
            };
            ranges.push((lo, hi));
            Some(())
        }

        fn class_char(&mut self) -> Option<Esc> {
            match self.next()? {
                // A negated Perl class inside a class would need a complement: unsure.
                '\\' => self.escape().filter(|e| !matches!(e, Esc::Set(s) if s.negated)),
                c => Some(Esc::Char(c)),
            }
        }

        fn escape(&mut self) -> Option<Esc> {
            let c = self.next()?;
            if c.is_ascii() && !c.is_ascii_alphanumeric() {
                return Some(Esc::Char(c));
            }
            let ch = |c| Some(Esc::Char(c));
            let set =
                |negated, ranges: &[(char, char)]| Some(Esc::Set(Set { negated, ranges: ranges.to_vec() }));
            match c {
                'a' => ch('\x07'),
                'f' => ch('\x0c'),
                't' => ch('\t'),
                'n' => ch('\n'),
                'r' => ch('\r'),
                'v' => ch('\x0b'),
                'd' | 'D' => set(c == 'D', DIGIT),
                's' | 'S' => set(c == 'S', PERL_SPACE),
                'w' | 'W' => set(c == 'W', WORD),
                _ => None,
            }
        }
    }

    enum Esc {
        Char(char),
        Set(Set),
    }

    const DIGIT: &[(char, char)] = &[('0', '9')];
    const PERL_SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];
    const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];

    fn posix_class(name: &str) -> Option<Vec<(char, char)>> {
        let r: &[(char, char)] = match name {
            "alnum" => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
            "alpha" => &[('A', 'Z'), ('a', 'z')],
            "ascii" => &[('\0', '\x7f')],
            "blank" => &[('\t', '\t'), (' ', ' ')],
            "cntrl" => &[('\0', '\x1f'), ('\x7f', '\x7f')],
            "digit" => DIGIT,
            "graph" => &[('!', '~')],
            "lower" => &[('a', 'z')],
            "print" => &[(' ', '~')],
            "punct" => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
            "space" => &[('\t', '\r'), (' ', ' ')],
            "upper" => &[('A', 'Z')],
            "word" => WORD,
            "xdigit" => &[('0', '9'), ('A', 'F'), ('a', 'f')],
            _ => return None,
        };
        Some(r.to_vec())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// The recorded engines (file `<engine>.txt` in each case) and the semantics that model them.
    const ENGINES: [(&str, Semantics); 4] = [
        ("docker-legacy", Semantics::DockerLegacy),
        ("docker20-legacy", Semantics::Docker20Legacy),
        ("docker-buildkit", Semantics::Docker20BuildKit),
        ("podman", Semantics::Podman),
    ];
    /// The ignore files a case may hold, copied into the context as record.sh does.
    const IGNORE_FILES: [&str; 4] =
        [".dockerignore", ".containerignore", "Dockerfile.dockerignore", "Dockerfile.containerignore"];

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dockerignore")
    }

    fn cases() -> Vec<PathBuf> {
        let mut cases: Vec<PathBuf> = fs::read_dir(fixtures())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("tree.txt").is_file())
            .collect();
        cases.sort();
        cases
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Parent directories one by one, so each gets 0755 whatever the umask (as under record.sh).
    fn mkdirs(root: &Path, rel: &Path) {
        let mut dir = root.to_path_buf();
        for part in rel.components() {
            dir.push(part);
            if !dir.exists() {
                fs::create_dir(&dir).unwrap();
                chmod(&dir, 0o755);
            }
        }
    }

    fn write_file(root: &Path, rel: &str, mode: u32) {
        mkdirs(root, Path::new(rel).parent().unwrap());
        fs::write(root.join(rel), format!("{rel}\n")).unwrap();
        chmod(&root.join(rel), mode);
    }

    /// The context record.sh builds: tree.txt's entries, the ignore files and a Dockerfile.
    fn build_case(case: &Path, ctx: &Path) {
        for line in fs::read_to_string(case.join("tree.txt")).unwrap().lines().filter(|l| !l.is_empty()) {
            if let Some(dir) = line.strip_prefix("d ") {
                mkdirs(ctx, Path::new(dir));
            } else if let Some(link) = line.strip_prefix("l ") {
                let (path, target) = link.split_once(" -> ").unwrap();
                mkdirs(ctx, Path::new(path).parent().unwrap());
                symlink(target, ctx.join(path)).unwrap();
            } else if let Some(rest) = line.strip_prefix("m ") {
                let (mode, path) = rest.split_once(' ').unwrap();
                chmod(&ctx.join(path), u32::from_str_radix(mode, 8).unwrap());
            } else if let Some(path) = line.strip_prefix("x ") {
                write_file(ctx, path, 0o755);
            } else {
                write_file(ctx, line, 0o644);
            }
        }
        for name in IGNORE_FILES.iter().filter(|n| case.join(n).exists()) {
            fs::copy(case.join(name), ctx.join(name)).unwrap();
            chmod(&ctx.join(name), 0o644);
        }
        fs::write(ctx.join("Dockerfile"), "FROM mcpctl-python:bookworm\nCOPY . /ctx/\n").unwrap();
        chmod(&ctx.join("Dockerfile"), 0o644);
    }

    /// A listing line as find printed it in the probe: "<kind> <mode> <path>[ -> <target>]".
    fn line(ctx: &Path, e: &ContextEntry) -> String {
        let (kind, target) = match e.kind {
            EntryKind::File => ('f', String::new()),
            EntryKind::Dir => ('d', String::new()),
            EntryKind::Symlink => {
                ('l', format!(" -> {}", fs::read_link(ctx.join(&e.path)).unwrap().display()))
            }
            EntryKind::Fifo => ('p', String::new()),
            EntryKind::EmptyFile => ('f', String::new()),
        };
        format!("{kind} {:o} {}{target}", e.mode, e.path)
    }

    fn by_path(mut lines: Vec<String>) -> Vec<String> {
        lines.sort_by(|a, b| a.splitn(3, ' ').nth(2).cmp(&b.splitn(3, ' ').nth(2)));
        lines
    }

    /// Compares files, symlinks and directories, with kind and mode, to what each engine's
    /// `COPY . /ctx/` produced. Directories compare exactly too: an excluded directory appears
    /// where the engine had it (see `walk`).
    #[test]
    fn walk_lists_what_each_engine_received() {
        let cases = cases();
        assert!(cases.len() >= 30, "fixtures/dockerignore has {} cases", cases.len());
        let mut failures = Vec::new();
        for case in &cases {
            let ctx = tempfile::tempdir().unwrap();
            build_case(case, ctx.path());
            for (engine, semantics) in ENGINES {
                let recorded = fs::read_to_string(case.join(format!("{engine}.txt"))).unwrap();
                let want = by_path(recorded.lines().map(String::from).collect());
                let patterns = Patterns::for_context(ctx.path(), "Dockerfile", semantics).unwrap();
                let got = by_path(
                    walk(ctx.path(), &patterns).unwrap().iter().map(|e| line(ctx.path(), e)).collect(),
                );
                if got != want {
                    let name = case.file_name().unwrap().to_string_lossy();
                    failures.push(format!("{name} / {engine}:\n  want {want:?}\n  got  {got:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    fn excluded(ignore: &str, semantics: Semantics) -> impl Fn(&str) -> bool {
        let p = Patterns::parse(ignore, semantics);
        move |rel| p.excluded(rel)
    }

    const ALL: [Semantics; 4] =
        [Semantics::DockerLegacy, Semantics::Docker20Legacy, Semantics::Docker20BuildKit, Semantics::Podman];

    #[test]
    fn go_clean_matches_filepath_clean() {
        for (input, want) in [
            ("a/../b", "b"),
            ("./x", "x"),
            ("x//y/", "x/y"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/..", "/"),
            ("/a/./b", "/a/b"),
            ("", "."),
            ("a/..", "."),
        ] {
            assert_eq!(go_clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn parsing_follows_read_all() {
        let p =
            Patterns::parse("\u{feff}a\r\n# c\n  # d\n\n\t/b/ \n! ./c\n../e\n!\n", Semantics::DockerLegacy);
        let rules: Vec<(bool, &str)> = p.rules.iter().map(|r| (r.exception, r.text.as_str())).collect();
        assert_eq!(rules, [(false, "a"), (false, "# d"), (false, "b"), (true, "c"), (false, "../e")]);
    }

    #[test]
    fn podman_parses_only_slashes_off_the_raw_line() {
        let p = Patterns::parse("/a/\n  /b\n!  c\n!/d\n\u{feff}e\n", Semantics::Podman);
        let rules: Vec<(bool, &str)> = p.rules.iter().map(|r| (r.exception, r.text.as_str())).collect();
        assert_eq!(rules, [(false, "a"), (false, "/b"), (true, "  c"), (true, "d"), (false, "\u{feff}e")]);
        assert!(!p.excluded("b"), "a leading slash kept by podman never matches");
        assert!(p.excluded("e"), "the regexp translation skips a leading BOM");
    }

    #[test]
    fn a_path_under_a_matching_directory_is_excluded_everywhere() {
        for s in ALL {
            let ex = excluded("docs\n*.tmp\n", s);
            assert!(ex("docs") && ex("docs/a/b.md") && ex("x.tmp/inner"), "{s:?}");
            assert!(!ex("docsx") && !ex("sub/docs") && !ex("sub/x.tmp"), "{s:?}");
        }
    }

    #[test]
    fn last_match_wins_and_exceptions_reinclude() {
        for s in ALL {
            let ex = excluded("*.txt\n!keep*.txt\nkeep-not.txt\n", s);
            assert!(ex("a.txt") && !ex("keep1.txt") && ex("keep-not.txt") && !ex("sub/a.txt"), "{s:?}");
            let ex = excluded("*\n!src\n", s);
            assert!(ex("README.md") && !ex("src") && !ex("src/pkg/a.py"), "{s:?}");
        }
    }

    #[test]
    fn patternmatcher_forgets_a_skipped_exception_for_the_children() {
        // `!d` is skipped for "d" (nothing to undo yet), so "d/f", matched by `d/f`, stays out.
        assert!(excluded("d/f\n!d\n", Semantics::DockerLegacy)("d/f"));
        for s in [Semantics::Docker20Legacy, Semantics::Docker20BuildKit, Semantics::Podman] {
            assert!(!excluded("d/f\n!d\n", s)("d/f"), "{s:?}");
        }
    }

    #[test]
    fn doublestar_forms() {
        for s in ALL {
            let ex = excluded("**/*.pyc\na/**/b\ncache/**\n", s);
            assert!(ex("x.pyc") && ex("p/q/x.pyc") && ex("a/b") && ex("a/x/y/b"), "{s:?}");
            assert!(!ex("x/a/b") && !ex("cache") && ex("cache/a/b"), "{s:?}");
        }
        // Only patternmatcher treats a leading "**" with no slash as a plain suffix.
        assert!(excluded("**.txt\n", Semantics::DockerLegacy)("sub/b.txt"));
        assert!(!excluded("**.txt\n", Semantics::Podman)("sub/b.txt"));
        // fileutils 20.10 checks one parent prefix only, as long as the pattern.
        assert!(!excluded("a/**/b\n", Semantics::Docker20Legacy)("a/x/y/b/f"));
        assert!(excluded("a/**/b\n", Semantics::DockerLegacy)("a/x/y/b/f"));
        assert!(excluded("a/**/b\n", Semantics::Podman)("a/x/y/b/f"));
        assert!(excluded("**/foo\n", Semantics::DockerLegacy)("foo"));
    }

    #[test]
    fn wildcards_classes_and_escapes() {
        for s in ALL {
            let ex = excluded("file?.log\ndata[a-c].csv\nd[^x]b\nlit\\[1\\].txt\n*.py[cod]\n*$py.class\n", s);
            assert!(ex("file1.log") && !ex("file22.log") && !ex("file/.log"), "{s:?}");
            assert!(ex("datab.csv") && !ex("datad.csv"), "{s:?}");
            // A regexp class, unlike '?', also matches '/'.
            assert!(ex("d/b") && ex("dyb") && !ex("dxb"), "{s:?}");
            assert!(ex("lit[1].txt") && !ex("lit1.txt"), "{s:?}");
            assert!(ex("m.pyc") && ex("m.pyo") && !ex("m.py"), "{s:?}");
            assert!(ex("m$py.class") && !ex("mpy.class"), "{s:?}");
        }
    }

    #[test]
    fn regexp_metacharacters_only_patternmatcher_escapes() {
        assert!(excluded("a+b\n", Semantics::DockerLegacy)("a+b"));
        assert!(!excluded("a+b\n", Semantics::DockerLegacy)("aab"));
        assert!(excluded("a+b\n", Semantics::Docker20Legacy)("aab"));
        // "^a|b(/.*)?$" in podman: anything starting with "a" or ending in "b".
        let ex = excluded("a|b\n", Semantics::Podman);
        assert!(ex("axe") && ex("xb") && ex("xb/y") && !ex("x"));
        assert!(excluded("f(1)\n", Semantics::Podman)("f1"));
        assert!(excluded("f(1)\n", Semantics::DockerLegacy)("f(1)"));
        assert!(excluded("x{2}\n", Semantics::Docker20BuildKit)("xx"));
        assert!(excluded("*.{pyc,pyo}\n", Semantics::Docker20BuildKit)("a.{pyc,pyo}"));
    }

    #[test]
    fn an_unsure_pattern_errs_towards_sending() {
        // `\b` is a Go regexp assertion not modelled here.
        for s in ALL {
            assert!(!excluded("x\\b\n", s)("x"), "{s:?}");
            assert!(!excluded("*\n!x\\b\n", s)("anything"), "{s:?}");
        }
    }

    #[test]
    fn a_bom_inside_the_file_does_not_panic() {
        // patternmatcher's suffix check then cuts the BOM in two and matches nothing; the older
        // translators skip the BOM and match everything.
        let ignore = "a\n\u{feff}**\n";
        assert!(!excluded(ignore, Semantics::DockerLegacy)("b"));
        assert!(excluded(ignore, Semantics::Docker20Legacy)("b"));
        assert!(excluded(ignore, Semantics::Podman)("b"));
    }

    #[test]
    fn descending_depends_on_the_exception_text() {
        let p = Patterns::parse("docs\n!docs/keep.md\n", Semantics::DockerLegacy);
        assert!(p.may_reinclude_under("docs") && !p.may_reinclude_under("do"));
        let p = Patterns::parse("docs\n!docs/keep.md\n", Semantics::Podman);
        assert!(p.may_reinclude_under("docs") && p.may_reinclude_under("do"));
        for s in ALL {
            let p = Patterns::parse("docs\n!*/keep.md\n", s);
            assert!(!p.may_reinclude_under("docs") && !p.excluded("docs/keep.md"), "{s:?}");
            assert!(!Patterns::parse("docs\n", s).may_reinclude_under("docs"), "{s:?}");
        }
    }

    #[test]
    fn ignore_file_takes_the_first_existing_candidate() {
        let ctx = tempfile::tempdir().unwrap();
        let names = Semantics::Podman.ignore_candidates("Dockerfile");
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(ignore_file(ctx.path(), &names), None);
        fs::write(ctx.path().join(".dockerignore"), "").unwrap();
        fs::write(ctx.path().join(".containerignore"), "").unwrap();
        assert_eq!(ignore_file(ctx.path(), &names), Some(ctx.path().join(".containerignore")));
        assert_eq!(ignore_file(ctx.path(), &[".dockerignore"]), Some(ctx.path().join(".dockerignore")));
    }

    #[test]
    fn walk_returns_errors_for_what_it_cannot_list() {
        let ctx = tempfile::tempdir().unwrap();
        assert!(walk(&ctx.path().join("missing"), &Patterns::parse("", Semantics::Podman)).is_err());
        let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad\xff");
        fs::write(ctx.path().join(name), "").unwrap();
        let err = walk(ctx.path(), &Patterns::parse("", Semantics::DockerLegacy)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// A bound unix socket and a fifo in the context: each engine's listing, as its real build
    /// showed (see `special_entry`); none of them is an error.
    #[test]
    fn sockets_and_fifos_are_listed_as_each_engine_sends_them() {
        let ctx = tempfile::tempdir().unwrap();
        let sock = ctx.path().join("run/dev.sock");
        fs::create_dir(ctx.path().join("run")).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        chmod(&sock, 0o750);
        let fifo = ctx.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        chmod(&fifo, 0o640);
        let listing = |s| {
            let lines: Vec<String> = walk(ctx.path(), &Patterns::parse("", s))
                .unwrap()
                .iter()
                .map(|e| line(ctx.path(), e))
                .collect();
            lines
        };
        for s in [Semantics::DockerLegacy, Semantics::Docker20Legacy, Semantics::Podman] {
            assert_eq!(listing(s), ["p 640 pipe", "d 755 run"], "{s:?}");
        }
        assert_eq!(listing(Semantics::Docker20BuildKit), ["d 755 run", "f 750 run/dev.sock"]);
        // Excluded, they are not looked at.
        assert!(
            walk(ctx.path(), &Patterns::parse("run\npipe\n", Semantics::Docker20BuildKit))
                .unwrap()
                .is_empty()
        );
    }
}
