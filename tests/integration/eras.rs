//! Both MCP protocol eras end to end, on docker and podman: a server that speaks only 2026-07-28
//! and one (mcp 2.3) that speaks both, started by mcpctl and called by the official Python SDK
//! client (mcp 2.3, in a venv made here) in each of its modes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use mcpctl::config::TransportSetting;
use mcpctl::probe::{Client, Target};
use serde_json::Value;

use crate::e2e::{Project, engine_available, timed};
use crate::support::manifest_dir;

/// The SDK the client side runs: the release that brought the 2026 era.
const SDK: &str = "mcp==2.3.0";

/// Calls one tool with the SDK's `Client` in a mode ("auto", "legacy", "2026-07-28") and prints
/// one JSON line: the protocol version the session speaks and the tool's text, or why it was
/// refused (exit 3).
const SDK_CLIENT: &str = r#"
import asyncio, json, sys
from mcp.client import Client
from mcp.shared.exceptions import MCPError

def mcp_error(e):
    if isinstance(e, MCPError):
        return e
    for sub in getattr(e, "exceptions", ()):
        if (found := mcp_error(sub)) is not None:
            return found
    return None

async def main(url, mode, tool, args):
    try:
        async with Client(url, mode=mode) as c:
            r = await c.call_tool(tool, json.loads(args))
            text = "\n".join(getattr(x, "text", "") for x in r.content)
            print(json.dumps({"protocol": c.session.protocol_version, "is_error": bool(r.is_error), "text": text}))
    except BaseException as e:
        found = mcp_error(e)
        if found is None:
            raise
        print(json.dumps({"refused": found.error.code, "message": found.error.message}))
        sys.exit(3)

asyncio.run(main(*sys.argv[1:]))
"#;

static VENV: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The venv's python, made once per checkout (target/sdk-mcp-2.3.0) with pip from the package index.
fn sdk_python() -> PathBuf {
    let mut made = VENV.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = made.as_ref() {
        return p.clone();
    }
    let dir = manifest_dir().join("target").join(format!("sdk-{}", SDK.replace("==", "-")));
    let python = dir.join("bin/python");
    let done = dir.join(".installed");
    if !done.is_file() {
        let _ = std::fs::remove_dir_all(&dir);
        let run = |cmd: &mut Command| {
            let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
            assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir));
        run(Command::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", SDK]));
        std::fs::write(&done, SDK).unwrap();
    }
    *made = Some(python.clone());
    python
}

/// Call `tool` through the SDK client in `mode`: Ok(answer) or Err(the refusal).
fn sdk_call(port: u16, mode: &str, tool: &str, args: &str) -> Result<Value, Value> {
    let url = format!("http://localhost:{port}/mcp");
    let o = Command::new(sdk_python()).args(["-c", SDK_CLIENT, &url, mode, tool, args]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let line: Value = serde_json::from_str(out.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
        panic!("SDK client ({mode}) printed no answer: {out}\n{}", String::from_utf8_lossy(&o.stderr))
    });
    if o.status.success() { Ok(line) } else { Err(line) }
}

/// `status` and `status --json` name the era and version.
fn status_names(p: &Project, protocol: &str, era: &str) {
    let human = p.ok(&["status"]);
    assert!(human.stdout.contains(protocol), "status should say {protocol}: {human:?}");
    let json = p.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(json.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {json:?}"));
    assert_eq!(v["mcp"]["protocol_version"], "2026-07-28", "{v}");
    assert_eq!(v["mcp"]["era"], era, "{v}");
    assert_eq!(v["mcp"]["supported_versions"], serde_json::json!(["2026-07-28"]), "{v}");
}

/// A server that answers only 2026-07-28: ready, status says so, SDK clients in auto and
/// 2026-07-28 mode call its tool, and a 2025 client (legacy mode) is refused with -32022.
pub(crate) fn modern_only(engine: &'static str, base: u16) {
    let p = Project::new("modern-only", engine, "eras-modern", base);
    p.ok(&["init"]);
    let start = p.ok(&["start"]);
    assert!(
        start
            .stdout
            .contains("MCP server answers: modern-only over streamable-http, MCP 2026-07-28 (no session)"),
        "{start:?}"
    );
    status_names(&p, "MCP 2026-07-28 (no session)", "2026");
    let port = p.state_port();
    for mode in ["auto", "2026-07-28"] {
        let r =
            sdk_call(port, mode, "forecast", r#"{"city": "Oslo"}"#).unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(r["protocol"], "2026-07-28", "{mode}: {r}");
        assert_eq!(r["text"], "Oslo: sunny, 22°C", "{mode}: {r}");
    }
    let refused =
        sdk_call(port, "legacy", "forecast", r#"{"city": "Oslo"}"#).expect_err("a 2025 client was served");
    assert_eq!(refused["refused"], -32022, "{refused}");
    // mcpctl's own client speaks the new era there too (the e2e tests' tool calls).
    let mut c = Client::connect(
        &Target::new(port, "/mcp", TransportSetting::StreamableHttp),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("mcpctl's client on {engine}: {e}"));
    assert_eq!(c.server.protocol(), "MCP 2026-07-28 (no session)");
    assert_eq!(c.session_id(), None);
    assert!(c.call_tool("forecast", serde_json::json!({"city": "Bergen"})).unwrap().contains("Bergen"));
    c.close();
}

/// mcp 2.3 serving both eras (the replica fixture): mcpctl speaks 2026-07-28 to it, and SDK
/// clients of both eras call `whoami`, answered by the one container.
pub(crate) fn dual_era(engine: &'static str, base: u16) {
    let p = Project::new("replica-server", engine, "eras-dual", base);
    p.ok(&["init"]);
    let start = p.ok(&["start"]);
    assert!(start.stdout.contains("over streamable-http, MCP 2026-07-28 (no session), 3 tools"), "{start:?}");
    status_names(&p, "MCP 2026-07-28 (no session)", "2026");
    let port = p.state_port();
    let host = p.engine_cmd(&["inspect", "-f", "{{.Config.Hostname}}", &p.container()]);
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    assert!(!host.is_empty());
    for (mode, protocol) in [("auto", "2026-07-28"), ("2026-07-28", "2026-07-28"), ("legacy", "2025-11-25")] {
        let r = sdk_call(port, mode, "whoami", "{}").unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(
            (r["protocol"].as_str(), r["text"].as_str()),
            (Some(protocol), Some(host.as_str())),
            "{mode}"
        );
    }
    let r = sdk_call(port, "auto", "spin", r#"{"ms": 50}"#).unwrap();
    assert!(r["text"].as_str().unwrap().starts_with("spun 50 ms"), "{r}");
}

macro_rules! on_both_engines {
    ($($scenario:ident;)*) => {
        mod docker {
            $(
                #[test]
                fn $scenario() {
                    if super::engine_available("docker") {
                        super::timed(stringify!($scenario), "docker", || super::$scenario("docker", crate::support::ports(100)));
                    }
                }
            )*
        }
        mod podman {
            $(
                #[test]
                fn $scenario() {
                    if super::engine_available("podman") {
                        super::timed(stringify!($scenario), "podman", || super::$scenario("podman", crate::support::ports(100)));
                    }
                }
            )*
        }
    };
}

on_both_engines! {
    modern_only;
    dual_era;
}
