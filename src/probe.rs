//! A small MCP client over HTTP: enough to prove a server answers MCP (tools/list, tools/call) on
//! streamable HTTP and on the older SSE transport. `mcpctl` uses it as its readiness probe and for
//! `status`; the end-to-end tests use it as their client.
//!
//! It speaks both protocol eras, deciding as the Python SDK's `mode="auto"` does: on streamable
//! HTTP it asks `server/discover` (2026-07-28: no session, every request carries its version and
//! method in headers and `_meta`), and falls back to `initialize` (2024-11-05 to 2025-11-25: a
//! session) on any answer but a server that names only newer versions. SSE is 2025 only.
//!
//! It talks to 127.0.0.1 but sends `Host: localhost:PORT`, the Host a client pasting the printed
//! endpoint would send, so DNS-rebinding protection sees what real clients send.

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{Era, TransportSetting};

/// The version offered in `initialize` (the 2025 era).
pub(crate) const PROTOCOL_VERSION: &str = "2025-06-18";
/// The version asked for in `server/discover` (the 2026 era), the only one of that era so far.
pub(crate) const MODERN_VERSION: &str = "2026-07-28";
/// Versions reached through `initialize`: a server that lists one of these still speaks to us.
pub(crate) const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// JSON-RPC error: the server does not speak the version asked for (`data.supported` lists its own).
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

pub(crate) use crate::config::Transport;

/// Why a probe failed, in terms a diagnosis can use.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeError {
    /// Nothing listens on the host port.
    Refused,
    /// Something accepted the connection and closed it without an HTTP answer (docker's proxy does
    /// this when nothing listens inside the container).
    Closed(String),
    Timeout,
    /// An HTTP answer that is not success.
    Status {
        code: u16,
        body: String,
    },
    /// An HTTP 2xx that is not an MCP answer.
    NotMcp(String),
    /// A JSON-RPC error answer.
    Rpc {
        code: i64,
        message: String,
    },
    /// The server speaks only protocol versions of a newer era than mcpctl's (-32022 to both
    /// `server/discover` and, by its list, `initialize`).
    Unsupported {
        supported: Vec<String>,
    },
    Other(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Refused => write!(f, "connection refused"),
            ProbeError::Closed(s) => write!(f, "connection closed without an answer ({s})"),
            ProbeError::Timeout => write!(f, "no answer before the timeout"),
            ProbeError::Status { code, body } => {
                let body = body.trim();
                if body.is_empty() {
                    write!(f, "HTTP {code}")
                } else {
                    write!(f, "HTTP {code}: {}", first_chars(body, 200))
                }
            }
            ProbeError::NotMcp(s) => write!(f, "not an MCP answer: {s}"),
            ProbeError::Rpc { code, message } => write!(f, "JSON-RPC error {code}: {message}"),
            ProbeError::Unsupported { supported } => write!(
                f,
                "the server speaks only MCP {}, which this mcpctl does not (it speaks {} to {} and {MODERN_VERSION})",
                supported.join(", "),
                HANDSHAKE_VERSIONS[0],
                HANDSHAKE_VERSIONS[HANDSHAKE_VERSIONS.len() - 1]
            ),
            ProbeError::Other(s) => f.write_str(s),
        }
    }
}
impl std::error::Error for ProbeError {}

fn first_chars(s: &str, n: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

fn from_ureq(e: ureq::Error) -> ProbeError {
    match e {
        ureq::Error::Timeout(_) => ProbeError::Timeout,
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => ProbeError::Refused,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ProbeError::Timeout,
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted => ProbeError::Closed(io.to_string()),
            _ => ProbeError::Other(io.to_string()),
        },
        ureq::Error::ConnectionFailed => ProbeError::Refused,
        ureq::Error::Protocol(p) => ProbeError::Closed(p.to_string()),
        ureq::Error::StatusCode(code) => ProbeError::Status { code, body: String::new() },
        other => ProbeError::Other(other.to_string()),
    }
}

/// What the server said about itself in `initialize` or `server/discover`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerInfo {
    pub name: String,
    pub(crate) version: String,
    /// The version this client and the server speak.
    pub(crate) protocol_version: String,
    pub(crate) era: Era,
    /// The versions `server/discover` listed (empty in the 2025 era: `initialize` names one).
    pub(crate) supported_versions: Vec<String>,
}

impl ServerInfo {
    /// The protocol spoken, for people: `MCP 2026-07-28 (no session)`, `MCP 2025-06-18 (session)`.
    pub fn protocol(&self) -> String {
        let session = match self.era {
            Era::Handshake => "session",
            Era::Stateless => "no session",
        };
        format!("MCP {} ({session})", self.protocol_version)
    }
}

/// One successful probe.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub(crate) transport: Transport,
    pub(crate) url: String,
    pub(crate) server: ServerInfo,
    pub(crate) tools: Vec<String>,
    #[serde(serialize_with = "ser_ms")]
    pub(crate) latency: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0)
}

