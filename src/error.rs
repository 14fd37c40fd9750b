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

/// A failure whose lines were already printed (build output, log tail); main adds nothing.
#[derive(Debug)]
pub struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed")
    }
}
impl std::error::Error for Reported {}

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

pub fn is_reported(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Reported>())
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
        assert!(is_reported(&anyhow::Error::new(Reported)));
        assert!(!is_reported(&anyhow::anyhow!("x")));
    }
}
