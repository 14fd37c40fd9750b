//! Single values: port numbers, names the engines accept, image references, `KEY=VALUE` pairs.

use crate::config::PORT_TRIES;

/// Project name → PEP 503 normal form, used for the container and image names.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.trim().chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub(crate) fn package_name(name: &str) -> String {
    normalize_name(name).replace('-', "_")
}

pub(crate) fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!("port {p} is out of range: use 1-65535")),
        Err(_) => Err(format!("{s:?} is not a port number: use 1-65535")),
    }
}

/// A base port leaves room for the 100 ports tried after it.
pub(crate) fn parse_base_port(s: &str) -> Result<u16, String> {
    let max = 65535 - (PORT_TRIES as u32 - 1);
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=max).contains(&p) => Ok(p as u16),
        Ok(p) => Err(format!(
            "base port {p} is out of range: mcpctl tries {PORT_TRIES} ports from it, so use 1-{max}"
        )),
        Err(_) => Err(format!("base port {s:?} is not a number: use 1-{max}, e.g. 19000")),
    }
}

/// A Debian package name (Debian Policy 5.6.1: lowercase letters, digits, `+`, `-`, `.`, at least
/// two characters, starting with a letter or digit). Nothing else reaches the Dockerfile's
/// `apt-get install` line, so no name can add a shell word or a Dockerfile instruction.
pub(crate) fn valid_apt_package(s: &str) -> bool {
    let mut c = s.chars();
    s.len() >= 2
        && matches!(c.next(), Some(f) if f.is_ascii_lowercase() || f.is_ascii_digit())
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "+-.".contains(ch))
}

/// The message for a name that is not a Debian package name (`from` says where it was given).
pub(crate) fn apt_package_error(s: &str, from: &str) -> String {
    format!(
        "{from} '{}' is not a Debian package name: use lowercase letters, digits, '+', '-' and '.' \
         (at least two characters, starting with a letter or digit), one package each, e.g. git",
        s.escape_debug()
    )
}

/// `--apt-package PKG`.
pub(crate) fn parse_apt_package(s: &str) -> Result<String, String> {
    if valid_apt_package(s) { Ok(s.to_string()) } else { Err(apt_package_error(s, "package")) }
}

/// `KEY=VALUE`, or `KEY` alone (the value is then read from the environment when settings resolve).
pub(crate) fn parse_env_arg(s: &str) -> Result<(String, Option<String>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), Some(v.to_string()))),
        None if !s.is_empty() => Ok((s.to_string(), None)),
        _ => Err(format!("{s:?} is not KEY=VALUE or KEY")),
    }
}

pub(crate) fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// Names the engines accept for containers and volumes: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(crate) fn valid_object_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// An image reference: lowercase path components, optional registry host:port and tag.
pub(crate) fn valid_image_ref(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let (path, tag) = match s.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (s, None),
    };
    if let Some(t) = tag {
        let mut tc = t.chars();
        let first_ok = matches!(tc.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_');
        if !first_ok || t.len() > 128 || !tc.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return false;
        }
    }
    let parts: Vec<&str> = path.split('/').collect();
    parts.iter().enumerate().all(|(i, p)| {
        let registry = i == 0 && parts.len() > 1 && (p.contains('.') || p.contains(':') || *p == "localhost");
        if registry {
            return p.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
        }
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric())
    })
}

pub(crate) fn valid_restart(s: &str) -> bool {
    match s.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        None => matches!(s, "no" | "always" | "unless-stopped" | "on-failure"),
        _ => false,
    }
}

pub(crate) fn value_to_string(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_package_names() {
        for ok in ["git", "libmagic1", "g++", "poppler-utils", "libstdc++6", "python3.11", "7zip"] {
            assert!(valid_apt_package(ok), "{ok}");
        }
        for bad in [
            "",
            "g",
            "Git",
            "-git",
            ".git",
            "git curl",
            "git;rm",
            "git\nRUN x",
            "git && curl",
            "git=1:2.39",
            "git/bookworm",
            "$(id)",
            "git\\",
            "pkg_name",
            "git*",
        ] {
            assert!(!valid_apt_package(bad), "{bad:?}");
        }
        let e = parse_apt_package("git curl").unwrap_err();
        assert!(e.contains("'git curl' is not a Debian package name") && e.contains("e.g. git"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn port_parsers() {
        assert_eq!(parse_base_port("19000"), Ok(19000));
        assert!(parse_base_port("abc").unwrap_err().contains("not a number"));
        assert!(parse_base_port("0").unwrap_err().contains("out of range"));
        assert!(parse_base_port("65437").unwrap_err().contains("1-65436"));
        assert_eq!(parse_base_port("65436"), Ok(65436));
        assert_eq!(parse_port("3001"), Ok(3001));
        assert!(parse_port("65536").is_err());
        assert_eq!(parse_key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_key_value("=x").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("My.Cool__Server"), "my-cool-server");
        assert_eq!(package_name("My.Cool__Server"), "my_cool_server");
        assert!(valid_object_name("echo-server-mcp_data"));
        assert!(!valid_object_name("-x"));
        assert!(!valid_object_name("a/b"));
        assert!(valid_image_ref("echo-server-mcp"));
        assert!(valid_image_ref("127.0.0.1:5000/team/echo:12"));
        assert!(valid_image_ref("localhost/echo:latest"));
        assert!(!valid_image_ref("Echo"));
        assert!(!valid_image_ref("echo:"));
        assert!(!valid_image_ref("echo-"));
    }
}
