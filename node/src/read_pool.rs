//! A small pool of threads at a lowered priority, for reads the node does
//! on behalf of peers (sync answers). Shoppers' queries run on tokio's
//! blocking threads at the node's own priority and the ledger writer at
//! `writer_nice` below it; peers' answers run here below the writer, so a
//! peer asking without pause yields to ingest and to QR pages, and uses at
//! most this many threads whatever it asks.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool; its threads end when it is dropped and its queue drained.
#[derive(Debug, Clone)]
pub struct ReadPool {
    tx: SyncSender<Job>,
}

/// Why a job was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefused {
    /// Its queue is full.
    #[error("busy")]
    Busy,
    /// Its threads are gone.
    #[error("the node is shutting down")]
    Closed,
}

impl ReadPool {
    /// Starts `threads` threads named `name` at `nice` above the caller's
    /// niceness, with room for `queue` waiting jobs.
    pub fn spawn(name: &str, threads: usize, nice: i32, queue: usize) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    if nice > 0 {
                        if let Err(e) = crate::priority::lower_current_thread(nice) {
                            tracing::warn!(error = %e, "could not lower a read thread's priority");
                        }
                    }
                    work(&rx);
                })?;
        }
        Ok(ReadPool { tx })
    }

    /// Runs `f` on a pool thread and returns its result, `None` if `f`
    /// panicked (a bug; the pool goes on).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, PoolRefused> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
            let _ = reply.send(out);
        }))?;
        rx.await.map_err(|_| PoolRefused::Closed)
    }

    /// Queues a job, unless the queue is full.
    fn submit(&self, job: Job) -> Result<(), PoolRefused> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => PoolRefused::Busy,
            TrySendError::Disconnected(_) => PoolRefused::Closed,
        })
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_and_a_full_queue_is_refused() {
        let pool = ReadPool::spawn("test-reads", 1, 0, 1).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await, Ok(Some(42)));
        assert_eq!(pool.run(|| -> u8 { panic!("a bug") }).await, Ok(None));
        // The one thread held, the one queue slot taken: the next is busy.
        let (started, running) = std::sync::mpsc::sync_channel::<()>(1);
        let (release, held) = std::sync::mpsc::sync_channel::<()>(1);
        pool.submit(Box::new(move || {
            let _ = started.send(());
            let _ = held.recv();
        }))
        .unwrap();
        running.recv().unwrap();
        let (ran, filler_ran) = std::sync::mpsc::sync_channel::<()>(1);
        pool.submit(Box::new(move || {
            let _ = ran.send(());
        }))
        .unwrap();
        assert_eq!(pool.submit(Box::new(|| {})), Err(PoolRefused::Busy));
        release.send(()).unwrap();
        filler_ran.recv().unwrap();
        assert_eq!(pool.run(|| 7).await, Ok(Some(7)), "the pool goes on");
    }
}
