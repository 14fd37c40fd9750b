//! OAuth at the front (the MCP specification's authorization, RFC 9728 and RFC 8707): the
//! front serves each project's Protected Resource Metadata, answers 401 with its URL, and lets a
//! request through only with an access token the issuer signed for this project's resource.
//!
//! * the issuer's keys: its metadata (RFC 8414, or OpenID discovery) names `jwks_uri`; each
//!   signing key becomes a public-key PEM in a slot (`k0.pem`...), and `kids.map` maps its key id
//!   to the slot and the algorithm pinned to it (never the token's own `alg`);
//! * those files live in the front's run directory (`run/oauth/NAME/`, writable by the front), so
//!   the refresher (templates/oauth_refresh.lua, a task in HAProxy itself) rewrites them and
//!   reloads HAProxy when the issuer rotates its keys, without mcpctl;
//! * templates/oauth_backend.j2 is the check itself, in HAProxy 2.6's terms.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::files::{Dirs, write_private};
use crate::config::Settings;
use crate::config::oauth::{Alg, OAuthSettings, refused_alg};
use crate::engine::FRONT_SOCKET_IN;
use crate::error::Explained;

/// Key slots per project: the config names each slot's file (HAProxy loads keys only from
/// files named in the config), the map says which kid is in which.
pub(crate) const SLOTS: usize = 8;
/// Seconds of clock skew allowed on `exp` and `nbf`.
pub(crate) const LEEWAY: u32 = 30;
/// The refresher: a Lua task in HAProxy itself (nothing else is needed in the front's image).
pub(crate) const REFRESHER: &str = include_str!("templates/oauth_refresh.lua");
pub(crate) const REFRESHER_FILE: &str = "oauth_refresh.lua";
/// The projects whose keys it follows, one a line (Lua cannot list a directory).
pub(crate) const PROJECTS_FILE: &str = "oauth-projects.txt";

/// What the front's state keeps of a project's OAuth: enough to render its config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OAuthRoute {
    pub(crate) issuer: String,
    pub(crate) resource: String,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    #[serde(default)]
    pub(crate) pass_token: bool,
}

impl OAuthRoute {
    /// The resource's path: where its metadata is, after `/.well-known/oauth-protected-resource`.
    fn resource_path(&self) -> &str {
        let rest = self.resource.split_once("://").map(|(_, r)| r).unwrap_or("");
        rest.find('/').map(|i| &rest[i..]).unwrap_or("")
    }

    /// `/.well-known/oauth-protected-resource/PATH` (RFC 9728 3.1: inserted before the path).
    pub(crate) fn metadata_path(&self) -> String {
        format!("/.well-known/oauth-protected-resource{}", self.resource_path())
    }

    /// The metadata URL the 401 names.
    pub(crate) fn metadata_url(&self) -> String {
        let origin = &self.resource[..self.resource.len() - self.resource_path().len()];
        format!("{origin}{}", self.metadata_path())
    }

    /// The Protected Resource Metadata document.
    pub(crate) fn metadata(&self) -> String {
        let mut doc = json!({
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes.is_empty() {
            doc["scopes_supported"] = json!(self.scopes);
        }
        serde_json::to_string_pretty(&doc).expect("JSON") + "\n"
    }
}

/// The file (in the front's config directory) holding project `name`'s metadata document.
pub(crate) fn metadata_file(name: &str) -> String {
    format!("oauth-{name}.json")
}

/// The project's key directory as the front sees it.
pub(crate) fn keys_dir_in(name: &str) -> String {
    format!("{FRONT_SOCKET_IN}/oauth/{name}")
}

/// The project's key directory here.
pub(crate) fn keys_dir(dirs: &Dirs, name: &str) -> PathBuf {
    dirs.run.join("oauth").join(name)
}

/// The template's view of a project's OAuth (templates/oauth_backend.j2).
#[derive(Serialize)]
pub(crate) struct OAuthCtx {
    issuer: String,
    resource: String,
    metadata_url: String,
    metadata_path: String,
    metadata_file: String,
    /// The bare `/.well-known/oauth-protected-resource` too (a project served at the root).
    metadata_bare: bool,
    map: String,
    slots: Vec<(String, String)>,
    leeway: u32,
    scopes: String,
    /// One anchored regex per scope, matched against the token's space-separated `scope`.
    scope_res: Vec<String>,
    /// Their ACL names, all required: `oa_scope0 oa_scope1`.
    scope_acls: String,
    pass_token: bool,
    /// The backend's lines (templates/oauth_backend.j2), rendered from the fields above.
    rules: String,
}

pub(crate) fn ctx(name: &str, prefix: &str, r: &OAuthRoute) -> OAuthCtx {
    let dir = keys_dir_in(name);
    let mut c = OAuthCtx {
        issuer: r.issuer.clone(),
        resource: r.resource.clone(),
        metadata_url: r.metadata_url(),
        metadata_path: r.metadata_path(),
        metadata_file: format!("{}/{}", crate::engine::FRONT_CONFIG_IN, metadata_file(name)),
        metadata_bare: prefix.is_empty(),
        map: format!("{dir}/kids.map"),
        slots: (0..SLOTS).map(|i| (format!("k{i}"), format!("{dir}/k{i}.pem"))).collect(),
        leeway: LEEWAY,
        scopes: r.scopes.join(" "),
        scope_res: r.scopes.iter().map(|s| format!("(^| ){}( |$)", s.replace('.', "\\."))).collect(),
        scope_acls: (0..r.scopes.len()).map(|i| format!("oa_scope{i}")).collect::<Vec<_>>().join(" "),
        pass_token: r.pass_token,
        rules: String::new(),
    };
    c.rules = crate::template::render(backend_template(), "oauth_backend", json!({ "o": &c }));
    c
}

fn backend_template() -> &'static minijinja::Environment<'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = crate::template::environment();
        env.add_template("oauth_backend", include_str!("templates/oauth_backend.j2"))
            .expect("the front's OAuth template parses");
        env
    })
}

