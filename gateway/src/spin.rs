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
//!
//! # Under a CPU quota
//!
//! A cgroup CPU limit (containers: cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` over
//! `cpu.cfs_period_us`) charges every microsecond the process runs to the group, polling
//! included, and once a period's quota is spent the whole group is throttled until the next
//! period. The run queue cannot see that: the machine's CPUs may be idle while it is the
//! container's quota that runs out, and then each polled microsecond is one its requests do
//! not get. So [`start`] looks for a quota first ([`find_cpu_quota`]: the process's cgroup and
//! its ancestors, the smallest limit wins) and, when there is one, does not start the
//! spinner and says so in an `info` log line; `server.spin_under_quota = true` starts it
//! anyway.
//!
//! # What the CPU count is
//!
//! The run queue is compared with [`std::thread::available_parallelism`]. On Linux, std
//! returns the smaller of the CPUs in the process's affinity mask (`sched_getaffinity`, which
//! is what a cpuset or `taskset` restricts it to) and the cgroup quota in whole CPUs, rounded
//! down and at least 1 (`cpu.max`, or v1 `cfs_quota_us / cfs_period_us`, the smallest over
//! the cgroup and its ancestors; cgroup v2 since Rust 1.61, rust-lang/rust#92697, v1 since
//! 1.64, #97925), and the online CPUs only when the mask cannot be read. So under a cpuset the
//! count is already the cpuset's. The run queue is not: `/proc/loadavg` counts runnable
//! threads on every CPU of the machine (it is not namespaced), so under a cpuset smaller than
//! the machine, threads running on CPUs this process may not use count as contention, and
//! polling pauses more often than it needs to, never less.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
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
/// starts nothing: the workers sleep as soon as they are idle. Neither does a CPU quota on
/// the process's cgroup, unless `under_quota` (`server.spin_under_quota`) allows polling
/// under one; the decision is logged at `info`.
pub fn start(window: Duration, under_quota: bool) {
    if window.is_zero() {
        return;
    }
    let quota = find_cpu_quota();
    match decide(quota.as_ref(), under_quota) {
        Decision::Poll => {}
        Decision::PollUnderQuota(message) => {
            tracing::info!(file = %file_of(&quota), "{message}");
        }
        Decision::Off(message) => {
            tracing::info!(file = %file_of(&quota), "{message}");
            return;
        }
    }
    let s = SPINNER.get_or_init(|| Spinner::new(window, run_queue(), BACKOFF));
    tokio::spawn(Arc::clone(s).run());
}

fn file_of(quota: &Option<Quota>) -> String {
    quota
        .as_ref()
        .map(|q| q.file.display().to_string())
        .unwrap_or_default()
}

/// Whether a non-zero window polls, given the quota found and `server.spin_under_quota`.
#[derive(Debug, PartialEq)]
enum Decision {
    Poll,
    /// Polls although there is a quota; the log line.
    PollUnderQuota(String),
    /// Does not poll; the log line.
    Off(String),
}

fn decide(quota: Option<&Quota>, under_quota: bool) -> Decision {
    let Some(q) = quota else {
        return Decision::Poll;
    };
    if under_quota {
        Decision::PollUnderQuota(format!(
            "server.spin_us: polling under a CPU quota of {} CPUs ({}), as server.spin_under_quota asks",
            cpus_text(q.cpus),
            q.source()
        ))
    } else {
        Decision::Off(format!(
            "server.spin_us: polling off: the process runs under a CPU quota of {} CPUs ({}); \
             server.spin_under_quota = true polls anyway",
            cpus_text(q.cpus),
            q.source()
        ))
    }
}

