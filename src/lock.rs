//! One mcpctl at a time per project: a file lock beside the state file (config/paths.rs). A second mcpctl waits
//! with a spinner naming the holder, or fails at once with `--no-wait`. The kernel drops the lock
//! when its holder exits, however it exits, so a crash never leaves the project locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;

use crate::process::check_interrupt;
use crate::ui::Ui;

pub(crate) struct ProjectLock {
    _file: File,
}

fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut s);
    let s = s.trim();
    if s.is_empty() { "another mcpctl".into() } else { s.to_string() }
}

pub(crate) fn acquire(path: &Path, what: &str, wait: bool, ui: &Ui) -> anyhow::Result<ProjectLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| anyhow!("cannot open the project lock {}: {e}", path.display()))?;
    let mut spinner = None;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let who = holder(&mut file);
                if !wait {
                    return Err(anyhow!(
                        "{who} is working on this project (lock {}): wait for it to finish, or run without --no-wait to wait",
                        path.display()
                    ));
                }
                let msg = format!("Waiting for {who} to finish...");
                match &spinner {
                    None => spinner = Some(ui.spinner(&msg)),
                    Some(s) => crate::ui::Spinner::set_message(s, &msg),
                }
                check_interrupt()?;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::Error(e)) => {
                return Err(anyhow!("cannot lock {}: {e}", path.display()));
            }
        }
    }
    if let Some(s) = spinner {
        s.finish();
    }
    // Say who holds it, for the next one who waits.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = write!(file, "mcpctl {what} (pid {})", std::process::id());
    let _ = file.flush();
    Ok(ProjectLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_without_wait_and_names_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let state = d.path().join("pkg/docker.json.lock");
        let ui = Ui::new(true, false, false);
        let held = acquire(&state, "update", true, &ui).unwrap();
        // File locks are per open file description, so a second open in this process conflicts.
        let e = acquire(&state, "start", false, &ui).err().unwrap().to_string();
        assert!(e.contains("mcpctl update (pid"), "{e}");
        drop(held);
        assert!(acquire(&state, "start", false, &ui).is_ok());
    }
}
