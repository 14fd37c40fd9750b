//! `mcpctl client`: how a client connects to the running server — the `claude mcp add` line and
//! the `.mcp.json` entry (`type`, `url`, `headers`), and with `--write` the entry merged into
//! the project's `.mcp.json` without losing the servers already there.

use anyhow::anyhow;
use serde_json::{Map, Value, json};

use crate::container::{self, Lookup};
use crate::error::Explained;
use crate::flows::{Ctx, claude_add_line};
use crate::probe::Transport;

pub(crate) fn client(
    ctx: &Ctx,
    write: bool,
    token_env: Option<&str>,
    url: Option<&str>,
) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let state = ctx.load_state();
    let behind = state.front.is_some();
    let token_env =
        token_env.map(str::to_string).or_else(|| ctx.token_env(behind)).or_else(|| s.token_env.clone());
    let token_env = token_env.as_deref();
    if let Some(v) = token_env
        && (v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Explained::usage(format!("--token-env {v}"))
            .fix("give the name of an environment variable, e.g. MCP_TOKEN")
            .into());
    }
    let transport = ctx.saved_transport(&state);
    let url = match url {
        Some(u) => u.to_string(),
        None => {
            let port = match container::lookup(engine, s)? {
                Lookup::Ours(c) if c.running => ctx.serving_port(Some(&c), &state),
                Lookup::Foreign(c) => return Err(container::foreign_error(engine, s, &c)),
                _ => None,
            }
            .ok_or_else(|| {
                anyhow!("{} is not running: start it with `mcpctl start`, or give --url", s.container)
            })?;
            ctx.endpoint(port, transport, behind)
        }
    };
    let entry = entry(transport, &url, token_env);

    ui.title("Client", &ctx.project_on_host());
    ui.info("Add to Claude Code:");
    ui.command_line(&claude_add_line(&s.name, transport, &url, token_env));
    ctx.print_front_hints(behind);
    ui.blank();
    ui.info("Or in .mcp.json:");
    let snippet = json!({"mcpServers": {s.name.clone(): entry.clone()}});
    for line in serde_json::to_string_pretty(&snippet)?.lines() {
        ui.command_line(line);
    }
    if write {
        let path = s.project_dir.join(".mcp.json");
        let kept = merge_into(&path, &s.name, entry)?;
        ui.blank();
        ui.result_success(&format!("Wrote {} (kept {kept} other servers)", path.display()));
    }
    Ok(())
}

/// The `.mcp.json` entry. The token is never written: `${VAR}` is expanded by the client.
pub(crate) fn entry(transport: Transport, url: &str, token_env: Option<&str>) -> Value {
    let mut e = json!({"type": transport.client_kind(), "url": url});
    if let Some(v) = token_env {
        e["headers"] = json!({"Authorization": format!("Bearer ${{{v}}}")});
    }
    e
}

/// Put `entry` under `mcpServers.<name>`, keeping everything else; returns how many other servers
/// were kept. A file that is not a JSON object is left alone and reported.
pub(crate) fn merge_into(path: &std::path::Path, name: &str, entry: Value) -> anyhow::Result<usize> {
    let mut doc: Map<String, Value> = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Map::new(),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            Ok(_) | Err(_) => {
                return Err(Explained::usage(format!("{} is not a JSON object", path.display()))
                    .why("mcpctl will not overwrite it")
                    .fix("fix it or move it away")
                    .into());
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display())),
    };
    let servers = doc.entry("mcpServers").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(Explained::usage(format!("{}: mcpServers is not an object", path.display()))
            .why("mcpctl will not overwrite it")
            .fix("fix the file")
            .into());
    };
    let kept = servers.keys().filter(|k| *k != name).count();
    servers.insert(name.to_string(), entry);
    let text = serde_json::to_string_pretty(&Value::Object(doc))? + "\n";
    crate::state::write_atomic(path, &text)?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_shapes() {
        assert_eq!(
            entry(Transport::StreamableHttp, "http://localhost:19000/mcp", None),
            json!({"type": "http", "url": "http://localhost:19000/mcp"})
        );
        assert_eq!(
            entry(Transport::Sse, "https://x/sse", Some("TOK")),
            json!({"type": "sse", "url": "https://x/sse", "headers": {"Authorization": "Bearer ${TOK}"}})
        );
    }

    #[test]
    fn merge_keeps_other_servers_and_keys() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".mcp.json");
        std::fs::write(&p, r#"{"mcpServers": {"other": {"type": "stdio", "command": "x"}}, "extra": 1}"#)
            .unwrap();
        let kept = merge_into(&p, "echo", json!({"type": "http", "url": "u"})).unwrap();
        assert_eq!(kept, 1);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["mcpServers"]["other"]["command"], "x");
        assert_eq!(v["mcpServers"]["echo"]["url"], "u");
        assert_eq!(v["extra"], 1);
        // Writing again replaces our entry only.
        assert_eq!(merge_into(&p, "echo", json!({"type": "http", "url": "v"})).unwrap(), 1);
    }

    #[test]
    fn broken_file_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".mcp.json");
        std::fs::write(&p, "{not json").unwrap();
        let e = merge_into(&p, "echo", json!({})).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{not json");
    }
}
