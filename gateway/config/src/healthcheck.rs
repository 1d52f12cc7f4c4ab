//! The `healthcheck` subcommands of both binaries: one plain HTTP/1.0 `GET` of a health
//! endpoint over a std `TcpStream`, so a container image needs no curl and the probe no async
//! runtime. Only `http://`: a probe runs inside the container or pod, against the plain admin
//! (gateway) or API (manager) address.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The most of an answer read: a health body is a few hundred bytes.
const MAX_RESPONSE: usize = 64 * 1024;

/// Why a health check failed, written for the operator reading a container's health log.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("{0}")]
    Url(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("no answer from {addr} within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("talking to {addr}: {source}")]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr} did not answer with HTTP: {first_line:?}")]
    NotHttp { addr: String, first_line: String },
    #[error("{url} answered {status}: {body}")]
    Unhealthy {
        url: String,
        status: String,
        body: String,
    },
}

/// A probe's target: `http://HOST[:PORT][/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthUrl {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl HealthUrl {
    pub fn parse(url: &str) -> Result<HealthUrl, HealthcheckError> {
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err(HealthcheckError::Url(format!(
                    "{url}: https is not supported; probe the plain admin or API address from \
                     inside the container or pod"
                )));
            }
            _ => {
                return Err(HealthcheckError::Url(format!(
                    "{url}: expected http://HOST:PORT/PATH"
                )));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let bad = || HealthcheckError::Url(format!("{url}: expected http://HOST:PORT/PATH"));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        // `[::1]:9187`, `[::1]`, `host:9187`, `host`.
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() || path.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(HealthUrl {
            host,
            port,
            path: path.to_string(),
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `GET url` with `Authorization: Bearer token` when given, all within `timeout`. `Ok` with
/// the body when the answer is 200; any other status, or no answer, is an error.
pub fn check(
    url: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<String, HealthcheckError> {
    let target = HealthUrl::parse(url)?;
    let authority = target.authority();
    let deadline = Instant::now() + timeout;
    let left = |addr: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| HealthcheckError::Timeout {
                addr: addr.to_string(),
                timeout,
            })
    };
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|source| HealthcheckError::Resolve {
            host: target.host.clone(),
            source,
        })?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, left(&authority)?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some((addr.to_string(), e)),
        }
    }
    let mut stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some((addr, source))) => return Err(HealthcheckError::Connect { addr, source }),
        (None, None) => {
            return Err(HealthcheckError::Resolve {
                host: target.host.clone(),
                source: std::io::Error::other("no addresses"),
            });
        }
    };
    let io = |source: std::io::Error| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            HealthcheckError::Timeout {
                addr: authority.clone(),
                timeout,
            }
        } else {
            HealthcheckError::Io {
                addr: authority.clone(),
                source,
            }
        }
    };
    let mut request = format!(
        "GET {} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: articdbm-healthcheck\r\n",
        target.path
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .set_write_timeout(Some(left(&authority)?))
        .map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    // HTTP/1.0: the server closes the connection after the answer.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while raw.len() < MAX_RESPONSE {
        stream
            .set_read_timeout(Some(left(&authority)?))
            .map_err(io)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let first_line = head.lines().next().unwrap_or("").to_string();
    let mut parts = first_line.splitn(3, ' ');
    let status = match (parts.next(), parts.next()) {
        (Some(v), Some(code))
            if v.starts_with("HTTP/")
                && code.len() == 3
                && code.bytes().all(|b| b.is_ascii_digit()) =>
        {
            code
        }
        _ => {
            return Err(HealthcheckError::NotHttp {
                addr: authority,
                first_line,
            });
        }
    };
    let body = body.trim().to_string();
    if status == "200" {
        return Ok(body);
    }
    let reason = parts.next().unwrap_or("").trim();
    let mut excerpt: String = body.chars().take(300).collect();
    if excerpt.len() < body.len() {
        excerpt.push('…');
    }
    Err(HealthcheckError::Unhealthy {
        url: url.to_string(),
        status: format!("{status} {reason}").trim().to_string(),
        body: excerpt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = HealthUrl::parse("http://127.0.0.1:9187/healthz").unwrap();
        assert_eq!(
            u,
            HealthUrl {
                host: "127.0.0.1".into(),
                port: 9187,
                path: "/healthz".into()
            }
        );
        let u = HealthUrl::parse("http://[::1]:9180/healthz").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9180));
        assert_eq!(u.authority(), "[::1]:9180");
        let u = HealthUrl::parse("http://manager").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        for bad in [
            "127.0.0.1:9187/healthz",
            "ftp://x/",
            "http://",
            "http://:80/",
            "http://h:port/",
            "http://u@h:1/",
            "http://[::1/",
            "http://h:1/a b",
        ] {
            assert!(HealthUrl::parse(bad).is_err(), "{bad}");
        }
        let e = HealthUrl::parse("https://gw:9187/healthz").unwrap_err();
        assert!(e.to_string().contains("https is not supported"), "{e}");
    }

    /// A one-shot server answering `reply` to the first request and returning what it read.
    fn serve_once(reply: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(reply.as_bytes()).unwrap();
            String::from_utf8(got).unwrap()
        });
        (format!("http://{addr}/healthz"), t)
    }

    #[test]
    fn ok_sends_the_token_and_returns_the_body() {
        let (url, t) = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        let body = check(&url, Some("s3cret"), Duration::from_secs(5)).unwrap();
        assert_eq!(body, "{}");
        let req = t.join().unwrap();
        assert!(req.starts_with("GET /healthz HTTP/1.0\r\n"), "{req}");
        assert!(
            req.contains("\r\nAuthorization: Bearer s3cret\r\n"),
            "{req}"
        );
    }

    #[test]
    fn other_statuses_fail_with_the_body() {
        let (url, t) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n{\"ready\":false}");
        let e = check(&url, None, Duration::from_secs(5)).unwrap_err();
        assert!(
            e.to_string()
                .contains("503 Service Unavailable: {\"ready\":false}"),
            "{e}"
        );
        assert!(!t.join().unwrap().contains("Authorization"));
    }

    #[test]
    fn silence_times_out() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/healthz", l.local_addr().unwrap());
        let started = Instant::now();
        let e = check(&url, None, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, HealthcheckError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(l);
    }

    #[test]
    fn nothing_listening_is_a_connect_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = check(
            &format!("http://127.0.0.1:{port}/healthz"),
            None,
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(matches!(e, HealthcheckError::Connect { .. }), "{e}");
    }
}
