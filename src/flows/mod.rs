//! One file per command; each reads top-down like the seed's `cmd_*`. Shared context here.

use std::time::Duration;

use crate::cli::Command;
use crate::config::Settings;
use crate::engine::Engine;
use crate::state::{self, State};
use crate::ui::{Ui, secs};

pub mod list;
pub mod logs;
pub mod restart;
pub mod start;
pub mod status;
pub mod stop;
pub mod update;

pub struct Ctx {
    pub s: Settings,
    pub engine: Engine,
    pub ui: Ui,
}

impl Ctx {
    /// The saved state; an unusable file is a warning, never a failure.
    pub fn load_state(&self) -> State {
        let loaded = state::load(&self.s.state_file);
        if let Some(w) = loaded.warning {
            self.ui.warning(&w);
        }
        loaded.state
    }

    pub fn save_port(&self, port: u16) -> anyhow::Result<()> {
        let mut st = state::load(&self.s.state_file).state;
        st.port = Some(port);
        state::save(&self.s.state_file, &st)
    }

    /// The endpoint lines every successful start/restart/update ends with.
    pub fn print_endpoint(&self, port: u16) {
        let endpoint = self.s.endpoint(port);
        self.ui.blank();
        self.ui.result_info(&format!("MCP endpoint: {endpoint}"));
        self.ui.blank();
        self.ui.info("Add to Claude Code:");
        let transport = if self.s.mcp_path.ends_with("/sse") {
            "sse"
        } else {
            "http"
        };
        self.ui.command_line(&format!(
            "claude mcp add {} --transport {transport} {endpoint}",
            self.s.name
        ));
        self.ui.blank();
    }

    pub fn print_timings(&self, phases: &[(&str, Duration)]) {
        let parts: Vec<String> = phases
            .iter()
            .map(|(n, d)| format!("{n} {}", secs(*d)))
            .collect();
        self.ui.info(&format!("Took {}", parts.join(", ")));
    }
}

pub fn run(cmd: &Command, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        Command::Start => start::start(ctx),
        Command::Stop => stop::stop(ctx),
        Command::Restart => restart::restart(ctx),
        Command::Update => update::update(ctx),
        Command::Status { json } => status::status(ctx, *json),
        Command::Logs { tail, no_follow } => logs::logs(ctx, *tail, !*no_follow),
        Command::List { json } => list::list(ctx, *json),
    }
}