/// `1.5`, `2`, `0.33`: at most two decimals, no trailing zeros.
fn cpus_text(cpus: f64) -> String {
    let s = format!("{cpus:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A CPU limit on the process's cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    /// CPUs' worth of time per period: quota / period (`1.5`: one and a half CPUs).
    pub cpus: f64,
    /// The file that sets it (`cpu.max`, or v1's `cpu.cfs_quota_us`).
    pub file: PathBuf,
}

impl Quota {
    /// `cgroup cpu.max` or `cgroup cpu.cfs_quota_us`: which kind of limit it is.
    pub fn source(&self) -> String {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("cgroup {name}")
    }
}

/// The process's cgroup CPU quota in CPUs (quota / period), `None` when there is none or it
/// cannot be read. See [`find_cpu_quota`].
pub fn cpu_quota() -> Option<f64> {
    find_cpu_quota().map(|q| q.cpus)
}

/// The smallest CPU limit on the process's cgroup or any of its ancestors, `None` when there
/// is none or it cannot be read (best effort: no `/proc`, an unusual mount, a path with
/// characters `/proc` escapes).
///
/// cgroup v2: the `0::/path` line of `/proc/self/cgroup`, under the `cgroup2` mount of
/// `/proc/self/mountinfo` (else `/sys/fs/cgroup`), `cpu.max` in that directory and each one
/// above it up to the mount. cgroup v1: the line whose controllers include `cpu`, under the
/// `cgroup` mount with the `cpu` option (else `/sys/fs/cgroup/cpu,cpuacct` or
/// `/sys/fs/cgroup/cpu`), `cpu.cfs_quota_us` and `cpu.cfs_period_us` the same way. Both are
/// looked at; on a hybrid system only the hierarchy with the cpu controller has the files.
pub fn find_cpu_quota() -> Option<Quota> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let groups = parse_proc_cgroup(&cgroup);
    let mounts = parse_mountinfo(&mountinfo);
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let mut found = Vec::new();
    if let Some(group) = &groups.v2 {
        let mut candidates = mounts.v2.clone();
        candidates.push(CgroupMount {
            root: "/".into(),
            mount_point: "/sys/fs/cgroup".into(),
        });
        if let Some(dirs) = first_existing(&candidates, group) {
            found.extend(v2_quota(&dirs, read));
        }
    }
    if let Some(group) = &groups.v1_cpu {
        let mut candidates = mounts.v1_cpu.clone();
        for mount_point in ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"] {
            candidates.push(CgroupMount {
                root: "/".into(),
                mount_point: mount_point.into(),
            });
        }
        if let Some(dirs) = first_existing(&candidates, group) {
            found.extend(v1_quota(&dirs, read));
        }
    }
    found.into_iter().min_by(|a, b| a.cpus.total_cmp(&b.cpus))
}

/// The directories of the first mount under which `group` exists.
fn first_existing(mounts: &[CgroupMount], group: &str) -> Option<Vec<PathBuf>> {
    mounts
        .iter()
        .filter_map(|m| cgroup_dirs(m, group))
        .find(|dirs| dirs.first().is_some_and(|d| d.is_dir()))
}

/// The process's cgroups, from `/proc/self/cgroup` (`hierarchy:controllers:path` lines).
#[derive(Debug, Default, PartialEq)]
struct Groups {
    /// The cgroup v2 path (the `0::/path` line).
    v2: Option<String>,
    /// The path in the v1 hierarchy whose controllers include `cpu`.
    v1_cpu: Option<String>,
}

fn parse_proc_cgroup(text: &str) -> Groups {
    let mut groups = Groups::default();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        if id == "0" && controllers.is_empty() {
            groups.v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "cpu") {
            groups.v1_cpu = Some(path.to_string());
        }
    }
    groups
}

/// A cgroup file system mounted at `mount_point`, showing the hierarchy from `root` down
/// (`/` unless it is a bind mount of a subtree, as in a container without a cgroup
/// namespace).
#[derive(Debug, Clone, PartialEq)]
struct CgroupMount {
    root: String,
    mount_point: String,
}

/// The cgroup mounts of `/proc/self/mountinfo`.
#[derive(Debug, Default, PartialEq)]
struct Mounts {
    /// `cgroup2` mounts.
    v2: Vec<CgroupMount>,
    /// `cgroup` (v1) mounts with the `cpu` controller.
    v1_cpu: Vec<CgroupMount>,
}

