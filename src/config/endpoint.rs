//! The URL clients use for the project, the one way every message and hint computes it: the
//! host's name, the front's scheme (TLS), port and path prefix when it serves behind the front,
//! and the transport's path.

use std::net::IpAddr;

use super::{FrontTls, Settings, Transport};

/// Where clients reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) scheme: &'static str,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The front's prefix (`/NAME` on a shared front) and the transport's path.
    pub(crate) path: String,
}

impl Endpoint {
    pub(crate) fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority(), self.path)
    }

    /// `host:port`: the Host header clients send.
    pub(crate) fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// The host name in the URLs clients use for a server published on `publish`: localhost for
/// this machine or another host's loopback (reached through a forward), else that host's name
/// (`remote`, None for this machine) or the address given.
pub(crate) fn host_name(remote: Option<&str>, publish: IpAddr) -> String {
    match remote {
        Some(name) if publish.is_unspecified() => name.to_string(),
        Some(_) if !publish.is_loopback() => publish.to_string(),
        _ => "localhost".into(),
    }
}

impl Settings {
    /// The URL clients use for the server on `port` (the project's port): /mcp for streamable
    /// HTTP, /sse for an SSE server found by `auto`; behind the front its scheme, port and prefix.
    pub(crate) fn endpoint(&self, port: u16, transport: Transport, behind: bool) -> Endpoint {
        let path = match transport {
            Transport::Sse if self.mcp_path == "/mcp" => "/sse",
            _ => self.mcp_path.as_str(),
        };
        let host = self.host_name.clone();
        if !behind {
            return Endpoint { scheme: "http", host, port, path: path.to_string() };
        }
        Endpoint {
            scheme: if self.front.tls == FrontTls::Off { "http" } else { "https" },
            host,
            port: self.front.client_port(port),
            path: format!("{}{path}", self.front_prefix()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{HostFacts, Overrides, read_project, resolve};
    use super::*;
    use std::path::Path;

    fn settings(toml: &str, o: &Overrides, host: &HostFacts) -> Settings {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"echo\"\n").unwrap();
        std::fs::write(d.path().join("mcpctl.toml"), toml).unwrap();
        let f = read_project(d.path()).unwrap();
        Settings::resolve(resolve(d.path(), &f, o).unwrap(), Path::new("/home/u"), host)
    }

    #[test]
    fn the_url_names_the_host_clients_reach() {
        let here = HostFacts::default();
        let prod = HostFacts { key: Some("ops@prod_22".into()), remote_name: Some("prod.example".into()) };
        let open = Overrides { publish_address: Some("0.0.0.0".into()), ..Default::default() };
        let lan = Overrides { publish_address: Some("10.1.2.3".into()), ..Default::default() };
        let no = Overrides::default();
        let url = |h: &HostFacts, o: &Overrides| {
            settings("", o, h).endpoint(19000, Transport::StreamableHttp, false).url()
        };
        assert_eq!(url(&here, &no), "http://localhost:19000/mcp");
        assert_eq!(url(&here, &open), "http://localhost:19000/mcp");
        // Another host: its name when published on its network, its loopback through a forward.
        assert_eq!(url(&prod, &open), "http://prod.example:19000/mcp");
        assert_eq!(url(&prod, &no), "http://localhost:19000/mcp");
        assert_eq!(url(&prod, &lan), "http://10.1.2.3:19000/mcp");
        // `{host}` in env values is the same name.
        assert_eq!(settings("", &open, &prod).host_name, "prod.example");
        assert_eq!(settings("", &no, &prod).host_name, "localhost");
    }

    #[test]
    fn behind_the_front_the_url_is_the_front_s() {
        let prod = HostFacts { key: Some("ops@prod_22".into()), remote_name: Some("prod.example".into()) };
        let open = Overrides { publish_address: Some("0.0.0.0".into()), ..Default::default() };
        let shared = "front-group = \"g\"\nfront-port = 19443\ntls = \"self-signed\"\n";
        let s = settings(shared, &Overrides::default(), &HostFacts::default());
        assert_eq!(
            s.endpoint(19000, Transport::StreamableHttp, true).url(),
            "https://localhost:19443/echo/mcp"
        );
        // Not behind it: the project's own port, plain HTTP.
        assert_eq!(s.endpoint(19000, Transport::StreamableHttp, false).url(), "http://localhost:19000/mcp");
        let s = settings(shared, &open, &prod);
        assert_eq!(s.endpoint(19000, Transport::Sse, true).url(), "https://prod.example:19443/echo/sse");
        assert_eq!(s.endpoint(19000, Transport::Sse, true).authority(), "prod.example:19443");
        // A front of its own: the project's port, at the root.
        let s = settings("front = true\n", &Overrides::default(), &prod);
        assert_eq!(s.endpoint(19001, Transport::StreamableHttp, true).url(), "http://localhost:19001/mcp");
    }
}
