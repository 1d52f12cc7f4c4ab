//! Polling the sockets for a short while before the worker sleeps (`server.spin_us`).
//!
//! A proxied transaction crosses the gateway twice, and each crossing would otherwise find the
//! gateway asleep in `epoll_wait`: the peer's `send` has to wake it and, on a virtual machine,
//! the hypervisor has to wake its idle vCPU. Right after an event more usually follows (the
//! server's answer to the query just forwarded, the client's next query), so for a window
//! after the last event a worker keeps polling its sockets instead of sleeping, then sleeps as
//! before. An idle gateway polls for one window after its last event and then costs nothing.
//!
//! One task does it: it yields in a loop, and each time the runtime is about to run a yielded
//! task again it polls the sockets (`epoll_wait` with a zero timeout). Between two polls the
//! thread also calls `sched_yield`, so a task waiting for this very CPU runs first.
//!
//! Polling is only worth CPU time that nothing else wants. A polling thread never lets its
//! CPU go idle, so the kernel never moves waiting work to it: on a loaded machine (PostgreSQL
//! on the same cores, busy) polling takes CPU from the backends even with `sched_yield`.
//! So the spinner polls only while, on average, no more other threads are runnable than
//! there are CPUs (the kernel's count in `/proc/loadavg`, sampled at the start of a window and
//! every [`CHECK_EVERY`] polls, smoothed over a few samples); otherwise it pauses for
//! [`BACKOFF`] and samples again. The count is instantaneous and jumpy (a thread being woken
//! counts), so the threshold is generous: a one-client chain (client, gateway, backend)
//! averages about one other runnable thread, a loaded 2-CPU machine three and more. Measured on 2 vCPUs shared with PostgreSQL and pgbench: without that
//! check, polling raised one-client throughput by half but cost 16-client throughput 5-10%;
//! with it, one-client throughput still rose by a third and 16-client throughput was within
//! the noise of not polling at all.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Polls between two looks at the run queue.
const CHECK_EVERY: u64 = 8;

/// How long polling pauses once it found the CPUs wanted. Under sustained load it looks again
/// every 10 ms (a timer wake-up and a read of `/proc/loadavg` each time; a 1 ms pause cost
/// measurable throughput).
const BACKOFF: Duration = Duration::from_millis(10);

/// Other threads runnable right now, and the CPUs they share with this one; `None` when the
/// load cannot be read (polling then relies on `sched_yield` alone).
pub type Load = Box<dyn Fn() -> Option<(usize, usize)> + Send + Sync>;

/// Weight of the newest sample in the running average of the run queue. Single samples jump
/// (a sample taken at the moment the gateway went idle sees the pipeline's bubble); the
/// average tells a loaded machine from a quiet one within a few samples.
const SMOOTHING: f64 = 0.25;

