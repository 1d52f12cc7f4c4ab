//! What the benchmark helpers (`tests/perf/*_compare.rs`) share: the machine's CPU time and
//! context switches per transaction from `/proc/stat`, medians, log tails, and the gateway
//! process they start ([`GatewayProcess`]).

/// The machine's CPU time and context switches so far, from `/proc/stat`.
pub struct CpuTimes {
    /// Clock ticks, all of them: busy, idle, iowait and steal.
    total: u64,
    idle: u64,
    /// Ticks the hypervisor gave this machine's CPUs to someone else.
    steal: u64,
    /// Context switches.
    ctxt: u64,
}

/// What the machine did during one run.
pub struct Load {
    pub busy: String,
    pub steal: String,
    pub cpu_per_tx: String,
    pub csw_per_tx: String,
    /// `cpu_per_tx` as a number of microseconds, when known.
    pub cpu_us: Option<f64>,
}

impl Load {
    pub fn unknown() -> Load {
        let dash = || "-".to_string();
        Load {
            busy: dash(),
            steal: dash(),
            cpu_per_tx: dash(),
            csw_per_tx: dash(),
            cpu_us: None,
        }
    }
}

impl CpuTimes {
    pub fn read() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        let ctxt = stat
            .lines()
            .find_map(|l| l.strip_prefix("ctxt "))
            .and_then(|n| n.trim().parse().ok())?;
        // user nice system idle iowait irq softirq steal [guest guest_nice, inside user/nice]
        let get = |i: usize| fields.get(i).copied().unwrap_or(0);
        Some(CpuTimes {
            total: (0..8).map(get).sum(),
            idle: get(3) + get(4),
            steal: get(7),
            ctxt,
        })
    }

    /// Since `earlier`, over `transactions`: the busy (steal included) and stolen shares of
    /// the CPUs' time, the CPU time this machine spent per transaction (everything on it:
    /// pgbench, the pooler, PostgreSQL, the kernel), and context switches per transaction.
    pub fn since(&self, earlier: &CpuTimes, transactions: Option<u64>) -> Load {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return Load::unknown();
        }
        let pct = |n: u64| format!("{:.0}", 100.0 * n as f64 / total as f64);
        let idle = self.idle.saturating_sub(earlier.idle);
        let steal = self.steal.saturating_sub(earlier.steal);
        let used = total.saturating_sub(idle).saturating_sub(steal);
        let n = transactions.filter(|&n| n > 0).map(|n| n as f64);
        let tick_us = 1e6 / clock_ticks_per_second();
        let switches = self.ctxt.saturating_sub(earlier.ctxt) as f64;
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
        let cpu_us = n.map(|n| used as f64 * tick_us / n);
        Load {
            cpu_us,
            busy: pct(total.saturating_sub(idle)),
            steal: pct(steal),
            cpu_per_tx: or_dash(cpu_us.map(|c| format!("{c:.1}"))),
            csw_per_tx: or_dash(n.map(|n| format!("{:.2}", switches / n))),
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// The median of `v` (NaN when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A release gateway run by a benchmark helper: `BIN run --config FILE` with the config the
/// helper wrote, in a temporary directory of its own, in a session of its own (as a service
/// manager would start it, see [`crate::process::own_session`]), its output in a log there.
/// Killed on drop.
pub struct GatewayProcess {
    child: std::process::Child,
    log: std::path::PathBuf,
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl GatewayProcess {
    /// The first-party plugin components, built by `articdbm-plugin-artifacts`.
    pub fn plugin_dir() -> anyhow::Result<std::path::PathBuf> {
        let plugins = crate::tools::workspace_dir().join("target/plugins");
        if !plugins.is_dir() {
            anyhow::bail!(
                "{} does not exist (build articdbm-plugin-artifacts)",
                plugins.display()
            );
        }
        Ok(plugins)
    }

    /// The default pack, `policies/default.toml`.
    pub fn default_pack() -> std::path::PathBuf {
        crate::tools::workspace_dir().join("policies/default.toml")
    }

    /// A gateway config with the default pack and the first-party plugins: `[server]` with
    /// `server` (its listen lines and any other settings, one per line) and the two paths, one
    /// `[[user]]` with `user`'s name and password, then `databases` as given.
    pub fn config(server: &str, user: (&str, &str), databases: &str) -> anyhow::Result<String> {
        let (name, password) = user;
        Ok(format!(
            "[server]\n{server}\npacks = [{pack:?}]\nplugin_dir = {plugins:?}\n\n\
             [[user]]\nname = {name:?}\npassword = {password:?}\n\n{databases}",
            pack = Self::default_pack().display().to_string(),
            plugins = Self::plugin_dir()?.display().to_string(),
        ))
    }

    /// Writes `config` and starts `bin` on it.
    pub fn spawn(bin: &std::path::Path, config: &str) -> anyhow::Result<GatewayProcess> {
        use anyhow::Context;
        if !bin.is_file() {
            anyhow::bail!("{} does not exist", bin.display());
        }
        let dir = tempfile::Builder::new()
            .prefix("articdbm-gateway-")
            .tempdir()?;
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config)?;
        let log = dir.path().join("gateway.log");
        let logfile = std::fs::File::create(&log)?;
        let child = crate::process::own_session(&mut std::process::Command::new(bin))
            .args(["run", "--config"])
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .stdout(logfile.try_clone()?)
            .stderr(logfile)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(GatewayProcess {
            child,
            log,
            config: path,
            _dir: dir,
        })
    }

    /// Waits until `port` accepts connections; fails at once when the gateway exits, and
    /// after `within` otherwise, with the end of its log.
    pub fn wait_listening(&mut self, port: u16, within: std::time::Duration) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the gateway exited ({status}) (config {}); its output:\n{}",
                    self.config.display(),
                    last_lines(&self.log_text(), 20)
                );
            }
            let addr = crate::net::loopback(port);
            if crate::net::wait_for_port(addr, std::time::Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "the gateway did not accept on port {port} within {within:?}; its output:\n{}",
                    last_lines(&self.log_text(), 20)
                );
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the gateway has exited, and how.
    pub fn exited(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The gateway's resident memory, KiB (`VmRSS`).
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        use anyhow::Context;
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("the gateway's /proc status")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in the gateway's /proc status")
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
