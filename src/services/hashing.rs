//! Admission for password hashing: argon2id takes 19 MiB and tens of milliseconds per
//! attempt, so only as many hashes run at once as there are cores; a bounded number of
//! attempts wait for a turn, for a bounded time, and the rest are refused (429) instead
//! of piling up blocking threads and memory.
//!
//! The hashes run on the gate's own threads, one per turn, not on the runtime's blocking
//! pool: the allocator keeps a freed 19 MiB block in the arena of the thread that used
//! it, and the blocking pool starts new threads freely, so a burst there leaves one such
//! block behind per thread it happened to use (measured: ~450 MB peak after 200 sign-ins
//! on 2 cores). See also `return_large_blocks_to_the_os`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// Have the allocator give blocks of 1 MiB and more straight back to the operating
/// system when they are freed. glibc otherwise raises its mmap threshold after the first
/// large free and keeps later 19 MiB argon2 blocks in its arenas, so a burst of sign-ins
/// leaves the process hundreds of MB larger (measured with `rightsdesk-bench signin`:
/// peak RSS 277-334 MB without this, under 100 MB with it). Call once at startup; a
/// no-op on other platforms.
pub fn return_large_blocks_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator tuning; M_MMAP_THRESHOLD with a value
    // within glibc's range (up to 32 MiB on 64-bit) is always accepted.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Why an attempt was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The waiting line was full.
    QueueFull,
    /// The attempt waited its longest and got no turn.
    Timeout,
}

#[derive(Debug)]
pub struct HashGate {
    permits: Semaphore,
    size: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
    /// Work for the gate's threads; they end when the gate is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Decrements the waiting count however the wait ends (turn, timeout, cancelled request).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    /// `permits` = 0 means one per available core.
    pub fn new(permits: usize, max_waiting: usize, wait: Duration) -> Self {
        let size = if permits == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            permits
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..size {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("rightsdesk-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panic in one hash must not take the thread (and the turn) away.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            permits: Semaphore::new(size),
            size,
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait,
            jobs: Mutex::new(tx),
        }
    }

    /// How many hashes may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Run `work` on one of the gate's threads once a turn is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match self.permits.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Busy::QueueFull);
                }
                let _waiting = Waiting(&self.waiting);
                match tokio::time::timeout(self.wait, self.permits.acquire()).await {
                    Ok(Ok(p)) => p,
                    // Closed never happens (the gate lives as long as the app).
                    Ok(Err(_)) | Err(_) => return Err(Busy::Timeout),
                }
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        let sent = self
            .jobs
            .lock()
            .map_err(|_| Busy::Timeout)
            .and_then(|jobs| jobs.send(job).map_err(|_| Busy::Timeout));
        sent?;
        // The turn is held until the work is done, so threads and turns stay one to one.
        let out = rx.await;
        drop(permit);
        out.map_err(|_| Busy::Timeout)
    }

    /// Take every turn (tests hold the gate to show what a full one answers).
    pub async fn hold_all(&self) -> tokio::sync::SemaphorePermit<'_> {
        let n = u32::try_from(self.size).unwrap_or(u32::MAX);
        self.permits
            .acquire_many(n)
            .await
            .unwrap_or_else(|_| unreachable!("the gate is never closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_gate_queues_then_refuses() {
        let gate = std::sync::Arc::new(HashGate::new(1, 1, Duration::from_millis(200)));
        let held = gate.hold_all().await;
        // Nobody waits yet: this one may wait, and times out.
        assert_eq!(gate.run(|| 1).await, Err(Busy::Timeout));
        // One waits; a second finds the line full at once.
        let g = gate.clone();
        let first = tokio::spawn(async move { g.run(|| 2).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.run(|| 3).await, Err(Busy::QueueFull));
        drop(held);
        assert_eq!(first.await.expect("task"), Ok(2));
        assert_eq!(gate.run(|| 4).await, Ok(4));
    }
}