/// Where the server is: address, port and the path of the MCP endpoint (/mcp, or /sse for SSE),
/// and how to talk to it (TLS, a bearer token) when it sits behind the front.
#[derive(Debug, Clone)]
pub struct Target {
    /// 127.0.0.1 for a published port; a container's address for a direct probe.
    pub addr: std::net::IpAddr,
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) transport: TransportSetting,
    /// Host header to send; `localhost:PORT` unless set.
    pub host: Option<String>,
    pub tls: Option<Tls>,
    /// Sent as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// Other headers for every request (the front's slot header for a probe through it).
    pub(crate) headers: Vec<(String, String)>,
    /// Keep connections open between requests, as SDK clients do (the latency bench); a probe
    /// opens a new one each time, so a server that stops is seen at once.
    pub keep_alive: bool,
}

/// HTTPS to the front: the certificate to trust (PEM: the one mcpctl made, whose names include
/// 127.0.0.1), or none to check nothing (a certificate of the user's for another name, on the
/// front mcpctl itself runs).
#[derive(Debug, Clone)]
pub struct Tls {
    pub trust_pem: Option<Vec<u8>>,
}

impl Target {
    /// The same request sent to `local` instead (a forward to it), with the Host header clients
    /// send to the address it stands for.
    pub(crate) fn via(&self, local: std::net::SocketAddr) -> Target {
        let host = self.host.clone().unwrap_or_else(|| format!("localhost:{}", self.port));
        Target { addr: local.ip(), port: local.port(), host: Some(host), ..self.clone() }
    }

    pub fn new(port: u16, path: &str, transport: TransportSetting) -> Target {
        Target {
            addr: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
            path: path.to_string(),
            transport,
            host: None,
            tls: None,
            bearer: None,
            headers: Vec::new(),
            keep_alive: false,
        }
    }

    /// `http[s]://ADDR:PORT/PATH`, as the bench helpers take it.
    pub fn from_url(url: &str, transport: TransportSetting) -> Result<Target, String> {
        let (tls, rest) = match url.split_once("://") {
            Some(("http", r)) => (false, r),
            Some(("https", r)) => (true, r),
            _ => return Err(format!("{url}: not an http:// or https:// URL")),
        };
        let (hostport, path) =
            rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/mcp".into()));
        let (host, port) = hostport.rsplit_once(':').ok_or_else(|| format!("{url}: no port"))?;
        let port: u16 = port.parse().map_err(|_| format!("{url}: bad port"))?;
        let addr = if host == "localhost" {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            host.parse().map_err(|_| format!("{url}: give an IP address or localhost"))?
        };
        let mut t = Target::new(port, &path, transport);
        t.addr = addr;
        t.tls = tls.then_some(Tls { trust_pem: None });
        Ok(t)
    }

    pub(crate) fn host_header(&self) -> String {
        self.host.clone().unwrap_or_else(|| format!("localhost:{}", self.port))
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match self.addr {
            // TLS checks the name clients use; the agent resolves it to IPv4 only (`agent`).
            a if self.tls.is_some() && a == std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST) => {
                format!("{scheme}://localhost:{}{path}", self.port)
            }
            std::net::IpAddr::V6(a) => format!("{scheme}://[{a}]:{}{path}", self.port),
            std::net::IpAddr::V4(a) => format!("{scheme}://{a}:{}{path}", self.port),
        }
    }

    /// The URL a person would use (localhost rather than the loopback address).
    pub fn shown_url(&self) -> String {
        self.url(&self.path).replacen("127.0.0.1", "localhost", 1)
    }

    /// The Host, token and extra headers on a request.
    fn decorate<B>(&self, mut req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        req = req.header("Host", self.host_header());
        if let Some(t) = &self.bearer {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req
    }
}

/// An answer to [`http`]: its status, headers (names in lower case) and body.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One plain HTTP request to the target's address and `path` (not its MCP endpoint), with its
/// Host, token and headers: what the front answers outside MCP (OAuth metadata, 401s, CORS).
pub fn http(
    target: &Target,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<HttpAnswer, ProbeError> {
    let agent = agent(target, timeout)?;
    let mut req = ureq::http::Request::builder().method(method).uri(target.url(path));
    req = req.header("Host", target.host_header());
    if let Some(t) = &target.bearer {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    for (k, v) in &target.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if body.is_some() {
        req = req
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream");
    }
    let req = req.body(body.unwrap_or("").to_string()).map_err(|e| ProbeError::Other(e.to_string()))?;
    let mut resp = agent.run(req).map_err(from_ureq)?;
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Ok(HttpAnswer { status, headers, body })
}

/// A connected MCP session.
pub struct Client {
    agent: ureq::Agent,
    target: Target,
    transport: Transport,
    /// streamable HTTP: the URL POSTed to, and the session id the server gave.
    post_url: String,
    session_id: Option<String>,
    /// SSE: the open event stream that carries the answers.
    stream: Option<BufReader<Box<dyn Read + Send>>>,
    next_id: i64,
    pub server: ServerInfo,
}

fn agent(target: &Target, timeout: Duration) -> Result<ureq::Agent, ProbeError> {
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_idle_connections(if target.keep_alive { 1 } else { 0 })
        // Redirects are followed by hand (see `post`): ureq will not resend a POST body.
        .max_redirects(0);
    if let Some(tls) = &target.tls {
        if target.addr.is_ipv4() {
            cfg = cfg.ip_family(ureq::config::IpFamily::Ipv4Only);
        }
        let tls_cfg = ureq::tls::TlsConfig::builder();
        let tls_cfg = match &tls.trust_pem {
            Some(pem) => {
                let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(ProbeError::Other(
                        "the front's certificate file holds no certificate".into(),
                    ));
                }
                tls_cfg.root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
            }
            None => tls_cfg.disable_verification(true),
        };
        cfg = cfg.tls_config(tls_cfg.build());
    }
    Ok(cfg.build().into())
}

fn init_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcpctl", "version": env!("CARGO_PKG_VERSION")}
    })
}

