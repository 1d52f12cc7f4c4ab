//! Byte streams to clients and servers (TCP, TLS over TCP, or an in-process duplex for the
//! embedded SQLite backend), and the rustls configurations of both sides.

use std::io::BufReader;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;

/// A connection to a client or a server: plain TCP, TLS over TCP (either side), or the
/// in-process duplex of the embedded SQLite backend.
///
/// An enum rather than a boxed trait object, and never split into halves: a session polls
/// reads and writes of one stream from one task, so the plain-TCP case (the common one) costs
/// a match and no lock per operation.
pub enum PgStream {
    Tcp(TcpStream),
    /// A server reached through its Unix-domain socket.
    Unix(UnixConn),
    /// A client that negotiated TLS with the gateway.
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// The gateway's TLS connection to a server.
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Duplex(DuplexStream),
}

impl PgStream {
    pub fn is_tls(&self) -> bool {
        matches!(self, PgStream::TlsServer(_) | PgStream::TlsClient(_))
    }
}

/// A Unix-domain stream socket registered for readability only.
///
/// A Unix socket signals "writable" each time its peer reads, so with the usual read-and-write
/// registration every statement sent to the server wakes the gateway once more for nothing
/// (edge-triggered epoll reports the new write space). Writes are tried directly instead; only
/// a write the socket cannot take (a full buffer: large COPY data) switches the registration to
/// read-and-write, for good, to wait for space.
pub struct UnixConn {
    fd: AsyncFd<std::os::unix::net::UnixStream>,
    writable: bool,
}

fn register(
    stream: std::os::unix::net::UnixStream,
    interest: Interest,
) -> std::io::Result<AsyncFd<std::os::unix::net::UnixStream>> {
    // SAFETY: a std `UnixStream` owns its descriptor, keeps it open until dropped and always
    // returns the same one from `as_raw_fd`.
    unsafe { AsyncFd::register_with_interest(stream, interest) }.map_err(|e| e.into_parts().1)
}

impl UnixConn {
    pub async fn connect(path: &str) -> std::io::Result<UnixConn> {
        let stream = tokio::net::UnixStream::connect(path).await?.into_std()?;
        Ok(UnixConn {
            fd: register(stream, Interest::READABLE)?,
            writable: false,
        })
    }

    fn watch_writable(&mut self) -> std::io::Result<()> {
        // Re-registering needs the socket out of the reactor: swap in a placeholder pair.
        let (a, _b) = std::os::unix::net::UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let placeholder = register(a, Interest::READABLE)?;
        let stream = std::mem::replace(&mut self.fd, placeholder).into_inner();
        self.fd = register(stream, Interest::READABLE | Interest::WRITABLE)?;
        self.writable = true;
        Ok(())
    }
}

impl AsyncRead for UnixConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        use std::os::fd::AsRawFd;
        let this = self.get_mut();
        loop {
            let mut guard = match this.fd.poll_read_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending => return Poll::Pending,
            };
            // SAFETY (both blocks): recv writes at most `unfilled.len()` bytes into the
            // unfilled part of `buf` and returns how many; exactly those are then marked
            // initialized and filled.
            let unfilled = unsafe { buf.unfilled_mut() };
            match guard.try_io(|s| {
                let fd = s.get_ref().as_raw_fd();
                let n = unsafe { libc::recv(fd, unfilled.as_mut_ptr().cast(), unfilled.len(), 0) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }) {
                Ok(Ok(n)) => {
                    // A read shorter than the room offered drained the socket: forget the
                    // readiness now (as tokio's own sockets do) rather than learn it from one
                    // more recv answering EAGAIN, which was one system call per statement.
                    // Data arriving meanwhile raises a newer readiness that this cannot clear.
                    if n > 0 && n < unfilled.len() {
                        guard.clear_ready();
                    }
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for UnixConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        use std::io::Write;
        let this = self.get_mut();
        loop {
            if !this.writable {
                match this.fd.get_ref().write(data) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        this.watch_writable()?;
                    }
                    r => return Poll::Ready(r),
                }
            }
            let mut guard = match this.fd.poll_write_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending => return Poll::Pending,
            };
            match guard.try_io(|s| s.get_ref().write(data)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.fd.get_ref().shutdown(std::net::Shutdown::Write))
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            PgStream::Tcp($s) => $e,
            PgStream::Unix($s) => $e,
            PgStream::TlsServer($s) => $e,
            PgStream::TlsClient($s) => $e,
            PgStream::Duplex($s) => $e,
        }
    };
}