/// The polling task's state, shared with the sessions that report events to it.
pub struct Spinner {
    window: Duration,
    load: Load,
    backoff: Duration,
    /// Session events so far: the spinner tells from it that work happened.
    events: AtomicU64,
    /// Polls made so far (read by tests).
    polls: AtomicU64,
    /// Pauses because the CPUs were wanted (read by tests).
    backoffs: AtomicU64,
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

/// Polls and pauses of the process's spinner, when one runs.
pub fn stats() -> Option<(u64, u64)> {
    SPINNER.get().map(|s| (s.polls(), s.backoffs()))
}

/// The spinner's counters in the Prometheus text format, appended to the gateway's `/metrics`
/// (the spinner is process-wide and outlives any one registry, so it is read at scrape time);
/// empty when no spinner runs.
pub fn metrics_text() -> String {
    let Some((polls, pauses)) = stats() else {
        return String::new();
    };
    format!(
        "# HELP articdbm_spin_polls_total Socket polls made instead of sleeping (server.spin_us)\n\
         # TYPE articdbm_spin_polls_total counter\n\
         articdbm_spin_polls_total {polls}\n\
         # HELP articdbm_spin_pauses_total Times polling paused because other threads wanted the CPUs\n\
         # TYPE articdbm_spin_pauses_total counter\n\
         articdbm_spin_pauses_total {pauses}\n"
    )
}

/// Starts polling on the current tokio runtime for `window` after each event. A zero window
/// starts nothing: the workers sleep as soon as they are idle.
pub fn start(window: Duration) {
    if window.is_zero() {
        return;
    }
    let s = SPINNER.get_or_init(|| Spinner::new(window, run_queue(), BACKOFF));
    tokio::spawn(Arc::clone(s).run());
}

/// `Load` from the kernel's count of runnable threads (`/proc/loadavg`, fourth field
/// `running/total`, which counts this thread too) and the CPUs this process may use.
pub fn run_queue() -> Load {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::fs::File::open("/proc/loadavg") {
        Ok(f) => Box::new(move || runnable(&f).map(|n| (n.saturating_sub(1), cpus))),
        Err(e) => {
            tracing::debug!(error = %e, "no /proc/loadavg: polling does not watch the load");
            Box::new(|| None)
        }
    }
}

/// Runnable threads right now, from `/proc/loadavg` (`0.50 0.40 0.30 3/123 4567`).
fn runnable(f: &std::fs::File) -> Option<usize> {
    let mut buf = [0u8; 128];
    let n = f.read_at(&mut buf, 0).ok()?;
    parse_running(&buf[..n])
}

fn parse_running(text: &[u8]) -> Option<usize> {
    let field = text.split(|b| *b == b' ').nth(3)?;
    let running = field.split(|b| *b == b'/').next()?;
    std::str::from_utf8(running).ok()?.parse().ok()
}

impl Spinner {
    pub fn new(window: Duration, load: Load, backoff: Duration) -> Arc<Spinner> {
        Arc::new(Spinner {
            window,
            load,
            backoff,
            events: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            backoffs: AtomicU64::new(0),
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

    /// Pauses made so far because the CPUs were wanted.
    pub fn backoffs(&self) -> u64 {
        self.backoffs.load(Ordering::Relaxed)
    }

    /// The polling task: runs until the runtime shuts down.
    pub async fn run(self: Arc<Self>) {
        // Running average of other runnable threads.
        let mut others = 0.0f64;
        // Takes a sample; true when, on average, more other threads are runnable than CPUs.
        let mut wanted = || match (self.load)() {
            Some((n, cpus)) => {
                others += SMOOTHING * (n as f64 - others);
                others > cpus as f64
            }
            None => false,
        };
        loop {
            let mut seen = self.events.load(Ordering::SeqCst);
            let mut until = Instant::now() + self.window;
            let mut busy = wanted();
            let mut polls = 0u64;
            while !busy {
                tokio::task::yield_now().await;
                std::thread::yield_now();
                polls += 1;
                self.polls.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                let events = self.events.load(Ordering::SeqCst);
                if events != seen {
                    seen = events;
                    until = now + self.window;
                } else if now >= until {
                    break;
                }
                if polls.is_multiple_of(CHECK_EVERY) {
                    busy = wanted();
                }
            }
            if busy {
                // Sleep like a worker without polling (events do not wake this task), then
                // look again if anything happened meanwhile. If nothing did, wait for the next
                // event instead: an idle gateway on a loaded machine takes no timer wake-ups.
                self.backoffs.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(self.backoff).await;
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

    fn never() -> Load {
        Box::new(|| None)
    }

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
        let s = Spinner::new(Duration::from_millis(2), never(), BACKOFF);
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
        assert_eq!(s.backoffs(), 0);
        task.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn events_keep_it_polling() {
        // A window long enough that a descheduled test thread cannot outlast it.
        let s = Spinner::new(Duration::from_millis(300), never(), BACKOFF);
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

    #[tokio::test(flavor = "current_thread")]
    async fn pauses_while_the_cpus_are_wanted() {
        // Two CPUs; `busy`: four other threads runnable, else none.
        let busy = Arc::new(AtomicBool::new(true));
        let b = Arc::clone(&busy);
        let s = Spinner::new(
            Duration::from_millis(300),
            Box::new(move || Some((if b.load(Ordering::SeqCst) { 4 } else { 0 }, 2))),
            Duration::from_millis(20),
        );
        let task = tokio::spawn(Arc::clone(&s).run());
        // Loaded from the start, with events coming: the average reaches the load within a
        // few samples, then it pauses and looks again after each pause, polling no more.
        until(|| {
            s.event();
            s.backoffs() >= 2
        })
        .await;
        let first = s.polls();
        assert!(first <= 4 * CHECK_EVERY, "polled {first} times under load");
        until(|| {
            s.event();
            s.backoffs() >= 5
        })
        .await;
        assert_eq!(s.polls(), first);
        // No event during a pause: it waits for the next one instead of sampling again, so
        // an idle gateway on a loaded machine takes no timer wake-ups.
        until(|| s.is_asleep()).await;
        let pauses = s.backoffs();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(s.is_asleep());
        assert_eq!(s.backoffs(), pauses, "woke without an event");
        // Once the CPUs are free (the average falls to 2 within a few samples) it polls.
        busy.store(false, Ordering::SeqCst);
        until(|| {
            s.event();
            s.polls() > first
        })
        .await;
        // The load returns while it polls: it stops after a few samples.
        busy.store(true, Ordering::SeqCst);
        let backoffs = s.backoffs();
        let polls = s.polls();
        until(|| {
            s.event();
            s.backoffs() > backoffs
        })
        .await;
        assert!(
            s.polls() <= polls + 4 * CHECK_EVERY,
            "kept polling under load"
        );
        task.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_zero_window_starts_nothing() {
        start(Duration::ZERO);
        assert!(stats().is_none());
    }

    #[test]
    fn reads_the_running_count() {
        assert_eq!(parse_running(b"0.50 0.40 0.30 3/123 4567\n"), Some(3));
        assert_eq!(parse_running(b"12.00 9.10 8.00 17/2048 99"), Some(17));
        assert_eq!(parse_running(b"garbage"), None);
        assert_eq!(parse_running(b"0.1 0.1 0.1 x/1 2"), None);
        // The real file parses, and counts at least this thread.
        let f = std::fs::File::open("/proc/loadavg").unwrap();
        assert!(runnable(&f).is_some_and(|n| n >= 1));
    }
}
