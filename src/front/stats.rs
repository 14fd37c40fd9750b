//! Per-tool request figures from the front's own log (its `log-format` in
//! templates/haproxy.cfg.j2): for one project, per tool call by name and per other MCP method, per
//! server: calls, errors (HTTP status 400 or more) and latency percentiles.
//!
//! A line, as HAProxy 2.6 writes it (recorded in fixtures/haproxy-outputs/front-log.txt):
//!
//! ```text
//! 10.89.0.1:40310 [03/Dec/2026:20:31:07.412] fe_mcp be_x/blue 0/0/0/3/3 200 372 ---- 1/1/0/0/0 0/0 mcp="tools/call" tool="echo" "POST /mcp HTTP/1.1"
//! ```
//!
//! The method and tool name come from clients, so they are read as HAProxy quotes them (`"`, `\`
//! and `]` escaped with `\`); anything after them (the request line) is never read. Lines of any
//! other shape (alerts, check results, reload notices) are skipped.

use std::collections::BTreeMap;

use serde::Serialize;

/// One request the front logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// `be_NAME`.
    pub(crate) backend: String,
    /// The server that answered; `<NOSRV>` when the front answered itself (401, 404, 503).
    pub(crate) server: String,
    pub(crate) status: u16,
    /// `%Ta`: from the request's first byte to the response's last, in ms.
    pub(crate) total_ms: u64,
    /// The MCP method (`Mcp-Method`, or the JSON-RPC body's `method`).
    pub(crate) method: Option<String>,
    /// The tool of a `tools/call` (`Mcp-Name`, or the body's `params.name`).
    pub(crate) tool: Option<String>,
}

/// One line of the front's log, if it is a request line.
pub(crate) fn parse_line(line: &str) -> Option<Request> {
    let mut rest = line.trim_end_matches(['\r', '\n']);
    let mut fields = Vec::with_capacity(10);
    for _ in 0..10 {
        let (f, r) = rest.split_once(' ')?;
        fields.push(f);
        rest = r;
    }
    if !fields[1].starts_with('[') {
        return None;
    }
    let (backend, server) = fields[3].split_once('/')?;
    let timers: Vec<&str> = fields[4].split('/').collect();
    let status: u16 = fields[5].parse().ok()?;
    let total: i64 = timers.get(4)?.trim_start_matches('+').parse().ok()?;
    let (method, rest) = quoted_field(rest, "mcp=")?;
    let (tool, _request_line) = quoted_field(rest.strip_prefix(' ')?, "tool=")?;
    Some(Request {
        backend: backend.to_string(),
        server: server.to_string(),
        status,
        total_ms: total.max(0) as u64,
        method: Some(method).filter(|m| !m.is_empty() && m != "-"),
        tool: Some(tool).filter(|t| !t.is_empty() && t != "-"),
    })
}

/// `KEY"VALUE"` at the start of `s`, VALUE unescaped; the rest after the closing quote.
fn quoted_field<'a>(s: &'a str, key: &str) -> Option<(String, &'a str)> {
    let s = s.strip_prefix(key)?.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// One row of the table: a tool (or a method) on a server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Row {
    /// The tool's name for a `tools/call`, else the method; `-` for a request without one (a GET
    /// stream, a DELETE, a 401 before any MCP).
    pub(crate) tool: String,
    pub(crate) method: String,
    pub(crate) server: String,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: u64,
    pub(crate) p99_ms: u64,
}

/// The rows of project `name` (its backend `be_NAME`) from the front's log lines, sorted by tool
/// then server.
pub(crate) fn table<'l>(name: &str, lines: impl IntoIterator<Item = &'l str>) -> Vec<Row> {
    let backend = format!("be_{name}");
    let mut groups: BTreeMap<(String, String, String), Vec<&Request>> = BTreeMap::new();
    let requests: Vec<Request> =
        lines.into_iter().filter_map(parse_line).filter(|r| r.backend == backend).collect();
    for r in &requests {
        let method = r.method.clone().unwrap_or_else(|| "-".into());
        let tool = match (&r.tool, method.as_str()) {
            (Some(t), "tools/call") => t.clone(),
            _ => method.clone(),
        };
        groups.entry((tool, method, r.server.clone())).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|((tool, method, server), rs)| {
            let mut ms: Vec<u64> = rs.iter().map(|r| r.total_ms).collect();
            ms.sort_unstable();
            Row {
                tool,
                method,
                server,
                calls: rs.len() as u64,
                errors: rs.iter().filter(|r| r.status >= 400).count() as u64,
                p50_ms: percentile(&ms, 50),
                p99_ms: percentile(&ms, 99),
            }
        })
        .collect()
}

