//! The helper behind `tests/perf/idle-clients.sh`: what an idle client costs the gateway.
//!
//! Starts PostgreSQL and the gateway (default pack, transaction pooling) in a temporary
//! directory on free loopback ports, reads the gateway's resident memory at rest, opens
//! `ARTICDBM_IDLE_CLIENTS` clients (default 10,000) that each authenticate with SCRAM-SHA-256
//! (TLS off), run one query and then hold their connection, reads the resident memory again,
//! closes them all and reads it once more. Prints what it measured and ends with
//!
//! ```text
//! idle clients=N kib_per_client=K rss_at_rest_mib=M
//! ```
//!
//! When its open-file limit (which the script raises to the hard limit) is too low for the
//! clients asked for, it says so and opens as many as the limit allows.
//!
//! Usage: `idle-clients --gateway PATH`.

use anyhow::{Context, Result, bail};
use articdbm_pgwire::auth::scram::ScramClient;
use articdbm_pgwire::backend::Authentication;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendDecoder, BackendMessage};
use articdbm_tests::net::free_port;
use articdbm_tests::perf::GatewayProcess;
use articdbm_tests::{PgOptions, PgServer};
use bytes::BytesMut;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const USER: &str = "idle";
const PASSWORD: &str = "idle-password";
const DB: &str = "idle";
/// File descriptors kept for everything but the clients (the servers' own, pipes, logs).
const SPARE_FDS: u64 = 256;
/// Threads opening connections at once.
const OPENERS: usize = 8;

fn main() {
    if let Err(e) = run() {
        eprintln!("idle-clients: error: {e:#}");
        println!("idle clients=0 kib_per_client=n/a rss_at_rest_mib=n/a");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bin = match args.as_slice() {
        [flag, path] if flag == "--gateway" => PathBuf::from(path),
        _ => bail!("usage: idle-clients --gateway PATH"),
    };
    let wanted: u64 = match std::env::var("ARTICDBM_IDLE_CLIENTS") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .with_context(|| format!("ARTICDBM_IDLE_CLIENTS: {v:?} is not a number"))?,
        _ => 10_000,
    };
    let limit = fd_limit();
    let clients = match limit {
        Some(l) if l < wanted + SPARE_FDS => {
            let n = l.saturating_sub(SPARE_FDS);
            println!(
                "open-file limit {l} is lower than {wanted} clients need: opening {n} (raise `ulimit -n`, up to `ulimit -Hn`, for more)"
            );
            n
        }
        _ => wanted,
    };
    if clients == 0 {
        bail!("the open-file limit leaves no room for clients");
    }

    eprintln!("starting PostgreSQL");
    let pg = PgServer::start_with(PgOptions {
        max_connections: 100,
        ..PgOptions::default()
    })?;
    pg.create_user(USER, PASSWORD)?;
    pg.create_database(DB, USER)?;
    eprintln!("starting the gateway");
    let (port, admin) = (free_port()?, free_port()?);
    let mut gateway = GatewayProcess::spawn(&bin, &gateway_config(&pg, port, admin)?)?;
    gateway.wait_listening(port, Duration::from_secs(60))?;

    // One client through first, so pools, instances and caches are what a serving gateway has.
    Client::open(port).context("the first client")?.close();
    settle();
    let at_rest = gateway.rss_kib()?;
    eprintln!("RSS at rest: {at_rest} KiB; opening {clients} clients");

    let started = Instant::now();
    let per_thread = clients.div_ceil(OPENERS as u64);
    let handles: Vec<_> = (0..OPENERS as u64)
        .map(|t| {
            let n = per_thread.min(clients.saturating_sub(t * per_thread));
            std::thread::spawn(move || -> Result<Vec<Client>> {
                (0..n).map(|_| Client::open(port)).collect()
            })
        })
        .collect();
    let mut held = Vec::new();
    for h in handles {
        held.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("an opener thread panicked"))??,
        );
    }
    eprintln!(
        "{} clients connected, authenticated and answered in {:.1} s",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    settle();
    let loaded = gateway.rss_kib()?;
    for c in held.drain(..) {
        c.close();
    }
    // The gateway notices the closed sockets, drops the sessions and (every 2 s) gives back
    // what a burst left free.
    for _ in 0..3 {
        settle();
    }
    let after = gateway.rss_kib()?;
    if let Some(status) = gateway.exited()? {
        bail!("the gateway exited ({status})\n{}", gateway.log_text());
    }

    let per_client = loaded.saturating_sub(at_rest) as f64 / clients as f64;
    println!("rss_kib at_rest={at_rest} with_clients={loaded} after_clients_left={after}");
    println!(
        "idle clients={clients} kib_per_client={per_client:.1} rss_at_rest_mib={:.1}",
        at_rest as f64 / 1024.0
    );
    Ok(())
}

