//! Certificates made at test time by the `openssl` CLI (on Debian it comes with the
//! postgresql packages: postgresql-common → ssl-cert → openssl): self-signed CAs, and server
//! and client certificates signed by them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

/// A directory of CAs and the certificates they signed.
pub struct Pki {
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let bin = crate::tools::find("openssl", &[])
        .context("the openssl CLI (Debian package openssl, installed with postgresql)")?;
    crate::process::run(
        Command::new(bin).current_dir(dir).args(args),
        Duration::from_secs(60),
    )
    .with_context(|| format!("openssl {args:?}"))?;
    Ok(())
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Client,
}

impl Pki {
    /// A self-signed CA `name` in `dir` (`<name>.crt`, `<name>.key`).
    pub fn new(dir: &Path, name: &str) -> Result<Pki> {
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        pki.add_ca(name)?;
        Ok(pki)
    }

    /// Another self-signed CA in the same directory.
    pub fn add_ca(&self, name: &str) -> Result<PathBuf> {
        openssl(
            &self.dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=ArticDBM test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        let cert = self.ca_cert(name);
        anyhow::ensure!(cert.is_file(), "openssl made no {}", cert.display());
        Ok(cert)
    }

    pub fn ca_cert(&self, ca: &str) -> PathBuf {
        self.dir.join(format!("{ca}.crt"))
    }

    /// A server certificate `<name>.crt` / `<name>.key` signed by `ca`, valid for `san`
    /// (`DNS:localhost,IP:127.0.0.1`).
    pub fn issue(&self, ca: &str, name: &str, san: &str) -> Result<(PathBuf, PathBuf)> {
        self.issue_for(ca, name, "localhost", san, Usage::Server)
    }

    /// A certificate `<name>.crt` / `<name>.key` signed by `ca` with common name `cn`, for
    /// `usage`; `san` may be empty for client certificates.
    pub fn issue_for(
        &self,
        ca: &str,
        name: &str,
        cn: &str,
        san: &str,
        usage: Usage,
    ) -> Result<(PathBuf, PathBuf)> {
        let ext = self.dir.join(format!("{name}.ext"));
        let mut text = String::new();
        if !san.is_empty() {
            text.push_str(&format!("subjectAltName={san}\n"));
        }
        text.push_str("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
        text.push_str(match usage {
            Usage::Server => "extendedKeyUsage=serverAuth\n",
            Usage::Client => "extendedKeyUsage=clientAuth\n",
        });
        std::fs::write(&ext, text)?;
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        )?;
        // A random serial: two certificates of one CA must not share one.
        let serial = format!("0x{:016x}", rand_u64());
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-set_serial",
                &serial,
                "-days",
                "2",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        )?;
        Ok((
            self.dir.join(format!("{name}.crt")),
            self.dir.join(format!("{name}.key")),
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() >> 1
}
