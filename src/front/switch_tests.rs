//! `Front::switch` and its drain against a stand-in for HAProxy's runtime socket that answers
//! with what HAProxy 2.6 answered when recorded (fixtures/haproxy-outputs): the commands sent, in
//! order, and the state and config left on disk. No engine is called on this machine's front.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::Front;
use super::config::{self, Backend, FrontState, Slot, SlotState};
use super::files::Dirs;
use crate::config::{Overrides, Settings};
use crate::engine::{ContainerInfo, Engine, EngineKind};
use crate::ui::Ui;

fn recorded(file: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/haproxy-outputs").join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Project `app` (backend `be_app`, as recorded) behind a front of its own, draining for `drain`.
fn project(home: &Path, drain: f64) -> Settings {
    let dir = home.join("app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pyproject.toml"), "[project]\nname = \"app\"\n").unwrap();
    let files = crate::config::read_project(&dir).unwrap();
    let o = Overrides { front: true, drain_timeout: Some(drain), ..Default::default() };
    let project = crate::config::resolve(&dir, &files, &o).unwrap();
    Settings::resolve(project, home, &Default::default())
}

fn engine() -> Engine {
    Engine {
        kind: EngineKind::Docker,
        program: PathBuf::from("/bin/false"),
        version: String::new(),
        host: Default::default(),
    }
}

fn container(id: &str, network: &str, ip: &str) -> ContainerInfo {
    ContainerInfo {
        id: id.into(),
        name: format!("{id}-name"),
        running: true,
        networks: BTreeMap::from([(network.to_string(), ip.to_string())]),
        ..Default::default()
    }
}

/// The front routes `app` to `blue` (the old container), as a finished start leaves it.
fn serving_blue(s: &Settings) -> Dirs {
    let dirs = Dirs::of(&s.paths.front_dir);
    dirs.create().unwrap();
    let slots = BTreeMap::from([(
        "blue".to_string(),
        Slot { container: "old".into(), ip: "192.168.0.2".into(), state: SlotState::Ready },
    )]);
    let st = FrontState {
        publish: "127.0.0.1:19000".into(),
        image: s.front.image.clone(),
        projects: BTreeMap::from([("app".to_string(), Backend { port: 3001, slots, ..Default::default() })]),
        ..Default::default()
    };
    config::save(&dirs.state(), &st).unwrap();
    dirs
}

/// Serves one command per connection; `answer(cmd, n)` answers the n-th (from 0) of that text.
fn fake_socket(
    path: &Path,
    answer: impl Fn(&str, usize) -> String + Send + 'static,
) -> Arc<Mutex<Vec<String>>> {
    let listener = UnixListener::bind(path).unwrap();
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = got.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut cmd = String::new();
            if conn.read_to_string(&mut cmd).is_err() {
                continue;
            }
            let cmd = cmd.trim_end().to_string();
            let n = seen.lock().unwrap().iter().filter(|c| **c == cmd).count();
            let _ = conn.write_all(answer(&cmd, n).as_bytes());
            seen.lock().unwrap().push(cmd);
        }
    });
    got
}

/// HAProxy's answers for a drain whose connection and two sessions end after `busy` polls.
fn haproxy(busy: usize) -> impl Fn(&str, usize) -> String + Send + 'static {
    move |cmd, n| match cmd {
        "show servers state be_app" => recorded("show-servers-state.txt"),
        "show stat" if n < busy => recorded("show-stat.txt"),
        "show stat" => recorded("show-stat-end.txt"),
        "show table be_app data.server_id eq 1" if n < busy => recorded("show-table-server.txt"),
        "show table be_app data.server_id eq 1" => recorded("show-table-cleared.txt"),
        "shutdown sessions server be_app/blue" => recorded("shutdown-sessions.txt"),
        "clear table be_app data.server_id eq 1" => recorded("clear-table.txt"),
        c if c.starts_with("set server ") => "\n".into(),
        other => panic!("HAProxy was sent {other:?}"),
    }
}

const SWITCH: [&str; 4] = [
    "set server be_app/green addr 172.30.0.3 port 3001",
    "set server be_app/green state ready",
    "set server be_app/green health up",
    "set server be_app/blue state drain",
];

const RETIRE: [&str; 4] = [
    "set server be_app/blue state maint",
    "show stat",
    "shutdown sessions server be_app/blue",
    "show servers state be_app",
];

