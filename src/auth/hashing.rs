//! Admission for password hashing: argon2id takes 19 MiB and tens of milliseconds per
//! attempt, so only as many hashes run at once as there are cores; a bounded number of
//! attempts wait for a turn, for a bounded time, and the rest are refused (429) instead
//! of piling up blocking threads and memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

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
        Self {
            permits: Semaphore::new(size),
            size,
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait,
        }
    }

    /// How many hashes may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Run `work` on a blocking thread once a turn is free.
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
        let out = tokio::task::spawn_blocking(work).await;
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
