//! The server's TLS certificate: the operator's files (`[tls] cert`/`key`), or a
//! self-signed certificate made in `data_dir/tls/` on first start so that a LAN
//! install has TLS out of the box. [`Tls::reload`] (SIGHUP) reads the files again and
//! swaps the certificate for new handshakes; nobody connected is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hearth_net::tls::{self, CertStore};

use crate::config::FileConfig;

/// The certificate in use and where it comes from.
#[derive(Debug)]
pub struct Tls {
    pub certs: Arc<CertStore>,
    cert: PathBuf,
    key: PathBuf,
    /// Made by Hearth (not the operator's files).
    pub self_signed: bool,
}

/// The self-signed certificate's files inside the data directory.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

impl Tls {
    /// Loads the configured certificate, or the self-signed one (made now if missing).
    pub fn setup(cfg: &FileConfig) -> anyhow::Result<Tls> {
        let (cert, key, self_signed) = match (&cfg.tls.cert, &cfg.tls.key) {
            (Some(c), Some(k)) => (c.clone(), k.clone(), false),
            _ => {
                let (c, k) = self_signed_paths(&cfg.data_dir);
                if !c.exists() || !k.exists() {
                    generate(cfg, &c, &k)?;
                }
                (c, k, true)
            }
        };
        let ck = tls::load_pem(&cert, &key).context("cannot load the TLS certificate (see docs/tls.md)")?;
        let tls = Tls { certs: CertStore::new(ck), cert, key, self_signed };
        tracing::info!(
            cert = %tls.cert.display(),
            fingerprint = %tls.fingerprint(),
            "TLS certificate loaded{}",
            if self_signed { " (self-signed)" } else { "" }
        );
        Ok(tls)
    }

    /// Reads the certificate files again and uses them for new connections. On error
    /// the certificate in use stays.
    pub fn reload(&self) -> anyhow::Result<String> {
        let ck = tls::load_pem(&self.cert, &self.key).context("cannot reload the TLS certificate")?;
        self.certs.set(ck);
        Ok(self.fingerprint())
    }

    /// SHA-256 of the certificate in use, lowercase hex.
    pub fn fingerprint(&self) -> String {
        self.certs.fingerprint()
    }
}

/// Makes a self-signed certificate for the server's names (`localhost`, the server
/// name, loopback and the listen addresses) and writes it with its key (mode 0600).
fn generate(cfg: &FileConfig, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let mut names = vec!["localhost".to_string(), cfg.server.name.clone(), "127.0.0.1".into(), "::1".into()];
    for addr in cfg.listen_addrs().into_iter().chain(cfg.tls_listen_addrs()).chain(cfg.web_listen_addrs()) {
        if !addr.ip().is_unspecified() && !names.contains(&addr.ip().to_string()) {
            names.push(addr.ip().to_string());
        }
    }
    let made = rcgen::generate_simple_self_signed(names).context("cannot make a self-signed certificate")?;
    let dir = cert_path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |path: &Path, text: &str, mode: u32| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        f.sync_all().ok();
        Ok(())
    };
    write(key_path, &made.signing_key.serialize_pem(), 0o600)?;
    write(cert_path, &made.cert.pem(), 0o644)?;
    let fp = tls::fingerprint(made.cert.der());
    tracing::warn!(
        cert = %cert_path.display(),
        fingerprint = %fp,
        "made a self-signed TLS certificate; clients must be told to trust it (compare this SHA-256 fingerprint), \
         or configure [tls] cert and key (docs/tls.md)"
    );
    eprintln!("hearth: made a self-signed TLS certificate {}; its SHA-256 fingerprint is {fp}", cert_path.display());
    Ok(())
}