#[test]
fn new_sessions_go_to_the_new_slot_and_the_old_one_drains_then_retires() {
    let home = tempfile::tempdir().unwrap();
    let s = project(home.path(), 30.0);
    let dirs = serving_blue(&s);
    let got = fake_socket(&dirs.socket(), haproxy(2));
    let (e, ui) = (engine(), Ui::new(true, false, false));
    let front = Front::new(&e, &s);
    let new = container("new", front.network(), "172.30.0.3");

    let old = front.switch(&[new], None, &ui).unwrap();
    assert_eq!(old, ["old"]);
    let got = got.lock().unwrap().clone();
    assert_eq!(got[..4], SWITCH, "{got:#?}");
    // The drain: the ids, then connection and sessions polled until both are gone (2 busy polls).
    assert_eq!(got[4], "show servers state be_app");
    let polls: Vec<&String> = got[5..got.len() - 5].iter().collect();
    assert_eq!(polls.len(), 6, "three polls of two commands: {got:#?}");
    assert!(polls.chunks(2).all(|p| p[0] == "show stat" && p[1] == "show table be_app data.server_id eq 1"));
    assert_eq!(got[got.len() - 5..got.len() - 1], RETIRE, "{got:#?}");
    assert_eq!(got[got.len() - 1], "clear table be_app data.server_id eq 1");
    // What a reload or restart of the front reads: only the new slot.
    let st = config::load(&dirs.state()).unwrap();
    let b = &st.projects["app"];
    assert_eq!(b.slots.keys().collect::<Vec<_>>(), ["green"]);
    assert_eq!((b.slots["green"].container.as_str(), b.slots["green"].state), ("new", SlotState::Ready));
    let cfg = std::fs::read_to_string(dirs.config.join("haproxy.cfg")).unwrap();
    assert!(
        cfg.contains("    server blue 127.0.0.1:3001 id 1 disabled\n    server green 172.30.0.3:3001 id 2"),
        "{cfg}"
    );
}

#[test]
fn a_drain_that_never_ends_stops_at_the_timeout_and_the_slot_is_retired_anyway() {
    let home = tempfile::tempdir().unwrap();
    let s = project(home.path(), 1.0);
    let dirs = serving_blue(&s);
    let got = fake_socket(&dirs.socket(), haproxy(usize::MAX));
    let (e, ui) = (engine(), Ui::new(true, false, false));
    let front = Front::new(&e, &s);
    let new = container("new", front.network(), "172.30.0.3");

    let t0 = std::time::Instant::now();
    front.switch(&[new], None, &ui).unwrap();
    let took = t0.elapsed();
    assert!(took >= Duration::from_secs(1), "the drain ended before its timeout: {took:?}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got[..4], SWITCH);
    assert!(got.iter().any(|c| c == "set server be_app/blue state maint"), "{got:#?}");
    assert!(got.iter().any(|c| c == "shutdown sessions server be_app/blue"), "{got:#?}");
    assert_eq!(got.last().map(String::as_str), Some("clear table be_app data.server_id eq 1"));
}

#[test]
fn a_switch_cut_short_is_finished_from_the_state() {
    let home = tempfile::tempdir().unwrap();
    let s = project(home.path(), 30.0);
    let dirs = serving_blue(&s);
    // The state an update killed after its first write leaves: green serves, blue drains.
    let mut st = config::load(&dirs.state()).unwrap();
    let b = st.projects.get_mut("app").unwrap();
    b.slots.get_mut("blue").unwrap().state = SlotState::Drain;
    b.slots.insert(
        "green".into(),
        Slot { container: "new".into(), ip: "172.30.0.3".into(), state: SlotState::Ready },
    );
    config::save(&dirs.state(), &st).unwrap();
    let got = fake_socket(&dirs.socket(), haproxy(0));
    let (e, ui) = (engine(), Ui::new(true, false, false));
    let front = Front::new(&e, &s);
    let new = container("new", front.network(), "172.30.0.3");

    assert_eq!(front.switch(&[new], None, &ui).unwrap(), ["old"]);
    let got = got.lock().unwrap().clone();
    // Said to the runtime again, the old slot drained anew, then retired.
    assert_eq!(got[..3], SWITCH[..3]);
    assert_eq!(got[3], SWITCH[3]);
    assert_eq!(got.last().map(String::as_str), Some("clear table be_app data.server_id eq 1"));
    let st = config::load(&dirs.state()).unwrap();
    assert_eq!(st.projects["app"].slots.keys().collect::<Vec<_>>(), ["green"]);
}