/// Lines are `id parent major:minor root mount_point options [optional...] - fstype source
/// super_options`.
fn parse_mountinfo(text: &str) -> Mounts {
    let mut mounts = Mounts::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().skip(6).position(|f| *f == "-").map(|i| i + 6) else {
            continue;
        };
        let (Some(fstype), Some(options)) = (fields.get(dash + 1), fields.get(dash + 3)) else {
            continue;
        };
        let mount = CgroupMount {
            root: fields[3].to_string(),
            mount_point: fields[4].to_string(),
        };
        match *fstype {
            "cgroup2" => mounts.v2.push(mount),
            "cgroup" if options.split(',').any(|o| o == "cpu") => mounts.v1_cpu.push(mount),
            _ => {}
        }
    }
    mounts
}

/// The directory of `group` under `mount`, then each parent up to the mount point itself;
/// `None` when the mount does not show `group` (a bind mount of another subtree).
fn cgroup_dirs(mount: &CgroupMount, group: &str) -> Option<Vec<PathBuf>> {
    let relative = Path::new(group)
        .strip_prefix(&mount.root)
        .ok()?
        .to_path_buf();
    let base = Path::new(&mount.mount_point);
    let mut dirs = Vec::new();
    let mut at = Some(relative.as_path());
    while let Some(rel) = at {
        dirs.push(base.join(rel));
        at = rel.parent();
    }
    Some(dirs)
}

/// The smallest `cpu.max` limit in `dirs`.
fn v2_quota(dirs: &[PathBuf], read: impl Fn(&Path) -> Option<String>) -> Option<Quota> {
    dirs.iter()
        .filter_map(|d| {
            let file = d.join("cpu.max");
            let cpus = parse_cpu_max(&read(&file)?)?;
            Some(Quota { cpus, file })
        })
        .min_by(|a, b| a.cpus.total_cmp(&b.cpus))
}

/// The smallest `cpu.cfs_quota_us / cpu.cfs_period_us` limit in `dirs`.
fn v1_quota(dirs: &[PathBuf], read: impl Fn(&Path) -> Option<String>) -> Option<Quota> {
    dirs.iter()
        .filter_map(|d| {
            let file = d.join("cpu.cfs_quota_us");
            let quota = read(&file)?;
            let period = read(&d.join("cpu.cfs_period_us"))?;
            let cpus = parse_cfs(&quota, &period)?;
            Some(Quota { cpus, file })
        })
        .min_by(|a, b| a.cpus.total_cmp(&b.cpus))
}

/// cgroup v2 `cpu.max`: `$MAX $PERIOD` in µs, `max` for no limit. CPUs, or `None` for no
/// limit or text that is not that.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let (quota, period) = (fields.next()?, fields.next()?);
    if fields.next().is_some() || quota == "max" {
        return None;
    }
    let quota: u64 = quota.parse().ok()?;
    let period: u64 = period.parse().ok()?;
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

