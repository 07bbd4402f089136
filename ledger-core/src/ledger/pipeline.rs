//! The checks that need no ledger state (signatures above all), spread
//! over cores, and the pipelined stream: one batch's log written while the
//! next is decided and the one after is checked.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use super::ingest::Staged;
use super::{IngestReport, Ledger, Source};
use crate::error::{StoreError, ValidationError};
use crate::hash::{Hash, NetworkId};
use crate::key;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tail::Writes;
use crate::validate::check_intrinsic;

/// A record with its hash, the verdict of the checks that need no
/// ledger state (well-formedness, network, signature), and where it came
/// from.
pub(super) type Checked = (
    Hash,
    SignedRecord,
    Result<(), ValidationError>,
    Option<Source>,
);

/// The state-free checks of a batch: cheap ones first, then every
/// signature in one ZIP-215 batch (spread over `verify_threads`).
pub(super) fn precheck(
    records: Vec<(SignedRecord, Option<Source>)>,
    network: &NetworkId,
    verify_threads: usize,
) -> Vec<Checked> {
    let mut messages = Vec::with_capacity(records.len());
    let mut checked: Vec<Checked> = records
        .into_iter()
        .map(|(r, source)| {
            let verdict = check_intrinsic(&r, network);
            let (hash, message) = r.record.hash_and_signing_message();
            messages.push(message);
            (hash, r, verdict, source)
        })
        .collect();
    let items: Vec<_> = checked
        .iter()
        .zip(&messages)
        .filter(|((_, _, v, _), _)| v.is_ok())
        .map(|((_, r, _, _), m)| (r.record.author, m.as_slice(), r.signature))
        .collect();
    let mut sig_verdicts = verify_parallel(&items, verify_threads).into_iter();
    for (_, _, verdict, _) in checked.iter_mut().filter(|(_, _, v, _)| v.is_ok()) {
        if !matches!(sig_verdicts.next(), Some(Ok(()))) {
            *verdict = Err(ValidationError::BadSignature);
        }
    }
    checked
}

/// Fewest signatures worth a thread of their own.
const MIN_SIGNATURES_PER_THREAD: usize = 64;

/// [`key::verify_batch`] spread over up to `threads` scoped threads.
fn verify_parallel(
    items: &[(key::PublicKey, &[u8], key::Signature)],
    threads: usize,
) -> Vec<Result<(), key::BadSignature>> {
    let threads = threads.clamp(1, items.len().div_ceil(MIN_SIGNATURES_PER_THREAD).max(1));
    if threads == 1 {
        return key::verify_batch(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || key::verify_batch(c)))
            .collect();
        handles
            .into_iter()
            .zip(items.chunks(chunk))
            .flat_map(|(h, c)| {
                // A verifier thread cannot panic on well-formed input; if it
                // did, count its signatures as bad rather than accept them.
                h.join()
                    .unwrap_or_else(|_| vec![Err(key::BadSignature); c.len()])
            })
            .collect()
    })
}

/// The pipeline's writer thread ended without answering (it panicked).
fn writer_gone() -> StoreError {
    StoreError::Engine("the pipelined writer thread stopped".into())
}

impl<S: Store> Ledger<S> {
    /// Ingests a stream of batches with pipelined group commit: while one
    /// batch's log entries are written and flushed on a second thread,
    /// the next is decided against the ledger and the batch in flight, and
    /// a third thread runs the checks that need no ledger state
    /// (signatures above all) on the batch after that. Each batch's report
    /// goes to `on_commit` once that batch is durable, in order; the
    /// verdicts are those [`Self::ingest`] would give the same batches one
    /// after another. What a node catching up or a bulk import wants.
    ///
    /// If storage fails, the batch being written and the one staged after
    /// it are not reported, and the error is returned.
    pub fn ingest_stream<I>(
        &mut self,
        batches: I,
        now: u64,
        mut on_commit: impl FnMut(IngestReport),
    ) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = Vec<SignedRecord>>,
        I::IntoIter: Send,
    {
        let (network, verify_threads) = (self.network, self.config.verify_threads);
        let store = Arc::clone(&self.store);
        std::thread::scope(|s| {
            let (to_stager, checked) = sync_channel::<Vec<Checked>>(1);
            let batches = batches.into_iter();
            s.spawn(move || {
                for records in batches {
                    let records = records.into_iter().map(|r| (r, None)).collect();
                    if to_stager
                        .send(precheck(records, &network, verify_threads))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let (to_writer, work) = sync_channel::<Arc<Writes>>(1);
            let (done, written) = sync_channel::<Result<u64, StoreError>>(1);
            s.spawn(move || {
                for writes in work {
                    let result = super::write_log(store.as_ref(), &writes);
                    drop(writes);
                    if done.send(result).is_err() {
                        break;
                    }
                }
            });
            let mut in_flight: Option<(Arc<Writes>, Staged)> = None;
            for batch in checked {
                let base = in_flight.as_ref().map(|(w, st)| (w.as_ref(), st.counts()));
                let mut staged = self.stage(batch, now, base)?;
                let writes = Arc::new(std::mem::take(&mut staged.writes));
                if let Some(previous) = in_flight.take() {
                    self.land(previous, &written, &mut on_commit)?;
                }
                to_writer
                    .send(Arc::clone(&writes))
                    .map_err(|_| writer_gone())?;
                in_flight = Some((writes, staged));
            }
            drop(to_writer);
            if let Some(last) = in_flight {
                self.land(last, &written, &mut on_commit)?;
            }
            Ok(())
        })
    }

    /// Waits until the batch in flight is durable, publishes it and
    /// reports it.
    fn land(
        &mut self,
        (writes, mut staged): (Arc<Writes>, Staged),
        written: &std::sync::mpsc::Receiver<Result<u64, StoreError>>,
        on_commit: &mut impl FnMut(IngestReport),
    ) -> Result<(), StoreError> {
        self.stats.log_keys += written.recv().map_err(|_| writer_gone())??;
        staged.writes = Arc::try_unwrap(writes).unwrap_or_else(|shared| Writes::clone(&shared));
        let report = self.publish(staged, true)?;
        on_commit(report);
        Ok(())
    }
}
