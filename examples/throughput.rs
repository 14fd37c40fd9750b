//! Bench helper (scripts/bench.sh): CLIENTS threads, each with one kept-alive HTTP/1.1 connection
//! (opened again when the server closes it), sending new-era (2026-07-28) `tools/call` requests
//! back to back for SECONDS; prints the successful calls per second, the p50 and p99 latency of a
//! call in milliseconds and the number of failed calls.
//!
//!     cargo run --release --example throughput -- URL TOOL JSON_ARGS CLIENTS SECONDS [HOST_HEADER]
//!
//! URL is `http://HOST:PORT/PATH`. HOST_HEADER replaces the Host header the URL gives: a server
//! with DNS-rebinding protection, reached at its container address, answers only the names its
//! clients use (`localhost:PORT`). A new-era request is self-contained (no session, no
//! initialize), so any replica behind the front can answer any of them: this is the load that
//! replicas spread. Plain std HTTP/1.1, no new crate: one fixed request, answers with a
//! Content-Length or chunked, and nothing else between the timer and the socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: throughput URL TOOL JSON_ARGS CLIENTS SECONDS [HOST_HEADER]");
        std::process::exit(2)
    };
    let (Some(url), Some(tool), Some(json), Some(clients), Some(seconds)) =
        (args.get(1), args.get(2), args.get(3), args.get(4), args.get(5))
    else {
        usage()
    };
    let call_args: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|_| usage());
    let clients: usize = clients.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| usage());
    let seconds: f64 = seconds.parse().ok().filter(|&s: &f64| s > 0.0).unwrap_or_else(|| usage());
    let Some((authority, path)) = url.strip_prefix("http://").map(|r| match r.split_once('/') {
        Some((a, p)) => (a.to_string(), format!("/{p}")),
        None => (r.to_string(), "/".to_string()),
    }) else {
        eprintln!("throughput: {url}: only http://HOST:PORT/PATH");
        std::process::exit(2)
    };
    let request = request(args.get(6).unwrap_or(&authority), &path, tool, &call_args);

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (authority, request) = (authority.clone(), request.clone());
            std::thread::spawn(move || client(&authority, &request, deadline))
        })
        .collect();
    let mut times = Vec::new();
    let mut failed = 0;
    for w in workers {
        let (t, f) = w.join().expect("a client thread panicked");
        times.extend(t);
        failed += f;
    }
    // Until the last call in flight at the deadline came back: the calls counted all fit in it.
    let elapsed = start.elapsed().as_secs_f64();
    times.sort();
    let pct =
        |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{:.1} {:.3} {:.3} {failed}", times.len() as f64 / elapsed, ms(pct(0.5)), ms(pct(0.99)));
}

/// The whole request, bytes ready to send: the routing headers a new-era client sends (so the
/// front and the server need not read the body to route it) and the `_meta` block.
fn request(host: &str, path: &str, tool: &str, call_args: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
    "params": {"name": tool, "arguments": call_args, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }}})
    .to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
         Mcp-Method: tools/call\r\nMcp-Name: {tool}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One client: calls back to back until `deadline`; each successful call's time, and the
/// number that failed.
fn client(authority: &str, request: &[u8], deadline: Instant) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut failed = 0;
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline {
        let c = match conn.take().map_or_else(|| connect(authority), Ok) {
            Ok(c) => conn.insert(c),
            Err(e) => {
                failed += 1;
                eprintln!("throughput: connect {authority}: {e}");
                // Not a busy loop against a server that is not there.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let t = Instant::now();
        match call(c, request) {
            Ok(keep) => {
                times.push(t.elapsed());
                if !keep {
                    conn = None;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("throughput: {e}");
                // The connection is in an unknown state: a fresh one for the next call.
                conn = None;
            }
        }
    }
    (times, failed)
}

fn connect(authority: &str) -> std::io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect(authority)?;
    // Requests go out in one write, answers are read whole: no Nagle delay on either side.
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(BufReader::new(s))
}

/// One request and its answer; Ok(whether the connection stays open) when it was a tool result.
fn call(c: &mut BufReader<TcpStream>, request: &[u8]) -> Result<bool, String> {
    c.get_mut().write_all(request).map_err(|e| format!("send: {e}"))?;
    let mut line = String::new();
    c.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
    if line.is_empty() {
        return Err("the server closed the connection".into());
    }
    let status = line.split(' ').nth(1).unwrap_or("").to_string();
    let (mut length, mut chunked, mut keep) = (None, false, !line.starts_with("HTTP/1.0"));
    loop {
        line.clear();
        c.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => keep = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = match (chunked, length) {
        (true, _) => read_chunked(c)?,
        (false, Some(n)) => {
            let mut b = vec![0; n];
            c.read_exact(&mut b).map_err(|e| format!("read body: {e}"))?;
            b
        }
        // No length: the body runs to the end of the connection.
        (false, None) => {
            let mut b = Vec::new();
            c.read_to_end(&mut b).map_err(|e| format!("read body: {e}"))?;
            keep = false;
            b
        }
    };
    let text = String::from_utf8_lossy(&body);
    if status != "200" {
        return Err(format!("HTTP {status}: {}", text.trim()));
    }
    // JSON, or one SSE event whose data line is the answer.
    let json = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(&text);
    let v: serde_json::Value = serde_json::from_str(json.trim()).map_err(|e| format!("{e}: {text}"))?;
    if v["result"]["content"][0]["text"].is_string() && v["result"]["isError"] != true {
        Ok(keep)
    } else {
        Err(format!("not a tool result: {v}"))
    }
}

fn read_chunked(c: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        c.read_line(&mut line).map_err(|e| format!("read chunk: {e}"))?;
        let size = line.trim().split(';').next().unwrap_or("");
        let n = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
        if n == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                line.clear();
                c.read_line(&mut line).map_err(|e| format!("read chunk: {e}"))?;
                if line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let at = body.len();
        body.resize(at + n + 2, 0);
        c.read_exact(&mut body[at..]).map_err(|e| format!("read chunk: {e}"))?;
        body.truncate(at + n);
    }
}
