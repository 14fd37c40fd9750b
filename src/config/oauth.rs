//! OAuth at the front (the MCP specification's authorization): which authorization server issues
//! the access tokens the front accepts, for which resource, with which scopes and signing
//! algorithms. Checked here without the network (the issuer's answers are checked by the front,
//! front/oauth.rs, before anything changes).

use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::file::FileConfig;
use crate::error::Explained;

/// The OAuth flags (and their MCPCTL_* variables).
#[derive(Args, Debug, Clone, Default)]
pub struct OAuthOverrides {
    /// OAuth at the front: the authorization server whose access tokens it accepts (its
    /// metadata gives the signing keys); exclusive with a static token; `off` turns it off
    /// [default: as deployed]
    #[arg(long, global = true, env = "MCPCTL_OAUTH_ISSUER", value_name = "URL")]
    pub oauth_issuer: Option<String>,

    /// The resource the tokens must be issued for (their `aud`) [default: the endpoint mcpctl
    /// prints, with the project's path behind a shared front]
    #[arg(long, global = true, env = "MCPCTL_OAUTH_RESOURCE", value_name = "URL")]
    pub oauth_resource: Option<String>,

    /// Scopes every token must hold, comma-separated [default: none]
    #[arg(long, global = true, env = "MCPCTL_OAUTH_SCOPES", value_name = "SCOPES")]
    pub oauth_scopes: Option<String>,

    /// Signing algorithms accepted, comma-separated (RS256, RS384, RS512, ES256, ES384,
    /// ES512) [default: RS256,ES256]
    #[arg(long, global = true, env = "MCPCTL_OAUTH_ALGS", value_name = "ALGS")]
    pub oauth_algs: Option<String>,

    /// Pass the client's Authorization header on to the server (it is removed by default)
    #[arg(long, global = true)]
    pub oauth_pass_token: bool,
}

/// A signing algorithm HAProxy 2.6's `jwt_verify` checks with a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub(crate) enum Alg {
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
}

impl Alg {
    pub(crate) const ALL: [Alg; 6] = [Alg::RS256, Alg::RS384, Alg::RS512, Alg::ES256, Alg::ES384, Alg::ES512];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Alg, String> {
        if let Some(a) = Alg::ALL.into_iter().find(|a| a.name() == s) {
            return Ok(a);
        }
        Err(refused_alg(s))
    }

    /// The elliptic curve an ES algorithm's key is on (JWK `crv`).
    pub(crate) fn curve(self) -> Option<&'static str> {
        match self {
            Alg::ES256 => Some("P-256"),
            Alg::ES384 => Some("P-384"),
            Alg::ES512 => Some("P-521"),
            _ => None,
        }
    }
}

/// Why an algorithm is not one the front can pin a key to.
pub(crate) fn refused_alg(s: &str) -> String {
    match s {
        "none" => "alg none is no signature at all".into(),
        a if a.starts_with("HS") => format!("{a} is a shared secret, not a key an issuer publishes"),
        a if a.starts_with("PS") => format!("{a} (RSA-PSS) cannot be verified by HAProxy 2.6"),
        "EdDSA" | "Ed25519" => format!("{s} cannot be verified by HAProxy 2.6"),
        a => format!("{a:?} is not a signing algorithm the front knows"),
    }
}

pub(crate) const DEFAULT_ALGS: [Alg; 2] = [Alg::RS256, Alg::ES256];
/// How often the front fetches the issuer's keys (its refresher, front/oauth.rs).
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(60);

/// OAuth at the front, for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthSettings {
    pub(crate) issuer: String,
    /// As given; None: the endpoint (front/oauth.rs computes it where the port is known).
    pub(crate) resource: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) algs: Vec<Alg>,
    pub(crate) pass_token: bool,
    /// How often the front fetches the issuer's keys (MCPCTL_OAUTH_REFRESH, seconds).
    pub(crate) refresh: Duration,
}

