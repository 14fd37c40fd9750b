//! The one place that runs child processes.
//!
//! Modelled on cargo-util's ProcessBuilder/ProcessError: a command is an argv vector (never a shell
//! string), its Display is the shell-quoted line, and a failure carries the status, stdout and
//! stderr. Every engine call goes through a `Cmd` (`output`, `checked`, `stream_lines`,
//! `interactive`), which prints the line under `-v` and registers the child so Ctrl-C can kill it.

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::Interrupted;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The children running now, from any thread (the readiness watcher runs engine calls beside the
/// flow's own): Ctrl-C kills them all.
static RUNNING: Mutex<Vec<(u64, Arc<duct::Handle>)>> = Mutex::new(Vec::new());
static NEXT_CHILD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Set while a rollback runs: Ctrl-C must not cut short the steps that put a server back.
static SHIELD: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Install the SIGINT handler: remember the interrupt and kill the running child, so the flow
/// returns `Interrupted` from whatever it was waiting on.
pub(crate) fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        if SHIELD.load(Ordering::SeqCst) {
            return;
        }
        let running: Vec<_> =
            RUNNING.lock().map(|g| g.iter().map(|(_, h)| h.clone()).collect()).unwrap_or_default();
        for h in running {
            let _ = h.kill();
        }
        kill_current_reader();
    });
}

pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Run `f` to the end even if Ctrl-C is pressed meanwhile (the interrupt is still remembered).
pub(crate) fn shielded<T>(f: impl FnOnce() -> T) -> T {
    let was = SHIELD.swap(true, Ordering::SeqCst);
    let out = f();
    SHIELD.store(was, Ordering::SeqCst);
    out
}

