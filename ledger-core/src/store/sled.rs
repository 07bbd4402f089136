//! The production store: sled 0.34, durable only after `flush`.

use std::path::{Path, PathBuf};

use super::{Entry, Store};
use crate::error::StoreError;

/// Page cache size: sled's default is 1 GiB, far more than a node on a
/// small machine should give it.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// How long opening waits for a directory lock that a just-closed
/// database in this process (or an exiting one) may still hold.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The fold journal, beside sled's files.
const JOURNAL: &str = "fold.journal";
const JOURNAL_TMP: &str = "fold.journal.tmp";

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A sled database holding the ledger in its default tree.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
}

fn engine(e: sled::Error) -> StoreError {
    StoreError::Engine(e.to_string())
}

impl SledStore {
    /// Opens (creating if absent) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens with an explicit page-cache size in bytes.
    ///
    /// sled releases its directory lock from a background thread when a
    /// database is dropped, so a reopen right after a close can briefly see
    /// it held: the lock is retried for up to [`LOCK_WAIT`] before
    /// [`StoreError::Locked`] is reported.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match Self::try_open(dir, cache_bytes) {
                Err(StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn try_open(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked(dir.display().to_string())
                }
                sled::Error::Io(io) if io.to_string().contains("lock") => {
                    StoreError::Locked(dir.display().to_string())
                }
                other => engine(other),
            })?;
        Ok(SledStore {
            db,
            path: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(engine)
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(engine)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine))
            .collect()
    }

    fn for_each_prefix(
        &self,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        for kv in self.db.scan_prefix(prefix) {
            let (k, v) = kv.map_err(engine)?;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    fn scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        use std::ops::Bound;
        let start = super::scan_start(prefix, after);
        let mut out = Vec::with_capacity(limit.min(4096));
        for kv in self.db.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            let (k, v) = kv.map_err(engine)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        match self.db.scan_prefix(prefix).next_back() {
            Some(kv) => kv
                .map(|(k, v)| Some((k.to_vec(), v.to_vec())))
                .map_err(engine),
            None => Ok(None),
        }
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(key, value).map(|_| ()).map_err(engine)
    }

    fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        self.db.remove(key).map(|_| ()).map_err(engine)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(engine)
    }

    /// `fold.journal` in the store's directory, written to a temporary
    /// file, synced, renamed into place and the directory synced.
    fn put_journal(&self, bytes: &[u8]) -> Result<(), StoreError> {
        use std::io::Write;
        let tmp = self.path.join(JOURNAL_TMP);
        let io = |e: std::io::Error| StoreError::Engine(format!("fold journal: {e}"));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, self.path.join(JOURNAL)).map_err(io)?;
        sync_dir(&self.path).map_err(io)
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.path.join(JOURNAL)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Engine(format!("fold journal: {e}"))),
        }
    }

    fn clear_journal(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path.join(JOURNAL)) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
        .map_err(|e| StoreError::Engine(format!("fold journal: {e}")))
    }
}
