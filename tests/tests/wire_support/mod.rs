//! A raw PostgreSQL protocol client for tests that send exactly the messages they want
//! (names the client never created, fast-path calls, batches split anywhere) to PostgreSQL or
//! the gateway, and read the answers message by message.

#![allow(dead_code)]

use std::time::Duration;

use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendDecoder, BackendMessage};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long one exchange may take.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    decoder: BackendDecoder,
}

impl RawClient {
    /// Startup and authentication (SCRAM-SHA-256, MD5 or clear text, whichever is asked), up
    /// to the first ReadyForQuery. `Err`: the refusal or failure, as text.
    pub async fn connect(
        port: u16,
        user: &str,
        password: &str,
        database: &str,
    ) -> Result<RawClient, String> {
        use articdbm_pgwire::auth::md5::md5_password;
        use articdbm_pgwire::auth::scram::ScramClient;
        use articdbm_pgwire::backend::Authentication;

        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        let stream = tokio::time::timeout_at(deadline, TcpStream::connect(("127.0.0.1", port)))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut c = RawClient {
            stream,
            buf: BytesMut::new(),
            decoder: BackendDecoder::new(),
        };
        let mut out = BytesMut::new();
        fe::startup_message(&mut out, [("user", user), ("database", database)])
            .map_err(|e| e.to_string())?;
        c.send_by(&out, deadline).await?;
        let mut scram = None;
        let mut scram_final = None;
        loop {
            let m = c.recv_by(deadline).await?;
            match m.tag() {
                b'R' => {
                    out.clear();
                    match m.authentication().map_err(|e| e.to_string())? {
                        Authentication::Ok => continue,
                        Authentication::CleartextPassword => {
                            fe::password_message(&mut out, password.as_bytes())
                                .map_err(|e| e.to_string())?;
                        }
                        Authentication::Md5Password { salt } => {
                            let h = md5_password(user.as_bytes(), password.as_bytes(), salt);
                            fe::password_message(&mut out, h.as_bytes())
                                .map_err(|e| e.to_string())?;
                        }
                        Authentication::Sasl(_) => {
                            let s =
                                ScramClient::new(password.as_bytes()).map_err(|e| e.to_string())?;
                            fe::sasl_initial_response(&mut out, s.mechanism(), s.client_first())
                                .map_err(|e| e.to_string())?;
                            scram = Some(s);
                        }
                        Authentication::SaslContinue(data) => {
                            let s = scram.take().ok_or("unexpected SASL continue")?;
                            let f = s.handle_server_first(data).map_err(|e| e.to_string())?;
                            fe::sasl_response(&mut out, f.client_final())
                                .map_err(|e| e.to_string())?;
                            scram_final = Some(f);
                        }
                        Authentication::SaslFinal(data) => {
                            let f = scram_final.take().ok_or("unexpected SASL final")?;
                            f.verify_server_final(data).map_err(|e| e.to_string())?;
                            continue;
                        }
                        other => return Err(format!("unsupported auth {}", other.code())),
                    }
                    c.send_by(&out, deadline).await?;
                }
                b'Z' => return Ok(c),
                b'E' => {
                    let text = m
                        .error_fields()
                        .ok()
                        .and_then(|f| f.message().map(|s| s.into_owned()))
                        .unwrap_or_default();
                    return Err(format!("startup refused: {text}"));
                }
                _ => {}
            }
        }
    }

    pub async fn send_by(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), String> {
        tokio::time::timeout_at(deadline, self.stream.write_all(bytes))
            .await
            .map_err(|_| "write timed out".to_string())?
            .map_err(|e| format!("write: {e}"))
    }

    pub async fn recv_by(&mut self, deadline: Instant) -> Result<BackendMessage, String> {
        loop {
            if let Some(m) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| format!("undecodable backend message: {e}"))?
            {
                return Ok(m);
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf))
                .await
                .map_err(|_| "no complete answer in time".to_string())?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
        }
    }

    /// Sends `bytes` and reads answers up to the `readies`-th ReadyForQuery (or the
    /// connection's end, after a FATAL error).
    pub async fn exchange(&mut self, bytes: &[u8], readies: usize) -> Vec<BackendMessage> {
        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        self.send_by(bytes, deadline).await.expect("request sent");
        let mut out = Vec::new();
        let mut seen = 0;
        while seen < readies {
            match self.recv_by(deadline).await {
                Ok(m) => {
                    if m.tag() == b'Z' {
                        seen += 1;
                    }
                    out.push(m);
                }
                Err(e) if e == "connection closed" => break,
                Err(e) => panic!("{e} (so far: {:?})", summary(&out)),
            }
        }
        out
    }

    pub async fn terminate(mut self) {
        let mut out = BytesMut::new();
        fe::terminate(&mut out);
        let _ = self
            .send_by(&out, Instant::now() + Duration::from_secs(1))
            .await;
    }
}

/// Messages as short strings: the tag, then the SQLSTATE of errors, the command tag of
/// CommandComplete, the values of DataRow, the status of ReadyForQuery.
pub fn summary(ms: &[BackendMessage]) -> Vec<String> {
    ms.iter()
        .filter(|m| !matches!(m.tag(), b'S' | b'N'))
        .map(|m| {
            let tag = m.tag() as char;
            match m.tag() {
                b'E' => format!(
                    "E {}",
                    m.error_fields()
                        .ok()
                        .and_then(|f| f.code().map(|c| c.into_owned()))
                        .unwrap_or_default()
                ),
                b'C' => format!("C {}", m.command_complete().unwrap_or_default()),
                b'D' => format!(
                    "D {}",
                    m.data_row()
                        .map(|r| r
                            .iter()
                            .map(|v| v
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                                .unwrap_or_else(|| "NULL".into()))
                            .collect::<Vec<_>>()
                            .join(","))
                        .unwrap_or_default()
                ),
                b'Z' => format!("Z {}", m.body().first().map(|b| *b as char).unwrap_or('?')),
                _ => tag.to_string(),
            }
        })
        .collect()
}

/// The message text of the first ErrorResponse.
pub fn error_message(ms: &[BackendMessage]) -> Option<String> {
    ms.iter().find(|m| m.tag() == b'E').and_then(|m| {
        m.error_fields()
            .ok()
            .and_then(|f| f.message().map(|s| s.into_owned()))
    })
}