/// One of the issuer's signing keys, pinned to its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) alg: Alg,
    pub(crate) pem: String,
}

/// What the issuer published, checked.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub(crate) jwks_uri: String,
    pub(crate) keys: Vec<Key>,
}

/// The issuer's metadata URLs: RFC 8414's (the path after the well-known part), then OpenID's.
pub(crate) fn metadata_urls(issuer: &str) -> Vec<String> {
    let rest = issuer.split_once("://").map(|(_, r)| r).unwrap_or("");
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("").trim_end_matches('/');
    let origin = &issuer[..issuer.len() - rest.len() + rest.find('/').unwrap_or(rest.len())];
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')),
    ]
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    let mut resp = agent.get(url).header("Accept", "application/json").call().map_err(|e| e.to_string())?;
    let body = resp.body_mut().read_to_string().map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| format!("not JSON ({e})"))
}

/// The issuer's metadata and keys, each checked: it answers, names itself, has `jwks_uri`, and
/// every signing key there is one the front can pin. One line on any failure (bad input: exit 2).
pub(crate) fn discover(o: &OAuthSettings) -> anyhow::Result<Issuer> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(true)
        .build()
        .into();
    let bad =
        |what: String, fix: &str| -> anyhow::Error { Explained::usage(what).fix(fix.to_string()).into() };
    let mut tried = Vec::new();
    let mut meta = None;
    for url in metadata_urls(&o.issuer) {
        match get_json(&agent, &url) {
            Ok(m) if m["issuer"].as_str() == Some(o.issuer.as_str()) => {
                meta = Some(m);
                break;
            }
            Ok(m) => tried.push(format!("{url} names the issuer {}", m["issuer"])),
            Err(e) => tried.push(format!("{url}: {e}")),
        }
    }
    let Some(meta) = meta else {
        return Err(bad(
            format!("the OAuth issuer {} does not answer with its metadata ({})", o.issuer, tried.join("; ")),
            "give the authorization server's issuer URL exactly as its metadata names it",
        ));
    };
    let Some(jwks_uri) = meta["jwks_uri"].as_str().map(str::to_string) else {
        return Err(bad(
            format!("the OAuth issuer {} has no jwks_uri in its metadata", o.issuer),
            "the front verifies tokens with the keys the issuer publishes: use an issuer that publishes them",
        ));
    };
    let jwks = get_json(&agent, &jwks_uri).map_err(|e| {
        bad(format!("the OAuth issuer's keys at {jwks_uri} cannot be read ({e})"), "check the issuer")
    })?;
    let keys = keys_of(&jwks, &o.algs).map_err(|e| {
        bad(
            format!("the OAuth issuer's keys: {e}"),
            "use --oauth-algs, or an issuer that signs with RS256 or ES256",
        )
    })?;
    Ok(Issuer { jwks_uri, keys })
}

