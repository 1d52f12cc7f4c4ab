//! Running client and control programs with a deadline, so a hung server fails a test instead
//! of hanging it, and with their output in the error when they fail.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Starts `cmd` in a session of its own (`setsid`), as a service manager would start a server.
///
/// This matters for measurements. With the kernel's autogroup scheduling (the default on
/// many distributions), CPU time is shared fairly between sessions, not processes. Every
/// PostgreSQL backend calls `setsid` and so forms a group of its own; a pooler left in the
/// session of the program that drives the load (pgbench) would share one group's share with
/// it, and be starved whenever the machine is busy.
pub fn own_session(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: `setsid` is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Runs `cmd` to completion (stdin closed, stdout and stderr captured); kills it after
/// `timeout`. Returns the output whatever the exit status.
pub fn output(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let what = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = match wait_deadline(&mut child, Instant::now() + timeout)? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not finish within {timeout:?}");
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Like [`output`], but a non-zero exit is an error carrying stderr (and stdout).
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<String> {
    let what = describe(cmd);
    let out = output(cmd, timeout)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        );
    }
    Ok(stdout)
}

/// Waits for `child` until `deadline`; `None` if it is still running then.
pub fn wait_deadline(
    child: &mut Child,
    deadline: Instant,
) -> Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10).min(deadline - now));
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args().take(6) {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Sends SIGKILL to `pid` (no error if it is already gone).
pub fn sigkill(pid: i32) {
    // SAFETY: kill(2) with a positive pid signals exactly that process.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Whether `pid` is alive: exists and is not a zombie (a reparented server may linger as a
/// zombie if nobody reaps it).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(state(&stat), Some('Z' | 'X')),
        Err(_) => false,
    }
}

/// The children of `pid`, from `/proc/*/stat`.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| parent(&stat))
                == Some(pid)
        })
        .collect()
}

// /proc/PID/stat is "pid (comm) state ppid ..."; comm may contain spaces and parentheses, so
// fields are counted from the last ')'.
fn after_comm(stat: &str) -> impl Iterator<Item = &str> {
    let rest = stat.rfind(')').map(|i| &stat[i + 1..]).unwrap_or("");
    rest.split_whitespace()
}

fn state(stat: &str) -> Option<char> {
    after_comm(stat).next()?.chars().next()
}

fn parent(stat: &str) -> Option<i32> {
    after_comm(stat).nth(1)?.parse().ok()
}
