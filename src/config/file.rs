//! The project's files as mcpctl reads them: `[project].name` and `[tool.mcpctl]` from
//! pyproject.toml, or a mcpctl.toml beside it (one or the other), and what is wrong with them in
//! one line: the file, the line, the key, and what it takes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Explained;

/// `[tool.mcpctl]` in pyproject.toml, or the top level of mcpctl.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub(crate) name: Option<String>,
    pub(crate) package: Option<String>,
    pub(crate) container: Option<String>,
    pub(crate) image: Option<String>,
    #[serde(alias = "base_port")]
    pub(crate) base_port: Option<i64>,
    #[serde(alias = "container_port")]
    pub(crate) container_port: Option<i64>,
    #[serde(alias = "publish_address")]
    pub(crate) publish_address: Option<String>,
    /// Volume suffix → path in the container; the volume is named `<container>_<suffix>`.
    pub(crate) volumes: Option<BTreeMap<String, String>>,
    pub(crate) env: Option<BTreeMap<String, toml::Value>>,
    #[serde(alias = "env_file")]
    pub(crate) env_file: Option<PathBuf>,
    pub(crate) restart: Option<String>,
    pub(crate) dockerfile: Option<PathBuf>,
    pub(crate) context: Option<PathBuf>,
    #[serde(alias = "build_args")]
    pub(crate) build_args: Option<BTreeMap<String, toml::Value>>,
    /// Build secret id → file (relative to the project), passed as `--secret id=ID,src=FILE`.
    #[serde(alias = "build_secrets")]
    pub(crate) build_secrets: Option<BTreeMap<String, PathBuf>>,
    /// Debian packages the runtime image installs (`init` writes them into the Dockerfile).
    #[serde(alias = "apt_packages")]
    pub(crate) apt_packages: Option<Vec<String>>,
    #[serde(alias = "ready_timeout")]
    pub(crate) ready_timeout: Option<f64>,
    #[serde(alias = "stop_timeout")]
    pub(crate) stop_timeout: Option<i64>,
    /// Stop timeout for the old container during update/rollback: short, clients are waiting.
    #[serde(alias = "swap_stop_timeout")]
    pub(crate) swap_stop_timeout: Option<i64>,
    /// Run with an init as PID 1 (`--init`) so SIGTERM is handled and stops are fast.
    pub(crate) init: Option<bool>,
    pub(crate) transport: Option<String>,
    #[serde(alias = "mcp_path")]
    pub(crate) mcp_path: Option<String>,
    pub(crate) engine: Option<String>,
    /// Registry repository for `mcpctl publish` (e.g. ghcr.io/org/server).
    pub(crate) registry: Option<String>,
    /// Platform for `mcpctl publish` builds (default linux/amd64).
    pub(crate) platform: Option<String>,
    /// Environment variable holding the client's bearer token, for `mcpctl client`.
    #[serde(alias = "token_env")]
    pub(crate) token_env: Option<String>,
    /// A file holding the bearer token the front asks for (instead of token-env).
    #[serde(alias = "token_file")]
    pub(crate) token_file: Option<PathBuf>,
    /// How many containers serve behind the front (more than one turns the front on).
    pub(crate) replicas: Option<i64>,
    /// Serve through the front (see the README).
    pub(crate) front: Option<bool>,
    #[serde(alias = "front_group")]
    pub(crate) front_group: Option<String>,
    #[serde(alias = "front_image")]
    pub(crate) front_image: Option<String>,
    /// A shared front's host port.
    #[serde(alias = "front_port")]
    pub(crate) front_port: Option<i64>,
    /// "off" or "self-signed"; or give tls-cert and tls-key.
    pub(crate) tls: Option<String>,
    #[serde(alias = "tls_cert")]
    pub(crate) tls_cert: Option<PathBuf>,
    #[serde(alias = "tls_key")]
    pub(crate) tls_key: Option<PathBuf>,
    #[serde(alias = "drain_timeout")]
    pub(crate) drain_timeout: Option<f64>,
    /// ssh://user@host[:port]: the machine whose engine runs the server.
    pub(crate) host: Option<String>,
    #[serde(alias = "ssh_config")]
    pub(crate) ssh_config: Option<PathBuf>,
    /// A published image to run instead of building.
    #[serde(alias = "run_image")]
    pub(crate) run_image: Option<String>,
    /// "engine" or "swarm".
    pub(crate) target: Option<String>,
    /// A swarm service's placement constraints.
    pub(crate) placement: Option<Vec<String>>,
    /// OAuth at the front (config/oauth.rs): the authorization server, the resource, the
    /// scopes and algorithms, and whether the token goes on to the server.
    #[serde(alias = "oauth_issuer")]
    pub(crate) oauth_issuer: Option<String>,
    #[serde(alias = "oauth_resource")]
    pub(crate) oauth_resource: Option<String>,
    #[serde(alias = "oauth_scopes")]
    pub(crate) oauth_scopes: Option<String>,
    #[serde(alias = "oauth_algs")]
    pub(crate) oauth_algs: Option<String>,
    #[serde(alias = "oauth_pass_token")]
    pub(crate) oauth_pass_token: Option<bool>,
}