/// `discover`, once per issuer in this process (the settings check and the put read the same).
pub(crate) fn discover_cached(o: &OAuthSettings) -> anyhow::Result<Issuer> {
    type Cache = std::sync::Mutex<Vec<(String, Issuer)>>;
    static SEEN: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some((_, i)) = seen.lock().expect("not poisoned").iter().find(|(k, _)| *k == o.issuer) {
        return Ok(i.clone());
    }
    let i = discover(o)?;
    seen.lock().expect("not poisoned").push((o.issuer.clone(), i.clone()));
    Ok(i)
}

/// The front answers as an OAuth resource server for this project: its metadata document names
/// the resource, and a request without a token gets 401 naming that document. (mcpctl has no
/// token of its own to go further: the MCP answers were checked on each server directly.)
pub(crate) fn check_through(t: &crate::probe::Target, route: &OAuthRoute) -> Result<(), String> {
    let timeout = Duration::from_secs(5);
    let meta =
        crate::probe::http(t, "GET", &route.metadata_path(), None, timeout).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&meta.body).unwrap_or_default();
    if meta.status != 200 || doc["resource"].as_str() != Some(route.resource.as_str()) {
        return Err(format!(
            "its metadata at {} answers {} {}",
            route.metadata_path(),
            meta.status,
            meta.body.trim()
        ));
    }
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let path = &route.resource_path().to_string();
    let no_token = crate::probe::http(t, "POST", path, Some(body), timeout).map_err(|e| e.to_string())?;
    let named = no_token.header("www-authenticate").is_some_and(|h| h.contains(&route.metadata_url()));
    if no_token.status != 401 || !named {
        return Err(format!(
            "a request without a token gets {} ({:?})",
            no_token.status,
            no_token.header("www-authenticate")
        ));
    }
    Ok(())
}

/// The signing keys of a JWKS, each pinned to its algorithm; a key that cannot be pinned (an
/// algorithm HAProxy cannot verify, or one not allowed) is refused naming its kid and why.
pub(crate) fn keys_of(jwks: &Value, allowed: &[Alg]) -> Result<Vec<Key>, String> {
    let mut keys = Vec::new();
    for jwk in jwks["keys"].as_array().into_iter().flatten() {
        if jwk["use"].as_str().is_some_and(|u| u != "sig") {
            continue;
        }
        let kid = jwk["kid"].as_str().unwrap_or("");
        if kid.is_empty() || !kid.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=+/:".contains(c)) {
            return Err(format!("a key has no usable kid ({:?}): the front selects keys by kid", jwk["kid"]));
        }
        let alg = key_alg(jwk, allowed).map_err(|why| format!("key {kid} is refused: {why}"))?;
        let pem = jwk_pem(jwk, alg).map_err(|why| format!("key {kid} is refused: {why}"))?;
        keys.push(Key { kid: kid.to_string(), alg, pem });
    }
    if keys.is_empty() {
        return Err("no signing key".into());
    }
    if keys.len() > SLOTS {
        return Err(format!("{} signing keys, more than the front's {SLOTS} slots", keys.len()));
    }
    Ok(keys)
}

fn key_alg(jwk: &Value, allowed: &[Alg]) -> Result<Alg, String> {
    let kty = jwk["kty"].as_str().unwrap_or("");
    let crv = jwk["crv"].as_str();
    let alg = match (jwk["alg"].as_str(), kty) {
        (Some(a), _) => Alg::parse(a)?,
        (None, "RSA") => *allowed.iter().find(|a| a.name().starts_with("RS")).unwrap_or(&Alg::RS256),
        (None, "EC") => Alg::ALL
            .into_iter()
            .find(|a| a.curve().is_some() && a.curve() == crv)
            .ok_or_else(|| format!("an EC key on the curve {crv:?}"))?,
        (None, "oct") => return Err(refused_alg("HS256")),
        (None, k) => return Err(format!("a key of type {k:?} cannot be verified by HAProxy 2.6")),
    };
    if !allowed.contains(&alg) {
        return Err(format!("alg {} is not among the allowed ({})", alg.name(), names(allowed)));
    }
    let fits = match alg.curve() {
        None => kty == "RSA",
        Some(c) => kty == "EC" && crv == Some(c),
    };
    if !fits {
        return Err(format!(
            "alg {} on a {kty} key{}",
            alg.name(),
            crv.map(|c| format!(" ({c})")).unwrap_or_default()
        ));
    }
    Ok(alg)
}

fn names(algs: &[Alg]) -> String {
    algs.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

// ---- JWK -> SubjectPublicKeyInfo PEM, DER written by hand (a few dozen lines; no ASN.1 crate) --

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|x| *x == 0).collect();
        out.push(0x80 | b.len() as u8);
        out.extend(b);
    }
    out.extend_from_slice(body);
    out
}