impl Client {
    /// Connect and initialize. `Auto` tries streamable HTTP at the path, then SSE at its /sse.
    pub fn connect(target: &Target, timeout: Duration) -> Result<Client, ProbeError> {
        match target.transport {
            TransportSetting::StreamableHttp => Client::connect_streamable(target, timeout),
            TransportSetting::Sse => Client::connect_sse(target, timeout),
            TransportSetting::Auto => match Client::connect_streamable(target, timeout) {
                Err(first @ (ProbeError::Status { code: 404..=406, .. } | ProbeError::NotMcp(_))) => {
                    let mut sse = target.clone();
                    // /mcp → /sse, also under a front's prefix (/NAME/mcp → /NAME/sse).
                    if let Some(base) = sse.path.strip_suffix("/mcp") {
                        sse.path = format!("{base}/sse");
                    }
                    // Neither transport: report what the streamable endpoint said, it is the default.
                    Client::connect_sse(&sse, timeout).map_err(|e| match e {
                        ProbeError::Status { .. } | ProbeError::NotMcp(_) => first,
                        other => other,
                    })
                }
                other => other,
            },
        }
    }

    /// A 2025-era client over streamable HTTP (the SDK's `mode='legacy'`): `initialize` and a
    /// session, even when the server also speaks 2026-07-28.
    pub fn connect_2025(target: &Target, timeout: Duration) -> Result<Client, ProbeError> {
        let mut c = Client::streamable(target, timeout)?;
        c.initialize()?;
        Ok(c)
    }

    fn streamable(target: &Target, timeout: Duration) -> Result<Client, ProbeError> {
        Ok(Client {
            agent: agent(target, timeout)?,
            target: target.clone(),
            transport: Transport::StreamableHttp,
            post_url: target.url(&target.path),
            session_id: None,
            stream: None,
            next_id: 1,
            server: ServerInfo::default(),
        })
    }

    fn connect_streamable(target: &Target, timeout: Duration) -> Result<Client, ProbeError> {
        let mut c = Client::streamable(target, timeout)?;
        c.negotiate()?;
        Ok(c)
    }

