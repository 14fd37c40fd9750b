//! Exit codes, the one shape of an explained error (what, why, fix), and how it chooses its code.
//!
//! Every failure reaches `main` as an `anyhow::Error`; `exit_code` looks in its chain for an
//! [`Explained`] marked bad input (exit 2) or [`Interrupted`] (130). Anything else exits 1.

use std::fmt;
use std::process::ExitCode;

pub(crate) const OK: u8 = 0;
pub(crate) const FAILED: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const INTERRUPTED: u8 = 130;

/// The user pressed Ctrl-C (or sent SIGINT). Exit 130.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled by user")
    }
}
impl std::error::Error for Interrupted {}

/// Every error mcpctl explains, in one shape: what went wrong, why, and how to fix it, with the
/// lines that show it (a failed build's last output, the container's last log lines). Nothing
/// below the flows prints an error; main prints this one once.
///
/// Bad input (a flag, a config file, a project the tool cannot work with) exits 2 and prints as one
/// line, `what: why; fix`; a failure exits 1 and prints its evidence, `what: why`, then the fix.
#[derive(Debug, Default, Clone)]
pub(crate) struct Explained {
    pub(crate) what: String,
    pub(crate) why: Option<String>,
    pub(crate) fix: Option<String>,
    /// What `evidence` is ("Last 20 log lines of x-mcp:").
    pub(crate) evidence_title: Option<String>,
    pub(crate) evidence: Vec<String>,
    /// The user's input is wrong (exit 2), not the run (exit 1).
    pub(crate) bad_input: bool,
}

impl Explained {
    /// A failure (exit 1).
    pub(crate) fn new(what: impl Into<String>) -> Explained {
        Explained { what: what.into(), ..Default::default() }
    }

    /// Bad input (exit 2).
    pub(crate) fn usage(what: impl Into<String>) -> Explained {
        Explained { what: what.into(), bad_input: true, ..Default::default() }
    }

    pub(crate) fn why(mut self, why: impl Into<String>) -> Explained {
        self.why = Some(why.into());
        self
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Explained {
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn evidence(mut self, title: impl Into<String>, lines: Vec<String>) -> Explained {
        self.evidence_title = Some(title.into());
        self.evidence = lines;
        self
    }

    /// What went wrong and why, without the fix: the `✗` line of a failure.
    pub(crate) fn cause(&self) -> String {
        match &self.why {
            Some(why) => format!("{}: {why}", self.what),
            None => self.what.clone(),
        }
    }
}

impl fmt::Display for Explained {
    /// Bad input is one line with its fix; a failure shows its fix on a line of its own (main).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause())?;
        match &self.fix {
            Some(fix) if self.bad_input => write!(f, "; {fix}"),
            _ => Ok(()),
        }
    }
}
impl std::error::Error for Explained {}

pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
        if cause.downcast_ref::<Explained>().is_some_and(|x| x.bad_input) {
            return USAGE;
        }
    }
    FAILED
}

/// The explanation of a failure, wherever it is in the chain.
pub(crate) fn explained(err: &anyhow::Error) -> Option<&Explained> {
    err.chain().find_map(|c| c.downcast_ref::<Explained>())
}

pub(crate) fn to_exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(what: &str) -> anyhow::Error {
        Explained::usage(what).into()
    }

    #[test]
    fn codes_follow_the_marker_anywhere_in_the_chain() {
        assert_eq!(exit_code(&usage("bad")), USAGE);
        assert_eq!(exit_code(&usage("bad").context("while reading config")), USAGE);
        assert_eq!(exit_code(&anyhow::Error::new(Interrupted).context("build")), INTERRUPTED);
        assert_eq!(exit_code(&anyhow::anyhow!("engine said no")), FAILED);
        let e = anyhow::Error::new(Explained::new("not ready").fix("wait")).context("update");
        assert_eq!(exit_code(&e), FAILED);
        assert_eq!(explained(&e).unwrap().fix.as_deref(), Some("wait"));
        assert!(explained(&anyhow::anyhow!("x")).is_none());
    }

    #[test]
    fn bad_input_is_one_line_what_why_fix_in_order() {
        let all =
            Explained::usage("--engine /x").why("no such file").fix("give the path of docker or podman");
        assert_eq!(all.to_string(), "--engine /x: no such file; give the path of docker or podman");
        assert_eq!(
            Explained::usage("HOME is not set").fix("set HOME").to_string(),
            "HOME is not set; set HOME"
        );
        assert_eq!(Explained::usage("port 0").why("out of range").to_string(), "port 0: out of range");
        assert_eq!(Explained::usage("no answer").to_string(), "no answer");
        // The context a caller adds stays in front, on the same line.
        let e = usage("bad").context("pyproject.toml");
        assert_eq!(format!("{e:#}"), "pyproject.toml: bad");
        assert!(!format!("{e:#}").contains('\n'));
    }

    #[test]
    fn a_failure_keeps_its_fix_for_a_line_of_its_own() {
        let x = Explained::new("Not ready").why("no answer in 30 s").fix("look at the logs");
        assert_eq!(x.cause(), "Not ready: no answer in 30 s");
        assert_eq!(x.to_string(), "Not ready: no answer in 30 s");
        assert_eq!(Explained::new("cannot pull").cause(), "cannot pull");
    }
}
