//! The scheduling priority of the ledger's writer.
//!
//! On a node with few cores the writer (validation, signature checks, the
//! log flush, folds) and the readers (QR pages, `/status`, sync answers)
//! compete for the same CPUs. Readers are short and a person waits on
//! each; the writer is throughput work that nobody watches by the
//! millisecond. So the ledger thread lowers its own priority when it
//! starts (niceness +10 by default), and every thread it spawns (the
//! pipeline's, the fold's) inherits it: when a reader and the writer want
//! the same core, the reader's weight in Linux's scheduler is about ten
//! times the writer's; when no reader runs, the writer has every core.
//!
//! Not lower than that: readers sometimes wait on work the writer does
//! (sled makes a reader of a page not yet on disk wait for the log write),
//! so a writer that can be starved makes readers wait with it. Measured on
//! 2 shared cores, consumer page p99 while the ledger ingested at full
//! rate, 400 questions a second (docs/performance.md): niceness 10 gave
//! 3.9–7.0 ms, the same priority 14–37 ms, and Linux's idle class 2.7–3.5
//! ms on a quiet machine but 14–17 ms once other processes kept the cores
//! busy (the starved writer held readers up).

/// Niceness the writer adds to its own by default.
pub const DEFAULT_WRITER_NICE: i32 = 10;

/// The highest niceness there is (the lowest priority).
pub const MAX_NICE: i32 = 19;

/// Lowers the calling thread's priority by `increment` niceness steps
/// (capped at [`MAX_NICE`]) and returns its niceness; threads it spawns
/// afterwards inherit it. Only ever lowers, which needs no privilege.
/// Linux only: elsewhere it says so and changes nothing.
pub fn lower_current_thread(increment: i32) -> std::io::Result<i32> {
    imp::lower(increment.clamp(0, MAX_NICE))
}

#[cfg(target_os = "linux")]
mod imp {
    use rustix::process::{getpriority_process, setpriority_process};
    use rustix::thread::gettid;

    pub(super) fn lower(increment: i32) -> std::io::Result<i32> {
        // On Linux niceness is per thread: PRIO_PROCESS with a thread id
        // names that one thread.
        let me = Some(gettid());
        let now = getpriority_process(me)?;
        let nice = (now + increment).min(super::MAX_NICE);
        if nice != now {
            setpriority_process(me, nice)?;
        }
        Ok(nice)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn lower(_increment: i32) -> std::io::Result<i32> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "thread priorities are only set on Linux",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nice_of_this_thread() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
    }

    #[test]
    fn lowers_this_thread_and_what_it_spawns_but_not_its_siblings() {
        let before = nice_of_this_thread();
        let (mine, child) = std::thread::spawn(|| {
            let set = lower_current_thread(3).unwrap();
            (set, std::thread::spawn(nice_of_this_thread).join().unwrap())
        })
        .join()
        .unwrap();
        let expected = (before + 3).min(MAX_NICE);
        assert_eq!(mine, expected);
        assert_eq!(child, expected, "a spawned thread inherits the niceness");
        assert_eq!(nice_of_this_thread(), before, "other threads keep theirs");
    }

    #[test]
    fn niceness_is_capped_and_never_raised() {
        let got = std::thread::spawn(|| {
            let high = lower_current_thread(100).unwrap();
            let again = lower_current_thread(-5).unwrap();
            (high, again)
        })
        .join()
        .unwrap();
        assert_eq!(got, (MAX_NICE, MAX_NICE));
    }
}