/// Lets the gateway finish what the last clients started before memory is read.
fn settle() {
    std::thread::sleep(Duration::from_millis(1500));
}

/// This process's soft open-file limit (`idle-clients.sh` raises it to the hard limit first).
fn fd_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0).then_some(l.rlim_cur)
}

/// A blocking client: startup, SCRAM, one query, then it holds the socket.
struct Client {
    stream: TcpStream,
}

impl Client {
    fn open(port: u16) -> Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port)).context("connect")?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = Conn {
            stream,
            buf: BytesMut::with_capacity(1024),
            decoder: BackendDecoder::new(),
        };
        let mut out = BytesMut::new();
        fe::startup_message(&mut out, [("user", USER), ("database", DB)])?;
        c.stream.write_all(&out)?;
        let mut scram = None;
        let mut scram_final = None;
        loop {
            let m = c.recv()?;
            match m.tag() {
                b'R' => {
                    out.clear();
                    match m.authentication()? {
                        Authentication::Ok => continue,
                        Authentication::Sasl(_) => {
                            let s = ScramClient::new(PASSWORD.as_bytes())
                                .map_err(|e| anyhow::anyhow!("{e}"))?;
                            fe::sasl_initial_response(&mut out, s.mechanism(), s.client_first())?;
                            scram = Some(s);
                        }
                        Authentication::SaslContinue(data) => {
                            let s = scram.take().context("SASL continue without a start")?;
                            let f = s
                                .handle_server_first(data)
                                .map_err(|e| anyhow::anyhow!("{e}"))?;
                            fe::sasl_response(&mut out, f.client_final())?;
                            scram_final = Some(f);
                        }
                        Authentication::SaslFinal(data) => {
                            let f = scram_final.take().context("SASL final without a start")?;
                            f.verify_server_final(data)
                                .map_err(|e| anyhow::anyhow!("{e}"))?;
                            continue;
                        }
                        other => bail!("the gateway asked for auth {}, not SCRAM", other.code()),
                    }
                    c.stream.write_all(&out)?;
                }
                b'E' => bail!("refused: {}", error_text(&m)),
                b'Z' => break,
                _ => {}
            }
        }
        out.clear();
        fe::query(&mut out, "SELECT 1")?;
        c.stream.write_all(&out)?;
        let mut rows = 0;
        loop {
            let m = c.recv()?;
            match m.tag() {
                b'D' => rows += 1,
                b'E' => bail!("SELECT 1 failed: {}", error_text(&m)),
                b'Z' => break,
                _ => {}
            }
        }
        if rows != 1 {
            bail!("SELECT 1 returned {rows} rows");
        }
        Ok(Client { stream: c.stream })
    }

    /// Terminate, then close.
    fn close(mut self) {
        let _ = self.stream.write_all(&[b'X', 0, 0, 0, 4]);
    }
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    decoder: BackendDecoder,
}

impl Conn {
    fn recv(&mut self) -> Result<BackendMessage> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(m) = self.decoder.decode(&mut self.buf)? {
                return Ok(m);
            }
            let n = self.stream.read(&mut chunk).context("read")?;
            if n == 0 {
                bail!("the gateway closed the connection");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn error_text(m: &BackendMessage) -> String {
    m.error_fields()
        .ok()
        .and_then(|f| f.message().map(|s| s.into_owned()))
        .unwrap_or_default()
}

/// The gateway's config: the default pack, transaction pooling, pool 8, SCRAM user.
fn gateway_config(pg: &PgServer, port: u16, admin: u16) -> Result<String> {
    GatewayProcess::config(
        &format!("listen = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\""),
        (USER, PASSWORD),
        &format!(
            "[[database]]\nname = \"{DB}\"\nserver_user = \"{su}\"\nserver_password = {supw:?}\n\
             server_database = \"{DB}\"\ntls = \"disable\"\n\
             pool = {{ mode = \"transaction\", size = 8 }}\n\n\
             [[database.backend]]\nhost = \"127.0.0.1\"\nport = {pgport}\n",
            su = pg.superuser(),
            supw = pg.password(),
            pgport = pg.port(),
        ),
    )
}
