//! What the user sees: colored `✓ ⚠ ✗ →` lines and step headers (as `scripts/docker.py` printed
//! them), spinners on a
//! terminal, plain lines (no escapes, no spinners) when stdout is not one.
//!
//! Progress goes to stdout, except with `--json`, where stdout carries only the
//! JSON and progress moves to stderr. Errors always go to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use console::{Style, style};

#[derive(Debug, Clone)]
pub(crate) struct Ui {
    quiet: bool,
    /// Progress on stderr instead of stdout (`--json`).
    to_stderr: bool,
    /// Spinners: only on a terminal, and never in quiet or verbose mode.
    spinners: bool,
}

/// `--color`: when to color the output.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Decide colors once, for the whole process (console's switch is global).
pub(crate) fn init_colors(choice: ColorChoice) {
    let env = |k: &str| std::env::var(k).ok();
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                false
            } else if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else if env("CLICOLOR").as_deref() == Some("0") {
                false
            } else {
                std::io::stdout().is_terminal()
            }
        }
    };
    console::set_colors_enabled(on);
    console::set_colors_enabled_stderr(on);
}

impl Ui {
    pub(crate) fn new(quiet: bool, verbose: bool, json: bool) -> Ui {
        let spinners = !quiet && !verbose && std::io::stdout().is_terminal() && !json;
        Ui { quiet, to_stderr: json, spinners }
    }

    fn out(&self, line: &str) {
        if self.to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// "MCP Server - Start: NAME".
    pub(crate) fn title(&self, command: &str, project: &str) {
        if self.quiet {
            return;
        }
        self.out("");
        self.out(&format!("{}", style(format!("MCP Server - {command}: {project}")).bold().green()));
        self.out("");
    }

    pub(crate) fn header(&self, text: &str) {
        if self.quiet {
            return;
        }
        let bar = "=".repeat(60);
        let s = Style::new().bold().cyan();
        self.out("");
        self.out(&s.apply_to(&bar).to_string());
        self.out(&s.apply_to(text).to_string());
        self.out(&s.apply_to(&bar).to_string());
        self.out("");
    }

    pub(crate) fn success(&self, text: &str) {
        if !self.quiet {
            self.out(&style(format!("  ✓ {text}")).green().bright().to_string());
        }
    }

    pub(crate) fn info(&self, text: &str) {
        if !self.quiet {
            self.out(&style(format!("  → {text}")).blue().bright().to_string());
        }
    }

    /// Warnings show even with -q.
    pub(crate) fn warning(&self, text: &str) {
        let line = style(format!("  ⚠ {text}")).yellow().bright().to_string();
        if self.quiet { eprintln!("{line}") } else { self.out(&line) }
    }

    /// Errors always go to stderr.
    pub(crate) fn error(&self, text: &str) {
        eprintln!("{}", style(format!("  ✗ {text}")).red().bright());
    }

    /// The heading of what shows why something failed (stderr, with the error).
    pub(crate) fn error_detail_title(&self, text: &str) {
        eprintln!("{}", style(format!("  → {text}")).blue().bright());
    }

    /// How to fix the error just printed (stderr).
    pub(crate) fn error_fix(&self, text: &str) {
        eprintln!("{}", style(format!("  → Fix: {text}")).blue().bright());
    }

    /// A result line (endpoint, status): shown even with -q.
    pub(crate) fn result_info(&self, text: &str) {
        self.out(&style(format!("  → {text}")).blue().bright().to_string());
    }

    pub(crate) fn result_success(&self, text: &str) {
        self.out(&style(format!("  ✓ {text}")).green().bright().to_string());
    }

    /// A command the user can copy (the `claude mcp add` line), indented.
    pub(crate) fn command_line(&self, text: &str) {
        self.out(&format!("  {}", style(text).cyan().bright()));
    }

    pub(crate) fn blank(&self) {
        if !self.quiet {
            self.out("");
        }
    }

    /// Raw lines (build output tail, log lines), dimmed, indented.
    pub(crate) fn raw(&self, line: &str) {
        let l = format!("    {line}");
        if self.to_stderr { eprintln!("{}", style(l).dim()) } else { println!("{}", style(l).dim()) }
    }

    /// Raw lines that belong to an error (a failed build's output): stderr.
    pub(crate) fn raw_err(&self, line: &str) {
        eprintln!("{}", style(format!("    {line}")).dim());
    }

    pub(crate) fn spinner(&self, msg: &str) -> Spinner {
        if self.spinners {
            let pb = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stdout());
            pb.set_style(
                indicatif::ProgressStyle::with_template("  {spinner:.cyan} {msg} {elapsed:.dim}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb.set_message(msg.to_string());
            pb.enable_steady_tick(Duration::from_millis(100));
            Spinner { bar: Some(pb) }
        } else {
            self.info(msg);
            let _ = std::io::stdout().flush();
            Spinner { bar: None }
        }
    }
}

pub(crate) struct Spinner {
    bar: Option<indicatif::ProgressBar>,
}

impl Spinner {
    pub(crate) fn set_message(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }

    /// Print a line above the spinner without tearing it.
    pub(crate) fn println(&self, ui: &Ui, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| ui.raw(line)),
            None => ui.raw(line),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// "1.2 s" / "350 ms".
pub(crate) fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
