//! Polling the sockets for a short while before the worker sleeps (`server.spin_us`).
//!
//! A proxied transaction crosses the gateway twice, and each crossing would otherwise find the
//! gateway asleep in `epoll_wait`: the peer's `send` has to wake it and, on a virtual machine,
//! the hypervisor has to wake its idle vCPU. Right after an event more usually follows (the
//! server's answer to the query just forwarded, the client's next query), so for a window
//! after the last event a worker keeps polling its sockets instead of sleeping, then sleeps as
//! before. A busy gateway never reaches the end of the window; an idle one polls for one
//! window after its last event and then costs nothing.
//!
//! One task does it: it yields in a loop, and each time the runtime is about to run a yielded
//! task again it polls the sockets (`epoll_wait` with a zero timeout). Between two polls the
//! thread also calls `sched_yield`, so a PostgreSQL backend or a client waiting for this CPU
//! runs first: the polling uses CPU time nothing else wants.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The polling task's state, shared with the sessions that report events to it.
pub struct Spinner {
    window: Duration,
    /// Session events so far: the spinner tells from it that work happened.
    events: AtomicU64,
    /// Polls made so far (read by tests).
    polls: AtomicU64,
    /// The spinner waits for `wake` instead of polling.
    asleep: AtomicBool,
    wake: Notify,
}

/// The process's spinner, once `start` has run with a window.
static SPINNER: OnceLock<Arc<Spinner>> = OnceLock::new();

/// Records an I/O event of a session: the spinner keeps polling for a window after it.
#[inline]
pub fn event() {
    if let Some(s) = SPINNER.get() {
        s.event();
    }
}

/// Starts polling on the current tokio runtime for `window` after each event. A zero window
/// starts nothing: the workers sleep as soon as they are idle.
pub fn start(window: Duration) {
    if window.is_zero() {
        return;
    }
    let s = Arc::clone(SPINNER.get_or_init(|| Spinner::new(window)));
    tokio::spawn(s.run());
}

impl Spinner {
    pub fn new(window: Duration) -> Arc<Spinner> {
        Arc::new(Spinner {
            window,
            events: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            asleep: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Something happened: poll for another window.
    #[inline]
    pub fn event(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        if self.asleep.load(Ordering::SeqCst) && self.asleep.swap(false, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// Whether the spinner is waiting for an event instead of polling.
    pub fn is_asleep(&self) -> bool {
        self.asleep.load(Ordering::SeqCst)
    }

    /// Polls made so far.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// The polling task: runs until the runtime shuts down.
    pub async fn run(self: Arc<Self>) {
        loop {
            let mut seen = self.events.load(Ordering::SeqCst);
            let mut until = Instant::now() + self.window;
            loop {
                tokio::task::yield_now().await;
                std::thread::yield_now();
                self.polls.fetch_add(1, Ordering::Relaxed);
                let now = self.events.load(Ordering::SeqCst);
                if now != seen {
                    seen = now;
                    until = Instant::now() + self.window;
                } else if Instant::now() >= until {
                    break;
                }
            }
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.asleep.store(true, Ordering::SeqCst);
            // An event between the last check and `asleep` saw no sleeper to wake.
            if self.events.load(Ordering::SeqCst) != seen {
                self.asleep.store(false, Ordering::SeqCst);
                continue;
            }
            woken.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields until `cond` holds; the test fails after 10 s of wall time instead of hanging.
    async fn until(mut cond: impl FnMut() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !cond() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("condition not reached within 10 s");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn polls_for_a_window_after_each_event_then_sleeps() {
        let s = Spinner::new(Duration::from_millis(2));
        let task = tokio::spawn(Arc::clone(&s).run());
        // No event since it started: one window of polling, then asleep.
        until(|| s.is_asleep()).await;
        let slept_at = s.polls();
        assert!(slept_at > 0, "it polled before sleeping");
        // Asleep, it does not poll: other tasks run, its counter stays put.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(s.polls(), slept_at);
        // An event wakes it for another window, after which it sleeps again.
        s.event();
        assert!(!s.is_asleep());
        until(|| s.polls() > slept_at).await;
        until(|| s.is_asleep()).await;
        task.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn events_keep_it_polling() {
        // A window long enough that a descheduled test thread cannot outlast it.
        let s = Spinner::new(Duration::from_millis(300));
        let task = tokio::spawn(Arc::clone(&s).run());
        let start = Instant::now();
        // An event every poll for two windows: it never gets to sleep meanwhile.
        while start.elapsed() < Duration::from_millis(600) {
            s.event();
            assert!(!s.is_asleep(), "slept while events kept coming");
            tokio::task::yield_now().await;
        }
        until(|| s.is_asleep()).await;
        assert!(start.elapsed() >= Duration::from_millis(600));
        task.abort();
    }
}
