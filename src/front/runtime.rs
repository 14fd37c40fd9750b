//! HAProxy's runtime API over its stats socket: how mcpctl switches the front's blue/green slots
//! at update time without a reload. The socket is a unix socket HAProxy creates in a directory
//! bind-mounted from the host, so mcpctl connects to it directly. Each command gets a connection
//! of its own: send `cmd\n`, shut the write half, read the answer until HAProxy closes.
//!
//! HAProxy answers in plain text, errors included, so [`check_answer`] reads the text. The parsers
//! ([`parse_stat`], [`parse_servers_state`], [`parse_table`]) are pure and tested against answers
//! recorded from HAProxy 2.6 on docker and podman (`fixtures/haproxy-outputs/`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// How long one command may take, from connecting to the answer's last byte.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client of one front's runtime API (its `stats socket ... level admin`).
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    socket: PathBuf,
    timeout: Duration,
}

/// HAProxy answered a command with an error. `answer` is its text as HAProxy wrote it, minus the
/// trailing blank line (and, for "Unknown command", minus the list of commands it suggests).
/// Callers that care which error it was can `downcast_ref::<Refused>()` the `anyhow::Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) command: String,
    pub(crate) answer: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HAProxy refused `{}`: {}", self.command, self.answer)
    }
}

impl std::error::Error for Refused {}

/// What a `show stat` row describes (its `type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatKind {
    Frontend,
    Backend,
    Server,
    Listener,
}

/// One row of `show stat`: the columns mcpctl needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerStat {
    /// The proxy's name (`pxname`): the backend, for a server row.
    pub(crate) backend: String,
    /// `svname`: the server's name; `FRONTEND` or `BACKEND` on those proxies' own rows.
    pub(crate) server: String,
    pub(crate) kind: StatKind,
    /// As HAProxy prints it. Recorded: `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check` (a server
    /// without checks), `OPEN` (a frontend). HAProxy also has forms such as `UP 1/2` for a check
    /// result still settling, so compare whole words only where the exact text is known.
    pub(crate) status: String,
    /// `scur`: connections on it now.
    pub(crate) current_sessions: u64,
    /// The effective weight; 0 where HAProxy leaves it empty (frontends). It stays 1 while a
    /// server is in `DRAIN` (recorded), so `status` is what says a slot drains.
    pub(crate) weight: u32,
    /// `ip:port` of a server (`addr`, in 2.6 for every server row); None on other rows.
    pub(crate) addr: Option<String>,
    /// The last health check's result (`L4OK`, `L4CON`, ...); None without checks.
    pub(crate) check_status: Option<String>,
    /// `stot`: the requests sent to it since the front's worker started (each is a stream).
    pub(crate) requests: u64,
}

/// The state `set server ... state` puts a slot in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Takes new sessions.
    Ready,
    /// No new sessions; sticky ones still reach it.
    Drain,
    /// Neither new nor sticky sessions reach it; only `force-persist` requests (the front's
    /// `X-Mcpctl-Slot` probe) still do.
    Maint,
}

impl SlotState {
    fn word(self) -> &'static str {
        match self {
            SlotState::Ready => "ready",
            SlotState::Drain => "drain",
            SlotState::Maint => "maint",
        }
    }
}

/// One stick-table entry: an `Mcp-Session-Id` and the server it sticks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StickEntry {
    pub(crate) key: String,
    /// The server's numeric id (`show servers state`'s `srv_id`).
    pub(crate) server_id: u32,
    /// The server's name; 2.6 stores it beside the id.
    pub(crate) server_key: Option<String>,
    /// `exp`: time left before the entry expires. Each use resets it to the table's `expire`.
    pub(crate) expires_in: Duration,
}

impl StickEntry {
    /// How long ago the entry was last used, given the table's `expire`.
    pub(crate) fn idle_for(&self, table_expire: Duration) -> Duration {
        table_expire.saturating_sub(self.expires_in)
    }
}

