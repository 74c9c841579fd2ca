//! The router's memory: the last [`MAX_DECISIONS`] routing decisions, per-backend per-category
//! counts and users' preferences, persisted to `smartRouter.historyFile`.
//!
//! Writes are atomic (a temp file beside the target, synced, then renamed over it) and happen
//! on a writer thread shortly after a change, so a request never waits for the disk; `flush`
//! writes at once (shutdown, preference changes). A file that cannot be parsed is renamed
//! aside (`<file>.corrupt-<unix time>`) with a warning and a fresh history starts.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::recommend::Preference;

/// Decisions kept.
pub const MAX_DECISIONS: usize = 1000;
/// How long the writer waits for more changes before writing.
const DEBOUNCE: Duration = Duration::from_millis(500);

/// One routing decision as remembered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub time_ms: u64,
    pub category: String,
    pub confidence: f64,
    pub backends: Vec<String>,
    pub reason: String,
    /// `quick`, `llm` or `llm-cache`.
    pub classifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The start of the query (`historyQueryChars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// What the history file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub decisions: VecDeque<Record>,
    /// Backend ⇒ category ⇒ decisions, since the history was last cleared.
    #[serde(default)]
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// User id ⇒ preferences.
    #[serde(default)]
    pub preferences: BTreeMap<String, Preference>,
}

impl Data {
    pub fn record(&mut self, record: Record) {
        for backend in &record.backends {
            *self
                .counts
                .entry(backend.clone())
                .or_default()
                .entry(record.category.clone())
                .or_default() += 1;
        }
        self.decisions.push_back(record);
        while self.decisions.len() > MAX_DECISIONS {
            self.decisions.pop_front();
        }
    }
}

enum Message {
    Changed,
    Flush(Sender<()>),
}

struct Shared {
    data: Mutex<Data>,
    path: Mutex<Option<PathBuf>>,
    /// Changes not yet on disk.
    dirty: Mutex<bool>,
}

/// The history and its writer thread.
pub struct History {
    shared: Arc<Shared>,
    writer: Sender<Message>,
}

impl History {
    /// Opens the history at `path` (or an in-memory one), loading what is there.
    pub fn open(path: Option<PathBuf>) -> History {
        let data = path.as_deref().map(load).unwrap_or_default();
        let shared = Arc::new(Shared {
            data: Mutex::new(data),
            path: Mutex::new(path),
            dirty: Mutex::new(false),
        });
        let (writer, inbox) = crossbeam_channel::unbounded();
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("router-history".into())
            .spawn(move || write_loop(&thread_shared, &inbox));
        if let Err(e) = spawned {
            log::warn!(
                "smart router: cannot start the history writer ({e}); writes happen at flush only"
            );
        }
        History { shared, writer }
    }

    /// Moves the history to another file (a new config): what is in memory is kept and written
    /// there.
    pub fn set_path(&self, path: Option<PathBuf>) {
        let mut current = self.shared.path.lock();
        if *current == path {
            return;
        }
        *current = path;
        drop(current);
        self.changed();
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.shared.path.lock().clone()
    }

    pub fn record(&self, record: Record) {
        self.shared.data.lock().record(record);
        self.changed();
    }

    pub fn preference(&self, user: &str) -> Option<Preference> {
        self.shared.data.lock().preferences.get(user).cloned()
    }

    /// Changes a user's preferences and writes at once; returns the new preferences.
    pub fn update_preference(
        &self,
        user: &str,
        change: impl FnOnce(&mut Preference),
    ) -> Preference {
        let updated = {
            let mut data = self.shared.data.lock();
            let pref = data.preferences.entry(user.to_owned()).or_default();
            change(pref);
            let updated = pref.clone();
            if *pref == Preference::default() {
                data.preferences.remove(user);
            }
            updated
        };
        *self.shared.dirty.lock() = true;
        self.flush();
        updated
    }

    /// Forgets decisions and counts (preferences stay); returns how many decisions went.
    pub fn clear(&self) -> usize {
        let cleared = {
            let mut data = self.shared.data.lock();
            data.counts.clear();
            std::mem::take(&mut data.decisions).len()
        };
        *self.shared.dirty.lock() = true;
        self.flush();
        cleared
    }

    /// A copy of everything, for `/debug/router`.
    pub fn snapshot(&self) -> Data {
        self.shared.data.lock().clone()
    }

    /// Writes pending changes now and waits (briefly) until they are on disk.
    pub fn flush(&self) {
        let (ack, done) = crossbeam_channel::bounded(1);
        if self.writer.send(Message::Flush(ack)).is_err()
            || done.recv_timeout(Duration::from_secs(5)).is_err()
        {
            // No writer thread: write from here.
            write_if_dirty(&self.shared);
        }
    }

    fn changed(&self) {
        *self.shared.dirty.lock() = true;
        let _ = self.writer.send(Message::Changed);
    }
}

/// The writer thread: after a change, waits for quiet, then writes; a flush writes at once.
fn write_loop(shared: &Shared, inbox: &Receiver<Message>) {
    while let Ok(message) = inbox.recv() {
        let mut acks = Vec::new();
        if let Message::Flush(ack) = message {
            acks.push(ack);
        } else {
            // Gather what else arrives during the quiet period.
            while let Ok(more) = inbox.recv_timeout(DEBOUNCE) {
                if let Message::Flush(ack) = more {
                    acks.push(ack);
                    break;
                }
            }
        }
        write_if_dirty(shared);
        for ack in acks {
            let _ = ack.send(());
        }
    }
    // The history is gone: write what is left.
    write_if_dirty(shared);
}

fn write_if_dirty(shared: &Shared) {
    let mut dirty = shared.dirty.lock();
    if !*dirty {
        return;
    }
    let Some(path) = shared.path.lock().clone() else {
        *dirty = false;
        return;
    };
    let mut data = shared.data.lock().clone();
    data.version = 1;
    match save(&path, &data) {
        Ok(()) => *dirty = false,
        Err(e) => log::warn!(
            "smart router: cannot write the history to {}: {e}",
            path.display()
        ),
    }
}

/// Reads a history file; a missing file is an empty history, a corrupt one is kept aside.
pub fn load(path: &Path) -> Data {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Data::default(),
        Err(e) => {
            log::warn!(
                "smart router: cannot read the history {}: {e}; starting a fresh one",
                path.display()
            );
            return Data::default();
        }
    };
    match serde_json::from_slice::<Data>(&text) {
        Ok(mut data) => {
            while data.decisions.len() > MAX_DECISIONS {
                data.decisions.pop_front();
            }
            data
        }
        Err(e) => {
            let aside = corrupt_name(path);
            match std::fs::rename(path, &aside) {
                Ok(()) => log::warn!(
                    "smart router: the history {} is corrupt ({e}); kept aside as {} and a fresh one started",
                    path.display(),
                    aside.display()
                ),
                Err(re) => log::warn!(
                    "smart router: the history {} is corrupt ({e}) and could not be moved aside ({re}); a fresh one will replace it",
                    path.display()
                ),
            }
            Data::default()
        }
    }
}

fn corrupt_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{}", crate::observe::unix_ms() / 1000));
    PathBuf::from(name)
}

/// Writes atomically: a temp file in the same directory, synced, renamed over the target.
pub fn save(path: &Path, data: &Data) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(data).map_err(std::io::Error::other)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> Record {
        Record {
            time_ms: i as u64,
            category: "code".into(),
            confidence: 0.9,
            backends: vec!["coder".into()],
            reason: "test".into(),
            classifier: "quick".into(),
            user: None,
            query: Some(format!("query {i}")),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "router-history-{}-{name}-{}",
            std::process::id(),
            crate::observe::unix_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("history.json")
    }

    #[test]
    fn bounded_to_the_last_thousand() {
        let mut data = Data::default();
        for i in 0..1200 {
            data.record(record(i));
        }
        assert_eq!(data.decisions.len(), MAX_DECISIONS);
        assert_eq!(data.decisions.front().unwrap().time_ms, 200);
        assert_eq!(data.counts["coder"]["code"], 1200);
    }

    #[test]
    fn survives_a_restart() {
        let path = temp("restart");
        {
            let history = History::open(Some(path.clone()));
            history.record(record(1));
            history.update_preference("alice", |p| {
                p.category_overrides.insert("code".into(), "big".into());
            });
            history.record(record(2));
            history.flush();
        }
        let again = History::open(Some(path.clone()));
        let data = again.snapshot();
        assert_eq!(data.decisions.len(), 2);
        assert_eq!(
            again.preference("alice").unwrap().category_overrides["code"],
            "big"
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_corrupt_file_is_kept_aside() {
        let path = temp("corrupt");
        std::fs::write(&path, b"{\"decisions\": [ nope").unwrap();
        let history = History::open(Some(path.clone()));
        assert!(history.snapshot().decisions.is_empty());
        let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read(&aside[0]).unwrap(), b"{\"decisions\": [ nope");
        history.record(record(3));
        history.flush();
        assert_eq!(load(&path).decisions.len(), 1, "a fresh file was started");
    }

    #[test]
    fn clear_keeps_preferences() {
        let history = History::open(None);
        history.record(record(1));
        history.update_preference("bob", |p| {
            p.quality_preference = Some(super::super::recommend::QualityPreference::Speed)
        });
        assert_eq!(history.clear(), 1);
        let data = history.snapshot();
        assert!(data.decisions.is_empty() && data.counts.is_empty());
        assert!(data.preferences.contains_key("bob"));
    }
}