/// Fail with `Interrupted` if Ctrl-C was pressed; loops that wait call this between steps.
pub(crate) fn check_interrupt() -> anyhow::Result<()> {
    if interrupted() && !SHIELD.load(Ordering::SeqCst) {
        Err(anyhow::Error::new(Interrupted))
    } else {
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<EnvVar>,
    /// Fed to the child's stdin (files written on another host through ssh); else /dev/null.
    stdin: Option<Arc<Vec<u8>>>,
}

/// A variable set for the child. A secret one's value is shown as `***` in the shell line (`-v`,
/// error messages): values the container gets go this way, never into argv, where `ps` shows
/// them to every user of the machine.
#[derive(Clone, Debug)]
struct EnvVar {
    key: OsString,
    value: OsString,
    secret: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Output {
    /// Exit code; `None` when killed by a signal.
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// A command that could not be run or exited non-zero.
#[derive(Debug)]
pub(crate) struct ProcessError {
    pub(crate) cmd: String,
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Set when the program could not be started at all.
    pub(crate) spawn_error: Option<String>,
}

impl ProcessError {
    /// The engine's own words: the last non-empty stderr line (engines put the reason last).
    pub(crate) fn reason(&self) -> String {
        if let Some(e) = &self.spawn_error {
            return e.clone();
        }
        let text = if self.stderr.trim().is_empty() { &self.stdout } else { &self.stderr };
        last_meaningful_line(text)
    }
}

/// The line of an engine's stderr that says why: the last non-empty one, skipping docker's
/// "Run 'docker run --help' for more information" / "See 'docker run --help'." hints.
pub(crate) fn last_meaningful_line(text: &str) -> String {
    let hint = |l: &str| {
        (l.starts_with("Run '") && l.ends_with("--help' for more information"))
            || (l.starts_with("See '") && l.ends_with("--help'."))
    };
    text.lines().rev().map(str::trim).find(|l| !l.is_empty() && !hint(l)).unwrap_or("no output").to_string()
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.spawn_error, self.code) {
            (Some(e), _) => write!(f, "could not run `{}`: {e}", self.cmd),
            (None, Some(c)) => write!(f, "`{}` exited with {c}: {}", self.cmd, self.reason()),
            (None, None) => write!(f, "`{}` was killed by a signal", self.cmd),
        }
    }
}
impl std::error::Error for ProcessError {}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<Path>) -> Cmd {
        Cmd { program: program.as_ref().to_path_buf(), args: Vec::new(), env: Vec::new(), stdin: None }
    }

    pub(crate) fn arg(mut self, a: impl Into<OsString>) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub(crate) fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Cmd {
        self.env.push(EnvVar { key: k.into(), value: v.into(), secret: false });
        self
    }

    /// Set a variable whose value never shows: not in `-v` lines, not in errors.
    pub(crate) fn secret_env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Cmd {
        self.env.push(EnvVar { key: k.into(), value: v.into(), secret: true });
        self
    }

    /// The variables set for the child, values included (for tests).
    #[cfg(test)]
    pub(crate) fn envs(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|e| (e.key.to_string_lossy().into_owned(), e.value.to_string_lossy().into_owned()))
            .collect()
    }

    pub(crate) fn stdin_bytes(mut self, bytes: Vec<u8>) -> Cmd {
        self.stdin = Some(Arc::new(bytes));
        self
    }

    /// The arguments after the program, as strings (for tests).
    #[cfg(test)]
    pub(crate) fn argv(&self) -> Vec<String> {
        self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn expression(&self) -> duct::Expression {
        if verbose() {
            eprintln!("{}", console::style(format!("$ {self}")).dim());
        }
        // An OsStr (not a Path) so a bare name is looked up on PATH.
        let mut e = duct::cmd(self.program.as_os_str(), &self.args).unchecked();
        for v in &self.env {
            e = e.env(&v.key, &v.value);
        }
        e
    }

    fn error(&self, out: Output, spawn_error: Option<String>) -> ProcessError {
        ProcessError {
            cmd: self.to_string(),
            code: out.code,
            stdout: out.stdout,
            stderr: out.stderr,
            spawn_error,
        }
    }

    fn spawn_error(&self, e: std::io::Error) -> anyhow::Error {
        let msg = if e.kind() == std::io::ErrorKind::NotFound {
            format!("{} not found", self.program.display())
        } else {
            e.to_string()
        };
        anyhow::Error::new(self.error(Output::default(), Some(msg)))
    }

    /// Run to completion with stdout and stderr captured. A non-zero exit is not an error here:
    /// callers that read the engine's answer (inspect of a missing container) need the output.
    pub(crate) fn output(&self) -> anyhow::Result<Output> {
        let e = self.expression().stdout_capture().stderr_capture();
        let e = match &self.stdin {
            Some(b) => e.stdin_bytes(b.as_slice().to_vec()),
            None => e.stdin_null(),
        };
        let handle = e.start().map_err(|e| self.spawn_error(e))?;
        let out = wait_registered(Arc::new(handle))?;
        Ok(out)
    }

    /// Run captured and fail with a `ProcessError` unless it exits 0.
    pub(crate) fn checked(&self) -> anyhow::Result<Output> {
        let out = self.output()?;
        if out.success() { Ok(out) } else { Err(anyhow::Error::new(self.error(out, None))) }
    }

    /// Run with stderr merged into stdout, handing each line to `on_line` as it arrives (build
    /// output). Returns the status and the whole output; does not fail on a non-zero exit.
    pub(crate) fn stream_lines(&self, mut on_line: impl FnMut(&str)) -> anyhow::Result<Output> {
        let reader =
            self.expression().stderr_to_stdout().stdin_null().reader().map_err(|e| self.spawn_error(e))?;
        let reader = Arc::new(reader);
        // The reader handle is what Ctrl-C must kill; keep a second reference for reading.
        let mut all = String::new();
        {
            let guard = ReaderGuard::register(reader.clone());
            if interrupted() && !SHIELD.load(Ordering::SeqCst) {
                let _ = reader.kill();
            }
            let mut buf = BufReader::new(&*reader);
            let mut line = Vec::new();
            loop {
                line.clear();
                match buf.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        let s = String::from_utf8_lossy(&line);
                        let s = s.trim_end_matches(['\n', '\r']);
                        on_line(s);
                        all.push_str(s);
                        all.push('\n');
                    }
                    Err(_) => break,
                }
            }
            drop(guard);
        }
        check_interrupt()?;
        let status = reader.try_wait().ok().flatten().map(|o| o.status.code()).unwrap_or(None);
        Ok(Output { code: status, stdout: all, stderr: String::new() })
    }

    /// Run with the terminal attached (logs -f). Returns the exit code.
    pub(crate) fn interactive(&self) -> anyhow::Result<Option<i32>> {
        let handle = self.expression().start().map_err(|e| self.spawn_error(e))?;
        let out = wait_registered(Arc::new(handle))?;
        Ok(out.code)
    }
}

