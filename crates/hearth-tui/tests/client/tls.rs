//! `--tls --ca-file`: a real TLS handshake (rustls + ring) against a listener with a
//! self-signed certificate, then lines both ways.

use std::sync::Arc;

use hearth_tui::net::{self, Event, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

#[tokio::test]
async fn tls_with_a_ca_file_trusts_a_self_signed_server() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile_dir();
    let ca = dir.join("server.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();

    let acceptor1 = acceptor(&cert);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor1.accept(tcp).await.unwrap();
        let (rd, mut wr) = tokio::io::split(tls);
        let mut line = String::new();
        BufReader::new(rd).read_line(&mut line).await.unwrap();
        wr.write_all(b":srv NOTICE * :over TLS\r\n").await.unwrap();
        wr.flush().await.unwrap();
        line
    });

    let (tx, mut rx) = mpsc::unbounded_channel();
    let target = Target::parse(&format!("localhost:{port}"), true, Some(ca.clone()));
    let conn = net::connect(&target, tx).await.expect("TLS handshake with the given CA");
    conn.send(hearth_proto::Message::new("CAP").with_params(["LS", "302"]));
    assert_eq!(server.await.unwrap(), "CAP LS 302\r\n");
    match rx.recv().await.unwrap() {
        Event::Line(m) => assert_eq!(m.params, ["*", "over TLS"]),
        other => panic!("{other:?}"),
    }

    // Without that CA (system roots only) the same certificate is refused.
    let (tx, _rx) = mpsc::unbounded_channel();
    let listener2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let untrusted = Target::parse(&format!("localhost:{}", listener2.local_addr().unwrap().port()), true, None);
    let acceptor2 = acceptor(&cert);
    tokio::spawn(async move {
        let (tcp, _) = listener2.accept().await.unwrap();
        let _ = acceptor2.accept(tcp).await;
    });
    assert!(net::connect(&untrusted, tx).await.is_err(), "a self-signed certificate is not trusted by default");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A TLS acceptor (ring) serving `cert`.
fn acceptor(cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> tokio_rustls::TlsAcceptor {
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-tui-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
