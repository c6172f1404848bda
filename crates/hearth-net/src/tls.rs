//! TLS with rustls (ring provider): a certificate that can be swapped while the server
//! runs ([`CertStore`], for SIGHUP), acceptors for IRC and HTTPS, and client-certificate
//! fingerprints for SASL EXTERNAL.
//!
//! Client certificates are asked for (never required) on the IRC listeners and are not
//! checked against any authority: a certificate only proves that the client holds its
//! key, and what it is worth is decided by the fingerprints an account has registered
//! (`hearth user cert add`). The HTTPS listener does not ask for one, so that browsers
//! do not pop up a certificate chooser.

use std::io;
use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use tokio_rustls::TlsAcceptor;

/// The server's certificate chain and key, replaceable at any time: handshakes that
/// start after [`CertStore::set`] use the new one; connections already up keep theirs.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    pub fn new(key: CertifiedKey) -> Arc<Self> {
        Arc::new(CertStore { current: RwLock::new(Arc::new(key)) })
    }

    /// Replaces the certificate for new handshakes.
    pub fn set(&self, key: CertifiedKey) {
        *self.current.write() = Arc::new(key);
    }

    /// The SHA-256 fingerprint of the leaf certificate in use.
    pub fn fingerprint(&self) -> String {
        self.current.read().cert.first().map(|c| fingerprint(c)).unwrap_or_default()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().clone())
    }
}

/// Reads a PEM certificate chain and private key; errors name the file and what is wrong.
pub fn load_pem(cert: &Path, key: &Path) -> io::Result<CertifiedKey> {
    let bad =
        |path: &Path, what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()));
    let cert_pem = std::fs::read(cert).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cert.display())))?;
    let key_pem = std::fs::read(key).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", key.display())))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, &format!("not a PEM certificate file ({e})")))?;
    if chain.is_empty() {
        return Err(bad(cert, "holds no certificate (expected -----BEGIN CERTIFICATE-----)"));
    }
    let key_der =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad(key, &format!("holds no usable private key ({e})")))?;
    certified_key(chain, key_der).map_err(|e| bad(key, &e))
}

/// Pairs a chain with its key, checking that they belong together.
pub fn certified_key(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<CertifiedKey, String> {
    let provider = provider();
    let ck = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| format!("the key does not fit the certificate ({e})"))?;
    Ok(ck)
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The TLS settings for IRC listeners: client certificates asked for, not required.
pub fn irc_acceptor(certs: Arc<CertStore>) -> TlsAcceptor {
    let provider = Arc::new(provider());
    let verifier = Arc::new(AnyClientCert { provider: provider.clone() });
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(certs);
    TlsAcceptor::from(Arc::new(config))
}

/// The TLS settings for HTTPS: HTTP/1.1 only (WebSocket upgrades), no client certificates.
pub fn http_acceptor(certs: Arc<CertStore>) -> TlsAcceptor {
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// Lowercase hex SHA-256 of a DER certificate, no separators (as ergo and most clients
/// print it).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    hex::encode(digest)
}

/// A fingerprint as people write it (`AB:CD:…`, upper or lower case) in the stored form,
/// or `None` when it is not 32 bytes of hex.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect::<String>().to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// The fingerprint of the leaf certificate a TLS client presented, if any.
pub fn peer_fingerprint(conn: &rustls::ServerConnection) -> Option<String> {
    conn.peer_certificates().and_then(|c| c.first()).map(|c| fingerprint(c))
}

/// Accepts any client certificate whose holder proves it has the key; what the
/// certificate means is decided later, by fingerprint.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalized() {
        let fp = fingerprint(b"not really a certificate");
        assert_eq!(fp.len(), 64);
        let colons: String = fp
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(normalize_fingerprint(&colons).as_deref(), Some(fp.as_str()));
        assert_eq!(normalize_fingerprint("abcd"), None);
        assert_eq!(normalize_fingerprint(&"g".repeat(64)), None);
    }
}