impl Runtime {
    pub(crate) fn new(socket: impl Into<PathBuf>) -> Runtime {
        Runtime { socket: socket.into(), timeout: DEFAULT_TIMEOUT }
    }

    #[cfg(test)]
    pub(crate) fn with_timeout(self, timeout: Duration) -> Runtime {
        Runtime { timeout, ..self }
    }

    /// One command, one connection; the answer's text. A non-`show` command whose answer is an
    /// error is an `Err` wrapping [`Refused`] (see [`check_answer`]). `cmd` must be one command:
    /// HAProxy runs every line and every `;`-separated part it is sent.
    pub(crate) fn command(&self, cmd: &str) -> Result<String> {
        if cmd.contains(['\n', '\r', ';']) {
            bail!("not a single runtime API command: {cmd:?}");
        }
        let answer = self
            .exchange(cmd)
            .with_context(|| format!("HAProxy runtime API at {}: `{cmd}`", self.socket.display()))?;
        check_answer(cmd, &answer)?;
        Ok(answer)
    }

    fn exchange(&self, cmd: &str) -> Result<String> {
        let deadline = Instant::now() + self.timeout;
        let mut stream = UnixStream::connect(&self.socket).context("cannot connect")?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.write_all(format!("{cmd}\n").as_bytes())?;
        // The end of input tells HAProxy the command is complete (as socat does).
        stream.shutdown(Shutdown::Write)?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no complete answer within {:?}", self.timeout);
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    bail!("no complete answer within {:?}", self.timeout)
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Stick-table keys come from the servers' responses: never fail on their bytes.
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// The pid of the worker that answers (`show info`): a reload starts a new one, so a
    /// different pid says the new config is in effect.
    pub(crate) fn worker_pid(&self) -> Result<u32> {
        parse_pid(&self.command("show info")?)
    }

    /// `show stat`: one row per frontend, backend and server.
    pub(crate) fn stats(&self) -> Result<Vec<ServerStat>> {
        parse_stat(&self.command("show stat")?)
    }

    /// The `show stat` row of one server; None when HAProxy has no such server.
    pub(crate) fn server(&self, backend: &str, server: &str) -> Result<Option<ServerStat>> {
        Ok(self
            .stats()?
            .into_iter()
            .find(|s| s.kind == StatKind::Server && s.backend == backend && s.server == server))
    }

    /// Points a slot at a container. The port is optional to HAProxy (without it the port stays);
    /// it is always sent so a slot never keeps a port from an older config.
    pub(crate) fn set_addr(&self, backend: &str, server: &str, ip: IpAddr, port: u16) -> Result<()> {
        self.command(&format!("set server {} addr {ip} port {port}", target(backend, server)?)).map(drop)
    }

    pub(crate) fn set_state(&self, backend: &str, server: &str, state: SlotState) -> Result<()> {
        self.command(&format!("set server {} state {}", target(backend, server)?, state.word())).map(drop)
    }

    /// Marks a slot's health UP without waiting for its first check (mcpctl has just probed it).
    pub(crate) fn set_health_up(&self, backend: &str, server: &str) -> Result<()> {
        self.command(&format!("set server {} health up", target(backend, server)?)).map(drop)
    }

    /// `show servers state BACKEND`: server name → numeric id (what stick-table entries store).
    pub(crate) fn server_ids(&self, backend: &str) -> Result<BTreeMap<String, u32>> {
        parse_servers_state(&self.command(&format!("show servers state {}", name(backend)?))?)
    }

    /// `show table BACKEND data.server_id eq ID`: the sticky sessions of one server.
    pub(crate) fn sticky(&self, backend: &str, server_id: u32) -> Result<Vec<StickEntry>> {
        parse_table(&self.command(&format!("show table {} data.server_id eq {server_id}", name(backend)?))?)
    }

    /// Cuts every connection still on a server.
    pub(crate) fn shutdown_sessions(&self, backend: &str, server: &str) -> Result<()> {
        self.command(&format!("shutdown sessions server {}", target(backend, server)?)).map(drop)
    }

    /// Forgets the sticky sessions of one server.
    pub(crate) fn clear_sticky(&self, backend: &str, server_id: u32) -> Result<()> {
        self.command(&format!("clear table {} data.server_id eq {server_id}", name(backend)?)).map(drop)
    }
}

/// A proxy or server name as it may appear in a command: anything else could change the command.
fn name(s: &str) -> Result<&str> {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '/' || c == ';') {
        bail!("not a HAProxy backend or server name: {s:?}");
    }
    Ok(s)
}