    fn connect_sse(target: &Target, timeout: Duration) -> Result<Client, ProbeError> {
        let agent = agent(target, timeout)?;
        let resp = target
            .decorate(agent.get(target.url(&target.path)))
            .header("Accept", "text/event-stream")
            .call()
            .map_err(from_ureq)?;
        let code = resp.status().as_u16();
        if code != 200 {
            let body = resp.into_body().read_to_string().unwrap_or_default();
            return Err(ProbeError::Status { code, body });
        }
        let ctype = content_type(&resp);
        if !ctype.starts_with("text/event-stream") {
            return Err(ProbeError::NotMcp(format!(
                "GET {} answered {ctype}, not an event stream",
                target.path
            )));
        }
        let reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
        let mut stream = BufReader::new(reader);
        let endpoint = loop {
            match next_event(&mut stream)? {
                Some((ev, data)) if ev == "endpoint" => break data,
                Some(_) => continue,
                None => {
                    return Err(ProbeError::NotMcp("event stream ended before the endpoint event".into()));
                }
            }
        };
        let post_url = if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            // Absolute: keep its path, but talk to the port we know.
            let path = endpoint.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
            target.url(&path)
        } else {
            target.url(&endpoint)
        };
        let mut c = Client {
            agent,
            target: target.clone(),
            transport: Transport::Sse,
            post_url,
            session_id: None,
            stream: Some(stream),
            next_id: 1,
            server: ServerInfo::default(),
        };
        c.initialize()?;
        Ok(c)
    }

    /// The streamable-HTTP session id the server gave (`Mcp-Session-Id`), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    pub(crate) fn url(&self) -> String {
        self.target.shown_url()
    }

    /// The era, as the Python SDK's `mode="auto"` decides it: `server/discover` first; any answer
    /// but positive evidence of the 2026 era falls back to `initialize`, except a server that names
    /// only versions newer than ours. A network failure is no verdict: it is the probe's answer.
    fn negotiate(&mut self) -> Result<(), ProbeError> {
        let refused = match self.discover() {
            Ok(Some(info)) => {
                self.server = info;
                return Ok(());
            }
            Ok(None) => None,
            Err(
                e
                @ (ProbeError::Refused | ProbeError::Closed(_) | ProbeError::Timeout | ProbeError::Other(_)),
            ) => {
                return Err(e);
            }
            Err(e) => match unsupported_versions(&e) {
                Some(supported) if !supported.iter().any(|v| HANDSHAKE_VERSIONS.contains(&v.as_str())) => {
                    return Err(ProbeError::Unsupported { supported });
                }
                _ => Some(e),
            },
        };
        self.initialize().map_err(|e| match (unsupported_versions(&e), refused) {
            // `initialize` refused for the 2026 era: why discover failed is the news.
            (Some(v), Some(discover)) if v.iter().any(|v| v == MODERN_VERSION) => discover,
            (Some(supported), _) if !supported.iter().any(|v| HANDSHAKE_VERSIONS.contains(&v.as_str())) => {
                ProbeError::Unsupported { supported }
            }
            _ => e,
        })
    }

    /// Ask `server/discover` at [`MODERN_VERSION`]: the server's info when it speaks that
    /// version, None when it answers but lists only 2025 versions (a 2025 server that knows the
    /// method), an error otherwise.
    fn discover(&mut self) -> Result<Option<ServerInfo>, ProbeError> {
        // The request goes out as a 2026 request (headers and `_meta`); until it is answered.
        self.server = ServerInfo {
            protocol_version: MODERN_VERSION.into(),
            era: Era::Stateless,
            ..ServerInfo::default()
        };
        let answer = self.request("server/discover", json!({}));
        self.server = ServerInfo::default();
        // A 2025 server (mcp 1.x) opens a session for any first request, the refused discover too,
        // and names it: end it, so a probe every 50 ms leaves none behind (mcp 1.30 ends it itself
        // and answers this DELETE 404; older ones keep it until their idle timeout).
        self.end_session();
        let r = answer?;
        let supported: Vec<String> = r
            .get("supportedVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if !supported.iter().any(|v| v == MODERN_VERSION) {
            return Ok(None);
        }
        let info = r.pointer("/_meta/io.modelcontextprotocol~1serverInfo").cloned().unwrap_or(Value::Null);
        Ok(Some(ServerInfo {
            name: info.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            version: info.get("version").and_then(Value::as_str).unwrap_or_default().to_string(),
            protocol_version: MODERN_VERSION.into(),
            era: Era::Stateless,
            supported_versions: supported,
        }))
    }

    fn initialize(&mut self) -> Result<(), ProbeError> {
        let r = self.request("initialize", init_params())?;
        let info = r.get("serverInfo").cloned().unwrap_or(Value::Null);
        self.server = ServerInfo {
            name: info.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            version: info.get("version").and_then(Value::as_str).unwrap_or_default().to_string(),
            protocol_version: r
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            era: Era::Handshake,
            supported_versions: Vec::new(),
        };
        if self.server.protocol_version.is_empty() {
            return Err(ProbeError::NotMcp("initialize answer has no protocolVersion".into()));
        }
        self.notify("notifications/initialized", json!({}))
    }

    /// POST a JSON-RPC message. A 307/308 (Starlette redirects `/mcp` to `/mcp/` for mounted
    /// apps, as FastMCP 2.x serves) is followed by hand, keeping the method and the body, and the
    /// new path is used from then on.
    fn post(&mut self, body: &Value) -> Result<ureq::http::Response<ureq::Body>, ProbeError> {
        for _ in 0..3 {
            let mut req = self
                .target
                .decorate(self.agent.post(&self.post_url))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream");
            if let Some(s) = &self.session_id {
                req = req.header("Mcp-Session-Id", s);
            }
            if !self.server.protocol_version.is_empty() {
                req = req.header("MCP-Protocol-Version", &self.server.protocol_version);
            }
            if self.server.era == Era::Stateless {
                // 2026: the method (and what it names) in headers too, so a proxy can route on
                // them; the server answers 400 when they differ from the body's.
                let method = body.get("method").and_then(Value::as_str).unwrap_or_default();
                req = req.header("Mcp-Method", method);
                let name_key = match method {
                    "tools/call" | "prompts/get" => Some("name"),
                    "resources/read" => Some("uri"),
                    _ => None,
                };
                if let Some(name) =
                    name_key.and_then(|k| body.pointer(&format!("/params/{k}"))).and_then(Value::as_str)
                {
                    req = req.header("Mcp-Name", header_value(name));
                }
            }
            let resp = req.send(body.to_string()).map_err(from_ureq)?;
            match (resp.status().as_u16(), redirect_path(&resp)) {
                (307 | 308, Some(path)) => self.post_url = self.target.url(&path),
                _ => return Ok(resp),
            }
        }
        Err(ProbeError::NotMcp(format!("too many redirects from {}", self.post_url)))
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params});
        let resp = self.post(&body)?;
        let code = resp.status().as_u16();
        if !(200..300).contains(&code) {
            let body = resp.into_body().read_to_string().unwrap_or_default();
            return Err(ProbeError::Status { code, body });
        }
        Ok(())
    }

    /// Send a request and return its `result`.
    pub(crate) fn request(&mut self, method: &str, mut params: Value) -> Result<Value, ProbeError> {
        if self.server.era == Era::Stateless {
            // 2026: no session remembers who we are, so every request says it.
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": self.server.protocol_version,
                "io.modelcontextprotocol/clientInfo": {"name": "mcpctl", "version": env!("CARGO_PKG_VERSION")},
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let resp = self.post(&body)?;
        let named = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok());
        if let (Transport::StreamableHttp, Some(s)) = (self.transport, named) {
            self.session_id = Some(s.to_string());
        }
        let code = resp.status().as_u16();
        if !(200..300).contains(&code) {
            let body = resp.into_body().read_to_string().unwrap_or_default();
            return Err(ProbeError::Status { code, body });
        }
        let answer = match self.transport {
            Transport::Sse => {
                // The POST is only acknowledged (202); the answer comes on the event stream.
                let stream =
                    self.stream.as_mut().ok_or_else(|| ProbeError::Other("no event stream".into()))?;
                read_answer_from_stream(stream, id)?
            }
            Transport::StreamableHttp => {
                let ctype = content_type(&resp);
                if ctype.starts_with("text/event-stream") {
                    let reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
                    let mut stream = BufReader::new(reader);
                    let answer = read_answer_from_stream(&mut stream, id)?;
                    if self.target.keep_alive {
                        // The server ends this stream after the answer; read it to the end so the
                        // connection goes back to the pool, as an SDK client's does.
                        let _ = std::io::copy(&mut stream, &mut std::io::sink());
                    }
                    answer
                } else if ctype.starts_with("application/json") {
                    let text = resp.into_body().read_to_string().map_err(from_ureq)?;
                    serde_json::from_str(&text).map_err(|e| {
                        ProbeError::NotMcp(format!("bad JSON ({e}): {}", first_chars(&text, 100)))
                    })?
                } else {
                    let text = resp.into_body().read_to_string().unwrap_or_default();
                    return Err(ProbeError::NotMcp(format!(
                        "answered {} with '{}'",
                        if ctype.is_empty() { "no content type" } else { &ctype },
                        first_chars(&text, 100)
                    )));
                }
            }
        };
        rpc_result(answer)
    }

    pub fn list_tools(&mut self) -> Result<Vec<String>, ProbeError> {
        let r = self.request("tools/list", json!({}))?;
        Ok(r.get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    /// Call a tool; returns the text of its content (joined), failing on `isError`.
    pub fn call_tool(&mut self, name: &str, args: Value) -> Result<String, ProbeError> {
        let r = self.request("tools/call", json!({"name": name, "arguments": args}))?;
        let text: Vec<String> = r
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("text").and_then(Value::as_str).map(str::to_string))
            .collect();
        if r.get("isError").and_then(Value::as_bool) == Some(true) {
            return Err(ProbeError::Rpc { code: 0, message: text.join("\n") });
        }
        Ok(text.join("\n"))
    }

    /// End the session: the Python SDK keeps one per initialize until the client says so. The
    /// 2026 era has none.
    pub fn close(mut self) {
        self.end_session();
        // SSE: dropping the stream closes the connection, which ends the session.
    }

    fn end_session(&mut self) {
        if let (Transport::StreamableHttp, Some(s)) = (self.transport, self.session_id.take()) {
            // 405 means the server does not support ending sessions; nothing else to do.
            let _ =
                self.target.decorate(self.agent.delete(&self.post_url)).header("Mcp-Session-Id", &s).call();
        }
    }
}

