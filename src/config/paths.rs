//! Where mcpctl keeps a project's files on this machine, computed in one place: the state file
//! and its lock, the front's directory, the cache. A project deployed on another host keeps its
//! own state (and lock) and its own front there: `docker@HOST.json`, `fronts/NAME@HOST`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    /// `~/.config/PACKAGE/docker.json` (`scripts/docker.py`'s path), per host.
    pub(crate) state_file: PathBuf,
    /// Beside the state file: one mcpctl at a time per project (lock.rs).
    pub(crate) lock_file: PathBuf,
    /// `~/.config/mcpctl/fronts/NAME`: the front's config, certificate and runtime socket.
    pub(crate) front_dir: PathBuf,
    /// `~/.cache/mcpctl` (or under XDG_CACHE_HOME): what can be rebuilt, like build records.
    pub(crate) cache_dir: PathBuf,
    fronts: PathBuf,
    host_key: Option<String>,
}

impl Paths {
    /// `state_name` is the state file's name here (`docker.json`, or `docker-NAME.json` for a
    /// second instance of a package); `host_key` names the host when it is not this machine.
    pub(crate) fn resolve(
        home: &Path,
        package: &str,
        state_name: &str,
        front_name: &str,
        host_key: Option<&str>,
    ) -> Paths {
        let state_name = match host_key {
            Some(k) => format!("{}@{k}.json", state_name.strip_suffix(".json").unwrap_or(state_name)),
            None => state_name.to_string(),
        };
        let state_file = home.join(".config").join(package).join(state_name);
        let mut lock = state_file.as_os_str().to_owned();
        lock.push(".lock");
        let fronts = home.join(".config").join("mcpctl").join("fronts");
        let mut p = Paths {
            lock_file: PathBuf::from(lock),
            state_file,
            front_dir: PathBuf::new(),
            cache_dir: cache_dir(Some(home)).unwrap_or_else(|| home.join(".cache").join("mcpctl")),
            fronts,
            host_key: host_key.map(str::to_string),
        };
        p.front_dir = p.front_dir_of(front_name);
        p
    }

    /// The directory of the front `name` (this project's or another's) as this user keeps it for
    /// the host the project is on.
    pub(crate) fn front_dir_of(&self, name: &str) -> PathBuf {
        match &self.host_key {
            Some(k) => self.fronts.join(format!("{name}@{k}")),
            None => self.fronts.join(name),
        }
    }
}

/// `~/.cache/mcpctl`, or `$XDG_CACHE_HOME/mcpctl`: where every cache of mcpctl goes (the build
/// records, the engines' answers in engine/); None without a home or an XDG_CACHE_HOME.
pub(crate) fn cache_dir(home: Option<&Path>) -> Option<PathBuf> {
    cache_dir_from(std::env::var_os("XDG_CACHE_HOME"), home)
}

/// The XDG spec: an XDG_CACHE_HOME that is empty or relative is to be ignored. Taken as it is,
/// it puts the cache under the current directory, which is the project and its build context.
fn cache_dir_from(xdg: Option<std::ffi::OsString>, home: Option<&Path>) -> Option<PathBuf> {
    let xdg = xdg.map(PathBuf::from).filter(|p| p.is_absolute());
    Some(xdg.or_else(|| home.map(|h| h.join(".cache")))?.join("mcpctl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_host_paths_carry_the_host_s_key() {
        let home = Path::new("/home/u");
        let here = Paths::resolve(home, "echo", "docker.json", "echo-front", None);
        assert_eq!(here.state_file, Path::new("/home/u/.config/echo/docker.json"));
        assert_eq!(here.lock_file, Path::new("/home/u/.config/echo/docker.json.lock"));
        assert_eq!(here.front_dir, Path::new("/home/u/.config/mcpctl/fronts/echo-front"));
        let there = Paths::resolve(home, "echo", "docker-two.json", "mcpctl-front-g", Some("ops@prod_22"));
        assert_eq!(there.state_file, Path::new("/home/u/.config/echo/docker-two@ops@prod_22.json"));
        assert_eq!(there.lock_file, Path::new("/home/u/.config/echo/docker-two@ops@prod_22.json.lock"));
        assert_eq!(there.front_dir, Path::new("/home/u/.config/mcpctl/fronts/mcpctl-front-g@ops@prod_22"));
        assert_eq!(
            there.front_dir_of("x-front"),
            Path::new("/home/u/.config/mcpctl/fronts/x-front@ops@prod_22")
        );
    }

    #[test]
    fn an_empty_or_relative_xdg_cache_home_counts_as_unset() {
        let home = Path::new("/home/u");
        let at = |xdg: Option<&str>| cache_dir_from(xdg.map(Into::into), Some(home));
        assert_eq!(at(None), Some(PathBuf::from("/home/u/.cache/mcpctl")));
        assert_eq!(at(Some("")), Some(PathBuf::from("/home/u/.cache/mcpctl")));
        assert_eq!(at(Some("cache")), Some(PathBuf::from("/home/u/.cache/mcpctl")));
        assert_eq!(at(Some("/var/cache/u")), Some(PathBuf::from("/var/cache/u/mcpctl")));
        assert_eq!(cache_dir_from(Some("".into()), None), None);
        assert_eq!(cache_dir_from(Some("/c".into()), None), Some(PathBuf::from("/c/mcpctl")));
    }
}
