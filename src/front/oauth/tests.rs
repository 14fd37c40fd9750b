use super::*;
use crate::config::Settings;
use crate::config::oauth::Alg;
use crate::error::Explained;
use crate::front::config::{Backend, FrontState, Slot, SlotState, render};

fn golden(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/front").join(name)
}

fn jwk(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden(&format!("oauth/{name}.jwk.json"))).unwrap())
        .unwrap()
}

/// The PEM is byte for byte what `openssl pkey -pubout` wrote for the same key (RSA, P-256,
/// P-384). The refresher's Lua conversion is held to the same bytes end to end (the e2e tests
/// see no "keys changed" after its first fetch of what mcpctl wrote).
#[test]
fn jwk_to_pem_matches_openssl() {
    for (name, alg) in [("rsa", Alg::RS256), ("p256", Alg::ES256), ("p384", Alg::ES384)] {
        let want = std::fs::read_to_string(golden(&format!("oauth/{name}.pem"))).unwrap();
        assert_eq!(jwk_pem(&jwk(name), alg).unwrap(), want, "{name}");
    }
}

#[test]
fn base64_round_trips() {
    for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0xff, 0xfe, 0x00, 0x01]] {
        let std = b64_encode(data);
        let url = std.trim_end_matches('=').replace('+', "-").replace('/', "_");
        assert_eq!(b64url_decode(&url).unwrap(), data);
    }
    assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
}

fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// Each key the front cannot pin is refused in one line naming its kid and why.
#[test]
fn keys_that_cannot_be_pinned_are_refused_by_kid() {
    let default = [Alg::RS256, Alg::ES256];
    let rsa = |kid: &str, alg: Option<&str>| {
        let mut k = jwk("rsa");
        k["kid"] = json!(kid);
        if let Some(a) = alg {
            k["alg"] = json!(a);
        }
        k
    };
    let ok = keys_of(&jwks(&[rsa("a", Some("RS256")), jwk("p256")]), &default).unwrap();
    assert_eq!(
        ok.iter().map(|k| (k.kid.as_str(), k.alg)).collect::<Vec<_>>(),
        [("a", Alg::RS256), ("p256", Alg::ES256)]
    );
    // No alg: RSA is RS256, EC by its curve.
    assert_eq!(keys_of(&jwks(&[rsa("b", None)]), &default).unwrap()[0].alg, Alg::RS256);
    let refused = |keys: &[Value], allowed: &[Alg]| keys_of(&jwks(keys), allowed).unwrap_err();
    let e = refused(&[rsa("ps", Some("PS256"))], &default);
    assert!(e.contains("key ps is refused") && e.contains("RSA-PSS"), "{e}");
    let e = refused(&[json!({"kty": "oct", "kid": "hs", "k": "c2VjcmV0", "alg": "HS256"})], &default);
    assert!(e.contains("key hs is refused") && e.contains("shared secret"), "{e}");
    let e = refused(&[json!({"kty": "oct", "kid": "hs2", "k": "c2VjcmV0"})], &default);
    assert!(e.contains("key hs2 is refused"), "{e}");
    let e = refused(&[rsa("n", Some("none"))], &default);
    assert!(e.contains("key n is refused") && e.contains("no signature"), "{e}");
    let e = refused(&[jwk("p384")], &default);
    assert!(e.contains("key p384 is refused") && e.contains("ES384 is not among the allowed"), "{e}");
    let e = refused(&[rsa("x", Some("ES256"))], &[Alg::ES256]);
    assert!(e.contains("key x is refused") && e.contains("on a RSA key"), "{e}");
    let e = refused(&[json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "AA"})], &default);
    assert!(e.contains("key ed is refused"), "{e}");
    let e = refused(&[json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})], &default);
    assert!(e.contains("no usable kid"), "{e}");
    let mut small = rsa("small", Some("RS256"));
    small["n"] = json!("AQAB");
    assert!(refused(&[small], &default).contains("under 2048 bits"));
    // Encryption keys are not the front's business.
    let mut enc = rsa("enc", Some("PS256"));
    enc["use"] = json!("enc");
    assert_eq!(keys_of(&jwks(&[enc, jwk("p256")]), &default).unwrap().len(), 1);
    assert!(refused(&[], &default).contains("no signing key"));
}