/// The project as found on disk: its pyproject name and its mcpctl config, if any.
#[derive(Debug, Default)]
pub struct ProjectFiles {
    pub(crate) project_name: Option<String>,
    pub(crate) config: FileConfig,
    pub(crate) config_file: Option<PathBuf>,
}

/// Read pyproject.toml and mcpctl.toml from `dir`. A missing file is fine; a broken one is not.
pub fn read_project(dir: &Path) -> anyhow::Result<ProjectFiles> {
    let mut out = ProjectFiles::default();
    let pyproject = dir.join("pyproject.toml");
    let mut in_pyproject = false;
    if let Some(text) = read_optional(&pyproject)? {
        let doc: PyProject = toml::from_str(&text).map_err(|e| toml_error(&pyproject, &text, e))?;
        out.project_name = doc.project.and_then(|p| p.name);
        if let Some(cfg) = doc.tool.and_then(|t| t.mcpctl) {
            out.config = cfg;
            out.config_file = Some(pyproject.clone());
            in_pyproject = true;
        }
    }
    let mcpctl_toml = dir.join("mcpctl.toml");
    if let Some(text) = read_optional(&mcpctl_toml)? {
        if in_pyproject {
            return Err(Explained::usage(format!(
                "settings in both {} and [tool.mcpctl] of {}",
                mcpctl_toml.display(),
                pyproject.display()
            ))
            .why("mcpctl reads one place")
            .fix("move them into one of the two")
            .into());
        }
        out.config = toml::from_str(&text).map_err(|e| toml_error(&mcpctl_toml, &text, e))?;
        out.config_file = Some(mcpctl_toml);
    }
    Ok(out)
}

/// The parts of pyproject.toml mcpctl reads; everything else in it is left alone.
#[derive(Deserialize)]
struct PyProject {
    project: Option<PyProjectTable>,
    tool: Option<PyTools>,
}

#[derive(Deserialize)]
struct PyProjectTable {
    name: Option<String>,
}

#[derive(Deserialize)]
struct PyTools {
    mcpctl: Option<FileConfig>,
}

fn read_optional(p: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(p) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Explained::usage(format!("cannot read {}", p.display()))
            .why(e.to_string())
            .fix("check its permissions")
            .into()),
    }
}

fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> anyhow::Error {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .map(|l| format!(" at line {l}"))
        .unwrap_or_default();
    let msg = e.message().trim().replace('\n', " ");
    if let Some(m) = type_mismatch(text, e.span(), &msg) {
        return Explained::usage(format!("{}{line}", path.display())).why(m).fix("fix the value").into();
    }
    if msg.starts_with("unknown field") {
        return Explained::usage(format!("{}{line}", path.display()))
            .why(tidy_serde_message(&msg))
            .fix("see the README's settings table for the keys mcpctl knows")
            .into();
    }
    Explained::usage(format!("{} is not valid TOML{line}", path.display()))
        .why(msg)
        .fix("fix the file and try again")
        .into()
}

