//! A TAXII 2.1 server (medallion, from PyPI, in the test venv) with one readable and writable
//! collection, on a free loopback port; and a static HTTP file server (Python's http.server)
//! for URL and MISP-feed tests. Both serve HTTPS too, with a certificate given (see
//! [`crate::pki`]). Both are killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{net, tools};

/// The collection's id.
pub const COLLECTION_ID: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
/// The collection's title.
pub const COLLECTION_TITLE: &str = "blocklist";
pub const USER: &str = "taxii-admin";
pub const PASSWORD: &str = "taxii-password-0";
const MEDIA: &str = "application/taxii+json;version=2.1";

pub struct TaxiiServer {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    scheme: &'static str,
}

/// medallion's own `main`, with Flask serving HTTPS: argv is PORT CONFIG CERT KEY.
const MEDALLION_TLS: &str = r#"
import json, sys
from medallion import application_instance, register_blueprints, set_config
with open(sys.argv[2]) as f:
    conf = json.load(f)
for prop in ("users", "taxii", "backend"):
    set_config(application_instance, prop, conf)
register_blueprints(application_instance)
application_instance.run(host="127.0.0.1", port=int(sys.argv[1]), ssl_context=(sys.argv[3], sys.argv[4]))
"#;

impl TaxiiServer {
    pub fn start() -> Result<TaxiiServer> {
        Self::start_with(None)
    }

    /// The server over HTTPS with this certificate and key (valid for 127.0.0.1).
    pub fn start_tls(cert: &Path, key: &Path) -> Result<TaxiiServer> {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Result<TaxiiServer> {
        let python = tools::python_venv()?;
        let medallion = python.with_file_name("medallion");
        let dir = tempfile::Builder::new()
            .prefix("articdbm-taxii-")
            .tempdir()?;
        let port = net::free_port()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let root = format!("{scheme}://127.0.0.1:{port}/api1/");
        let data = json!({
            "/discovery": {"title": "ArticDBM test TAXII server", "description": "medallion",
                           "default": root, "api_roots": [root]},
            "api1": {
                "information": {"title": "api1", "description": "test root",
                                "versions": [MEDIA], "max_content_length": 104_857_600},
                "status": [],
                "collections": [{
                    "id": COLLECTION_ID, "title": COLLECTION_TITLE, "description": "indicators",
                    "can_read": true, "can_write": true,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [], "manifest": [],
                }],
            },
        });
        std::fs::write(dir.path().join("data.json"), data.to_string())?;
        let conf = json!({
            "backend": {"module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend",
                        "filename": dir.path().join("data.json")},
            "users": {USER: PASSWORD},
            "taxii": {"max_page_size": 100},
        });
        std::fs::write(dir.path().join("conf.json"), conf.to_string())?;
        let log = std::fs::File::create(dir.path().join("medallion.log"))?;
        let mut cmd = match tls {
            None => {
                let mut c = Command::new(&medallion);
                c.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .arg(dir.path().join("conf.json"));
                c
            }
            Some((cert, key)) => {
                let mut c = Command::new(&python);
                c.args(["-c", MEDALLION_TLS, &port.to_string()])
                    .arg(dir.path().join("conf.json"))
                    .arg(cert)
                    .arg(key);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", medallion.display()))?;
        let s = TaxiiServer {
            child,
            dir,
            port,
            scheme,
        };
        net::wait_for_port(net::loopback(port), Duration::from_secs(30))
            .with_context(|| s.log())?;
        Ok(s)
    }

    /// The discovery URL.
    pub fn discovery(&self) -> String {
        format!("{}://127.0.0.1:{}/taxii2/", self.scheme, self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("medallion.log")).unwrap_or_default()
    }

    /// Adds STIX objects to the collection, as a TAXII client would (one HTTP/1.1 request
    /// over a plain socket, or through `openssl s_client` over TLS: the harness needs no HTTP
    /// client of its own).
    pub fn add(&self, objects: &[Value]) -> Result<()> {
        let body = json!({ "objects": objects }).to_string();
        let path = format!("/api1/collections/{COLLECTION_ID}/objects/");
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{USER}:{PASSWORD}"),
        );
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: {MEDIA}\r\nContent-Type: {MEDIA}\r\n\
             Authorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let response = if self.scheme == "https" {
            https_exchange(self.port, request.as_bytes())?
        } else {
            http_exchange(self.port, request.as_bytes())?
        };
        let status_line = response.lines().next().unwrap_or_default().to_string();
        if !status_line.contains(" 202 ") {
            anyhow::bail!("TAXII add: {status_line}\n{response}\n{}", self.log());
        }
        Ok(())
    }
}

impl Drop for TaxiiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A static file server over a directory: `http://127.0.0.1:PORT/<file>` (or `https://`).
pub struct FileServer {
    child: Child,
    pub port: u16,
    scheme: &'static str,
}

/// Python's http.server over TLS: argv is PORT DIRECTORY CERT KEY. A client that aborts the
/// handshake (it does not trust the certificate) costs that connection only.
const FILE_SERVER_TLS: &str = r#"
import functools, http.server, ssl, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

impl FileServer {
    pub fn start(dir: &Path) -> Result<FileServer> {
        let python = tools::python_venv()?;
        let port = net::free_port()?;
        let child = Command::new(&python)
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .arg("--directory")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting python -m http.server")?;
        let s = FileServer {
            child,
            port,
            scheme: "http",
        };
        net::wait_for_port(net::loopback(port), Duration::from_secs(30))?;
        Ok(s)
    }

    /// The same over HTTPS with this certificate and key (valid for 127.0.0.1).
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> Result<FileServer> {
        let python = tools::python_venv()?;
        let port = net::free_port()?;
        let child = Command::new(&python)
            .args(["-c", FILE_SERVER_TLS, &port.to_string()])
            .arg(dir)
            .arg(cert)
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting python http.server over TLS")?;
        let s = FileServer {
            child,
            port,
            scheme: "https",
        };
        net::wait_for_port(net::loopback(port), Duration::from_secs(30))?;
        Ok(s)
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://127.0.0.1:{}/{}",
            self.scheme,
            self.port,
            path.trim_start_matches('/')
        )
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_exchange(port: u16, request: &[u8]) -> Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(net::loopback(port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One request over TLS through `openssl s_client` (the test server's own certificate is not
/// checked: this is the harness talking to the server it started).
fn https_exchange(port: u16, request: &[u8]) -> Result<String> {
    use std::io::{Read, Write};
    let bin = tools::find("openssl", &[]).context("the openssl CLI")?;
    let mut child = Command::new(bin)
        .args(["s_client", "-quiet", "-ign_eof", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting openssl s_client")?;
    let mut stdin = child.stdin.take().context("s_client stdin")?;
    stdin.write_all(request)?;
    drop(stdin);
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .context("s_client stdout")?
        .read_to_end(&mut out)?;
    child.wait()?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