/// cgroup v1 `cpu.cfs_quota_us` (`-1` for no limit) and `cpu.cfs_period_us`. CPUs, or `None`.
fn parse_cfs(quota: &str, period: &str) -> Option<f64> {
    let quota: i64 = quota.trim().parse().ok()?;
    let period: u64 = period.trim().parse().ok()?;
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
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
        start(Duration::ZERO, true);
        assert!(stats().is_none());
    }

    #[test]
    fn spin_reads_cpu_max() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("50000 100000"), Some(0.5));
        assert_eq!(parse_cpu_max("200000 100000"), Some(2.0));
        // Malformed.
        for text in [
            "",
            "\n",
            "max",
            "150000",
            "150000 0",
            "0 100000",
            "-1 100000",
            "1.5 100000",
            "150000 100000 7",
            "abc 100000",
            "150000 max",
        ] {
            assert_eq!(parse_cpu_max(text), None, "{text:?}");
        }
    }

    #[test]
    fn spin_reads_cfs_quota() {
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("150000\n", "100000\n"), Some(1.5));
        assert_eq!(parse_cfs("25000", "100000"), Some(0.25));
        assert_eq!(parse_cfs("0", "100000"), None);
        assert_eq!(parse_cfs("150000", "0"), None);
        assert_eq!(parse_cfs("", "100000"), None);
        assert_eq!(parse_cfs("150000", "x"), None);
    }

    #[test]
    fn spin_finds_the_cgroups_of_the_process() {
        // cgroup v2 only.
        assert_eq!(
            parse_proc_cgroup("0::/system.slice/app.service\n"),
            Groups {
                v2: Some("/system.slice/app.service".into()),
                v1_cpu: None
            }
        );
        // Hybrid: v1 controllers and the unified hierarchy.
        let hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/x\n2:cpuacct:/\n\
                      1:cpu:/kubepods/pod1/c1\n0::/\n";
        assert_eq!(
            parse_proc_cgroup(hybrid),
            Groups {
                v2: Some("/".into()),
                v1_cpu: Some("/kubepods/pod1/c1".into())
            }
        );
        // Combined controllers; a path with a colon in it.
        assert_eq!(
            parse_proc_cgroup("4:cpu,cpuacct:/docker/a:b\n3:cpuset:/docker/a:b\n"),
            Groups {
                v2: None,
                v1_cpu: Some("/docker/a:b".into())
            }
        );
        // `cpuacct` and `cpuset` are not `cpu`; garbage is skipped.
        assert_eq!(
            parse_proc_cgroup("2:cpuacct:/a\n3:cpuset:/b\ngarbage\n"),
            Groups::default()
        );
    }

    #[test]
    fn spin_finds_the_cgroup_mounts() {
        let text = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
";
        let m = parse_mountinfo(text);
        let mount = |root: &str, at: &str| CgroupMount {
            root: root.into(),
            mount_point: at.into(),
        };
        assert_eq!(m.v2, vec![mount("/", "/sys/fs/cgroup/unified")]);
        assert_eq!(
            m.v1_cpu,
            vec![
                mount("/", "/sys/fs/cgroup/cpu"),
                mount("/docker/abc", "/sys/fs/cgroup/cpu,cpuacct")
            ]
        );
        assert_eq!(parse_mountinfo("nonsense\n1 2 3\n"), Mounts::default());
    }

    #[test]
    fn spin_walks_up_to_the_mount() {
        let root = CgroupMount {
            root: "/".into(),
            mount_point: "/sys/fs/cgroup".into(),
        };
        let paths = |dirs: Vec<PathBuf>| -> Vec<String> {
            dirs.iter().map(|d| d.display().to_string()).collect()
        };
        assert_eq!(
            paths(cgroup_dirs(&root, "/kubepods/pod1/c1").unwrap()),
            [
                "/sys/fs/cgroup/kubepods/pod1/c1",
                "/sys/fs/cgroup/kubepods/pod1",
                "/sys/fs/cgroup/kubepods",
                "/sys/fs/cgroup/"
            ]
        );
        // The root cgroup (or a cgroup namespace's root): the mount point alone.
        assert_eq!(paths(cgroup_dirs(&root, "/").unwrap()), ["/sys/fs/cgroup/"]);
        // A bind mount of the process's own subtree, as Docker gives without a cgroup
        // namespace: the mount point is the process's cgroup.
        let bound = CgroupMount {
            root: "/docker/abc".into(),
            mount_point: "/sys/fs/cgroup/cpu,cpuacct".into(),
        };
        assert_eq!(
            paths(cgroup_dirs(&bound, "/docker/abc/sub").unwrap()),
            [
                "/sys/fs/cgroup/cpu,cpuacct/sub",
                "/sys/fs/cgroup/cpu,cpuacct/"
            ]
        );
        assert_eq!(cgroup_dirs(&bound, "/other"), None);
    }

    #[test]
    fn spin_takes_the_smallest_limit_of_the_ancestors() {
        let files = |entries: &[(&str, &str)]| -> std::collections::HashMap<PathBuf, String> {
            entries
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect()
        };
        let dirs: Vec<PathBuf> = ["/cg/a/b", "/cg/a", "/cg/"]
            .iter()
            .map(PathBuf::from)
            .collect();
        // The container's own cgroup unlimited, its parent (a pod) at 1.5 CPUs, the root
        // without the file.
        let v2 = files(&[
            ("/cg/a/b/cpu.max", "max 100000\n"),
            ("/cg/a/cpu.max", "150000 100000\n"),
        ]);
        let q = v2_quota(&dirs, |p| v2.get(p).cloned()).unwrap();
        assert_eq!(q.cpus, 1.5);
        assert_eq!(q.file, PathBuf::from("/cg/a/cpu.max"));
        assert_eq!(q.source(), "cgroup cpu.max");
        // Two limits: the smaller holds.
        let v2 = files(&[
            ("/cg/a/b/cpu.max", "50000 100000\n"),
            ("/cg/a/cpu.max", "150000 100000\n"),
        ]);
        assert_eq!(v2_quota(&dirs, |p| v2.get(p).cloned()).unwrap().cpus, 0.5);
        // Unlimited everywhere, or malformed: none.
        let v2 = files(&[
            ("/cg/a/b/cpu.max", "max 100000\n"),
            ("/cg/a/cpu.max", "garbage"),
        ]);
        assert_eq!(v2_quota(&dirs, |p| v2.get(p).cloned()), None);
        // v1: -1 is no limit.
        let v1 = files(&[
            ("/cg/a/b/cpu.cfs_quota_us", "-1\n"),
            ("/cg/a/b/cpu.cfs_period_us", "100000\n"),
            ("/cg/a/cpu.cfs_quota_us", "200000\n"),
            ("/cg/a/cpu.cfs_period_us", "100000\n"),
        ]);
        let q = v1_quota(&dirs, |p| v1.get(p).cloned()).unwrap();
        assert_eq!(q.cpus, 2.0);
        assert_eq!(q.source(), "cgroup cpu.cfs_quota_us");
        let v1 = files(&[
            ("/cg/a/b/cpu.cfs_quota_us", "-1\n"),
            ("/cg/a/b/cpu.cfs_period_us", "100000\n"),
        ]);
        assert_eq!(v1_quota(&dirs, |p| v1.get(p).cloned()), None);
    }

    #[test]
    fn spin_is_off_under_a_quota_unless_allowed() {
        let q = Quota {
            cpus: 1.5,
            file: PathBuf::from("/sys/fs/cgroup/cpu.max"),
        };
        assert_eq!(decide(None, false), Decision::Poll);
        assert_eq!(decide(None, true), Decision::Poll);
        assert_eq!(
            decide(Some(&q), false),
            Decision::Off(
                "server.spin_us: polling off: the process runs under a CPU quota of 1.5 CPUs \
                 (cgroup cpu.max); server.spin_under_quota = true polls anyway"
                    .into()
            )
        );
        let Decision::PollUnderQuota(m) = decide(Some(&q), true) else {
            panic!("spin_under_quota polls")
        };
        assert!(m.contains("1.5 CPUs (cgroup cpu.max)"), "{m}");
        assert_eq!(cpus_text(2.0), "2");
        assert_eq!(cpus_text(0.5), "0.5");
        assert_eq!(cpus_text(1.0 / 3.0), "0.33");
    }

    #[test]
    fn spin_reads_this_machines_quota() {
        // Whatever this machine has, reading it neither fails nor gives a nonsensical value.
        if let Some(cpus) = cpu_quota() {
            assert!(cpus > 0.0 && cpus.is_finite(), "{cpus}");
        }
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