/// The versions a -32022 answer (HTTP 400 with a JSON-RPC error, or a JSON-RPC error) lists.
fn unsupported_versions(e: &ProbeError) -> Option<Vec<String>> {
    let error = match e {
        ProbeError::Status { body, .. } => serde_json::from_str::<Value>(body).ok()?.get("error")?.clone(),
        _ => return None,
    };
    if error.get("code").and_then(Value::as_i64) != Some(UNSUPPORTED_PROTOCOL_VERSION) {
        return None;
    }
    let supported = error.pointer("/data/supported")?.as_array()?;
    supported.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

/// A header value as the SDK writes it: printable ASCII as is, anything else as
/// `=?base64?…?=` (UTF-8), so a tool name with any character survives.
fn header_value(v: &str) -> String {
    let plain = v.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && v == v.trim()
        && !(v.starts_with("=?base64?") && v.ends_with("?="));
    if plain {
        return v.to_string();
    }
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("=?base64?");
    for chunk in v.as_bytes().chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out + "?="
}

/// The path of a redirect's Location, on this same server.
fn redirect_path(resp: &ureq::http::Response<ureq::Body>) -> Option<String> {
    location_path(resp.headers().get("location")?.to_str().ok()?)
}

fn location_path(loc: &str) -> Option<String> {
    if loc.starts_with('/') {
        return Some(loc.to_string());
    }
    // Absolute: keep the path; the port we talk to is the published one.
    let rest = loc.split_once("://")?.1;
    Some(rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_else(|| "/".into()))
}

fn content_type(resp: &ureq::http::Response<ureq::Body>) -> String {
    resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
}

fn rpc_result(answer: Value) -> Result<Value, ProbeError> {
    if let Some(e) = answer.get("error") {
        return Err(ProbeError::Rpc {
            code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        });
    }
    answer
        .get("result")
        .cloned()
        .ok_or_else(|| ProbeError::NotMcp(format!("no result in {}", first_chars(&answer.to_string(), 100))))
}

/// Read one server-sent event: (event name, data). None at the end of the stream.
pub(crate) fn next_event(r: &mut impl BufRead) -> Result<Option<(String, String)>, ProbeError> {
    let mut event = String::new();
    let mut data: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).map_err(|e| from_ureq(ureq::Error::Io(e)))?;
        if n == 0 {
            return Ok(if data.is_empty() { None } else { Some((event_or_message(event), data.join("\n"))) });
        }
        let l = line.trim_end_matches(['\n', '\r']);
        if l.is_empty() {
            if data.is_empty() && event.is_empty() {
                continue;
            }
            return Ok(Some((event_or_message(event), data.join("\n"))));
        }
        if l.starts_with(':') {
            continue; // comment / keep-alive ping
        }
        let (field, value) = match l.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (l, ""),
        };
        match field {
            "event" => event = value.to_string(),
            "data" => data.push(value.to_string()),
            _ => {}
        }
    }
}