impl OAuthSettings {
    /// `--oauth-issuer off`: no OAuth at the front for this project from now on.
    pub(crate) fn off() -> OAuthSettings {
        OAuthSettings {
            issuer: String::new(),
            resource: None,
            scopes: Vec::new(),
            algs: Vec::new(),
            pass_token: false,
            refresh: DEFAULT_REFRESH,
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        self.issuer.is_empty()
    }
}

/// The OAuth settings, or None (not asked: as deployed). `static_token`: the project asks for a static bearer token too
/// (token-file or token-env), which OAuth excludes.
pub(crate) fn resolve(
    o: &OAuthOverrides,
    f: &FileConfig,
    static_token: bool,
) -> anyhow::Result<Option<OAuthSettings>> {
    let pick = |flag: &Option<String>, file: &Option<String>| {
        flag.clone().or_else(|| file.clone()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    let issuer = pick(&o.oauth_issuer, &f.oauth_issuer);
    let resource = pick(&o.oauth_resource, &f.oauth_resource);
    let scopes = pick(&o.oauth_scopes, &f.oauth_scopes);
    let algs = pick(&o.oauth_algs, &f.oauth_algs);
    let pass = o.oauth_pass_token || f.oauth_pass_token.unwrap_or(false);
    if issuer.as_deref() == Some("off") {
        // Turned off explicitly (without it, a command with no OAuth flags keeps it as deployed).
        return Ok(Some(OAuthSettings::off()));
    }
    let Some(issuer) = issuer else {
        if resource.is_some() || scopes.is_some() || algs.is_some() || pass {
            return Err(Explained::usage("OAuth settings given without an issuer")
                .fix("add --oauth-issuer URL (the authorization server), or drop the oauth settings")
                .into());
        }
        return Ok(None);
    };
    if static_token {
        return Err(Explained::usage(
            "both a static bearer token (token-file or token-env) and an OAuth issuer are set",
        )
        .fix("keep one: the front checks either the token or the issuer's access tokens")
        .into());
    }
    check_url("oauth issuer", &issuer)?;
    if let Some(r) = &resource {
        check_url("oauth resource", r)?;
    }
    let scopes: Vec<String> =
        scopes.unwrap_or_default().split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if let Some(bad) =
        scopes.iter().find(|s| !s.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/-".contains(c)))
    {
        return Err(Explained::usage(format!("oauth scope {bad:?} has characters the front cannot match"))
            .fix("use letters, digits and _ . : / -")
            .into());
    }
    let algs = match algs {
        None => DEFAULT_ALGS.to_vec(),
        Some(list) => {
            let mut v = Vec::new();
            for a in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                v.push(Alg::parse(a).map_err(|why| {
                    Explained::usage(format!("oauth algorithm {a} is refused: {why}"))
                        .fix("use RS256, RS384, RS512, ES256, ES384 or ES512")
                })?);
            }
            v.sort();
            v.dedup();
            if v.is_empty() {
                return Err(Explained::usage("oauth-algs lists no algorithm").into());
            }
            v
        }
    };
    let refresh = match std::env::var("MCPCTL_OAUTH_REFRESH") {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if (2..=3600).contains(&n) => Duration::from_secs(n),
            _ => {
                return Err(Explained::usage(format!("MCPCTL_OAUTH_REFRESH={v} is out of range"))
                    .fix("give seconds, 2 to 3600")
                    .into());
            }
        },
        Err(_) => DEFAULT_REFRESH,
    };
    Ok(Some(OAuthSettings { issuer, resource, scopes, algs, pass_token: pass, refresh }))
}

/// OAuth is at the front: asking for it turns the front on; refused with the front turned off.
pub(crate) fn front_wanted(wanted: Option<bool>, o: Option<&OAuthSettings>) -> anyhow::Result<Option<bool>> {
    match (wanted, o.filter(|o| !o.is_off())) {
        (Some(false), Some(_)) => Err(Explained::usage("OAuth without the front")
            .why("the front is what checks the tokens")
            .fix("drop --no-front (or `front = false`), or --oauth-issuer off")
            .into()),
        (_, Some(_)) => Ok(Some(true)),
        (w, None) => Ok(w),
    }
}

/// An http(s) URL with a host, no query or fragment, and nothing HAProxy's config would read
/// as syntax (quotes, `$`, `\`, spaces): it is written into the front's config.
pub(crate) fn check_url(what: &str, url: &str) -> anyhow::Result<()> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty() && r.chars().all(|c| c.is_ascii_graphic() && !"\"'$\\#?`{}<>|^".contains(c))
    });
    if !ok {
        return Err(Explained::usage(format!("{what} {url:?} is not a plain http(s) URL"))
            .fix("give it as https://HOST[:PORT][/PATH], without query, fragment, quotes or spaces")
            .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(toml: &str) -> FileConfig {
        toml::from_str(toml).unwrap()
    }

    fn err(o: &OAuthOverrides, f: &FileConfig, token: bool) -> String {
        let e = resolve(o, f, token).unwrap_err();
        let ex = e.downcast_ref::<Explained>().expect("a usage error");
        assert!(ex.bad_input, "exit 2: {e}");
        format!("{e:#}")
    }

    #[test]
    fn nothing_asked_is_no_oauth_and_defaults_are_rs256_es256() {
        assert_eq!(resolve(&OAuthOverrides::default(), &file(""), true).unwrap(), None);
        let o = OAuthOverrides { oauth_issuer: Some("https://id.example.com".into()), ..Default::default() };
        let s = resolve(&o, &file(""), false).unwrap().unwrap();
        assert_eq!(s.algs, vec![Alg::RS256, Alg::ES256]);
        assert_eq!(s.resource, None);
        assert!(!s.pass_token);
        let f = file(
            "oauth-issuer = 'https://id.example.com/t1'\noauth-scopes = 'mcp:read, mcp:write'\noauth-algs = 'ES384'\noauth-pass-token = true\n",
        );
        let s = resolve(&OAuthOverrides::default(), &f, false).unwrap().unwrap();
        assert_eq!(s.issuer, "https://id.example.com/t1");
        assert_eq!(s.scopes, vec!["mcp:read", "mcp:write"]);
        assert_eq!(s.algs, vec![Alg::ES384]);
        assert!(s.pass_token);
    }

    #[test]
    fn refusals_are_one_usage_line() {
        let iss = |u: &str| OAuthOverrides { oauth_issuer: Some(u.into()), ..Default::default() };
        assert!(err(&iss("https://id.example.com"), &file(""), true).contains("both a static bearer token"));
        assert!(err(&iss("ftp://id"), &file(""), false).contains("not a plain http(s) URL"));
        assert!(err(&iss("https://id/$HOME"), &file(""), false).contains("not a plain http(s) URL"));
        assert!(err(&iss("https://"), &file(""), false).contains("not a plain http(s) URL"));
        for (alg, why) in [
            ("PS256", "RSA-PSS"),
            ("HS256", "shared secret"),
            ("none", "no signature"),
            ("EdDSA", "cannot be verified"),
        ] {
            let o = OAuthOverrides { oauth_algs: Some(alg.into()), ..iss("https://id.example.com") };
            let e = err(&o, &file(""), false);
            assert!(e.contains(&format!("oauth algorithm {alg} is refused")) && e.contains(why), "{e}");
        }
        let o = OAuthOverrides { oauth_scopes: Some("a\"b".into()), ..iss("https://id.example.com") };
        assert!(err(&o, &file(""), false).contains("oauth scope"));
        let o = OAuthOverrides { oauth_resource: Some("https://x/mcp".into()), ..Default::default() };
        assert!(err(&o, &file(""), false).contains("without an issuer"));
        // OAuth turns the front on; with it turned off, refused.
        let on = resolve(&iss("https://id.example.com"), &file(""), false).unwrap();
        assert_eq!(front_wanted(None, on.as_ref()).unwrap(), Some(true));
        assert_eq!(front_wanted(None, None).unwrap(), None);
        let e = front_wanted(Some(false), on.as_ref()).unwrap_err();
        assert!(
            e.downcast_ref::<Explained>().is_some_and(|x| x.bad_input)
                && e.to_string().contains("without the front")
        );
        // off is off, also with a static token (which then protects the project alone).
        assert!(resolve(&iss("off"), &file(""), true).unwrap().unwrap().is_off());
    }
}
