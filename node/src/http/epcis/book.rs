//! What the EPCIS binding keeps across restarts: the named queries and
//! the webhook subscriptions with their cursors, in `DIR/epcis.json`.
//!
//! The file is replaced whole on every change: written to `epcis.json.tmp`
//! (readable by the node's user only: it holds the subscribers'
//! signature tokens), synced, renamed over the old one, and the directory
//! synced, so a crash leaves the old state or the new one. A change whose
//! file cannot be written is undone and answered 500, so what a client
//! was told was created survives a restart.
//!
//! Creating or deleting a query or subscription is saved before it is
//! answered. What deliveries change — a subscription's cursor, its count
//! of delivered events, its last acknowledgement — is kept in memory and
//! saved at most once a [`SAVE_EVERY`] and when the node stops
//! ([`Book::save_if_changed`]), so a busy receiver costs no file write per
//! acknowledgement. After a crash the file may hold an older cursor: the
//! deliveries acknowledged since are sent again, once (at least once, as
//! webhooks are), and records that matched nothing are read again and
//! deliver nothing.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::subscriptions::Subscription;
use super::{EpcisError, EpcisResult};

/// File name of the saved state inside the data directory.
pub(crate) const FILE: &str = "epcis.json";
/// The format of [`FILE`].
const VERSION: u32 = 1;
/// How often what deliveries changed is saved, at most.
pub(super) const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The saved state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Saved {
    version: u32,
    /// Named queries: name → `GET /events` parameters, in the order given.
    pub(super) queries: BTreeMap<String, Vec<(String, String)>>,
    /// Webhook subscriptions by id.
    pub(super) subscriptions: BTreeMap<String, Subscription>,
}

/// The saved state and where it lives (`None`: in memory only, for a
/// node without a data directory of its own in tests).
#[derive(Debug)]
pub(super) struct Book {
    path: Option<PathBuf>,
    saved: Mutex<Saved>,
    /// Deliveries changed the state since it was last saved.
    changed: AtomicBool,
}

impl Book {
    /// Opens `DIR/epcis.json`; a missing file is an empty book. A file
    /// that does not read stops the node: starting without it would
    /// silently drop subscribers' deliveries.
    pub(super) fn open(dir: Option<&Path>) -> anyhow::Result<Book> {
        let path = dir.map(|d| d.join(FILE));
        let saved = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                let saved: Saved = serde_json::from_slice(&text).with_context(|| {
                    format!(
                        "{} does not read (move it aside to start without the saved EPCIS \
                         queries and subscriptions)",
                        p.display()
                    )
                })?;
                if saved.version != VERSION {
                    anyhow::bail!(
                        "{} has format {}, this build reads {VERSION}",
                        p.display(),
                        saved.version
                    );
                }
                saved
            }
            _ => Saved {
                version: VERSION,
                ..Saved::default()
            },
        };
        Ok(Book {
            path,
            saved: Mutex::new(saved),
            changed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Saved> {
        // Every change is applied to a copy and swapped in whole, so a
        // panic while the lock is held leaves a consistent state.
        self.saved.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the state.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Saved) -> T) -> T {
        f(&self.lock())
    }

    /// Applies `f` to a copy of the state, saves the copy and keeps it;
    /// when `f` fails, or the file cannot be written, nothing changes.
    pub(super) fn change<T>(&self, f: impl FnOnce(&mut Saved) -> EpcisResult<T>) -> EpcisResult<T> {
        let mut saved = self.lock();
        let mut next = saved.clone();
        let out = f(&mut next)?;
        // This save carries what deliveries changed, too.
        self.changed.store(false, Ordering::SeqCst);
        self.save(&next).map_err(|e| {
            self.changed.store(true, Ordering::SeqCst);
            tracing::error!(error = %format!("{e:#}"), "could not save the EPCIS state");
            EpcisError::internal("the node could not save this change; its log says why")
        })?;
        *saved = next;
        Ok(out)
    }

    /// Moves a subscription's cursor past records that matched nothing;
    /// never backwards. Saved later (see the module comment).
    pub(super) fn advance(&self, id: &str, cursor: u64) {
        if let Some(s) = self.lock().subscriptions.get_mut(id) {
            if cursor > s.cursor {
                s.cursor = cursor;
                self.changed.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Records that a subscription's receiver acknowledged `events`
    /// events up to `cursor` at `now`. Saved later (see the module comment).
    pub(super) fn acknowledged(&self, id: &str, cursor: u64, events: u64, now: u64) {
        if let Some(s) = self.lock().subscriptions.get_mut(id) {
            s.cursor = s.cursor.max(cursor);
            s.last_notified_at = Some(now);
            s.delivered += events;
            self.changed.store(true, Ordering::SeqCst);
        }
    }

    /// Saves what deliveries changed since the last save, if anything; a
    /// failure is logged and tried again next time.
    pub(super) fn save_if_changed(&self) {
        if !self.changed.swap(false, Ordering::SeqCst) {
            return;
        }
        let snapshot = self.lock().clone();
        if let Err(e) = self.save(&snapshot) {
            self.changed.store(true, Ordering::SeqCst);
            tracing::error!(error = %format!("{e:#}"), "could not save the EPCIS subscriptions' cursors");
        }
    }

    fn save(&self, saved: &Saved) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(saved).context("encoding the EPCIS state")?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("syncing {}", dir.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_a_reopen_and_failed_ones_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(Some(dir.path())).unwrap();
        book.change(|s| {
            s.queries.insert(
                "teas".into(),
                vec![("eventType".into(), "ObjectEvent".into())],
            );
            Ok(())
        })
        .unwrap();
        let refused: EpcisResult<()> = book.change(|s| {
            s.queries.clear();
            Err(EpcisError::invalid("no"))
        });
        assert!(refused.is_err());
        let again = Book::open(Some(dir.path())).unwrap();
        assert_eq!(again.read(|s| s.queries.len()), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the file holds signature tokens");
        }
    }

    #[test]
    fn acknowledgements_are_saved_when_asked() {
        use super::super::subscriptions::tests::subscription;
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(Some(dir.path())).unwrap();
        book.change(|s| {
            s.subscriptions.insert("a".into(), subscription("a"));
            Ok(())
        })
        .unwrap();
        book.acknowledged("a", 42, 3, 1_000);
        let on_disk = |d: &Path| {
            Book::open(Some(d))
                .unwrap()
                .read(|s| s.subscriptions["a"].clone())
        };
        assert_eq!(
            on_disk(dir.path()).cursor,
            0,
            "not written per acknowledgement"
        );
        book.save_if_changed();
        let saved = on_disk(dir.path());
        assert_eq!(
            (saved.cursor, saved.delivered, saved.last_notified_at),
            (42, 3, Some(1_000))
        );
    }

    #[test]
    fn a_damaged_file_stops_the_node_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        let e = Book::open(Some(dir.path())).unwrap_err();
        assert!(format!("{e:#}").contains("epcis.json"), "{e:#}");
    }
}
