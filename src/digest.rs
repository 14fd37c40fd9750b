//! What a build reads, hashed, so a build whose inputs did not change is skipped.
//!
//! The inputs are every entry of the build context the engine would send (its own ignore-file
//! rules, `dockerignore.rs`), the Dockerfile, the build arguments, a hash of each build secret's
//! content (never the content), the platform, and the ids the engine has now for the images the
//! Dockerfile starts from. Each input keeps its own hash, so a changed digest can say what changed.
//!
//! The digest is conservative: whatever could make the engine's cache miss is an input (file
//! modes, symlink targets, directories), and a Dockerfile that fetches at build time (`ADD
//! https://…`) or names a base image the engine does not have yet gets no digest at all, so it is
//! always built.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::dockerignore::{self, EntryKind, Semantics};

/// Every input of one build, by name ("file src/app.py", "build-arg PYTHON_IMAGE", ...), each
/// with its own hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Inputs(pub BTreeMap<String, String>);

/// What a build would read, as far as it can be known before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuildDigest {
    Known {
        digest: String,
        inputs: Inputs,
    },
    /// The build reads something no digest here can see: it always runs.
    Unknown(String),
}

impl BuildDigest {
    pub(crate) fn digest(&self) -> Option<&str> {
        match self {
            BuildDigest::Known { digest, .. } => Some(digest),
            BuildDigest::Unknown(_) => None,
        }
    }
}

/// What a build reads besides the context, decided by the settings and the engine.
pub(crate) struct Request<'a> {
    pub(crate) context: &'a Path,
    pub(crate) dockerfile: &'a Path,
    pub(crate) build_args: &'a BTreeMap<String, String>,
    pub(crate) secrets: &'a BTreeMap<String, PathBuf>,
    pub(crate) platform: Option<&'a str>,
    /// Labels the build sets (the project's), which make another image.
    pub(crate) labels: &'a [(String, String)],
    /// The ignore rules of every builder the engine may use: an entry any of them sends counts.
    pub(crate) semantics: &'a [Semantics],
}

/// The images the Dockerfile builds from, to be looked up on the engine (`Request::finish`).
pub(crate) fn base_images(
    dockerfile_text: &str,
    build_args: &BTreeMap<String, String>,
) -> crate::dockerfile::External {
    crate::dockerfile::external(dockerfile_text, build_args)
}

impl Request<'_> {
    /// Hash everything but the base images; `base_ids` are the engine's ids for the images
    /// `base_images` named, in the same order, or None when one is not there (it would be pulled).
    pub(crate) fn digest(
        &self,
        dockerfile_text: &str,
        base: &crate::dockerfile::External,
        base_ids: Option<&[String]>,
    ) -> anyhow::Result<BuildDigest> {
        if let Some(src) = &base.remote_source {
            return Ok(BuildDigest::Unknown(format!("the Dockerfile fetches {src} at build time")));
        }
        let Some(ids) = base_ids else {
            return Ok(BuildDigest::Unknown(format!(
                "a base image ({}) is not on the engine yet",
                base.images.join(", ")
            )));
        };
        let mut inputs = BTreeMap::new();
        inputs.insert("Dockerfile".to_string(), hash_bytes(dockerfile_text.as_bytes()));
        for (name, id) in base.images.iter().zip(ids) {
            inputs.insert(format!("base image {name}"), id.clone());
        }
        for (k, v) in self.build_args {
            inputs.insert(format!("build arg {k}"), hash_bytes(v.as_bytes()));
        }
        for (id, file) in self.secrets {
            let content = std::fs::read(file)
                .map_err(|e| anyhow::anyhow!("cannot read build secret {id} ({}): {e}", file.display()))?;
            inputs.insert(format!("build secret {id}"), hash_bytes(&content));
        }
        if let Some(p) = self.platform {
            inputs.insert("platform".into(), p.to_string());
        }
        for (k, v) in self.labels {
            inputs.insert(format!("label {k}"), v.clone());
        }
        self.hash_context(&mut inputs)?;
        let inputs = Inputs(inputs);
        Ok(BuildDigest::Known { digest: inputs.digest(), inputs })
    }

    fn hash_context(&self, inputs: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
        let unreadable = |e: std::io::Error| {
            anyhow::anyhow!("cannot read the build context {}: {e}", self.context.display())
        };
        let dockerfile = self.dockerfile.to_string_lossy();
        let mut entries: BTreeMap<String, dockerignore::ContextEntry> = BTreeMap::new();
        for sem in self.semantics {
            let patterns =
                dockerignore::Patterns::for_context(self.context, &dockerfile, *sem).map_err(unreadable)?;
            for e in dockerignore::walk(self.context, &patterns).map_err(unreadable)? {
                entries.entry(e.path.clone()).or_insert(e);
            }
        }
        for e in entries.into_values() {
            let full = self.context.join(&e.path);
            let (kind, hash) = match e.kind {
                EntryKind::File => ("file", hash_file(&full, e.mode)?),
                // What the image gets: an empty file of that mode (never read: it is a socket).
                EntryKind::EmptyFile => ("file", hash_content(e.mode, &[])),
                EntryKind::Dir => ("dir", format!("mode {:o}", e.mode)),
                EntryKind::Fifo => ("fifo", format!("mode {:o}", e.mode)),
                EntryKind::Symlink => {
                    let target = std::fs::read_link(&full)
                        .map_err(|err| anyhow::anyhow!("cannot read the link {}: {err}", full.display()))?;
                    ("link", format!("-> {}", target.display()))
                }
            };
            inputs.insert(format!("{kind} {}", e.path), hash);
        }
        Ok(())
    }
}