fn der_uint(raw: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = raw.iter().copied().skip_while(|x| *x == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

const RSA_ALG_ID: [u8; 13] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
const EC_PUBLIC_KEY: [u8; 9] = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

fn curve_oid(alg: Alg) -> (&'static [u8], usize) {
    match alg {
        Alg::ES256 => (&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 32),
        Alg::ES384 => (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22], 48),
        _ => (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23], 66),
    }
}

/// The JWK's public key as a PEM `PUBLIC KEY` (what HAProxy's jwt_verify reads).
pub(crate) fn jwk_pem(jwk: &Value, alg: Alg) -> Result<String, String> {
    let field = |k: &str| -> Result<Vec<u8>, String> {
        let s = jwk[k].as_str().ok_or_else(|| format!("no {k}"))?;
        b64url_decode(s).ok_or_else(|| format!("{k} is not base64url"))
    };
    let spki = match alg.curve() {
        None => {
            let (n, e) = (field("n")?, field("e")?);
            if n.iter().skip_while(|x| **x == 0).count() < 256 {
                return Err("an RSA key under 2048 bits".into());
            }
            let rsa = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
            let bits = der(0x03, &[&[0u8][..], &rsa].concat());
            der(0x30, &[der(0x30, &RSA_ALG_ID), bits].concat())
        }
        Some(_) => {
            let (oid, len) = curve_oid(alg);
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != len || y.len() != len {
                return Err(format!("x and y are not {len} bytes"));
            }
            let point = [&[0u8, 0x04][..], &x, &y].concat();
            der(0x30, &[der(0x30, &[&EC_PUBLIC_KEY[..], oid].concat()), der(0x03, &point)].concat())
        }
    };
    let b = b64_encode(&spki);
    let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ASCII")).collect();
    Ok(format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' | b'+' => Some(62),
        b'_' | b'/' => Some(63),
        _ => None,
    };
    let bytes: Vec<u8> = s.trim_end_matches('=').bytes().collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= (val(*c)? as u32) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

// ---- the files --------------------------------------------------------------------------------

/// What the front's keys directory says of its keys (written by mcpctl, then by the refresher).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Fetched {
    #[serde(default)]
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) jwks_uri: String,
    #[serde(default)]
    pub(crate) kids: Vec<String>,
    #[serde(default)]
    pub(crate) fetched_at: u64,
    /// Who fetched them last: "mcpctl" or "front" (the refresher).
    #[serde(default)]
    pub(crate) by: String,
    #[serde(default)]
    pub(crate) last_error: Option<String>,
    #[serde(default)]
    pub(crate) failed_at: Option<u64>,
}

