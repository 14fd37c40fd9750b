//! End to end: OAuth at the front (issue 22), on docker AND podman, with a real authorization
//! server (oidc-provider, run by node from target/oauth-idp: scripts/oauth-idp.sh installs it),
//! the official Python SDK client (in the project's image) and the TypeScript SDK client.
//!
//! Scenarios (each on docker and on podman, registered in e2e.rs):
//! * `oauth_front`: bad settings refused before anything is made; the metadata in both forms;
//!   tokens of the issuer for the resource pass (Rust probe, TS SDK, Python SDK with a token and
//!   with its own OAuth client: client credentials, and authorization code with PKCE and dynamic
//!   registration, the login and consent pages driven over HTTP; RS256 and ES256), every other token is refused with 401 and the
//!   metadata URL (or 403 for a missing scope); the token never reaches the server; the issuer
//!   rotates its key with no mcpctl command (new key in, old key out within the bound); a failed
//!   fetch keeps the keys; `update` through the OAuth front with a caller: 0 failed calls
//! * `oauth_shared`: two projects on one front, each its own resource and metadata; one passes
//!   the token on to its server (`--oauth-pass-token`)

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, HttpAnswer, Target};
use serde_json::{Value, json};

use crate::e2e::{Project, Watch, add_shout_tool};
use crate::front::{FRONT_IMAGE, FrontGuard, front_healthy, front_image_present, status_with};
use crate::support::manifest_dir;

/// How often the front's refresher fetches the keys in these tests (MCPCTL_OAUTH_REFRESH).
const REFRESH_S: u64 = 3;

