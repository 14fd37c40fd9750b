//! Exit codes and the error kinds that choose them.
//!
//! Every failure reaches `main` as an `anyhow::Error`; `exit_code` looks for the markers below in
//! its chain. Anything unmarked is a plain failure (exit 1).

use std::fmt;
use std::process::ExitCode;

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// Bad input: a flag, a config file, a project the tool cannot work with. Exit 2.
/// The message is one line: what is wrong, why, and how to fix it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// The user pressed Ctrl-C (or sent SIGINT). Exit 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled by user")
    }
}
impl std::error::Error for Interrupted {}

/// A failure explained: the lines that show why (a failed build's last output, the container's
/// last log lines), the one-line cause, and how to fix it. Nothing below the flows prints an
/// error; main prints this one once, cause and fix last.
#[derive(Debug, Default)]
pub struct Explained {
    pub cause: String,
    pub fix: Option<String>,
    /// What `evidence` is ("Last 20 log lines of x-mcp:").
    pub evidence_title: Option<String>,
    pub evidence: Vec<String>,
}

impl Explained {
    pub fn new(cause: impl Into<String>) -> Explained {
        Explained { cause: cause.into(), ..Default::default() }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Explained {
        self.fix = Some(fix.into());
        self
    }

    pub fn evidence(mut self, title: impl Into<String>, lines: Vec<String>) -> Explained {
        self.evidence_title = Some(title.into());
        self.evidence = lines;
        self
    }
}

impl fmt::Display for Explained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}
impl std::error::Error for Explained {}

/// Shorthand for returning a usage error from anywhere.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
        if cause.is::<UsageError>() {
            return USAGE;
        }
    }
    FAILED
}

/// The explanation of a failure, wherever it is in the chain.
pub fn explained(err: &anyhow::Error) -> Option<&Explained> {
    err.chain().find_map(|c| c.downcast_ref::<Explained>())
}

pub fn to_exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_marker_anywhere_in_the_chain() {
        assert_eq!(exit_code(&usage("bad")), USAGE);
        assert_eq!(exit_code(&usage("bad").context("while reading config")), USAGE);
        assert_eq!(exit_code(&anyhow::Error::new(Interrupted).context("build")), INTERRUPTED);
        assert_eq!(exit_code(&anyhow::anyhow!("engine said no")), FAILED);
        let e = anyhow::Error::new(Explained::new("not ready").fix("wait")).context("update");
        assert_eq!(explained(&e).unwrap().fix.as_deref(), Some("wait"));
        assert!(explained(&anyhow::anyhow!("x")).is_none());
    }
}