pub(crate) fn fetched(dirs: &Dirs, name: &str) -> Option<Fetched> {
    let text = std::fs::read_to_string(keys_dir(dirs, name).join("meta.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The project's metadata document and keys where the front reads them. Returns whether the
/// key files changed (HAProxy reads them only when it starts or reloads).
pub(crate) fn provision(
    dirs: &Dirs,
    name: &str,
    o: &OAuthSettings,
    route: &OAuthRoute,
    issuer: &Issuer,
) -> anyhow::Result<bool> {
    write_private(&dirs.config.join(REFRESHER_FILE), REFRESHER)?;
    write_private(&dirs.config.join(metadata_file(name)), &route.metadata())?;
    let dir = keys_dir(dirs, name);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let conf = json!({
        "issuer": o.issuer,
        "algs": o.algs.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "refresh": o.refresh.as_secs(),
        "slots": SLOTS,
    });
    write_private(&dir.join("issuer.json"), &(serde_json::to_string_pretty(&conf)? + "\n"))?;
    let mut files = vec![(
        "kids.map".to_string(),
        issuer
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{} k{i}:{}\n", k.kid, k.alg.name()))
            .collect::<String>(),
    )];
    for i in 0..SLOTS {
        // A slot without a key holds the last one: every file the config names exists (a missing
        // one is only a warning to HAProxy, then every token fails), and no kid points at it.
        files.push((format!("k{i}.pem"), issuer.keys[i.min(issuer.keys.len() - 1)].pem.clone()));
    }
    let changed = files.iter().any(|(f, t)| std::fs::read_to_string(dir.join(f)).ok().as_deref() != Some(t));
    if changed {
        for (f, t) in &files {
            write_private(&dir.join(f), t)?;
        }
    }
    let meta = Fetched {
        issuer: o.issuer.clone(),
        jwks_uri: issuer.jwks_uri.clone(),
        kids: issuer.keys.iter().map(|k| k.kid.clone()).collect(),
        fetched_at: now(),
        by: "mcpctl".into(),
        last_error: None,
        failed_at: None,
    };
    write_private(&dir.join("meta.json"), &(serde_json::to_string_pretty(&meta)? + "\n"))?;
    Ok(changed)
}

/// The OAuth files of projects that have no OAuth on this front (any more) go.
pub(crate) fn cleanup(dirs: &Dirs, keep: &[&str]) {
    for e in std::fs::read_dir(&dirs.config).into_iter().flatten().flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = f.strip_prefix("oauth-").and_then(|f| f.strip_suffix(".json"))
            && !keep.contains(&n)
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if keep.is_empty() {
        let _ = std::fs::remove_file(dirs.config.join(REFRESHER_FILE));
        let _ = std::fs::remove_file(dirs.config.join(PROJECTS_FILE));
    } else {
        let list: String = keep.iter().map(|n| format!("{n}\n")).collect();
        let _ = write_private(&dirs.config.join(PROJECTS_FILE), &list);
    }
    for e in std::fs::read_dir(dirs.run.join("oauth")).into_iter().flatten().flatten() {
        if !keep.contains(&e.file_name().to_string_lossy().as_ref()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The resource this project's tokens are for: as given, or the endpoint clients use. A given
/// one must be served here: the same scheme and path, and on localhost the same port (another
/// host name is the one clients reach the front by, which the front cannot see).
pub(crate) fn resource(s: &Settings, o: &OAuthSettings, port: u16) -> anyhow::Result<String> {
    let served = s.endpoint(port, crate::config::Transport::StreamableHttp, true);
    let Some(given) = &o.resource else { return Ok(served.url()) };
    let (scheme, rest) = given.split_once("://").unwrap_or(("", ""));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority);
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let same_port = authority == served.authority() || (!local);
    if scheme != served.scheme || path != served.path || !same_port {
        return Err(Explained::usage(format!(
            "oauth resource {given} is not the endpoint the front serves ({})",
            served.url()
        ))
        .fix(format!(
            "give {} (or this path on the name clients reach the front by), or leave it out",
            served.url()
        ))
        .into());
    }
    Ok(given.clone())
}

/// A resource given is for this project's endpoint path and scheme (its port is checked when
/// the front is put, where it is known).
pub(crate) fn check_resource_path(s: &Settings, o: &OAuthSettings) -> anyhow::Result<()> {
    let Some(given) = &o.resource else { return Ok(()) };
    let served = s.endpoint(s.base_port, crate::config::Transport::StreamableHttp, true);
    let (scheme, rest) = given.split_once("://").unwrap_or(("", ""));
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    if scheme != served.scheme || path != served.path {
        return Err(Explained::usage(format!(
            "oauth resource {given} is not this project's endpoint ({}://HOST:PORT{})",
            served.scheme, served.path
        ))
        .fix("give the URL clients use for this project, or leave it out (the endpoint mcpctl prints)")
        .into());
    }
    Ok(())
}

/// What a client needs to know of OAuth at the front (no token goes in any file: clients get
/// theirs from the issuer).
pub(crate) fn client_hint(r: &OAuthRoute) -> String {
    format!(
        "OAuth: the front takes access tokens of {} for {}; its metadata is at {} (clients \
         follow it and log in themselves: in Claude Code, /mcp then Authenticate; no token in any file)",
        r.issuer,
        r.resource,
        r.metadata_url()
    )
}

/// For `status`: issuer, key ids and when they were fetched (None: no OAuth here).
pub(crate) fn describe(dirs: &Dirs, name: &str) -> Option<Value> {
    let f = fetched(dirs, name)?;
    let conf: Value = std::fs::read_to_string(keys_dir(dirs, name).join("issuer.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Some(json!({
        "refresh_s": conf["refresh"],
        "issuer": f.issuer,
        "jwks_uri": f.jwks_uri,
        "kids": f.kids,
        "fetched_at": f.fetched_at,
        "fetched_by": f.by,
        "last_error": f.last_error,
        "failed_at": f.failed_at,
    }))
}

/// Seconds since `t` (epoch seconds), for messages.
pub(crate) fn age(t: u64) -> u64 {
    now().saturating_sub(t)
}

#[cfg(test)]
mod tests;
