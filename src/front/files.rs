//! The front's directory on this machine, `~/.config/mcpctl/fronts/NAME/`:
//!
//! * `config/` — mounted read-only as the front's config directory: haproxy.cfg, the Lua
//!   filter, a token file per protected project (`token-NAME.acl`) and the certificate
//!   (`site.pem`, its key `site.pem.key`);
//! * `run/` — mounted read-write: the runtime API's socket;
//! * `tls/` — the self-signed certificate mcpctl made, kept across fronts;
//! * `state.json` — what the front routes (config.rs).
//!
//! Everything is the user's only (0700 directories, 0600 files): the token and the key never
//! leave it except into the front, which runs as the same user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use super::config::{FrontState, token_file};
use crate::config::{FrontSettings, FrontTls, Secret};

pub(crate) struct Dirs {
    pub(crate) root: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) run: PathBuf,
    pub(crate) tls: PathBuf,
}

impl Dirs {
    /// The front's directory (`Paths::front_dir`).
    pub(crate) fn of(root: &Path) -> Dirs {
        let root = root.to_path_buf();
        Dirs { config: root.join("config"), run: root.join("run"), tls: root.join("tls"), root }
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.run.join("admin.sock")
    }

    /// The certificate the probe trusts (the self-signed one), if that is what the front serves.
    pub(crate) fn generated_cert(&self) -> PathBuf {
        self.tls.join("localhost.pem")
    }

    pub(crate) fn create(&self) -> anyhow::Result<()> {
        for d in [&self.root, &self.config, &self.run, &self.tls] {
            std::fs::create_dir_all(d).map_err(|e| anyhow!("cannot create {}: {e}", d.display()))?;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| anyhow!("cannot make {} private: {e}", d.display()))?;
        }
        Ok(())
    }

    /// `UID:GID` owning the directories: what the front runs as.
    pub(crate) fn owner(&self) -> anyhow::Result<String> {
        let m =
            std::fs::metadata(&self.root).map_err(|e| anyhow!("cannot read {}: {e}", self.root.display()))?;
        Ok(format!("{}:{}", m.uid(), m.gid()))
    }
}

/// A file only its owner reads, written whole or not at all.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    crate::state::write_atomic(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| anyhow!("cannot make {} private: {e}", path.display()))
}

/// The files of a directory as they were, to put back when the front rejects new ones.
pub(crate) struct Snapshot {
    dir: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Snapshot {
    pub(crate) fn take(dir: &Path) -> Snapshot {
        let files = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
            .collect();
        Snapshot { dir: dir.to_path_buf(), files }
    }

    /// The same files with the same contents.
    pub(crate) fn same_as(&self, other: &Snapshot) -> bool {
        let sorted = |s: &Snapshot| {
            let mut f: Vec<(PathBuf, Vec<u8>)> = s.files.clone();
            f.sort();
            f
        };
        sorted(self) == sorted(other)
    }

    /// Every file as it was; files made since are removed.
    pub(crate) fn restore(&self) {
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if !self.files.iter().any(|(p, _)| *p == e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        for (p, bytes) in &self.files {
            let _ = write_private(p, &String::from_utf8_lossy(bytes));
        }
    }
}

/// The front-wide token file of fronts made before tokens were per project.
const LEGACY_TOKEN: &str = "token.acl";

/// Put the certificate and the Lua filter (the front's, whichever project it serves) where the
/// front reads them. Returns the PEM of the certificate the probe may trust (the self-signed
/// one), if any. `cert_host`: the other host the front runs on, for the certificate mcpctl makes.
pub(crate) fn provision(
    dirs: &Dirs,
    spec: &FrontSettings,
    cert_host: Option<&str>,
) -> anyhow::Result<Option<Vec<u8>>> {
    write_private(&dirs.config.join("mcp_sse.lua"), super::config::SSE_LUA)?;
    let (site, key) = (dirs.config.join("site.pem"), dirs.config.join("site.pem.key"));
    match &spec.tls {
        FrontTls::Off => {
            let _ = std::fs::remove_file(&site);
            let _ = std::fs::remove_file(&key);
            Ok(None)
        }
        FrontTls::Files { cert, key: k } => {
            write_private(&site, &read(cert)?)?;
            write_private(&key, &read(k)?)?;
            Ok(None)
        }
        FrontTls::SelfSigned => {
            let (cert_pem, key_pem) = self_signed(dirs, cert_host)?;
            write_private(&site, &cert_pem)?;
            write_private(&key, &key_pem)?;
            Ok(Some(cert_pem.into_bytes()))
        }
    }
}

/// A token file for each project `st` protects, and no other. `own` is the project being put
/// now with the token its settings give: its file is written; every other protected project keeps
/// the file its own start wrote. So one project's start, update or removal never changes whether
/// or how another is protected, and the config never names a file that is not there.
pub(crate) fn tokens(dirs: &Dirs, st: &FrontState, own: Option<(&str, &Secret)>) -> anyhow::Result<()> {
    let legacy = dirs.config.join(LEGACY_TOKEN);
    for name in st.projects.iter().filter(|(_, b)| b.token).map(|(n, _)| n) {
        let path = dirs.config.join(token_file(name));
        match own {
            Some((n, t)) if n == name => write_private(&path, &format!("Bearer {}\n", t.0))?,
            _ if path.exists() => {}
            // Protected before tokens were per project: the front-wide token still applies. With
            // no file at all, an empty one lets no request through (closed, never open).
            _ => write_private(&path, &std::fs::read_to_string(&legacy).unwrap_or_default())?,
        }
    }
    for entry in std::fs::read_dir(&dirs.config).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_prefix("token-").and_then(|f| f.strip_suffix(".acl")) else { continue };
        if !st.projects.get(name).is_some_and(|b| b.token) {
            std::fs::remove_file(entry.path())
                .map_err(|e| anyhow!("cannot remove {}: {e}", entry.path().display()))?;
        }
    }
    match std::fs::remove_file(&legacy) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow!("cannot remove {}: {e}", legacy.display()))
        }
        _ => Ok(()),
    }
}

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).map_err(|e| anyhow!("cannot read {}: {e}", p.display()))
}

