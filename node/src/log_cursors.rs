//! The log syncs' cursors on disk, `DIR/log-cursors`, so a restarted node
//! resumes a catch-up where it stopped rather than at the beginning of
//! the peer's log (see [`crate::sync::LogSyncs`]).
//!
//! **Never ahead of the ledger.** A cursor names the last of a peer's log
//! seqs whose page this node has stored. The swarm task hands the cursors
//! to the [`Saver`] only once the ledger's ingest of that page has
//! returned, and the ingest flushes before it returns. A cursor on disk
//! may lag the ledger (a kill between the ingest and the write): the page
//! after it is then fetched again, once, all duplicates. (A record of the
//! page left waiting in the pending pool is in memory only; pages come in
//! causal order, so an honest peer's never wait, and should one be lost
//! to a crash the heads rounds fetch it by its author's chain.)
//!
//! **The file.** Text, a header line, one peer a line (sorted), and the
//! SHA-256 of everything before the last line:
//! ```text
//! terroir-log-cursors 1
//! 12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN 40000
//! sha256 5f1c…
//! ```
//! It is replaced whole: written to `log-cursors.tmp`, synced, renamed
//! over the old one, and the directory synced, so a crash leaves the old
//! cursors or the new ones. A file that cannot be read or does not check
//! out does not stop the node: it logs a warning and starts every cursor
//! at 0. (A cursor past a peer's log is caught by the protocol as well:
//! the peer answers `end < after`, and the cursor is forgotten.)

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ledger_core::Hash;
use libp2p::PeerId;
use tokio::sync::watch;

use crate::sync::MAX_LOG_CURSORS;

/// File name of the cursors inside the data directory.
pub const LOG_CURSORS_FILE: &str = "log-cursors";
/// The file's first line; a new layout gets a new number.
const HEADER: &str = "terroir-log-cursors 1";
/// Largest cursor file read: [`MAX_LOG_CURSORS`] lines of a peer id (at
/// most 53 characters in base58 for an Ed25519 key, 64 allowed) and a
/// `u64` (20 digits), with room for the header and the checksum. Anything
/// larger was not written by a node.
const MAX_FILE_BYTES: u64 = (MAX_LOG_CURSORS as u64) * (64 + 1 + 20 + 1) + 4096;

/// A cursor per peer: the last of its log seqs whose page is stored.
pub type Cursors = HashMap<PeerId, u64>;

/// The text of `cursors` as the file holds it.
pub fn encode(cursors: &Cursors) -> String {
    let mut lines: Vec<(String, u64)> = cursors.iter().map(|(p, c)| (p.to_string(), *c)).collect();
    lines.sort();
    let mut body = format!("{HEADER}\n");
    for (peer, cursor) in lines {
        let _ = writeln!(body, "{peer} {cursor}");
    }
    let sum = Hash::of(body.as_bytes()).to_hex();
    let _ = writeln!(body, "sha256 {sum}");
    body
}

/// Parses the file's text: every line must parse, the checksum match, no
/// peer appear twice and at most [`MAX_LOG_CURSORS`] peers be named.
pub fn decode(text: &str) -> Result<Cursors, String> {
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("no checksum line")?;
    let (body, last) = text.split_at(body_end);
    let sum = last
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("sha256 "))
        .ok_or("the last line is not `sha256 HEX`")?;
    if sum != Hash::of(body.as_bytes()).to_hex() {
        return Err("checksum mismatch".into());
    }
    let mut lines = body.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!("the first line is not {HEADER:?}"));
    }
    let mut cursors = Cursors::new();
    for (n, line) in lines.enumerate() {
        let at = n + 2;
        let (peer, cursor) = line
            .split_once(' ')
            .ok_or_else(|| format!("line {at} is not `PEER_ID CURSOR`"))?;
        let peer: PeerId = peer
            .parse()
            .map_err(|e| format!("line {at}: peer id {peer:?}: {e}"))?;
        let cursor: u64 = cursor
            .parse()
            .map_err(|e| format!("line {at}: cursor {cursor:?}: {e}"))?;
        if cursors.insert(peer, cursor).is_some() {
            return Err(format!("line {at}: peer {peer} named twice"));
        }
        if cursors.len() > MAX_LOG_CURSORS {
            return Err(format!("more than {MAX_LOG_CURSORS} peers"));
        }
    }
    Ok(cursors)
}

/// The cursor file of a data directory.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The file in `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        CursorFile {
            path: data_dir.join(LOG_CURSORS_FILE),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cursors the file holds. None when it is absent; when it cannot
    /// be read or does not check out, none either, with a warning: every
    /// catch-up then starts at the beginning of its peer's log.
    pub fn load(&self) -> Cursors {
        match self.read() {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(
                    file = %self.path.display(),
                    why,
                    "log-sync cursors unreadable; catch-ups start from the beginning"
                );
                Cursors::new()
            }
        }
    }

    fn read(&self) -> Result<Cursors, String> {
        let len = match std::fs::metadata(&self.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Cursors::new()),
            Err(e) => return Err(e.to_string()),
        };
        if len > MAX_FILE_BYTES {
            return Err(format!("{len} bytes, more than {MAX_FILE_BYTES}"));
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| e.to_string())?;
        decode(&text)
    }

    /// Replaces the file with `cursors`: a temporary file beside it,
    /// synced, renamed over it, and the directory synced.
    pub fn save(&self, cursors: &Cursors) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(encode(cursors).as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &self.path)?;
        #[cfg(unix)]
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// Writes the cursors the swarm task hands it to their file, on a task of
/// its own so the swarm task never waits for the disk. Holds one set of
/// cursors at most: a newer set replaces one not yet written, so while a
/// write is slow the writes coalesce.
#[derive(Debug)]
pub struct Saver {
    tx: watch::Sender<Cursors>,
    join: tokio::task::JoinHandle<()>,
}

