//! Bench helper (scripts/bench.sh): one MCP session on an endpoint, then N calls of one tool;
//! prints the p50 and p99 latency of a call in milliseconds and the number of failed calls. The
//! connection is kept open between calls, as SDK clients keep it.
//!
//!     cargo run --release --example latency -- URL TOOL JSON_ARGS N [TOKEN_ENV]
//!
//! URL is `http://127.0.0.1:PORT/PATH` (or https). With TOKEN_ENV the bearer token is read from
//! that environment variable.

use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, Target};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: latency URL TOOL JSON_ARGS N [TOKEN_ENV]");
        std::process::exit(2)
    };
    let (Some(url), Some(tool), Some(json), Some(n)) = (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        usage()
    };
    let n: usize = n.parse().unwrap_or_else(|_| usage());
    let call_args: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|_| usage());
    let mut target = Target::from_url(url, TransportSetting::Auto).unwrap_or_else(|e| {
        eprintln!("latency: {e}");
        std::process::exit(2)
    });
    // One connection kept open, as an SDK client keeps it.
    target.keep_alive = true;
    if let Some(var) = args.get(5) {
        target.bearer = std::env::var(var).ok();
    }
    let mut c = Client::connect(&target, Duration::from_secs(30)).unwrap_or_else(|e| {
        eprintln!("latency: cannot connect to {url}: {e}");
        std::process::exit(1)
    });
    let mut times = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        let t = Instant::now();
        match c.call_tool(tool, call_args.clone()) {
            Ok(_) => times.push(t.elapsed()),
            Err(_) => failed += 1,
        }
    }
    c.close();
    times.sort();
    let pct =
        |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{:.3} {:.3} {failed}", ms(pct(0.5)), ms(pct(0.99)));
}