fn target(backend: &str, server: &str) -> Result<String> {
    Ok(format!("{}/{}", name(backend)?, name(server)?))
}

/// Whether `answer` says `cmd` worked. `show` answers are data and never judged here (their
/// parsers reject what is not data). For other commands, success is an empty answer or
/// `set server ... addr`'s report of what it changed; any other text is HAProxy saying no
/// ("No such backend.", "Require 'backend/server'.", "'set server <srv> state' expects ...",
/// "Invalid addr ...", "Permission denied", "Unknown command, ..." were all recorded). Failing
/// closed on unknown text keeps a cutover from going on after a change HAProxy did not make.
pub(crate) fn check_answer(cmd: &str, answer: &str) -> Result<(), Refused> {
    let text = answer.trim_end_matches('\n');
    if cmd.split_whitespace().next() == Some("show") || text.is_empty() || is_addr_notice(text) {
        return Ok(());
    }
    // The suggested commands after "Unknown command, but maybe ...:" are noise in a message.
    let text = if text.starts_with("Unknown command") { text.lines().next().unwrap_or(text) } else { text };
    Err(Refused { command: cmd.to_string(), answer: text.to_string() })
}

/// "IP changed from 'A' to 'B', no need to change the port by 'stats socket command'": every
/// clause must be a change or a no-op; "problem converting port ..." after an IP change is not.
fn is_addr_notice(text: &str) -> bool {
    let Some((clauses, _by)) = text.rsplit_once(" by '") else { return false };
    !text.contains('\n')
        && clauses.split(", ").all(|c| {
            c.starts_with("IP changed from '")
                || c.starts_with("port changed from '")
                || c == "no need to change the addr"
                || c == "no need to change the port"
        })
}

/// The error for a `show` answer that is not the data asked for (HAProxy's error text instead).
fn unexpected(what: &str, text: &str) -> anyhow::Error {
    anyhow!("`{what}`: HAProxy answered {:?}", text.lines().next().unwrap_or(""))
}

/// The columns of `show stat` mcpctl reads, found by name in its header line.
struct StatColumns {
    pxname: usize,
    svname: usize,
    kind: usize,
    status: usize,
    scur: usize,
    weight: usize,
    addr: usize,
    check_status: usize,
    stot: usize,
}

impl StatColumns {
    fn find(header: &[String]) -> Result<StatColumns> {
        let col = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| anyhow!("`show stat` has no `{name}` column"))
        };
        Ok(StatColumns {
            pxname: col("pxname")?,
            svname: col("svname")?,
            kind: col("type")?,
            status: col("status")?,
            scur: col("scur")?,
            weight: col("weight")?,
            addr: col("addr")?,
            check_status: col("check_status")?,
            stot: col("stot")?,
        })
    }

    fn row(&self, fields: &[String]) -> Result<ServerStat> {
        let get = |i: usize| fields.get(i).map(String::as_str).unwrap_or("");
        let opt = |i: usize| Some(get(i).to_string()).filter(|s| !s.is_empty());
        let num = |i: usize| -> Result<u64> {
            let v = get(i);
            if v.is_empty() {
                Ok(0)
            } else {
                v.parse().with_context(|| format!("`show stat`: {v:?} is no number"))
            }
        };
        let kind = match get(self.kind) {
            "0" => StatKind::Frontend,
            "1" => StatKind::Backend,
            "2" => StatKind::Server,
            "3" => StatKind::Listener,
            other => bail!("`show stat`: unknown row type {other:?}"),
        };
        Ok(ServerStat {
            backend: get(self.pxname).to_string(),
            server: get(self.svname).to_string(),
            kind,
            status: get(self.status).to_string(),
            current_sessions: num(self.scur)?,
            weight: u32::try_from(num(self.weight)?).context("`show stat`: weight out of range")?,
            addr: opt(self.addr),
            check_status: opt(self.check_status),
            requests: num(self.stot)?,
        })
    }
}