impl Saver {
    /// Starts the writer for `file`, which holds `loaded` now.
    pub fn spawn(file: CursorFile, loaded: Cursors) -> Saver {
        // The receiver sees `loaded` as already written.
        let (tx, mut rx) = watch::channel(loaded);
        let join = tokio::spawn(async move {
            // Ends once the sender is dropped and the last set is written.
            while rx.changed().await.is_ok() {
                let cursors = rx.borrow_and_update().clone();
                let writer = file.clone();
                let saved = tokio::task::spawn_blocking(move || writer.save(&cursors)).await;
                let error = match saved {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                // The cursors on disk stay behind; the next page's write
                // tries again.
                tracing::warn!(file = %file.path().display(), error, "writing log-sync cursors");
            }
        });
        Saver { tx, join }
    }

    /// Hands over the cursors to write (after the pages they cover are
    /// stored).
    pub fn save(&self, cursors: Cursors) {
        self.tx.send_replace(cursors);
    }

    /// Writes what was handed over last, if it is not written yet, and
    /// stops.
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.join.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(n: usize) -> Cursors {
        (0..n)
            .map(|i| (PeerId::random(), i as u64 * 2_000 + 7))
            .collect()
    }

    #[test]
    fn cursors_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::in_dir(dir.path());
        assert!(file.load().is_empty(), "no file: no cursors");
        let cursors = some(3);
        file.save(&cursors).unwrap();
        assert_eq!(file.load(), cursors);
        // Replaced whole, no temporary file left behind.
        let fewer = some(1);
        file.save(&fewer).unwrap();
        assert_eq!(file.load(), fewer);
        file.save(&Cursors::new()).unwrap();
        assert!(file.load().is_empty());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [LOG_CURSORS_FILE]);
        // The same cursors, the same bytes.
        assert_eq!(encode(&cursors), encode(&cursors.clone()));
    }

    #[test]
    fn a_corrupt_cursor_file_reads_as_no_cursors() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::in_dir(dir.path());
        let good = encode(&some(2));
        let line = good.lines().nth(1).unwrap().to_owned();
        let flipped = good.replacen(" 7\n", " 8\n", 1);
        let bad = [
            String::new(),
            "garbage".to_owned(),
            good[..good.len() / 2].to_owned(), // torn
            flipped,                           // checksum mismatch
            good.replace("sha256 ", "sha1 "),
            good.replace(HEADER, "terroir-log-cursors 2"),
        ];
        for text in &bad {
            assert!(decode(text).is_err(), "{text:?} decoded");
            std::fs::write(file.path(), text).unwrap();
            assert!(file.load().is_empty(), "{text:?} loaded");
        }
        // Lines that do not parse or repeat a peer, even checksummed.
        let resum = |body: String| {
            let sum = Hash::of(body.as_bytes()).to_hex();
            format!("{body}sha256 {sum}\n")
        };
        for body in [
            format!("{HEADER}\nnot-a-peer 5\n"),
            format!("{HEADER}\n{} minus-one\n", PeerId::random()),
            format!("{HEADER}\n{line}\n{line}\n"),
            format!("{HEADER}\n{line}\n\n"),
            format!("terroir-log-cursors 2\n{line}\n"),
        ] {
            assert!(decode(&resum(body.clone())).is_err(), "{body:?}");
        }
        assert_eq!(
            decode(&resum(format!("{HEADER}\n{line}\n"))).unwrap().len(),
            1
        );
        // Not UTF-8, or larger than any file a node writes.
        std::fs::write(file.path(), [0xff, 0xfe, 0x00]).unwrap();
        assert!(file.load().is_empty());
        std::fs::write(file.path(), vec![b'x'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(file.load().is_empty());
        // A directory where the file should be.
        std::fs::remove_file(file.path()).unwrap();
        std::fs::create_dir(file.path()).unwrap();
        assert!(file.load().is_empty());
    }

    #[test]
    fn the_file_holds_at_most_the_bound_on_peers() {
        let full = some(MAX_LOG_CURSORS);
        let text = encode(&full);
        assert!(text.len() as u64 <= MAX_FILE_BYTES, "{} bytes", text.len());
        assert_eq!(decode(&text).unwrap(), full);
        assert!(decode(&encode(&some(MAX_LOG_CURSORS + 1))).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_saver_writes_the_last_cursors_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::in_dir(dir.path());
        let saver = Saver::spawn(file.clone(), Cursors::new());
        let peer = PeerId::random();
        let mut last = Cursors::new();
        for page in 1..=50u64 {
            last.insert(peer, page * 2_000);
            saver.save(last.clone());
        }
        saver.close().await;
        assert_eq!(file.load(), last);
        // Nothing handed over: the file stays as it is.
        Saver::spawn(file.clone(), last.clone()).close().await;
        assert_eq!(file.load(), last);
    }
}