/// serde's "invalid type: string \"x\", expected i64" on valid TOML: name the key and the type it
/// takes, in TOML's words rather than Rust's (the why of the error).
fn type_mismatch(text: &str, span: Option<std::ops::Range<usize>>, msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let wanted = match expected.trim() {
        "i64" | "i32" | "u16" | "u32" | "u64" => "a whole number (e.g. 19000)",
        "f64" | "f32" => "a number of seconds (e.g. 60)",
        "a boolean" => "true or false",
        "a string" | "path string" => "a string in quotes",
        "a map" => "a table (e.g. { KEY = \"value\" })",
        other => other,
    };
    let key = span.and_then(|s| key_before(text, s.start)).unwrap_or_else(|| "this setting".into());
    Some(format!("{key} takes {wanted}, not {found}"))
}

/// The key of the `key = value` whose value starts at byte `at`.
fn key_before(text: &str, at: usize) -> Option<String> {
    let before = text.get(..at)?;
    let eq = before.rfind('=')?;
    let head = before[..eq].trim_end();
    let start = head.rfind(['{', ',', '\n']).map(|i| i + 1).unwrap_or(0);
    let key = head[start..].trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then(|| key.to_string())
}

/// "unknown field `x`, expected one of ..." → "unknown key `x`" (the list is long and in the README).
fn tidy_serde_message(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return format!("unknown key {key}");
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Volume, resolve};

    #[test]
    fn mcpctl_toml_is_read_and_both_places_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname='a'\n").unwrap();
        std::fs::write(
            d.path().join("mcpctl.toml"),
            "image = \"reg.local:5000/a/b:1\"\n[volumes]\ncache = \"/cache\"\n",
        )
        .unwrap();
        let f = read_project(d.path()).unwrap();
        let s = resolve(d.path(), &f, &Overrides::default()).unwrap();
        assert_eq!(s.image, "reg.local:5000/a/b:1");
        assert_eq!(s.volumes, vec![Volume { name: "a-mcp_cache".into(), path: "/cache".into() }]);
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname='a'\n[tool.mcpctl]\nname='b'\n")
            .unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("mcpctl reads one place"), "{e}");
    }

    #[test]
    fn unknown_key_names_the_key_and_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("pyproject.toml"),
            "[project]\nname='a'\n[tool.mcpctl]\nbase_prot = 1\n",
        )
        .unwrap();
        let e = read_project(d.path()).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        let e = e.to_string();
        assert!(e.contains("pyproject.toml at line 4: unknown key `base_prot`"), "{e}");
        std::fs::remove_file(d.path().join("pyproject.toml")).unwrap();
        std::fs::write(d.path().join("mcpctl.toml"), "\nimage = 'x'\nwat = 2\n").unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("mcpctl.toml at line 3: unknown key `wat`"), "{e}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_and_the_type() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            ("base-port = \"x\"", "line 4: base-port takes a whole number (e.g. 19000), not string \"x\""),
            ("ready-timeout = \"slow\"", "ready-timeout takes a number of seconds"),
            ("init = \"yes\"", "init takes true or false, not string \"yes\""),
            ("env = \"A=1\"", "env takes a table"),
            ("volumes = { data = 3 }", "data takes a string in quotes, not integer `3`"),
        ];
        for (line, want) in cases {
            let text = format!("[project]\nname='a'\n[tool.mcpctl]\n{line}\n");
            std::fs::write(d.path().join("pyproject.toml"), &text).unwrap();
            let e = read_project(d.path()).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2);
            let e = e.to_string();
            assert!(e.contains(want), "{line}: {e}");
            assert!(!e.contains("not valid TOML") && !e.contains("i64"), "{e}");
        }
    }

    #[test]
    fn bad_toml_is_one_line_with_the_line_number() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"a\n").unwrap();
        let e = read_project(d.path()).unwrap_err().to_string();
        assert!(e.contains("is not valid TOML at line 2"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