fn event_or_message(e: String) -> String {
    if e.is_empty() { "message".into() } else { e }
}

/// Read events until the JSON-RPC answer with `id`; skip notifications and other messages.
fn read_answer_from_stream(r: &mut impl BufRead, id: i64) -> Result<Value, ProbeError> {
    loop {
        match next_event(r)? {
            None => {
                return Err(ProbeError::Closed("event stream ended before the answer".into()));
            }
            Some((ev, data)) if ev == "message" => {
                let v: Value = match serde_json::from_str(&data) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if v.get("id").and_then(Value::as_i64) == Some(id) {
                    return Ok(v);
                }
            }
            Some(_) => continue,
        }
    }
}

/// One readiness/status probe: discover or initialize, list tools, end the session (2025), so a
/// probe leaves nothing behind in the server, also when listing fails.
pub fn probe(target: &Target, timeout: Duration) -> Result<ProbeReport, ProbeError> {
    let t0 = Instant::now();
    let mut c = Client::connect(target, timeout)?;
    let tools = c.list_tools();
    let latency = t0.elapsed();
    let (transport, url, server) = (c.transport(), c.url(), c.server.clone());
    c.close();
    Ok(ProbeReport { transport, url, server, tools: tools?, latency })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_parsed_with_comments_and_multiline_data() {
        let text = ": ping\n\nevent: endpoint\ndata: /messages/?session_id=ab\n\n\
                    event: message\ndata: {\"a\":\ndata: 1}\n\ndata: tail";
        let mut r = BufReader::new(text.as_bytes());
        assert_eq!(next_event(&mut r).unwrap(), Some(("endpoint".into(), "/messages/?session_id=ab".into())));
        assert_eq!(next_event(&mut r).unwrap(), Some(("message".into(), "{\"a\":\n1}".into())));
        assert_eq!(next_event(&mut r).unwrap(), Some(("message".into(), "tail".into())));
        assert_eq!(next_event(&mut r).unwrap(), None);
    }

    #[test]
    fn answer_is_found_by_id_past_notifications() {
        let text = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\r\n\r\n\
                    event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"ok\":true}}\r\n\r\n";
        let v = read_answer_from_stream(&mut BufReader::new(text.as_bytes()), 7).unwrap();
        assert_eq!(rpc_result(v).unwrap(), json!({"ok": true}));
    }

    #[test]
    fn rpc_errors_surface() {
        let e =
            rpc_result(json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}})).unwrap_err();
        assert_eq!(e, ProbeError::Rpc { code: -32601, message: "nope".into() });
    }

    #[test]
    fn redirect_locations_stay_on_this_server() {
        assert_eq!(location_path("/mcp/").as_deref(), Some("/mcp/"));
        assert_eq!(location_path("http://localhost:19000/mcp/").as_deref(), Some("/mcp/"));
        assert_eq!(location_path("http://elsewhere:80").as_deref(), Some("/"));
        assert_eq!(location_path("mcp/"), None);
    }

    /// A server that redirects POST /mcp to /mcp/ with 307 (Starlette's Mount does): the probe
    /// follows it with the same body and succeeds.
    #[test]
    fn follows_a_307_keeping_the_body() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            // The first POST, then discover (answered with no supportedVersions: a fallback),
            // initialize, initialized, tools/list; no session was named, so no DELETE.
            for stream in l.incoming().take(5) {
                let mut s = stream.unwrap();
                let mut buf = vec![0u8; 65536];
                let mut n = 0;
                // Read the head, then the body by Content-Length.
                loop {
                    let got = s.read(&mut buf[n..]).unwrap();
                    if got == 0 {
                        break;
                    }
                    n += got;
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_string)
                            })
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if n >= i + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                let line = text.lines().next().unwrap_or("").to_string();
                seen.push(line.clone());
                let reply = if line.starts_with("POST /mcp ") {
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: /mcp/\r\nContent-Length: 0\r\n\r\n"
                        .to_string()
                } else if line.starts_with("DELETE") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_string()
                } else if !text.contains("\"id\"") {
                    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
                } else {
                    let id = if text.contains("\"initialize\"") { 1 } else { 2 };
                    let result = if id == 1 {
                        r#"{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"r","version":"1"}}"#
                    } else {
                        r#"{"tools":[{"name":"t"}]}"#
                    };
                    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                };
                s.write_all(reply.as_bytes()).unwrap();
            }
            seen
        });
        let t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
        let r = probe(&t, Duration::from_secs(5)).unwrap();
        assert_eq!(r.tools, ["t"]);
        let seen = server.join().unwrap();
        assert!(seen[0].starts_with("POST /mcp "), "{seen:?}");
        assert!(seen[1..].iter().all(|l| l.contains(" /mcp/ ")), "the new path is kept: {seen:?}");
    }

    /// A local server replaying recorded answers (fixtures/eras-answers, from real servers), picked
    /// by the request's JSON-RPC method; notifications get 202 and DELETE 200. Returns its port
    /// and every request it saw (head and body).
    fn replay(answers: Vec<(&'static str, Vec<u8>)>) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let mut s = stream.unwrap();
                let (mut buf, mut n) = (vec![0u8; 65536], 0);
                loop {
                    let got = s.read(&mut buf[n..]).unwrap_or(0);
                    n += got;
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    let Some(i) = text.find("\r\n\r\n") else {
                        if got == 0 {
                            break;
                        }
                        continue;
                    };
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_string)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if n >= i + 4 + len || got == 0 {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                log.lock().unwrap().push(text.clone());
                let body: Value = text
                    .split_once("\r\n\r\n")
                    .and_then(|(_, b)| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                let reply = if text.starts_with("DELETE") {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec()
                } else if body.get("id").is_none() {
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_vec()
                } else {
                    let method = body["method"].as_str().unwrap_or_default();
                    match answers.iter().find(|(m, _)| *m == method) {
                        Some((_, a)) => with_id(a, &body["id"]),
                        None => b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_vec(),
                    }
                };
                let _ = s.write_all(&reply);
            }
        });
        (port, seen)
    }

    /// A recorded answer with the id of this request (the recording's was its own request's).
    fn with_id(answer: &[u8], id: &Value) -> Vec<u8> {
        let text = String::from_utf8_lossy(answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let at = body.find("\"id\":").unwrap() + 5;
        let end = at + body[at..].find(',').unwrap();
        let body = format!("{}{id}{}", &body[..at], &body[end..]);
        let head: Vec<&str> = head.lines().filter(|l| !l.starts_with("content-length")).collect();
        format!("{}\r\ncontent-length: {}\r\n\r\n{body}", head.join("\r\n"), body.len()).into_bytes()
    }

    fn probe_replay(answers: Vec<(&'static str, Vec<u8>)>) -> (Result<ProbeReport, ProbeError>, Vec<String>) {
        let (port, seen) = replay(answers);
        let r = probe(&Target::new(port, "/mcp", TransportSetting::StreamableHttp), Duration::from_secs(5));
        let seen = seen.lock().unwrap().clone();
        (r, seen)
    }

    fn json_answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn header<'a>(request: &'a str, name: &str) -> Vec<&'a str> {
        let head = request.split("\r\n\r\n").next().unwrap_or_default();
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }

    const DUAL_DISCOVER: &[u8] = include_bytes!("../fixtures/eras-answers/dual-era/discover.http");
    const DUAL_TOOLS: &[u8] = include_bytes!("../fixtures/eras-answers/dual-era/tools-list-2026.http");
    const MODERN_DISCOVER: &[u8] = include_bytes!("../fixtures/eras-answers/modern-only/discover.http");
    const MODERN_INITIALIZE: &[u8] = include_bytes!("../fixtures/eras-answers/modern-only/initialize.http");
    const MODERN_TOOLS: &[u8] = include_bytes!("../fixtures/eras-answers/modern-only/tools-list-2026.http");
    const MCP1_DISCOVER: &[u8] = include_bytes!("../fixtures/eras-answers/mcp1/discover.http");
    const MCP1_INITIALIZE: &[u8] = include_bytes!("../fixtures/eras-answers/mcp1/initialize.http");
    const MCP1_TOOLS: &[u8] = include_bytes!("../fixtures/eras-answers/mcp1/tools-list-2025.http");

    /// mcp 2.3 serving both eras: the 2026 era is taken, with no initialize and no session; each
    /// request carries the version and method in one header each, and `_meta`.
    #[test]
    fn a_dual_era_server_is_spoken_to_in_2026() {
        let (r, seen) = probe_replay(vec![
            ("server/discover", DUAL_DISCOVER.to_vec()),
            ("tools/list", DUAL_TOOLS.to_vec()),
            ("initialize", MCP1_INITIALIZE.to_vec()),
        ]);
        let r = r.unwrap();
        assert_eq!(r.server.era, Era::Stateless);
        assert_eq!(r.server.protocol_version, "2026-07-28");
        assert_eq!(r.server.supported_versions, ["2026-07-28"]);
        assert_eq!(r.server.name, "replica-server");
        assert_eq!(r.server.protocol(), "MCP 2026-07-28 (no session)");
        assert_eq!(r.tools, ["whoami", "spin", "forecast"]);
        assert_eq!(seen.len(), 2, "discover and tools/list only: {seen:#?}");
        for (req, method) in seen.iter().zip(["server/discover", "tools/list"]) {
            assert_eq!(header(req, "mcp-method"), [method], "{req}");
            assert_eq!(header(req, "mcp-protocol-version"), ["2026-07-28"], "{req}");
            assert!(header(req, "mcp-session-id").is_empty(), "{req}");
            let body: Value = serde_json::from_str(req.split_once("\r\n\r\n").unwrap().1).unwrap();
            assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
            assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/clientInfo"]["name"], "mcpctl");
            assert!(body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"].is_object());
        }
    }

    /// A server answering only 2026-07-28 (initialize gets -32022) is ready in that era.
    #[test]
    fn a_modern_only_server_is_ready() {
        let (r, seen) = probe_replay(vec![
            ("server/discover", MODERN_DISCOVER.to_vec()),
            ("tools/list", MODERN_TOOLS.to_vec()),
            ("initialize", MODERN_INITIALIZE.to_vec()),
        ]);
        let r = r.unwrap();
        assert_eq!((r.server.era, r.server.name.as_str()), (Era::Stateless, "modern-only"));
        assert_eq!(r.tools, ["forecast"]);
        assert!(!seen.iter().any(|s| s.contains("\"initialize\"")), "{seen:#?}");
    }

    /// mcp 1.x answers discover 400 (Missing session ID): initialize, as before; the session it
    /// opened for the discover and the probe's own session are both ended.
    #[test]
    fn a_2025_only_server_falls_back_to_initialize_and_leaves_no_session() {
        let (r, seen) = probe_replay(vec![
            ("server/discover", MCP1_DISCOVER.to_vec()),
            ("initialize", MCP1_INITIALIZE.to_vec()),
            ("tools/list", MCP1_TOOLS.to_vec()),
        ]);
        let r = r.unwrap();
        assert_eq!(r.server.era, Era::Handshake);
        assert_eq!(r.server.protocol(), "MCP 2025-06-18 (session)");
        assert_eq!((r.server.name.as_str(), r.server.version.as_str()), ("weather", "1.30.0"));
        assert_eq!(r.tools, ["forecast"]);
        let methods: Vec<String> = seen
            .iter()
            .map(|s| {
                let body: Value = s
                    .split_once("\r\n\r\n")
                    .and_then(|(_, b)| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                body["method"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| s.lines().next().unwrap().to_string())
            })
            .collect();
        assert_eq!(
            methods[..4],
            ["server/discover", "DELETE /mcp HTTP/1.1", "initialize", "notifications/initialized"]
        );
        assert_eq!(methods[4..], ["tools/list", "DELETE /mcp HTTP/1.1"]);
        assert_eq!(header(&seen[1], "mcp-session-id"), ["4be5aba1a39748d898606694424e4b40"]);
        assert_eq!(header(&seen[5], "mcp-session-id"), ["63f7d1e522974af5b93312bcf18261b7"]);
        // 2025 requests carry no 2026 headers or `_meta`.
        assert!(
            seen[2..5].iter().all(|s| header(s, "mcp-method").is_empty() && !s.contains("_meta")),
            "{seen:#?}"
        );
    }

    /// The SDK's denylist: only -32022 naming versions all newer than ours is a verdict (a clear
    /// error, no initialize); -32022 listing a 2025 version, or a discover result listing only
    /// 2025 versions, falls back to initialize.
    #[test]
    fn only_a_server_of_newer_versions_only_is_refused() {
        let newer = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2027-03-01"],"requested":"2026-07-28"}}}"#;
        let (r, seen) = probe_replay(vec![
            ("server/discover", json_answer("400 Bad Request", newer)),
            ("initialize", MCP1_INITIALIZE.to_vec()),
        ]);
        let e = r.unwrap_err();
        assert_eq!(e, ProbeError::Unsupported { supported: vec!["2027-03-01".into()] });
        assert!(e.to_string().contains("speaks only MCP 2027-03-01"), "{e}");
        assert_eq!(seen.len(), 1, "{seen:#?}");

        let mixed = newer.replace(r#"["2027-03-01"]"#, r#"["2025-06-18","2027-03-01"]"#);
        let only_2025 =
            r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2025-11-25"],"capabilities":{}}}"#;
        for discover in [json_answer("400 Bad Request", &mixed), json_answer("200 OK", only_2025)] {
            let (r, _) = probe_replay(vec![
                ("server/discover", discover),
                ("initialize", MCP1_INITIALIZE.to_vec()),
                ("tools/list", MCP1_TOOLS.to_vec()),
            ]);
            assert_eq!(r.unwrap().server.era, Era::Handshake);
        }
    }

    #[test]
    fn tool_calls_in_2026_name_the_tool_in_a_header() {
        let call = r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"Oslo: sunny"}],"isError":false}}"#;
        let (port, seen) = replay(vec![
            ("server/discover", MODERN_DISCOVER.to_vec()),
            ("tools/call", json_answer("200 OK", call)),
        ]);
        let t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
        let mut c = Client::connect(&t, Duration::from_secs(5)).unwrap();
        assert_eq!(c.call_tool("forecast", json!({"city": "Oslo"})).unwrap(), "Oslo: sunny");
        c.close();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:#?}");
        assert_eq!(header(&seen[1], "mcp-method"), ["tools/call"]);
        assert_eq!(header(&seen[1], "mcp-name"), ["forecast"]);
    }

    #[test]
    fn header_values_outside_printable_ascii_are_base64() {
        assert_eq!(header_value("forecast"), "forecast");
        assert_eq!(header_value("météo"), "=?base64?bcOpdMOpbw==?=");
        assert_eq!(header_value(" x"), "=?base64?IHg=?=");
    }

    #[test]
    fn refused_when_nothing_listens() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let t = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
        let e = probe(&t, Duration::from_secs(2)).unwrap_err();
        assert_eq!(e, ProbeError::Refused);
    }
}