/// The node project under target/ (installed once per test run).
fn idp_dir() -> PathBuf {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    READY.get_or_init(|| {
        let o = Command::new("bash").arg(manifest_dir().join("scripts/oauth-idp.sh")).output().unwrap();
        assert!(o.status.success(), "scripts/oauth-idp.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    });
    manifest_dir().join("target/oauth-idp")
}

/// This machine's address that containers on any engine network reach it by (the issuer must be
/// the same URL from here, where tokens are asked for, and from the front, which fetches keys).
fn host_ip() -> String {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("10.255.255.255:1").expect("a default route");
    s.local_addr().unwrap().ip().to_string()
}

/// oidc-provider on `port`, with signing keys `kids` (`kid:ALG,...`, the first signs) kept in
/// `keydir`. Stopped when dropped.
struct Idp {
    child: Child,
    issuer: String,
    keydir: PathBuf,
}

impl Idp {
    fn start(port: u16, kids: &str, keydir: &Path) -> Idp {
        let issuer = format!("http://{}:{port}", host_ip());
        let mut child = Command::new("node")
            .arg(idp_dir().join("idp.mjs"))
            .env("IDP_PORT", port.to_string())
            .env("IDP_ISSUER", &issuer)
            .env("IDP_KEYDIR", keydir)
            .env("IDP_KIDS", kids)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let mut out = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        let mut b = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("listening") {
            assert_eq!(out.read(&mut b).unwrap_or(0), 1, "the authorization server did not start");
            seen.push(b[0]);
        }
        // Its later output is read too: a closed pipe would kill it at its next line.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Idp { child, issuer, keydir: keydir.to_path_buf() }
    }

    /// An access token for `resource` (client credentials with a resource indicator).
    fn token(&self, resource: &str, scope: &str) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut r = agent
            .post(format!("{}/token", self.issuer))
            .header("Authorization", "Basic bWNwLXRlc3Q6bWNwLXRlc3Qtc2VjcmV0")
            .send_form([("grant_type", "client_credentials"), ("resource", resource), ("scope", scope)])
            .unwrap_or_else(|e| panic!("no token for {resource}: {e}"));
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        v["access_token"].as_str().unwrap_or_else(|| panic!("no token for {resource}: {v}")).to_string()
    }

    /// A token the test signs itself with one of the issuer's real keys (or none, or HMAC).
    fn mint(&self, header: Value, payload: Value, hmac_key: &str) -> String {
        let kid = header["kid"].as_str().unwrap_or("").to_string();
        self.mint_with(&kid, header, payload, hmac_key)
    }

    /// `mint`, signed with the key `kid` whatever the header says.
    fn mint_with(&self, kid: &str, header: Value, payload: Value, hmac_key: &str) -> String {
        let req = json!({
            "keyfile": self.keydir.join(format!("{kid}.json")),
            "header": header,
            "payload": payload,
            "hmac_key": hmac_key,
        });
        node_with_stdin(&idp_dir().join("mint.mjs"), &req.to_string())
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_with_stdin(script: &Path, input: &str) -> String {
    let mut c =
        Command::new("node").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{} failed", script.display());
    String::from_utf8(o.stdout).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A request to the front on `port` (a JSON-RPC POST when `body`), with `token` as the bearer.
fn ask(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> HttpAnswer {
    let mut t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    t.bearer = token.map(str::to_string);
    mcpctl::probe::http(&t, method, path, body, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;

/// Refused with 401, naming the metadata (RFC 9728 5.1).
fn refused(port: u16, path: &str, token: Option<&str>, meta_url: &str, case: &str) {
    let a = ask(port, "POST", path, token, Some(LIST));
    assert_eq!(a.status, 401, "{case}: {a:?}");
    let h = a.header("www-authenticate").unwrap_or_default();
    assert!(
        h.starts_with("Bearer ") && h.contains(&format!("resource_metadata=\"{meta_url}\"")),
        "{case}: {h}"
    );
}

fn accepted(port: u16, path: &str, token: &str, case: &str) {
    let a = ask(port, "POST", path, Some(token), Some(LIST));
    assert_eq!(a.status, 200, "{case}: {a:?}");
}

/// The echo server with a tool that says which Authorization header reached it.
fn add_authorization_tool(dir: &Path) {
    let server_py = dir.join("echo_server/server.py");
    let code = std::fs::read_to_string(&server_py).unwrap();
    let tool = "@mcp_server.tool()\ndef authorization(ctx: Context) -> str:\n    \"\"\"The Authorization header this server got.\"\"\"\n    req = ctx.request_context.request\n    return (req.headers.get(\"authorization\") or \"none\") if req is not None else \"none\"\n\n\n@mcp_server.tool()\ndef echo(";
    let code = code
        .replacen(
            "from mcp.server.fastmcp import FastMCP",
            "from mcp.server.fastmcp import Context, FastMCP",
            1,
        )
        .replacen("@mcp_server.tool()\ndef echo(", tool, 1);
    assert!(code.contains("def authorization(") && code.contains("import Context"), "fixture changed shape");
    std::fs::write(&server_py, code).unwrap();
}

/// The official Python SDK's client in the project's image, on the host's network.
fn python_client(p: &Project, url: &str, mode: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(p.engine);
    c.args(["run", "--rm", "--network", "host"]);
    for (k, v) in env {
        // `-e NAME` alone: the value comes from this process's environment, never argv.
        c.args(["-e", k]).env(k, v);
    }
    let mount = format!("{}:/t:ro", idp_dir().display());
    c.args([
        "-v",
        &mount,
        "--entrypoint",
        "python3",
        &format!("{}-mcp", p.name),
        "/t/py_client.py",
        url,
        mode,
    ]);
    c.output().unwrap()
}

fn ts_client(url: &str, token: &str) -> std::process::Output {
    Command::new("node")
        .arg(idp_dir().join("ts_client.mjs"))
        .arg(url)
        .env("MCP_TOKEN", token)
        .output()
        .unwrap()
}

fn ok_json(o: &std::process::Output, who: &str) -> Value {
    assert!(
        o.status.success(),
        "{who}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{who}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn status_json(p: &Project) -> Value {
    let o = p.ok(&["status", "--json"]);
    serde_json::from_str(&o.stdout).unwrap_or_else(|_| panic!("status --json: {o:?}"))
}

pub(crate) fn oauth_front(engine: &'static str, base: u16) {
    front_image_present(engine);
    let keys = tempfile::tempdir().unwrap();
    let idp = Idp::start(base + 50, "rs-1:RS256,es-1:ES256", keys.path());
    // Another issuer with the very same keys: only its `iss` tells its tokens apart.
    let other = Idp::start(base + 51, "rs-1:RS256,es-1:ES256", keys.path());
    let mut p = Project::new("echo-server", engine, "oa-one", base);
    add_authorization_tool(p.dir.path());
    p.mcpctl_env.push(("MCPCTL_OAUTH_REFRESH".into(), REFRESH_S.to_string()));
    let front_args = |issuer: &str| -> Vec<String> {
        ["--front", "--front-image", FRONT_IMAGE, "--drain-timeout", "5", "--oauth-issuer", issuer]
            .map(String::from)
            .to_vec()
    };

    // Bad input: one line, exit 2, nothing made.
    let nowhere = format!("http://{}:{}", host_ip(), base + 52);
    let cases: Vec<(Vec<String>, Option<&str>, &str)> = vec![
        (front_args(&nowhere), None, "does not answer with its metadata"),
        (front_args(&idp.issuer), Some("token-file = \"tok.txt\"\n"), "both a static bearer token"),
        (
            [
                front_args(&idp.issuer),
                vec!["--oauth-resource".into(), format!("http://localhost:{base}/other/mcp")],
            ]
            .concat(),
            None,
            "is not this project's endpoint",
        ),
        (
            [front_args(&idp.issuer), vec!["--oauth-algs".into(), "ES384".into()]].concat(),
            None,
            "key rs-1 is refused",
        ),
        ([front_args(&idp.issuer), vec!["--oauth-algs".into(), "PS256".into()]].concat(), None, "RSA-PSS"),
    ];
    for (args, toml, why) in cases {
        p.extra = args;
        std::fs::write(p.dir.path().join("tok.txt"), "t0ken\n").unwrap();
        let cfg = p.dir.path().join("mcpctl.toml");
        if let Some(t) = toml {
            std::fs::write(&cfg, t).unwrap();
        }
        let o = p.mcpctl(&["start"]);
        let _ = std::fs::remove_file(&cfg);
        assert_eq!(o.code, 2, "{why}: {o:?}");
        o.one_stderr_line(why);
        assert!(p.containers().is_empty(), "{why}: containers were made: {:?}", p.containers());
    }

    p.extra = [front_args(&idp.issuer), vec!["--oauth-scopes".into(), "mcp:read".into()]].concat();
    let o = p.ok(&["start"]);
    let port = p.state_port();
    let resource = format!("http://localhost:{port}/mcp");
    let meta_url = format!("http://localhost:{port}/.well-known/oauth-protected-resource/mcp");
    assert!(o.stdout.contains(&meta_url), "start prints the metadata URL: {o:?}");

    // The front's own refresher (Lua) fetches the keys mcpctl wrote and finds them the same:
    // its JWK -> PEM conversion gives mcpctl's bytes (which are openssl's, a unit test says).
    let t0 = Instant::now();
    while status_json(&p)["oauth"]["fetched_by"] != "front" {
        assert!(t0.elapsed() < Duration::from_secs(20), "the front's refresher never fetched the keys");
        std::thread::sleep(Duration::from_millis(500));
    }
    let logs = p.engine_cmd(&["logs", &format!("{}-front", p.name)]);
    let logs = format!("{}{}", String::from_utf8_lossy(&logs.stdout), String::from_utf8_lossy(&logs.stderr));
    assert!(!logs.contains("keys changed"), "the refresher's PEMs differ from mcpctl's: {logs}");

    // The metadata, in both forms, without a token; a preflight passes without one.
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let a = ask(port, "GET", path, None, None);
        assert_eq!(a.status, 200, "{path}: {a:?}");
        let doc: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(
            doc,
            json!({"resource": resource, "authorization_servers": [idp.issuer], "scopes_supported": ["mcp:read"],
                   "bearer_methods_supported": ["header"]})
        );
    }
    let pre = ask(port, "OPTIONS", "/mcp", None, None);
    assert_eq!(pre.status, 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(pre.header("access-control-allow-headers").unwrap_or_default().contains("authorization"));

    // Tokens of the issuer for this resource pass: mcpctl's client, both SDKs, RS256 and ES256.
    let good = idp.token(&resource, "mcp:read");
    let mut t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    t.bearer = Some(good.clone());
    let mut c = Client::connect(&t, Duration::from_secs(30)).unwrap();
    assert!(c.list_tools().unwrap().contains(&"echo".to_string()));
    assert_eq!(c.call_tool("authorization", json!({})).unwrap(), "none", "the token reached the server");
    c.close();
    let ts = ok_json(&ts_client(&resource, &good), "TypeScript SDK");
    assert_eq!(ts["echo"], "from ts");
    let py = ok_json(&python_client(&p, &resource, "token", &[("MCP_TOKEN", &good)]), "Python SDK (token)");
    assert_eq!(py["echo"], "from python");
    // The SDK's own OAuth client: 401 -> the metadata -> the issuer's metadata -> a token for
    // the resource (RFC 8707) -> the call.
    let env = [
        ("OAUTH_CLIENT_ID", "mcp-test"),
        ("OAUTH_CLIENT_SECRET", "mcp-test-secret"),
        ("OAUTH_ISSUER", idp.issuer.as_str()),
    ];
    let py = ok_json(&python_client(&p, &resource, "oauth", &env), "Python SDK (its OAuth client)");
    assert_eq!(py["echo"], "from python");
    // Authorization code with PKCE, the SDK registering itself; the browser's part (the
    // issuer's login and consent pages) driven over HTTP.
    let py = ok_json(&python_client(&p, &resource, "code", &[]), "Python SDK (authorization code, PKCE)");
    assert_eq!(py["echo"], "from python");
    let claims = |over: Value| {
        let mut c = json!({"iss": idp.issuer, "aud": resource, "sub": "e2e", "scope": "mcp:read",
                           "iat": now(), "exp": now() + 300});
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let es = idp.mint(json!({"alg": "ES256", "kid": "es-1", "typ": "at+jwt"}), claims(json!({})), "");
    accepted(port, "/mcp", &es, "ES256 with the issuer's EC key");
    let array_aud = idp.mint(
        json!({"alg": "RS256", "kid": "rs-1"}),
        claims(json!({"aud": ["https://elsewhere.example", resource]})),
        "",
    );
    accepted(port, "/mcp", &array_aud, "aud an array holding the resource");

    // Everything else: 401 with the metadata URL.
    let rs = |over: Value| idp.mint(json!({"alg": "RS256", "kid": "rs-1"}), claims(over), "");
    let pem_path = format!("/var/run/mcpctl-front/oauth/{}/k0.pem", p.name);
    let pem_text = std::fs::read_to_string(
        p.home().join(format!(".config/mcpctl/fronts/{}-front/run/oauth/{}/k0.pem", p.name, p.name)),
    )
    .unwrap();
    // A character inside the signature (the last one may carry only padding bits).
    let mut bad_sig: Vec<char> = good.chars().collect();
    let k = bad_sig.len() - 10;
    bad_sig[k] = if bad_sig[k] == 'A' { 'B' } else { 'A' };
    let bad_sig: String = bad_sig.into_iter().collect();
    let (h, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        (
            "another project's path",
            Some(idp.token(&format!("http://localhost:{port}/other/mcp"), "mcp:read")),
        ),
        ("the bare origin", Some(idp.token(&format!("http://localhost:{port}"), "mcp:read"))),
        ("the resource with a suffix", Some(idp.token(&format!("{resource}x"), "mcp:read"))),
        ("another issuer (same keys)", Some(other.token(&resource, "mcp:read"))),
        ("expired", Some(rs(json!({"exp": now() - 120, "iat": now() - 400})))),
        ("no exp", Some(rs(json!({"exp": null})))),
        ("nbf ahead", Some(rs(json!({"nbf": now() + 600})))),
        ("no aud", Some(rs(json!({"aud": null})))),
        ("an aud array without the resource", Some(rs(json!({"aud": ["https://elsewhere.example"]})))),
        ("a bad signature", Some(bad_sig)),
        (
            "a payload changed under a good signature",
            Some(format!("{h}.{}.{sig}", payload.replacen('e', "f", 1))),
        ),
        ("alg none", Some(idp.mint(json!({"alg": "none", "kid": "rs-1"}), claims(json!({})), ""))),
        // jwt_verify answers these with negative numbers (an invalid token), which a bare
        // condition would take as true.
        ("no signature part", Some(format!("{h}.{payload}"))),
        ("four parts", Some(format!("{good}.{sig}"))),
        ("an empty signature", Some(format!("{h}.{payload}."))),
        (
            "HS256 keyed with the PEM's path",
            Some(idp.mint(json!({"alg": "HS256", "kid": "rs-1"}), claims(json!({})), &pem_path)),
        ),
        (
            "HS256 keyed with the PEM",
            Some(idp.mint(json!({"alg": "HS256", "kid": "rs-1"}), claims(json!({})), &pem_text)),
        ),
        (
            "an unknown kid",
            Some(idp.mint_with("rs-1", json!({"alg": "RS256", "kid": "nope"}), claims(json!({})), "")),
        ),
    ];
    for (case, token) in &cases {
        refused(port, "/mcp", token.as_deref(), &meta_url, case);
    }
    // The ES key's token relabelled as the RSA key's: the alg pinned to rs-1 is RS256.
    let relabelled = {
        use std::fmt::Write as _;
        let es_parts: Vec<&str> = es.split('.').collect();
        let head = base64url(&json!({"alg": "ES256", "kid": "rs-1"}).to_string());
        let mut s = String::new();
        write!(s, "{head}.{}.{}", es_parts[1], es_parts[2]).unwrap();
        s
    };
    refused(port, "/mcp", Some(&relabelled), &meta_url, "ES256 signed, kid of the RS256 key");
    refused(port, &format!("/mcp?access_token={good}"), None, &meta_url, "a token in the query string");
    assert_eq!(
        status_with(
            port,
            "/mcp",
            &[&format!("Authorization: Bearer {good}"), &format!("Authorization: Bearer {good}")]
        ),
        401,
        "two Authorization headers"
    );
    // A token without the scope: 403 insufficient_scope, naming it.
    let a = ask(port, "POST", "/mcp", Some(&idp.token(&resource, "mcp:write")), Some(LIST));
    assert_eq!(a.status, 403, "{a:?}");
    let h = a.header("www-authenticate").unwrap_or_default();
    assert!(h.contains("error=\"insufficient_scope\"") && h.contains("scope=\"mcp:read\""), "{h}");
    // On every method.
    for m in ["GET", "DELETE"] {
        let a = ask(port, m, "/mcp", None, None);
        assert_eq!(a.status, 401, "{m}: {a:?}");
    }

    let st = status_json(&p);
    assert_eq!(st["oauth"]["issuer"], idp.issuer.as_str(), "{st}");
    assert_eq!(st["oauth"]["kids"], json!(["rs-1", "es-1"]), "{st}");
    assert_eq!(st["oauth"]["answers_401"], true, "{st}");
    let o = p.ok(&["client"]);
    assert!(o.stdout.contains(&meta_url) && !o.stdout.contains(&good[..20]), "{o:?}");

    // The issuer rotates: es-2 only (and signs with it). No mcpctl command: within the bound
    // (the refresh period, a fetch and a reload), the new key passes and the old one does not.
    drop(idp);
    let idp = Idp::start(base + 50, "es-2:ES256", keys.path());
    let fresh = idp.token(&resource, "mcp:read");
    let t0 = Instant::now();
    let bound = Duration::from_secs(REFRESH_S + 12);
    loop {
        let new_ok = ask(port, "POST", "/mcp", Some(&fresh), Some(LIST)).status == 200;
        let old_out = ask(port, "POST", "/mcp", Some(&good), Some(LIST)).status == 401;
        if new_ok && old_out {
            break;
        }
        assert!(
            t0.elapsed() < bound,
            "the rotation took more than {bound:?} (new ok {new_ok}, old out {old_out})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("oauth rotation on {engine}: {:.1} s", t0.elapsed().as_secs_f64());
    let logs = p.engine_cmd(&["logs", &format!("{}-front", p.name)]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("keys changed"), "the refresher did not say so");
    assert_eq!(status_json(&p)["oauth"]["kids"], json!(["es-2"]));

    // The issuer goes away: its keys stay, and status says the fetch failed.
    drop(idp);
    std::thread::sleep(Duration::from_secs(3 * REFRESH_S));
    accepted(port, "/mcp", &fresh, "after failed fetches");
    let st = status_json(&p);
    assert!(st["oauth"]["last_error"].is_string(), "{st}");
    assert_eq!(st["oauth"]["kids"], json!(["es-2"]));

    // An update through the OAuth front with a caller: not one failed call.
    let idp = Idp::start(base + 50, "es-2:ES256", keys.path());
    add_shout_tool(p.dir.path());
    let mut watched = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    watched.bearer = Some(idp.token(&resource, "mcp:read"));
    let w = Watch::on(watched.clone());
    let o = p.mcpctl(&["update"]);
    let (attempts, failures, _) = w.finish();
    assert_eq!(o.code, 0, "{o:?}");
    assert!(attempts >= 5, "only {attempts} calls during the update");
    assert!(failures.is_empty(), "calls failed during the update through the OAuth front: {failures:?}");
    let mut c = Client::connect(&watched, Duration::from_secs(30)).unwrap();
    assert!(c.list_tools().unwrap().contains(&"shout".to_string()));
    c.close();
    front_healthy(&p, &format!("{}-front", p.name));

    // Off again: no OAuth, the front open as before.
    p.extra = ["--front", "--front-image", FRONT_IMAGE, "--oauth-issuer", "off"].map(String::from).to_vec();
    p.ok(&["update"]);
    assert_eq!(ask(port, "POST", "/mcp", None, Some(LIST)).status, 200);
    assert_eq!(ask(port, "GET", "/.well-known/oauth-protected-resource/mcp", None, None).status / 100, 4);
}

fn base64url(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Two projects on one front, each its own resource: a token for one is refused by the other,
/// each has its metadata at its own path-inserted URL.
pub(crate) fn oauth_shared(engine: &'static str, base: u16) {
    front_image_present(engine);
    let group = format!("oa-{}", engine.trim_start_matches('/').replace('/', "-"));
    let front_port = base + 90;
    let cleanup = FrontGuard { engine, name: format!("mcpctl-front-{group}") };
    cleanup.remove();
    let keys = tempfile::tempdir().unwrap();
    let idp = Idp::start(base + 50, "rs-1:RS256", keys.path());
    let mut a = Project::new("echo-server", engine, "oa-sa", base);
    let mut b = a.beside("echo-server", "oa-sb", base + 10);
    for p in [&mut a, &mut b] {
        p.extra =
            ["--front", "--front-image", FRONT_IMAGE, "--front-group", &group, "--oauth-issuer", &idp.issuer]
                .map(String::from)
                .to_vec();
        std::fs::write(p.dir.path().join("mcpctl.toml"), format!("front-port = {front_port}\n")).unwrap();
    }
    // b's server gets the client's token (--oauth-pass-token), a's never does.
    add_authorization_tool(b.dir.path());
    b.extra.push("--oauth-pass-token".into());
    a.ok(&["start"]);
    b.ok(&["start"]);
    let res = |p: &Project| format!("http://localhost:{front_port}/{}/mcp", p.name);
    let meta = |p: &Project| {
        format!("http://localhost:{front_port}/.well-known/oauth-protected-resource/{}/mcp", p.name)
    };
    let (ta, tb) = (idp.token(&res(&a), "mcp:read"), idp.token(&res(&b), "mcp:read"));
    for (p, mine, theirs) in [(&a, &ta, &tb), (&b, &tb, &ta)] {
        let path = format!("/{}/mcp", p.name);
        accepted(front_port, &path, mine, "its own token");
        refused(front_port, &path, Some(theirs), &meta(p), "the other project's token");
        refused(front_port, &path, None, &meta(p), "no token");
        let doc = ask(
            front_port,
            "GET",
            &format!("/.well-known/oauth-protected-resource/{}/mcp", p.name),
            None,
            None,
        );
        assert_eq!(doc.status, 200, "{doc:?}");
        assert_eq!(serde_json::from_str::<Value>(&doc.body).unwrap()["resource"], res(p).as_str());
    }
    let mut t = Target::new(front_port, &format!("/{}/mcp", b.name), TransportSetting::StreamableHttp);
    t.bearer = Some(tb.clone());
    let mut c = Client::connect(&t, Duration::from_secs(30)).unwrap();
    assert_eq!(
        c.call_tool("authorization", json!({})).unwrap(),
        format!("Bearer {tb}"),
        "b's token was not passed on"
    );
    c.close();
    // No project at the root: no bare metadata.
    assert_eq!(ask(front_port, "GET", "/.well-known/oauth-protected-resource", None, None).status, 404);
    // One leaves: the other keeps its OAuth.
    a.ok(&["down"]);
    accepted(front_port, &format!("/{}/mcp", b.name), &tb, "b after a left");
    refused(front_port, &format!("/{}/mcp", b.name), None, &meta(&b), "b after a left, no token");
    b.ok(&["down"]);
}
