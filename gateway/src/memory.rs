//! Giving memory back after a burst of clients.
//!
//! glibc's allocator keeps what sessions freed in its arenas for reuse: after 10,000 clients
//! came and went, the gateway kept the resident memory of their peak. `malloc_trim(0)` hands
//! the free pages of every arena back to the kernel. It walks the arenas under their locks, so
//! it runs on a blocking thread, and only after the number of client connections fell to half
//! of its recent high (by at least [`MIN_DROP`]), not on every disconnect.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::metrics::Metrics;

/// How often the client count is looked at.
const EVERY: Duration = Duration::from_secs(2);
/// Fewer connections gone than this is not worth a trim.
const MIN_DROP: i64 = 256;

/// Whether a fall from `high` to `now` connections is worth a trim.
fn worth_trimming(high: i64, now: i64) -> bool {
    high - now >= MIN_DROP && now <= high / 2
}

/// Starts the task that trims the allocator after bursts (glibc only; elsewhere nothing).
pub fn spawn_trimmer(metrics: Arc<Metrics>) {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    tokio::spawn(async move {
        let mut high = metrics.active_connections.get();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = metrics.active_connections.get();
            high = high.max(now);
            if worth_trimming(high, now) {
                let _ = tokio::task::spawn_blocking(trim).await;
                tracing::debug!(
                    from = high,
                    to = now,
                    "gave freed memory back after clients left"
                );
                high = now;
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim has no preconditions; it only returns free pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_after_a_large_fall() {
        assert!(worth_trimming(10_000, 0));
        assert!(worth_trimming(1_000, 500));
        assert!(!worth_trimming(1_000, 600));
        assert!(!worth_trimming(300, 100));
        assert!(!worth_trimming(0, 0));
    }
}
