//! Canonical, deterministic evaluation: parallel across independent tasks, never inside one.
//!
//! tfhe-rs parallelises inside an operation with rayon, and rayon splits work adaptively (a stolen
//! job resets the split), so the tree in which an operation combines its blocks — and with it the
//! noise, hence the bytes, of the result — depends on scheduling. Custodians must re-derive a
//! query's outputs byte for byte (docs/architecture.md, "Derive before decrypt"), so query evaluation runs
//! each task (one record's contributions, one output's reduction, one squash) entirely on one
//! worker whose rayon pool has a single thread: inside a task every split is decided by sizes
//! alone. Parallelism comes from running tasks side by side; results come back in task order, so
//! neither the thread count nor which worker took which task changes a byte of the outcome.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use tfhe::ServerKey;

use crate::error::{catch, Error, Result};

pub struct Workers {
    pools: Vec<rayon::ThreadPool>,
}

impl Workers {
    /// `threads` single-thread workers (1..=1024).
    pub fn new(threads: usize) -> Result<Workers> {
        if threads == 0 || threads > 1024 {
            return Err(Error::invalid(format!("thread count must be between 1 and 1024, got {threads}")));
        }
        let pools = (0..threads)
            .map(|i| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(move |_| format!("medvault-eval-{i}"))
                    .build()
                    .map_err(|e| Error::internal(format!("cannot start evaluation worker: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Workers { pools })
    }

    pub fn threads(&self) -> usize {
        self.pools.len()
    }

    /// Runs `f(i)` for every i in 0..n with `sk` as the server key, each call on one worker and
    /// confined to it; returns the results in index order. The first failing task (by index) is
    /// the error; once a task fails, workers stop taking new ones.
    pub fn map<T, F>(&self, sk: &ServerKey, n: usize, f: F) -> Result<Vec<T>>
    where
        T: Send,
        F: Fn(usize) -> Result<T> + Sync,
    {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let slots: Vec<Mutex<Option<Result<T>>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let used = self.pools.len().min(n);
        std::thread::scope(|s| {
            for pool in &self.pools[..used] {
                let (next, failed, slots, f) = (&next, &failed, &slots, &f);
                let sk = sk.clone(); // an Arc clone
                s.spawn(move || {
                    pool.install(move || {
                        tfhe::with_server_key_as_context(sk, || loop {
                            if failed.load(Ordering::Relaxed) {
                                break;
                            }
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                break;
                            }
                            let r = catch(|| f(i));
                            if r.is_err() {
                                failed.store(true, Ordering::Relaxed);
                            }
                            *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                        })
                    })
                });
            }
        });
        let mut out = Vec::with_capacity(n);
        let mut skipped = false;
        for slot in slots {
            match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
                Some(Ok(v)) => out.push(v),
                Some(Err(e)) => return Err(e),
                None => skipped = true,
            }
        }
        if skipped {
            return Err(Error::internal("an evaluation task did not run"));
        }
        Ok(out)
    }
}