#[test]
fn metadata_urls_insert_the_path() {
    assert_eq!(
        metadata_urls("https://id.example.com/tenant/a"),
        [
            "https://id.example.com/.well-known/oauth-authorization-server/tenant/a",
            "https://id.example.com/tenant/a/.well-known/openid-configuration"
        ]
    );
    assert_eq!(
        metadata_urls("http://10.0.0.1:4000"),
        [
            "http://10.0.0.1:4000/.well-known/oauth-authorization-server",
            "http://10.0.0.1:4000/.well-known/openid-configuration"
        ]
    );
}

fn route(resource: &str, scopes: &[&str]) -> OAuthRoute {
    OAuthRoute {
        issuer: "https://id.example.com".into(),
        resource: resource.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        pass_token: false,
    }
}

#[test]
fn the_metadata_document_and_its_url() {
    let r = route("https://mcp.example.com:8443/echo/mcp", &["mcp:read"]);
    assert_eq!(r.metadata_path(), "/.well-known/oauth-protected-resource/echo/mcp");
    assert_eq!(
        r.metadata_url(),
        "https://mcp.example.com:8443/.well-known/oauth-protected-resource/echo/mcp"
    );
    let doc: Value = serde_json::from_str(&r.metadata()).unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": "https://mcp.example.com:8443/echo/mcp",
            "authorization_servers": ["https://id.example.com"],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["mcp:read"],
        })
    );
    let bare: Value = serde_json::from_str(&route("http://localhost:9000/mcp", &[]).metadata()).unwrap();
    assert!(bare.get("scopes_supported").is_none());
}

/// The whole config of a shared front with one OAuth project (with scopes), one with a static
/// token and one open: tests/golden/front/oauth.cfg (MCPCTL_BLESS=1 rewrites it).
#[test]
fn the_config_matches_its_golden_file() {
    let slot = |ip: &str| Slot { container: format!("id-{ip}"), ip: ip.into(), state: SlotState::Ready };
    let mut st = FrontState { publish: "127.0.0.1:19443".into(), ..Default::default() };
    let mut a = Backend { prefix: "/a".into(), port: 3001, path: "/mcp".into(), ..Default::default() };
    a.oauth = Some(route("http://localhost:19443/a/mcp", &["mcp:read", "mcp.write"]));
    a.slots.insert("blue".into(), slot("10.0.0.2"));
    let mut b =
        Backend { prefix: "/b".into(), port: 3001, token: true, path: "/mcp".into(), ..Default::default() };
    b.slots.insert("blue".into(), slot("10.0.0.3"));
    let mut c = Backend { prefix: "".into(), port: 3001, path: "/mcp".into(), ..Default::default() };
    let mut co = route("http://localhost:19443/mcp", &[]);
    co.pass_token = true;
    c.oauth = Some(co);
    c.slots.insert("blue".into(), slot("10.0.0.4"));
    st.projects.insert("a".into(), a);
    st.projects.insert("b".into(), b);
    st.projects.insert("c".into(), c);
    let cfg = render("mcpctl-front-g", &st);
    let path = golden("oauth.cfg");
    if std::env::var_os("MCPCTL_BLESS").is_some() {
        std::fs::write(&path, &cfg).unwrap();
    }
    assert_eq!(cfg, std::fs::read_to_string(&path).unwrap(), "MCPCTL_BLESS=1 rewrites {}", path.display());
    // The pitfalls, each visibly handled.
    assert!(cfg.contains("jwt_verify(txn.oa_pin,\"/var/run/mcpctl-front/oauth/a/k0.pem\")"));
    assert!(!cfg.contains("jwt_verify(txn.oa_alg"), "never the token's own alg");
    assert!(cfg.contains("{ var(txn.oa_sig) -m int 1 }"));
    assert!(!cfg.contains("\"$."), "JSON paths in double quotes");
    assert!(cfg.contains("jwt_payload_query('$.aud[0]')"));
    assert!(cfg.contains("lua-load /usr/local/etc/haproxy/oauth_refresh.lua"));
    // c passes the token on; a does not.
    let a_part = &cfg[cfg.find("\nbackend be_a").unwrap()..cfg.find("\nbackend be_b").unwrap()];
    let c_part = &cfg[cfg.find("\nbackend be_c").unwrap()..];
    assert!(a_part.contains("del-header authorization") && !c_part.contains("del-header authorization"));
    assert!(cfg.contains("if { path /.well-known/oauth-protected-resource/mcp } || { path /.well-known/oauth-protected-resource }"));
    // No OAuth project: no refresher, nothing of OAuth.
    st.projects.retain(|n, _| n == "b");
    let plain = render("mcpctl-front-g", &st);
    assert!(!plain.contains("oauth") && !plain.contains("jwt_"), "{plain}");
}

