//! A bound on the nodes' disk use. A store that runs away (sled writing a
//! page as a new blob file again and again: seen at 7 GB a minute) would
//! fill a disk shared with others long before the replication deadlines
//! end the run, so the guard kills every node as soon as one data
//! directory outgrows its bound, and says why.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A node process, shared between its owner and the guard.
pub(crate) type Proc = Arc<Mutex<Child>>;

/// How often the directories are measured.
const INTERVAL: Duration = Duration::from_millis(500);

/// The directories watched: (node name, data directory, process).
type Watched = Vec<(&'static str, PathBuf, Proc)>;

pub(crate) struct DiskGuard {
    watched: Arc<Mutex<Watched>>,
    tripped: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes of the files under `dir` (what cannot be read counts 0: a file
/// may vanish while sled cleans up).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

impl DiskGuard {
    /// Starts watching; each directory may hold at most `bound` bytes.
    pub(crate) fn new(bound: u64) -> Self {
        let watched: Arc<Mutex<Watched>> = Arc::default();
        let tripped: Arc<Mutex<Option<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (watched, tripped, stop) = (watched.clone(), tripped.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let nodes = lock(&watched).clone();
                    let over = nodes.iter().find_map(|(name, dir, _)| {
                        let bytes = dir_bytes(dir);
                        (bytes > bound).then_some((*name, bytes))
                    });
                    if let Some((name, bytes)) = over {
                        *lock(&tripped) = Some(format!(
                            "node {name}'s data directory grew to {} MiB, over the bench's \
                             bound of {} MiB: every node was killed before the disk filled",
                            bytes >> 20,
                            bound >> 20
                        ));
                        for (_, _, proc) in &nodes {
                            let _ = lock(proc).kill();
                        }
                        return;
                    }
                    std::thread::sleep(INTERVAL);
                }
            })
        };
        DiskGuard {
            watched,
            tripped,
            stop,
            thread: Some(thread),
        }
    }

    /// Watches a node's data directory from now on.
    pub(crate) fn watch(&self, name: &'static str, dir: &Path, proc: &Proc) {
        lock(&self.watched).push((name, dir.to_path_buf(), proc.clone()));
    }

    /// Why the guard killed the nodes, if it did.
    pub(crate) fn tripped(&self) -> Option<String> {
        lock(&self.tripped).clone()
    }
}

impl Drop for DiskGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_measured_with_its_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("blobs")).unwrap();
        std::fs::write(dir.path().join("db"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("blobs/1"), [0u8; 50]).unwrap();
        assert_eq!(dir_bytes(dir.path()), 150);
        assert_eq!(dir_bytes(&dir.path().join("missing")), 0);
    }
}