/// The nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> String {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/haproxy-outputs/front-log.txt");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn a_request_line_is_read_field_by_field() {
        let l = r#"10.89.0.1:40310 [03/Dec/2026:20:31:07.412] fe_mcp be_x/blue 0/0/0/3/7 200 372 ---- 1/1/0/0/0 0/0 mcp="tools/call" tool="echo" "POST /mcp HTTP/1.1""#;
        let r = parse_line(l).unwrap();
        assert_eq!((r.backend.as_str(), r.server.as_str(), r.status, r.total_ms), ("be_x", "blue", 200, 7));
        assert_eq!((r.method.as_deref(), r.tool.as_deref()), (Some("tools/call"), Some("echo")));
        // What is not a request line is skipped.
        for other in [
            "[WARNING]  (8) : Server be_x/blue is DOWN, reason: Layer4 timeout.",
            "Proxy fe_mcp started.",
            "",
            r#"10.89.0.1:40310 [03/Dec/2026:20:31:07.412] fe_mcp be_x/blue 0/0/0/3/7 200 372 ---- 1/1/0/0/0 0/0 "POST /mcp HTTP/1.1""#,
        ] {
            assert_eq!(parse_line(other), None, "{other}");
        }
    }

    /// A client's Mcp-Name with quotes, spaces, a `]` and backslashes stays one field: the rest of
    /// the line is not taken for it, and the request line after it cannot add a field.
    #[test]
    fn a_hostile_tool_name_stays_in_its_field() {
        let l = r#"10.89.0.1:1 [03/Dec/2026:20:31:07.412] fe_mcp be_x/<NOSRV> -1/-1/-1/-1/0 400 12 PR-- 1/1/0/0/0 0/0 mcp="tools/call" tool="a \"b\" \] c\\ tool=\"x\" d" "POST /mcp\" mcp=\"y HTTP/1.1""#;
        let r = parse_line(l).unwrap();
        assert_eq!(r.tool.as_deref(), Some(r#"a "b" ] c\ tool="x" d"#));
        assert_eq!((r.server.as_str(), r.status, r.total_ms), ("<NOSRV>", 400, 0));
    }

    /// Lines a real front wrote (fixtures/haproxy-outputs/front-log.txt, stdout then stderr as
    /// `docker logs` gives them): mcpctl's own probe, a 2026 discover and five 2026 calls, one with
    /// a hostile Mcp-Name (the server's 400), a 2025 session with two calls named from their
    /// bodies, a request without the token (401), then the server killed: the session's next call
    /// gets the front's 404 and a new request 503, from no server.
    #[test]
    fn the_recorded_log_makes_the_table() {
        let text = recorded();
        let rows = table("fchk-rec", text.lines());
        let find = |tool: &str, server: &str| {
            rows.iter()
                .find(|r| r.tool == tool && r.server == server)
                .unwrap_or_else(|| panic!("no row {tool} on {server}: {rows:#?}"))
        };
        let f = find("forecast", "blue");
        assert_eq!((f.method.as_str(), f.calls, f.errors), ("tools/call", 7, 0), "{rows:#?}");
        assert!(f.p50_ms >= 2 && f.p50_ms <= f.p99_ms && f.p99_ms == 11, "{f:?}");
        let hostile = find(r#"we "ird ] x"#, "blue");
        assert_eq!((hostile.calls, hostile.errors), (1, 1), "{rows:#?}");
        let gone = find("forecast", "<NOSRV>");
        assert_eq!((gone.calls, gone.errors), (1, 1), "{rows:#?}");
        assert_eq!((find("tools/list", "<NOSRV>").errors, find("-", "<NOSRV>").errors), (1, 1));
        assert_eq!(find("server/discover", "blue").calls, 1);
        assert_eq!(find("initialize", "blue").calls, 2, "mcpctl's probe and the 2025 client");
        assert_eq!(find("-", "blue").method, "-", "the probe's DELETE has no MCP method");
        let all: u64 = rows.iter().map(|r| r.calls).sum();
        assert_eq!(all, text.lines().filter(|l| l.contains(" fe_mcp be_fchk-rec/")).count() as u64);
        // Another project's lines are not its.
        assert!(table("other", text.lines()).is_empty());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50), percentile(&v, 99)), (50, 99));
        assert_eq!((percentile(&[7], 50), percentile(&[7], 99)), (7, 7));
        assert_eq!((percentile(&[1, 9], 50), percentile(&[1, 9], 99)), (1, 9));
        assert_eq!(percentile(&[], 99), 0);
    }
}