impl PgStream {
    /// Ready when a read would find bytes (or the end) without blocking, so a session can wait
    /// for its client with no read buffer allocated. Only plain TCP is watched this way; any
    /// other stream (TLS keeps decrypted bytes of its own) says ready at once and is read into
    /// a buffer as before.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self {
            PgStream::Tcp(s) => s.poll_read_ready(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for PgStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for PgStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS configuration offered to clients, from PEM files.
pub fn server_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("server.tls.cert {}: {e}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server.tls.cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "server.tls.cert {}: no certificate in the file",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("server.tls.key {}: {e}", key.display()))?;
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("server.tls: {e}"))?;
    Ok(Arc::new(cfg))
}

/// TLS to a backend: `ca` given → verify the chain and the host name against it; none →
/// encrypt without verification (`tls = "require"` / `"prefer"`, as libpq's sslmode=require).
/// The TLS configuration of a database's server connections for `tls` (`None`: disabled);
/// the CA file is used only by `verify-full`.
pub fn backend_tls(
    tls: crate::config::TlsMode,
    ca: Option<&Path>,
) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    use crate::config::TlsMode;
    match tls {
        TlsMode::Disable => Ok(None),
        TlsMode::VerifyFull => client_tls(ca).map(Some),
        TlsMode::Prefer | TlsMode::Require => client_tls(None).map(Some),
    }
}

pub fn client_tls(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let cfg = match ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let file = std::fs::File::open(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            for c in CertificateDer::pem_reader_iter(BufReader::new(file)) {
                let c = c.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified {
                provider: provider(),
                pin: None,
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// A SHA-256 certificate fingerprint from hex (64 digits, colons and spaces ignored).
pub fn parse_pin(text: &str) -> Result<[u8; 32], String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bytes = hex::decode(&digits)
        .map_err(|_| format!("'{text}' is not a hexadecimal SHA-256 fingerprint"))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "'{text}' has {} bytes; a SHA-256 fingerprint has 32",
            b.len()
        )
    })
}

/// TLS to the manager: its certificate checked against `ca` (chain and host name) or against
/// `pin` (the SHA-256 of the certificate itself, whatever signed it); `identity` is this
/// gateway's client certificate and key files (PEM).
pub fn manager_tls(
    ca: Option<&Path>,
    pin: Option<[u8; 32]>,
    identity: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match (ca, pin) {
        (_, Some(pin)) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified {
                provider: provider(),
                pin: Some(pin),
            })),
        (Some(ca), None) => {
            let mut roots = rustls::RootCertStore::empty();
            let file = std::fs::File::open(ca)
                .map_err(|e| format!("--manager-ca {}: {e}", ca.display()))?;
            for c in CertificateDer::pem_reader_iter(BufReader::new(file)) {
                let c = c.map_err(|e| format!("--manager-ca {}: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("--manager-ca {}: {e}", ca.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "--manager-ca {}: no certificate in the file",
                    ca.display()
                ));
            }
            builder.with_root_certificates(roots)
        }
        (None, None) => return Err("manager TLS needs a CA file or a pin".into()),
    };
    let mut cfg = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("--manager-client-cert {}: {e}", cert.display()))?;
            let der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("--manager-client-key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, der)
                .map_err(|e| format!("--manager-client-cert {}: {e}", cert.display()))?
        }
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))
}

/// The server's certificate not checked against any CA: with no pin, encryption without
/// authentication of the server (sslmode=require semantics); with a pin, the certificate
/// must be the pinned one. The handshake signatures are verified either way.
#[derive(Debug)]
struct Unverified {
    provider: Arc<rustls::crypto::CryptoProvider>,
    pin: Option<[u8; 32]>,
}

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        if let Some(pin) = &self.pin
            && sha2::Sha256::digest(end_entity.as_ref()).as_slice() != pin
        {
            return Err(rustls::Error::General(format!(
                "the server's certificate (SHA-256 {}) is not the pinned one ({})",
                hex::encode(sha2::Sha256::digest(end_entity.as_ref())),
                hex::encode(pin)
            )));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