/// Parses `show stat`'s CSV ("# pxname,svname,..." then one line per row). Columns are looked up
/// by their header names, so a HAProxy that adds or moves columns still parses.
/// The `Pid:` line of `show info`.
pub(crate) fn parse_pid(info: &str) -> Result<u32> {
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| anyhow!("`show info` names no pid"))
}

pub(crate) fn parse_stat(csv: &str) -> Result<Vec<ServerStat>> {
    let mut records = csv_records(csv).into_iter().filter(|r| !(r.len() == 1 && r[0].is_empty()));
    let mut header = records.next().ok_or_else(|| unexpected("show stat", csv))?;
    match header[0].strip_prefix("# ") {
        Some(first) => header[0] = first.to_string(),
        None => return Err(unexpected("show stat", csv)),
    }
    let columns = StatColumns::find(&header)?;
    records.map(|r| columns.row(&r)).collect()
}

/// Splits CSV into records of fields. HAProxy's encoder quotes a text field ("...", with "" for
/// a quote) when it holds a comma, a quote or a line break; none in the recordings does.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => record.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Parses `show servers state BACKEND` ("1", a "# be_id be_name srv_id srv_name ..." header, one
/// line per server) into server name → id. An answer listing several backends is an error: the
/// names would collide.
pub(crate) fn parse_servers_state(text: &str) -> Result<BTreeMap<String, u32>> {
    let what = "show servers state";
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next() != Some("1") {
        return Err(unexpected(what, text));
    }
    let header: Vec<&str> = match lines.next().and_then(|h| h.strip_prefix("# ")) {
        Some(h) => h.split_whitespace().collect(),
        None => return Err(unexpected(what, text)),
    };
    let col =
        |name: &str| header.iter().position(|h| *h == name).ok_or_else(|| anyhow!("`{what}` has no {name}"));
    let (be, id, srv) = (col("be_name")?, col("srv_id")?, col("srv_name")?);
    let (mut backend, mut ids) = (None, BTreeMap::new());
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(b), Some(i), Some(s)) = (f.get(be), f.get(id), f.get(srv)) else {
            bail!("`{what}`: short line {line:?}");
        };
        if *backend.get_or_insert(*b) != *b {
            bail!("`{what}` lists several backends ({} and {b}); ask for one", backend.unwrap_or_default());
        }
        ids.insert(s.to_string(), i.parse().with_context(|| format!("`{what}`: srv_id {i:?}"))?);
    }
    Ok(ids)
}

/// Parses `show table ...` ("# table: be_x, type: string, size:N, used:N" then one line per
/// entry). `used` counts the whole table even when a filter shows fewer entries.
pub(crate) fn parse_table(text: &str) -> Result<Vec<StickEntry>> {
    let mut lines = text.lines().filter(|l| !l.is_empty());
    if !lines.next().is_some_and(|h| h.starts_with("# table: ")) {
        return Err(unexpected("show table", text));
    }
    lines.map(parse_entry).collect()
}

/// "0x55d0c8a47af0: key=sess-a use=0 exp=1798610 server_id=1 server_key=blue". HAProxy prints
/// a string key as it is, spaces included, so the key ends at the last " use=".
fn parse_entry(line: &str) -> Result<StickEntry> {
    let bad = || anyhow!("`show table`: unexpected entry {line:?}");
    let (_, rest) = line.split_once(": key=").ok_or_else(bad)?;
    let (key, data) = rest.rsplit_once(" use=").ok_or_else(bad)?;
    let field = |name: &str| data.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='));
    let exp: u64 = field("exp").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok(StickEntry {
        key: key.to_string(),
        server_id: field("server_id").and_then(|v| v.parse().ok()).ok_or_else(bad)?,
        server_key: field("server_key").map(str::to_string),
        expires_in: Duration::from_millis(exp),
    })
}

