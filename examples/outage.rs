//! Bench helper (scripts/bench.sh): probe an MCP endpoint with a real `initialize` every 50 ms
//! until STOPFILE exists and the endpoint answers again, then print the longest outage a client
//! saw, in seconds, the number of probes and the number that failed.
//!
//!     cargo run --release --example outage -- [ADDR:]PORT STOPFILE

use std::time::{Duration, Instant};

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Target, probe};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // PORT on this machine, or ADDR:PORT (a server on another host's address).
    let (addr, port) =
        match args.get(1).map(|a| a.rsplit_once(':').map(|(a, p)| (Some(a), p)).unwrap_or((None, a))) {
            Some((a, p)) => (a.and_then(|a| a.parse::<std::net::IpAddr>().ok()), p.parse::<u16>().ok()),
            None => (None, None),
        };
    let (Some(port), Some(stop)) = (port, args.get(2)) else {
        eprintln!("usage: outage [ADDR:]PORT STOPFILE");
        std::process::exit(2);
    };
    let mut target = Target::new(port, "/mcp", TransportSetting::StreamableHttp);
    if let Some(a) = addr {
        target.addr = a;
    }
    let (mut attempts, mut failures) = (0u32, 0u32);
    let (mut down_since, mut longest) = (None::<Instant>, Duration::ZERO);
    let give_up = Instant::now() + Duration::from_secs(600);
    let mut up = false;
    // Stop once STOPFILE exists and the server answers again (or 60 s after STOPFILE appeared).
    let mut stop_seen: Option<Instant> = None;
    while Instant::now() < give_up {
        if std::path::Path::new(stop).exists() {
            let seen = *stop_seen.get_or_insert_with(Instant::now);
            if up || seen.elapsed() > Duration::from_secs(60) {
                break;
            }
        }
        let t = Instant::now();
        attempts += 1;
        let answer = probe(&target, Duration::from_secs(2));
        up = answer.is_ok();
        if let Err(e) = &answer {
            // Why it failed, with the wall-clock time, for matching against mcpctl -v lines.
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            eprintln!("outage: {:.3} failed: {e}", now.as_secs_f64());
        }
        if up {
            if let Some(d) = down_since.take() {
                longest = longest.max(t.duration_since(d));
            }
        } else {
            failures += 1;
            down_since.get_or_insert(t);
        }
        std::thread::sleep(Duration::from_millis(50).saturating_sub(t.elapsed()));
    }
    if let Some(d) = down_since {
        longest = longest.max(d.elapsed());
    }
    println!("{:.3} {attempts} {failures}", longest.as_secs_f64());
}