/// The certificate for localhost and 127.0.0.1 (and the name of the host the front runs on, when
/// that is another machine), made once and kept (so a client trusts it once).
fn self_signed(dirs: &Dirs, host: Option<&str>) -> anyhow::Result<(String, String)> {
    let (cert, key) = (dirs.generated_cert(), dirs.tls.join("localhost.key"));
    if let (Ok(c), Ok(k)) = (std::fs::read_to_string(&cert), std::fs::read_to_string(&key)) {
        return Ok((c, k));
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    names.extend(host.map(str::to_string));
    let made =
        rcgen::generate_simple_self_signed(names).map_err(|e| anyhow!("cannot make a certificate: {e}"))?;
    let (c, k) = (made.cert.pem(), made.signing_key.serialize_pem());
    write_private(&key, &k)?;
    write_private(&cert, &c)?;
    Ok((c, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn spec(tls: FrontTls) -> FrontSettings {
        FrontSettings {
            name: "x-front".into(),
            shared: false,
            image: "haproxy:2.6".into(),
            port: None,
            tls,
            token: Some(Secret("s3cr3t".into())),
            token_file: None,
            token_problem: None,
            drain_timeout: std::time::Duration::from_secs(30),
            oauth: None,
        }
    }

    #[test]
    fn the_certificate_names_the_remote_host_too() {
        let d = tempfile::tempdir().unwrap();
        let dirs = Dirs::of(&d.path().join("fronts/x-front"));
        dirs.create().unwrap();
        let (pem, _) = self_signed(&dirs, Some("10.231.9.2")).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64_decode(&b64);
        // An iPAddress SAN is the four bytes of the address under tag [7] (0x87, length 4).
        assert!(der.windows(6).any(|w| w == [0x87, 4, 10, 231, 9, 2]), "no SAN for the host");
        assert!(der.windows(11).any(|w| w == b"\x82\x09localhost"), "no SAN for localhost");
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, c)| acc | (val(*c) as u32) << (18 - 6 * i));
            let k = chunk.len() - 1;
            out.extend_from_slice(&n.to_be_bytes()[1..1 + k]);
        }
        out
    }

    #[test]
    fn the_certificate_is_private_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let s = spec(FrontTls::SelfSigned);
        let dirs = Dirs::of(&d.path().join("fronts/x-front"));
        dirs.create().unwrap();
        let pem = provision(&dirs, &s, None).unwrap().expect("a certificate to trust");
        for f in [dirs.config.join("site.pem.key"), dirs.tls.join("localhost.key")] {
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
        }
        assert_eq!(std::fs::metadata(&dirs.root).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(String::from_utf8_lossy(&pem).starts_with("-----BEGIN CERTIFICATE-----"));
        // Made once: the same certificate the next time.
        assert_eq!(provision(&dirs, &s, None).unwrap().unwrap(), pem);
        // Without TLS, its files go.
        provision(&dirs, &spec(FrontTls::Off), None).unwrap();
        assert!(!dirs.config.join("site.pem").exists() && !dirs.config.join("site.pem.key").exists());
        assert!(dirs.owner().unwrap().contains(':'));
    }

    fn group(projects: &[(&str, bool)]) -> FrontState {
        let backend = |token| super::super::config::Backend { token, ..Default::default() };
        FrontState {
            projects: projects.iter().map(|(n, t)| (n.to_string(), backend(*t))).collect(),
            ..Default::default()
        }
    }

    fn read_token(dirs: &Dirs, name: &str) -> Option<String> {
        std::fs::read_to_string(dirs.config.join(token_file(name))).ok()
    }

    /// Each protected project has its own private file; a project's start, update or removal
    /// touches its own file only.
    #[test]
    fn one_private_token_file_per_protected_project() {
        let d = tempfile::tempdir().unwrap();
        let dirs = Dirs::of(&d.path().join("fronts/x-front"));
        dirs.create().unwrap();
        let (ta, tc) = (Secret("tok-A".into()), Secret("tok-C".into()));
        // a starts with its token, then b without one, then c with another.
        tokens(&dirs, &group(&[("a", true)]), Some(("a", &ta))).unwrap();
        tokens(&dirs, &group(&[("a", true), ("b", false)]), None).unwrap();
        let abc = group(&[("a", true), ("b", false), ("c", true)]);
        tokens(&dirs, &abc, Some(("c", &tc))).unwrap();
        assert_eq!(read_token(&dirs, "a").as_deref(), Some("Bearer tok-A\n"));
        assert_eq!(read_token(&dirs, "c").as_deref(), Some("Bearer tok-C\n"));
        assert_eq!(read_token(&dirs, "b"), None);
        let mode = std::fs::metadata(dirs.config.join(token_file("a"))).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // a's update without a token opens a alone.
        tokens(&dirs, &group(&[("a", false), ("b", false), ("c", true)]), None).unwrap();
        assert_eq!(read_token(&dirs, "a"), None);
        assert_eq!(read_token(&dirs, "c").as_deref(), Some("Bearer tok-C\n"));
        // c leaves: its file goes with it; when nobody is left, no file is.
        tokens(&dirs, &group(&[("a", false), ("b", false)]), None).unwrap();
        assert_eq!(read_token(&dirs, "c"), None);
        tokens(&dirs, &group(&[("a", true)]), Some(("a", &ta))).unwrap();
        tokens(&dirs, &group(&[]), None).unwrap();
        let left: Vec<_> =
            std::fs::read_dir(&dirs.config).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// The one token file of an older front becomes each protected project's until its next
    /// start; a protected project with no token anywhere gets an empty file, which lets nothing in.
    #[test]
    fn an_older_front_wide_token_file_is_carried_over() {
        let d = tempfile::tempdir().unwrap();
        let dirs = Dirs::of(&d.path().join("fronts/x-front"));
        dirs.create().unwrap();
        write_private(&dirs.config.join("token.acl"), "Bearer old\n").unwrap();
        tokens(&dirs, &group(&[("a", true), ("b", true)]), Some(("b", &Secret("new".into())))).unwrap();
        assert_eq!(read_token(&dirs, "a").as_deref(), Some("Bearer old\n"));
        assert_eq!(read_token(&dirs, "b").as_deref(), Some("Bearer new\n"));
        assert!(!dirs.config.join("token.acl").exists());
        tokens(&dirs, &group(&[("a", true), ("x", true)]), None).unwrap();
        assert_eq!(read_token(&dirs, "x").as_deref(), Some(""));
    }
}