/// Wait for a started child while Ctrl-C can reach it.
fn wait_registered(handle: Arc<duct::Handle>) -> anyhow::Result<Output> {
    let id = NEXT_CHILD.fetch_add(1, Ordering::SeqCst);
    RUNNING.lock().unwrap().push((id, handle.clone()));
    // Ctrl-C that came before the child was registered had nothing to kill.
    if interrupted() && !SHIELD.load(Ordering::SeqCst) {
        let _ = handle.kill();
    }
    let res = handle.wait();
    RUNNING.lock().unwrap().retain(|(i, _)| *i != id);
    check_interrupt()?;
    let out = res?;
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// duct's ReaderHandle is not a Handle; Ctrl-C kills them through this list instead (several
/// read at once: the logs of every replica).
static READERS: Mutex<Vec<(u64, Arc<duct::ReaderHandle>)>> = Mutex::new(Vec::new());

struct ReaderGuard(u64);

impl ReaderGuard {
    fn register(r: Arc<duct::ReaderHandle>) -> ReaderGuard {
        let id = NEXT_CHILD.fetch_add(1, Ordering::SeqCst);
        READERS.lock().unwrap().push((id, r));
        ReaderGuard(id)
    }
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        READERS.lock().unwrap().retain(|(i, _)| *i != self.0);
    }
}

/// Called by the SIGINT handler too (see `install_interrupt_handler`).
pub(crate) fn kill_current_reader() {
    let readers: Vec<_> =
        READERS.lock().map(|g| g.iter().map(|(_, r)| r.clone()).collect()).unwrap_or_default();
    for r in readers {
        let _ = r.kill();
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prog = self.program.file_name().map(|s| s.to_string_lossy()).unwrap_or_default();
        let prog = if self.program.components().count() > 1 && verbose() {
            self.program.to_string_lossy()
        } else {
            prog
        };
        for v in &self.env {
            let value = if v.secret { "***".into() } else { shell_quote(&v.value.to_string_lossy()) };
            write!(f, "{}={value} ", v.key.to_string_lossy())?;
        }
        f.write_str(&shell_quote(&prog))?;
        for a in &self.args {
            f.write_str(" ")?;
            f.write_str(&shell_quote(&a.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// Quote one word for a POSIX shell, leaving plain words bare so the line stays readable.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./:=,@%+^$".contains(c))
        && !s.contains('$');
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_shell_quoted_line() {
        let c = Cmd::new("/usr/bin/docker")
            .args(["ps", "-a", "--filter", "name=^x-mcp$", "--format", "{{json .}}"])
            .arg("it's");
        assert_eq!(c.to_string(), r"docker ps -a --filter 'name=^x-mcp$' --format '{{json .}}' 'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("127.0.0.1:19000:3001"), "127.0.0.1:19000:3001");
    }

    #[test]
    fn secret_values_reach_the_child_but_never_the_shell_line() {
        let c = Cmd::new("sh")
            .args(["-c", "echo \"$API_TOKEN $MODE\""])
            .secret_env("API_TOKEN", "s3cr3t")
            .env("MODE", "a b");
        assert_eq!(c.to_string(), "API_TOKEN=*** MODE='a b' sh -c 'echo \"$API_TOKEN $MODE\"'");
        assert_eq!(c.checked().unwrap().stdout, "s3cr3t a b\n");
        let err =
            Cmd::new("sh").args(["-c", "exit 3"]).secret_env("API_TOKEN", "s3cr3t").checked().unwrap_err();
        assert!(err.to_string().contains("API_TOKEN=***") && !err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn captured_output_status_and_error_reason() {
        let ok = Cmd::new("sh").args(["-c", "echo out; echo err >&2"]).checked().unwrap();
        assert_eq!(ok.stdout, "out\n");
        assert_eq!(ok.stderr, "err\n");
        let err = Cmd::new("sh").args(["-c", "echo first >&2; echo 'the reason' >&2; exit 3"]).checked();
        let err = err.unwrap_err();
        let pe = err.downcast_ref::<ProcessError>().unwrap();
        assert_eq!(pe.code, Some(3));
        assert_eq!(pe.reason(), "the reason");
        assert!(err.to_string().contains("exited with 3: the reason"), "{err}");
        let docker28 =
            "docker: Error response from daemon: Conflict.\n\nRun 'docker run --help' for more information\n";
        assert_eq!(last_meaningful_line(docker28), "docker: Error response from daemon: Conflict.");
        assert_eq!(last_meaningful_line("x\nSee 'docker run --help'.\n"), "x");
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let err = Cmd::new("/nonexistent/dockr").arg("ps").output().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/dockr not found"), "{err}");
    }

    #[test]
    fn stream_lines_merges_stderr_and_keeps_status() {
        let mut seen = Vec::new();
        let out = Cmd::new("sh")
            .args(["-c", "echo a; echo b >&2; exit 4"])
            .stream_lines(|l| seen.push(l.to_string()))
            .unwrap();
        assert_eq!(seen, ["a", "b"]);
        assert_eq!(out.code, Some(4));
    }
}