/// Whether a draining server can be retired: no connection on it (`scur` 0) and none of its
/// sticky sessions used within `idle`. `table_expire` is the stick table's `expire` (every use
/// resets an entry's countdown to it, so `table_expire - expires_in` is the time since last use).
pub(crate) fn drained(
    stat: &ServerStat,
    sticky: &[StickEntry],
    table_expire: Duration,
    idle: Duration,
) -> bool {
    stat.current_sessions == 0 && sticky.iter().all(|e| e.idle_for(table_expire) >= idle)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::os::unix::net::UnixListener;
    use std::path::Path;
    use std::sync::mpsc;
    use std::thread;

    use super::*;

    #[test]
    fn the_worker_pid_is_read_from_show_info() {
        for engine in ENGINES {
            let pid = parse_pid(&read(engine, "show-info.txt")).unwrap();
            assert!(pid > 0, "{engine}");
        }
        assert!(parse_pid("Name: HAProxy\n").is_err());
    }

    const ENGINES: [&str; 2] = ["", "podman/"];
    const EXPIRE: Duration = Duration::from_secs(30 * 60);

    /// A file of fixtures/haproxy-outputs: docker's recordings at its top, podman's in podman/.
    fn read(engine: &str, file: &str) -> String {
        let p = format!("{}/fixtures/haproxy-outputs/{engine}{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn rec(engine: &str, case: &str) -> String {
        read(engine, &format!("{case}.txt"))
    }

    fn find<'a>(rows: &'a [ServerStat], be: &str, sv: &str) -> &'a ServerStat {
        rows.iter().find(|r| r.backend == be && r.server == sv).unwrap_or_else(|| panic!("no {be}/{sv}"))
    }

    fn assert_slot(row: &ServerStat, status: &str, scur: u64, port: u16) {
        assert_eq!((row.kind, row.status.as_str(), row.current_sessions), (StatKind::Server, status, scur));
        let addr: SocketAddr = row.addr.as_deref().unwrap().parse().unwrap();
        assert_eq!(addr.port(), port, "{row:?}");
    }

    #[test]
    fn show_stat_during_a_drain() {
        for e in ENGINES {
            let rows = parse_stat(&rec(e, "show-stat")).unwrap();
            assert_eq!(rows.len(), 9, "{e}");
            assert_slot(find(&rows, "be_app", "blue"), "DRAIN", 1, 3001);
            assert_eq!(find(&rows, "be_app", "blue").weight, 1);
            assert_slot(find(&rows, "be_app", "green"), "UP", 0, 3001);
            assert_slot(find(&rows, "be_aux", "blue"), "DRAIN", 1, 3001);
            assert_slot(find(&rows, "be_aux", "green"), "DOWN", 0, 3999);
            assert_eq!(find(&rows, "be_aux", "green").check_status.as_deref(), Some("L4CON"));
            assert_slot(find(&rows, "be_aux", "nocheck"), "no check", 0, 3001);
            assert_eq!(find(&rows, "be_aux", "nocheck").check_status, None);
            assert_slot(find(&rows, "be_aux", "off"), "MAINT", 0, 3001);
            let fe = find(&rows, "fe_front", "FRONTEND");
            assert_eq!(
                (fe.kind, fe.status.as_str(), fe.current_sessions, fe.weight),
                (StatKind::Frontend, "OPEN", 2, 0)
            );
            assert_eq!(find(&rows, "be_app", "BACKEND").kind, StatKind::Backend);
            assert_eq!(find(&rows, "be_app", "BACKEND").addr, None);
        }
    }

    #[test]
    fn show_stat_before_and_after_the_cutover() {
        for e in ENGINES {
            let start = parse_stat(&rec(e, "show-stat-start")).unwrap();
            assert_slot(find(&start, "be_app", "blue"), "UP", 0, 3001);
            assert_eq!(find(&start, "be_app", "blue").check_status.as_deref(), Some("L4OK"));
            assert_slot(find(&start, "be_app", "green"), "MAINT", 0, 3001);
            assert_eq!(find(&start, "be_app", "green").addr.as_deref(), Some("127.0.0.1:3001"));
            let end = parse_stat(&rec(e, "show-stat-end")).unwrap();
            assert_slot(find(&end, "be_app", "blue"), "MAINT", 0, 3001);
            assert_slot(find(&end, "be_app", "green"), "UP", 0, 3001);
        }
    }

    /// The recording with its columns in reverse order, and a quoted field holding a comma.
    #[test]
    fn show_stat_columns_are_found_by_name() {
        let mut records = csv_records(&rec("", "show-stat"));
        records[0][0] = records[0][0].trim_start_matches("# ").to_string();
        for r in &mut records {
            r.reverse();
        }
        let quote =
            |f: &String| if f.contains(',') { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() };
        let status = records[0].iter().position(|h| h == "status").unwrap();
        records[2][status] = "UP, \"odd\"".to_string();
        let lines: Vec<String> =
            records.iter().map(|r| r.iter().map(quote).collect::<Vec<_>>().join(",")).collect();
        let rows = parse_stat(&format!("# {}", lines.join("\n"))).unwrap();
        assert_eq!(rows, {
            let mut want = parse_stat(&rec("", "show-stat")).unwrap();
            want[1].status = "UP, \"odd\"".to_string();
            want
        });
    }

    #[test]
    fn show_stat_rejects_what_is_not_csv() {
        let err = parse_stat(&rec("", "err-unknown-command")).unwrap_err().to_string();
        assert!(err.contains("Unknown command, but maybe"), "{err}");
        assert!(parse_stat("").is_err());
        let no_addr = rec("", "show-stat").replacen(",addr,", ",address,", 1);
        assert!(parse_stat(&no_addr).unwrap_err().to_string().contains("no `addr` column"));
    }

    #[test]
    fn servers_state() {
        for e in ENGINES {
            let ids = parse_servers_state(&rec(e, "show-servers-state")).unwrap();
            assert_eq!(ids, BTreeMap::from([("blue".to_string(), 1), ("green".to_string(), 2)]));
            let all = parse_servers_state(&rec(e, "show-servers-state-all")).unwrap_err().to_string();
            assert!(all.contains("several backends (be_app and be_aux)"), "{all}");
            let unknown = parse_servers_state(&rec(e, "show-servers-state-unknown")).unwrap_err().to_string();
            assert!(unknown.contains("Can't find backend."), "{unknown}");
        }
    }

    #[test]
    fn tables() {
        for e in ENGINES {
            assert_eq!(parse_table(&rec(e, "show-table-empty")).unwrap(), []);
            assert_eq!(parse_table(&rec(e, "show-table-cleared")).unwrap(), []);
            let all = parse_table(&rec(e, "show-table-entries")).unwrap();
            let got: Vec<(&str, u32, Option<&str>)> =
                all.iter().map(|s| (s.key.as_str(), s.server_id, s.server_key.as_deref())).collect();
            let (blue, green) = (Some("blue"), Some("green"));
            assert_eq!(
                got,
                [("sess-a", 1, blue), ("sess-b", 2, green), ("sess-c", 1, blue), ("sess-d", 2, green)]
            );
            for s in &all {
                assert!(
                    s.idle_for(EXPIRE) > Duration::ZERO && s.idle_for(EXPIRE) < Duration::from_secs(30),
                    "{s:?}"
                );
            }
            let blue_only = parse_table(&rec(e, "show-table-server")).unwrap();
            assert_eq!(blue_only.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["sess-a", "sess-c"]);
            // sess-c was last used before the sleep in record.sh, sess-a by the request in flight.
            assert!(blue_only[1].idle_for(EXPIRE) > blue_only[0].idle_for(EXPIRE) + Duration::from_secs(1));
            let unknown = parse_table(&rec(e, "show-table-unknown")).unwrap_err().to_string();
            assert!(unknown.contains("No such table"), "{unknown}");
        }
    }

    #[test]
    fn table_entry_details() {
        let table = "# table: be_x, type: string, size:10, used:1\n\
                     0x1: key=a b use=1 exp=1795000 server_id=7 server_key=green\n0x2: key=c use=0 exp=5\n";
        let err = parse_table(table).unwrap_err().to_string();
        assert!(err.contains("key=c"), "an entry without server_id is an error: {err}");
        let one = &parse_table(table.rsplit_once("0x2").unwrap().0).unwrap()[0];
        assert_eq!(
            (one.key.as_str(), one.server_id, one.idle_for(EXPIRE)),
            ("a b", 7, Duration::from_secs(5))
        );
    }

    #[test]
    fn drained_needs_no_connection_and_no_recent_session() {
        let rows = parse_stat(&rec("", "show-stat")).unwrap();
        let busy = find(&rows, "be_app", "blue").clone();
        let idle_conn = ServerStat { current_sessions: 0, ..busy.clone() };
        let sticky = parse_table(&rec("", "show-table-server")).unwrap();
        assert!(!drained(&busy, &[], EXPIRE, Duration::ZERO));
        assert!(drained(&idle_conn, &[], EXPIRE, Duration::from_secs(5)));
        assert!(drained(&idle_conn, &sticky, EXPIRE, Duration::ZERO));
        assert!(!drained(&idle_conn, &sticky, EXPIRE, Duration::from_secs(60)));
        let used_5s_ago = StickEntry { expires_in: EXPIRE - Duration::from_secs(5), ..sticky[0].clone() };
        assert!(drained(&idle_conn, std::slice::from_ref(&used_5s_ago), EXPIRE, Duration::from_secs(5)));
        assert!(!drained(&idle_conn, &[used_5s_ago], EXPIRE, Duration::from_secs(6)));
    }

    /// Every recorded answer, judged with the command record.sh sent: `err-*` cases are refused
    /// (with HAProxy's text), everything else is fine.
    #[test]
    fn answers_are_classified_as_recorded() {
        for e in ENGINES {
            let cases = read(e, "cases.tsv");
            for (case, cmd) in cases.lines().map(|l| l.split_once('\t').unwrap()) {
                let answer = rec(e, case);
                match check_answer(cmd, &answer) {
                    Ok(()) => assert!(!case.starts_with("err-"), "{e}{case}: {answer:?} taken for success"),
                    Err(r) => {
                        assert!(case.starts_with("err-"), "{e}{case}: {answer:?} taken for an error");
                        assert!(answer.starts_with(&r.answer) && !r.answer.is_empty(), "{r:?}");
                    }
                }
            }
            assert_eq!(cases.lines().filter(|l| l.starts_with("err-")).count(), 11);
        }
    }

    #[test]
    fn refusals_carry_haproxys_text() {
        let refused = |case: &str, cmd: &str| check_answer(cmd, &rec("", case)).unwrap_err().answer;
        assert_eq!(refused("err-unknown-backend", "set server be_nope/blue state ready"), "No such backend.");
        assert_eq!(refused("err-unknown-server", "x"), "No such server.");
        assert_eq!(refused("err-no-slash", "x"), "Require 'backend/server'.");
        assert_eq!(
            refused("err-bad-state", "x"),
            "'set server <srv> state' expects 'ready', 'drain' and 'maint'."
        );
        assert_eq!(refused("err-permission", "x"), "Permission denied");
        assert_eq!(
            refused("err-unknown-command", "bogus"),
            "Unknown command, but maybe one of the following ones is a better match:"
        );
        // Half done: the IP changed, the port did not. mcpctl must hear about both.
        let port = refused("err-bad-port", "x");
        assert!(
            port.starts_with("IP changed from '") && port.contains("problem converting port 'notaport'"),
            "{port}"
        );
        assert!(
            check_answer("set server be/s addr 1.2.3.4 port 1", "no need to change the addr by 'x'\n")
                .is_ok()
        );
    }

    /// A stand-in for HAProxy's socket: serves `answers` in order, one connection each, reading
    /// each command to EOF first (so a client that does not shut its write half hangs and fails).
    /// Returns the commands it received.
    fn fake(dir: &Path, answers: Vec<String>) -> (PathBuf, thread::JoinHandle<Vec<String>>) {
        let path = dir.join("admin.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = thread::spawn(move || {
            let mut got = Vec::new();
            for answer in answers {
                let (mut conn, _) = listener.accept().unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut cmd = String::new();
                conn.read_to_string(&mut cmd).unwrap();
                conn.write_all(answer.as_bytes()).unwrap();
                got.push(cmd);
            }
            got
        });
        (path, server)
    }

    #[test]
    fn one_connection_per_command() {
        let dir = tempfile::tempdir().unwrap();
        let answers = [rec("", "set-addr"), "\n".into(), rec("", "err-unknown-server"), rec("", "show-stat")];
        let (path, server) = fake(dir.path(), answers.to_vec());
        let rt = Runtime::new(&path);
        rt.set_addr("be_app", "green", "172.30.0.2".parse().unwrap(), 3001).unwrap();
        rt.set_state("be_app", "blue", SlotState::Drain).unwrap();
        let err = rt.set_health_up("be_app", "nope").unwrap_err();
        assert_eq!(err.downcast_ref::<Refused>().unwrap().answer, "No such server.");
        let blue = rt.server("be_app", "blue").unwrap().unwrap();
        assert_eq!(blue.status, "DRAIN");
        let want = [
            "set server be_app/green addr 172.30.0.2 port 3001\n",
            "set server be_app/blue state drain\n",
            "set server be_app/nope health up\n",
            "show stat\n",
        ];
        assert_eq!(server.join().unwrap(), want);
    }

    /// Two sockets that never finish an answer: one silent, one trickling a byte every 50 ms (the
    /// timeout is for the whole answer, not per read). The client runs in a thread so that a
    /// missing timeout fails this test instead of hanging it.
    #[test]
    fn an_unfinished_answer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("admin.sock")).unwrap();
        let (stop, stopped) = mpsc::channel::<()>();
        let server = thread::spawn(move || {
            let (silent, _) = listener.accept().unwrap();
            let (mut trickle, _) = listener.accept().unwrap();
            while stopped.recv_timeout(Duration::from_millis(50)).is_err() && trickle.write_all(b"x").is_ok()
            {
            }
            drop(silent);
        });
        let rt = Runtime::new(dir.path().join("admin.sock")).with_timeout(Duration::from_millis(300));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for _ in 0..2 {
                let start = Instant::now();
                let err = rt.command("show stat").map_err(|e| format!("{e:#}"));
                tx.send((err, start.elapsed())).unwrap();
            }
        });
        for _ in 0..2 {
            let (err, took) = rx.recv_timeout(Duration::from_secs(5)).expect("the command did not time out");
            assert!(err.unwrap_err().contains("no complete answer within 300ms"));
            assert!(took < Duration::from_secs(2), "took {took:?}");
        }
        // The server may have ended already: once the client gave up on the trickle, its next
        // write fails (under load that comes before this line).
        let _ = stop.send(());
        server.join().unwrap();
    }

    #[test]
    fn bad_input_and_missing_socket() {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new(dir.path().join("missing.sock"));
        let err = format!("{:#}", rt.command("show stat").unwrap_err());
        assert!(err.contains("missing.sock") && err.contains("cannot connect"), "{err}");
        for cmd in ["show stat\nshow info", "show stat; show info"] {
            assert!(rt.command(cmd).unwrap_err().to_string().contains("not a single"), "{cmd:?}");
        }
        for (be, sv) in [("be app", "blue"), ("be_app", "a/b"), ("", "blue"), ("be_app", "x;y")] {
            let err = rt.set_state(be, sv, SlotState::Maint).unwrap_err().to_string();
            assert!(err.contains("not a HAProxy backend or server name"), "{be:?} {sv:?}: {err}");
        }
    }
}