#[test]
fn provision_writes_slots_and_the_map_and_says_when_keys_change() {
    let d = tempfile::tempdir().unwrap();
    let dirs = Dirs::of(&d.path().join("fronts/f"));
    dirs.create().unwrap();
    let o = OAuthSettings {
        issuer: "https://id.example.com".into(),
        resource: None,
        scopes: vec![],
        algs: vec![Alg::RS256, Alg::ES256],
        pass_token: false,
        refresh: Duration::from_secs(60),
    };
    let r = route("http://localhost:9000/mcp", &[]);
    let keys = keys_of(&jwks(&[jwk("rsa"), jwk("p256")]), &o.algs).unwrap();
    let issuer = Issuer { jwks_uri: "https://id.example.com/jwks".into(), keys };
    assert!(provision(&dirs, "p", &o, &r, &issuer).unwrap());
    let kd = keys_dir(&dirs, "p");
    assert_eq!(std::fs::read_to_string(kd.join("kids.map")).unwrap(), "rsa k0:RS256\np256 k1:ES256\n");
    for i in 0..SLOTS {
        assert!(
            std::fs::read_to_string(kd.join(format!("k{i}.pem")))
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
    }
    assert!(!provision(&dirs, "p", &o, &r, &issuer).unwrap(), "the same keys: no reload");
    let f = fetched(&dirs, "p").unwrap();
    assert_eq!((f.kids, f.by.as_str()), (vec!["rsa".to_string(), "p256".to_string()], "mcpctl"));
    assert!(dirs.config.join("oauth-p.json").is_file() && dirs.config.join(REFRESHER_FILE).is_file());
    cleanup(&dirs, &[]);
    assert!(!kd.exists() && !dirs.config.join("oauth-p.json").exists());
}

fn settings(oauth: &str, group: bool) -> (Settings, OAuthSettings) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"echo\"\n").unwrap();
    let group = if group { "front-group = 'g'\nfront-port = 19443\n" } else { "" };
    std::fs::write(d.path().join("mcpctl.toml"), format!("base-port = 19100\nfront = true\n{group}{oauth}"))
        .unwrap();
    let f = crate::config::read_project(d.path()).unwrap();
    let p = crate::config::resolve(d.path(), &f, &Default::default()).unwrap();
    let s = Settings::resolve(p, std::path::Path::new("/home/u"), &Default::default());
    let o = s.front.oauth.clone().unwrap();
    (s, o)
}

/// The resource is the endpoint clients use unless given; a given one must be this project's
/// scheme and path (and on localhost its port); another host name is the one clients use.
#[test]
fn the_resource_is_the_served_endpoint() {
    let (s, o) = settings("oauth-issuer = 'https://id.example.com'\n", false);
    assert_eq!(resource(&s, &o, 19100).unwrap(), "http://localhost:19100/mcp");
    let (s, o) = settings("oauth-issuer = 'https://id.example.com'\n", true);
    assert_eq!(resource(&s, &o, 19100).unwrap(), "http://localhost:19443/echo/mcp");
    let given = |r: &str, group: bool| {
        settings(&format!("oauth-issuer = 'https://id.example.com'\noauth-resource = '{r}'\n"), group)
    };
    let (s, o) = given("https://mcp.example.com/echo/mcp", true);
    assert!(check_resource_path(&s, &o).is_err(), "https on a front without TLS");
    let (s, o) = given("http://mcp.example.com/echo/mcp", true);
    check_resource_path(&s, &o).unwrap();
    assert_eq!(resource(&s, &o, 19100).unwrap(), "http://mcp.example.com/echo/mcp");
    for (r, group) in [
        ("http://localhost:19443/mcp", true),
        ("http://localhost:19443/echo/mcpx", true),
        ("http://localhost:19443", true),
        ("http://localhost:19101/mcp", false),
    ] {
        let (s, o) = given(r, group);
        let e = check_resource_path(&s, &o).and_then(|_| resource(&s, &o, 19100).map(|_| ()));
        let e = e.expect_err(r);
        assert!(e.downcast_ref::<Explained>().is_some_and(|x| x.bad_input), "{r}: {e}");
    }
}