impl Inputs {
    /// One digest of all the inputs: `sha256:` and 64 hex digits.
    pub(crate) fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in &self.0 {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([b'\n']);
        }
        format!("sha256:{}", hex(&h.finalize()))
    }

    /// What differs from `before`, for people: "echo_server/server.py changed", "build arg X added".
    pub(crate) fn changes_since(&self, before: &Inputs) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            match before.0.get(k) {
                Some(old) if old == v => {}
                Some(_) => out.push(format!("{} changed", shown(k))),
                None => out.push(format!("{} added", shown(k))),
            }
        }
        for k in before.0.keys().filter(|k| !self.0.contains_key(*k)) {
            out.push(format!("{} removed", shown(k)));
        }
        out
    }
}

/// Context entries by their path alone; other inputs by their name.
fn shown(key: &str) -> &str {
    key.strip_prefix("file ")
        .or_else(|| key.strip_prefix("dir "))
        .or_else(|| key.strip_prefix("link "))
        .or_else(|| key.strip_prefix("fifo "))
        .unwrap_or(key)
}

fn hash_bytes(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

/// SHA-256 of `salt` then `b`, in hex: names a swarm secret after its content without letting a
/// short secret be guessed from the name (the salt stays in mcpctl's state file).
pub(crate) fn salted_hex(salt: &str, b: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(b);
    hex(&h.finalize())
}

/// A file's permission bits and content: both end up in the image.
fn hash_file(path: &Path, mode: u32) -> anyhow::Result<String> {
    let mut f =
        std::fs::File::open(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    h.update(format!("mode {mode:o}\n").as_bytes());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hash_content(mode: u32, content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("mode {mode:o}\n").as_bytes());
    h.update(content);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of how a container is run (its argv and environment), kept in the state file so
/// `update` can tell that a settings change still needs a new container. Only mcpctl's own
/// state file holds it: a hash of the environment stays off the engine's labels.
pub(crate) fn run_digest(argv: &[String], env: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    for a in argv {
        h.update(a.as_bytes());
        h.update([0]);
    }
    for (k, v) in env {
        h.update(format!("\n{k}=").as_bytes());
        h.update(v.as_bytes());
    }
    format!("sha256:{}", hex(&h.finalize()))
}

// ---- the record of what each image was built from -------------------------------------------------

/// Where the inputs of the build with `digest` are kept: one small file per digest.
pub(crate) fn record_path(cache_dir: &Path, digest: &str) -> PathBuf {
    cache_dir.join("builds").join(format!("{}.json", digest.trim_start_matches("sha256:")))
}

/// Keep the inputs of a build that succeeded, so the next digest can say what changed. Best
/// effort: without the record only the detail of the message is lost.
pub(crate) fn remember(cache_dir: &Path, digest: &str, inputs: &Inputs) {
    let path = record_path(cache_dir, digest);
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(text) = serde_json::to_string(inputs)
    {
        let _ = crate::state::write_atomic(&path, &text);
        prune(dir, KEEP_RECORDS);
    }
}

pub(crate) fn recall(cache_dir: &Path, digest: &str) -> Option<Inputs> {
    serde_json::from_str(&std::fs::read_to_string(record_path(cache_dir, digest)).ok()?).ok()
}

const KEEP_RECORDS: usize = 50;

/// Keep the newest `keep` records.
fn prune(dir: &Path, keep: usize) {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort();
    for (_, p) in &files[..files.len() - keep] {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    const DF: &str = "ARG PYTHON_IMAGE=python:3.12-slim\nFROM ${PYTHON_IMAGE}\nCOPY . /app\n";

    fn digest_of(dir: &Path, args: &BTreeMap<String, String>) -> BuildDigest {
        let secrets = BTreeMap::new();
        let req = Request {
            context: dir,
            dockerfile: &dir.join("Dockerfile"),
            build_args: args,
            secrets: &secrets,
            platform: None,
            labels: &[("io.mcpctl.project".into(), "p".into())],
            semantics: &[Semantics::DockerLegacy],
        };
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let base = base_images(&text, args);
        let ids: Vec<String> = base.images.iter().map(|i| format!("id-of-{i}")).collect();
        req.digest(&text, &base, Some(&ids)).unwrap()
    }

    fn inputs(d: &BuildDigest) -> &Inputs {
        match d {
            BuildDigest::Known { inputs, .. } => inputs,
            BuildDigest::Unknown(why) => panic!("no digest: {why}"),
        }
    }

    #[test]
    fn same_inputs_same_digest_and_each_change_is_named() {
        let d = project(&[
            ("Dockerfile", DF),
            ("app.py", "print(1)\n"),
            (".dockerignore", "notes.md\n"),
            ("notes.md", "a"),
        ]);
        let args = BTreeMap::new();
        let first = digest_of(d.path(), &args);
        assert_eq!(first, digest_of(d.path(), &args));
        assert!(first.digest().unwrap().starts_with("sha256:") && first.digest().unwrap().len() == 71);
        // An ignored file changes nothing.
        std::fs::write(d.path().join("notes.md"), "b").unwrap();
        assert_eq!(first.digest(), digest_of(d.path(), &args).digest());
        // A sent file, a build arg, the mode of a file: each changes it, and is named.
        std::fs::write(d.path().join("app.py"), "print(2)\n").unwrap();
        let second = digest_of(d.path(), &args);
        assert_ne!(first.digest(), second.digest());
        assert_eq!(inputs(&second).changes_since(inputs(&first)), ["app.py changed"]);
        let args2: BTreeMap<String, String> = [("PYTHON_IMAGE".to_string(), "local:py".to_string())].into();
        let third = digest_of(d.path(), &args2);
        assert_eq!(
            inputs(&third).changes_since(inputs(&second)),
            [
                "base image local:py added",
                "build arg PYTHON_IMAGE added",
                "base image python:3.12-slim removed"
            ]
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.path().join("app.py"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(inputs(&digest_of(d.path(), &args2)).changes_since(inputs(&third)), ["app.py changed"]);
    }

    #[test]
    fn a_remote_add_or_a_missing_base_image_means_always_build() {
        let d = project(&[("Dockerfile", "FROM scratch\nADD https://example.org/a /a\n")]);
        let text = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
        let secrets = BTreeMap::new();
        let args = BTreeMap::new();
        let req = Request {
            context: d.path(),
            dockerfile: &d.path().join("Dockerfile"),
            build_args: &args,
            secrets: &secrets,
            platform: None,
            labels: &[],
            semantics: &[Semantics::DockerLegacy],
        };
        let base = base_images(&text, &args);
        assert!(
            matches!(req.digest(&text, &base, Some(&[])).unwrap(), BuildDigest::Unknown(w) if w.contains("https://example.org/a"))
        );
        let base = base_images(DF, &args);
        assert!(
            matches!(req.digest(DF, &base, None).unwrap(), BuildDigest::Unknown(w) if w.contains("python:3.12-slim"))
        );
    }

    #[test]
    fn secrets_count_by_content_hash_only() {
        let d =
            project(&[("Dockerfile", DF), ("token.txt", "s3cr3t-token"), (".dockerignore", "token.txt\n")]);
        let args = BTreeMap::new();
        let secrets: BTreeMap<String, PathBuf> =
            [("pip_token".to_string(), d.path().join("token.txt"))].into();
        let text = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
        let base = base_images(&text, &args);
        let ids = vec!["x".to_string()];
        let dockerfile = d.path().join("Dockerfile");
        let req = |secrets| Request {
            context: d.path(),
            dockerfile: &dockerfile,
            build_args: &args,
            secrets,
            platform: Some("linux/amd64"),
            labels: &[],
            semantics: &[Semantics::DockerLegacy],
        };
        let a = req(&secrets).digest(&text, &base, Some(&ids)).unwrap();
        let record = serde_json::to_string(inputs(&a)).unwrap();
        assert!(!record.contains("s3cr3t"), "{record}");
        std::fs::write(d.path().join("token.txt"), "another").unwrap();
        let b = req(&secrets).digest(&text, &base, Some(&ids)).unwrap();
        assert_eq!(inputs(&b).changes_since(inputs(&a)), ["build secret pip_token changed"]);
    }

    /// A bound socket (a dev server's) and a fifo in the context: the digest is made, as the
    /// engines build such a context; under BuildKit the socket counts as the empty file it
    /// becomes, the same as a real empty file of that mode.
    #[test]
    fn a_socket_or_fifo_in_the_context_has_a_digest() {
        let d = project(&[("Dockerfile", DF), ("app.py", "print(1)\n")]);
        let args = BTreeMap::new();
        let before = digest_of(d.path(), &args);
        let _listener = std::os::unix::net::UnixListener::bind(d.path().join("dev.sock")).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(d.path().join("pipe")).status().unwrap().success());
        let after = digest_of(d.path(), &args);
        assert_eq!(inputs(&after).changes_since(inputs(&before)), ["pipe added"]);
        let text = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
        let base = base_images(&text, &args);
        let secrets = BTreeMap::new();
        let dockerfile = d.path().join("Dockerfile");
        let buildkit = |dir: &Path| {
            let req = Request {
                context: dir,
                dockerfile: &dockerfile,
                build_args: &args,
                secrets: &secrets,
                platform: None,
                labels: &[],
                semantics: &[Semantics::Docker20BuildKit],
            };
            req.digest(&text, &base, Some(&["x".to_string()])).unwrap()
        };
        let with_socket = buildkit(d.path());
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::symlink_metadata(d.path().join("dev.sock")).unwrap().permissions().mode() & 0o7777;
        std::fs::remove_file(d.path().join("dev.sock")).unwrap();
        std::fs::write(d.path().join("dev.sock"), "").unwrap();
        std::fs::set_permissions(d.path().join("dev.sock"), std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(with_socket, buildkit(d.path()));
    }

    #[test]
    fn records_are_kept_and_recalled() {
        let d = tempfile::tempdir().unwrap();
        let i = Inputs([("file a".to_string(), "1".to_string())].into());
        remember(d.path(), &i.digest(), &i);
        assert_eq!(recall(d.path(), &i.digest()), Some(i));
        assert_eq!(recall(d.path(), "sha256:none"), None);
    }
}
