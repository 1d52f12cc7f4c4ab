//! The manager's listener: plain HTTP, or HTTPS (rustls) with a certificate reloaded when its
//! files change and, optionally, client certificates for gateways (mTLS).
//!
//! Every request carries the [`Peer`] it came from (and axum's `ConnectInfo<SocketAddr>`):
//! the address, whether the connection is TLS, and the SHA-256 of the client certificate the
//! handshake verified against `--tls-client-ca`. A verified client certificate is a gateway's
//! identity: [`crate::auth::Caller`] gives it the `gateway` role, as the cluster key would.
//!
//! One accept loop serves both: each connection is a task (the TLS handshake there, bounded by
//! [`HANDSHAKE_TIMEOUT`], so a slow client never holds the accept loop), served by hyper's
//! HTTP/1.1 connection with the axum router. On shutdown the loop stops accepting and each
//! connection finishes the request it is serving, for at most [`DRAIN`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::{Mutex, RwLock};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tower::ServiceExt;

/// Longest a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connections may finish their requests after shutdown began.
const DRAIN: Duration = Duration::from_secs(2);
/// How often the certificate and key files are looked at for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// `--tls-cert`, `--tls-key`, `--tls-client-ca`.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// PEM certificate chain, the manager's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificate(s) that sign gateway client certificates. Given, a client that
    /// presents a certificate signed by them gets the `gateway` role; clients without a
    /// certificate still connect and use API keys.
    pub client_ca: Option<PathBuf>,
}

/// Where a request came from.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The connection is TLS.
    pub tls: bool,
    /// SHA-256 (hex) of the client certificate the handshake verified, if any.
    pub client_cert: Option<String>,
}

impl Peer {
    /// Whether secrets (backend passwords) may travel on this connection: over TLS, or
    /// within this host (loopback).
    pub fn confidential(&self) -> bool {
        self.tls || self.addr.ip().to_canonical().is_loopback()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate and key from their PEM files, checked to belong together.
fn load(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "--tls-cert {}: no certificate in the file (expected PEM `-----BEGIN CERTIFICATE-----`)",
            cert.display()
        );
    }
    let der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("--tls-key {}: {e}", key.display()))?;
    let signing = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| anyhow::anyhow!("--tls-key {}: {e}", key.display()))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match().map_err(|e| {
        anyhow::anyhow!(
            "--tls-key {} does not belong to the certificate {}: {e}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(ck)
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The certificate in force, swapped when its files change.
#[derive(Debug)]
struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert: PathBuf,
    key: PathBuf,
    /// The files' modification times when last loaded (or tried).
    stamp: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read()))
    }
}

impl ReloadingCert {
    /// Loads the files again if either changed. A pair that does not load (a half-written
    /// renewal) keeps the old certificate, says why, and is tried again at the next change.
    fn refresh(&self) -> bool {
        let now = (modified(&self.cert), modified(&self.key));
        {
            let mut stamp = self.stamp.lock();
            if *stamp == now {
                return false;
            }
            *stamp = now;
        }
        match load(&self.cert, &self.key) {
            Ok(ck) => {
                *self.current.write() = Arc::new(ck);
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::error!("TLS certificate not reloaded, the previous one stays: {e:#}");
                false
            }
        }
    }
}

/// The TLS side of the listener.
pub struct Tls {
    config: Arc<rustls::ServerConfig>,
    cert: Arc<ReloadingCert>,
}

impl Tls {
    pub fn new(opts: &TlsOptions) -> anyhow::Result<Tls> {
        let ck = load(&opts.cert, &opts.key)?;
        let cert = Arc::new(ReloadingCert {
            current: RwLock::new(Arc::new(ck)),
            cert: opts.cert.clone(),
            key: opts.key.clone(),
            stamp: Mutex::new((modified(&opts.cert), modified(&opts.key))),
        });
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = match &opts.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(ca)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| anyhow::anyhow!("--tls-client-ca {}: {e}", ca.display()))?;
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| anyhow::anyhow!("--tls-client-ca {}: {e}", ca.display()))?;
                }
                if roots.is_empty() {
                    anyhow::bail!(
                        "--tls-client-ca {}: no certificate in the file",
                        ca.display()
                    );
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .allow_unauthenticated()
                        .build()
                        .map_err(|e| anyhow::anyhow!("--tls-client-ca {}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::clone(&cert) as Arc<_>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(config),
            cert,
        })
    }

    /// Looks at the certificate files every [`RELOAD_EVERY`] until `stop`.
    pub fn spawn_reload(&self, mut stop: watch::Receiver<bool>) {
        let cert = Arc::clone(&self.cert);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let c = Arc::clone(&cert);
                        // Reading files: off the runtime's threads.
                        let _ = tokio::task::spawn_blocking(move || c.refresh()).await;
                    }
                    _ = stopped(&mut stop) => break,
                }
            }
        });
    }
}

/// Serves `router` on `listener` until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    tls: Option<Arc<Tls>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, addr)) => {
                    let (router, tls, stop) = (router.clone(), tls.clone(), stop.clone());
                    conns.spawn(connection(tcp, addr, router, tls, stop));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("accepting an HTTP connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN + Duration::from_millis(500), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
}

async fn connection(
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    router: axum::Router,
    tls: Option<Arc<Tls>>,
    stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        let peer = Peer {
            addr,
            tls: false,
            client_cert: None,
        };
        return serve_io(TokioIo::new(tcp), peer, router, stop).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.config));
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%addr, "TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%addr, "TLS handshake timed out");
            return;
        }
    };
    let client_cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| hex::encode(Sha256::digest(c.as_ref())));
    let peer = Peer {
        addr,
        tls: true,
        client_cert,
    };
    serve_io(TokioIo::new(stream), peer, router, stop).await
}

async fn serve_io<I>(io: I, peer: Peer, router: axum::Router, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let addr = peer.addr;
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer.addr));
        req.extensions_mut().insert(peer.clone());
        let (router, tls) = (router.clone(), peer.tls);
        async move {
            let mut response = router.oneshot(req).await?;
            if tls {
                // Browsers that reached the manager over HTTPS keep to it.
                response.headers_mut().insert(
                    axum::http::header::STRICT_TRANSPORT_SECURITY,
                    axum::http::HeaderValue::from_static("max-age=31536000"),
                );
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%addr, "HTTP connection: {e}");
            }
        }
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, conn).await;
        }
    }
}

/// `articdbm-manager healthcheck` for an `https://` URL: a GET that must answer 200, the
/// manager's certificate checked against `ca` (PEM) or, without it, the platform's roots.
pub async fn probe_https(
    url: &str,
    token: Option<&str>,
    ca: Option<&Path>,
    timeout: Duration,
) -> Result<(), String> {
    let mut b = reqwest::Client::builder().timeout(timeout);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| format!("--ca {}: {e}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--ca {}: {e}", ca.display()))?;
        if certs.is_empty() {
            return Err(format!("--ca {}: no certificate in the file", ca.display()));
        }
        b = b.tls_built_in_root_certs(false);
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    let client = b.build().map_err(|e| format!("HTTP client: {e}"))?;
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {}", articdbm_config::error_chain(&e)))?;
    let status = resp.status();
    if status == reqwest::StatusCode::OK {
        return Ok(());
    }
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Err(format!("{url} answered {status}: {body}"))
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
