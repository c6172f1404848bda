//! The HTTP side: the embedded web client with its security headers, /healthz,
//! /metrics, and IRC over WebSocket (both subprotocols, Origin, X-Forwarded-For).

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use hearth_proto::Message as Irc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::harness::*;

const WEB: &str = "[web]\nlisten = [\"127.0.0.1:0\"]\n";

/// `GET path` over a fresh connection: (status, headers in lowercase, body).
async fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut raw)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn web_addr(srv: &TestServer) -> SocketAddr {
    srv.running.as_ref().unwrap().web_addrs[0]
}

#[tokio::test]
async fn web_client_is_served_with_a_strict_csp_and_revalidation() {
    let srv = start_with(WEB).await;
    let addr = web_addr(&srv);
    assert!(srv.running.as_ref().unwrap().description.contains(&format!("web={addr}")));
    let (status, head, body) = get(addr, "/", "").await;
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("<script type=\"module\" src=\"main.js\">"), "{body}");
    assert!(head.contains("content-type: text/html"), "{head}");
    let csp = head.lines().find_map(|l| l.strip_prefix("content-security-policy: ")).expect("CSP header");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "no inline script, no other host: {csp}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    let etag = head.lines().find_map(|l| l.strip_prefix("etag: ")).expect("ETag").to_string();
    let (status, _, body) = get(addr, "/", &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!((status, body.as_str()), (304, ""));
    let (status, head, _) = get(addr, "/main.js", "").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/javascript") || head.contains("content-type: application/javascript"),
        "{head}"
    );
    let (status, head, _) = get(addr, "/no/such/file", "").await;
    assert_eq!(status, 404);
    assert!(head.contains("content-security-policy"), "headers on errors too");
    for outside in ["/../Cargo.toml", "/..%2f..%2fCargo.toml", "/%2e%2e/%2e%2e/Cargo.toml", "//etc/passwd"] {
        let (status, _, body) = get(addr, outside, "").await;
        assert!(status == 404 || status == 400, "{outside}: {status} {body}");
        assert!(!body.contains("[workspace]") && !body.contains("root:"), "{outside} escaped web/: {body}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn healthz_and_metrics_answer() {
    let srv = start_with(WEB).await;
    let addr = web_addr(&srv);
    let (status, _, body) = get(addr, "/healthz", "").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let mut c = Client::register(srv.addr, "counted").await;
    c.send("PRIVMSG counted :hello").await;
    c.sync().await;
    let (status, head, body) = get(addr, "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
    let value = |name: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{body}"))
    };
    assert_eq!(value("hearth_connections"), 1);
    assert_eq!(value("hearth_users"), 1);
    assert_eq!(value("hearth_messages_received_total"), 1);
    assert_eq!(value("hearth_connections_accepted_total{transport=\"plain\"}"), 1);
    assert_eq!(value("hearth_login_failures_total"), 0);
    value("hearth_store_lag_bytes");
    value("hearth_journal_appends_total");
    assert!(body.contains("# TYPE hearth_messages_received_total counter"), "{body}");
    srv.shutdown().await;
}

/// A WebSocket request to the IRC endpoint offering `protocols`.
fn ws_request(
    addr: SocketAddr,
    protocols: &str,
    origin: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("ws://{addr}/irc").into_client_request().unwrap();
    if !protocols.is_empty() {
        req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocols).unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", HeaderValue::from_str(o).unwrap());
    }
    req
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The next IRC message, checking the frame type and that there is no line ending.
async fn ws_recv(ws: &mut Ws, binary: bool) -> Irc {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("no message in time").expect("closed").unwrap();
        let text = match msg {
            Message::Text(t) if !binary => t.to_string(),
            Message::Binary(b) if binary => String::from_utf8(b.to_vec()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?} (binary: {binary})"),
        };
        assert!(!text.contains('\r') && !text.contains('\n'), "line ending in a message: {text:?}");
        return Irc::parse(&text).unwrap();
    }
}

async fn ws_send(ws: &mut Ws, binary: bool, line: &str) {
    let msg = if binary { Message::Binary(line.as_bytes().to_vec().into()) } else { Message::Text(line.into()) };
    ws.send(msg).await.unwrap();
}

async fn ws_expect(ws: &mut Ws, binary: bool, cmd: &str) -> Irc {
    loop {
        let m = ws_recv(ws, binary).await;
        if m.command == cmd {
            return m;
        }
    }
}

#[tokio::test]
async fn websocket_clients_chat_with_tcp_clients_over_both_subprotocols() {
    let srv = start_with(WEB).await;
    let addr = web_addr(&srv);
    let mut tcp = Client::register(srv.addr, "tcpuser").await;
    for (protocols, chosen, nick) in [
        ("text.ircv3.net", "text.ircv3.net", "texter"),
        ("binary.ircv3.net, text.ircv3.net", "binary.ircv3.net", "binaryer"),
        ("text.ircv3.net, binary.ircv3.net", "text.ircv3.net", "prefers-text"),
    ] {
        let binary = chosen.starts_with("binary");
        let (mut ws, resp) =
            tokio_tungstenite::connect_async(ws_request(addr, protocols, Some(&format!("http://{addr}"))))
                .await
                .expect("same-origin WebSocket accepted");
        assert_eq!(resp.headers().get("sec-websocket-protocol").unwrap(), chosen, "client preference first");
        ws_send(&mut ws, binary, &format!("NICK {nick}")).await;
        // A client that adds CRLF anyway still sends one line.
        ws_send(&mut ws, binary, &format!("USER {nick} 0 * :W\r\n")).await;
        ws_expect(&mut ws, binary, "001").await;
        ws_send(&mut ws, binary, &format!("PRIVMSG tcpuser :hi from {nick}")).await;
        let got = tcp.expect_cmd("PRIVMSG").await;
        assert_eq!(got.params, ["tcpuser", &format!("hi from {nick}")]);
        tcp.send(&format!("PRIVMSG {nick} :hello back")).await;
        let back = ws_expect(&mut ws, binary, "PRIVMSG").await;
        assert_eq!(back.params.last().unwrap(), "hello back");
        ws_send(&mut ws, binary, "QUIT :done").await;
        ws_expect(&mut ws, binary, "ERROR").await;
    }
    let (_, _, body) = get(addr, "/metrics", "").await;
    assert!(body.contains("hearth_connections_accepted_total{transport=\"websocket\"} 3"), "{body}");
    srv.shutdown().await;
}

#[tokio::test]
async fn websocket_from_a_foreign_origin_is_refused_unless_allowed() {
    let srv = start_with(WEB).await;
    let addr = web_addr(&srv);
    let err = tokio_tungstenite::connect_async(ws_request(addr, "text.ircv3.net", Some("https://evil.example")))
        .await
        .expect_err("foreign origin accepted");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 403),
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    srv.shutdown().await;

    let srv = start_with(&format!("{WEB}allowed_origins = [\"https://chat.example.org\"]\n")).await;
    let addr = web_addr(&srv);
    tokio_tungstenite::connect_async(ws_request(addr, "text.ircv3.net", Some("https://chat.example.org")))
        .await
        .expect("allowed origin refused");
    srv.shutdown().await;
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_is_the_clients_address_for_limits() {
    let srv = start_with(&format!("{WEB}trusted_proxies = [\"127.0.0.1\"]\n[limits]\nmax_per_ip = 1\n")).await;
    let addr = web_addr(&srv);
    let behind = |ip: &str| {
        let mut req = ws_request(addr, "text.ircv3.net", None);
        req.headers_mut().insert("X-Forwarded-For", HeaderValue::from_str(&format!("6.6.6.6, {ip}")).unwrap());
        req
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(behind("192.0.2.7")).await.unwrap();
    ws_send(&mut ws, false, "NICK proxied").await;
    ws_send(&mut ws, false, "USER proxied 0 * :P").await;
    ws_expect(&mut ws, false, "001").await;
    ws_send(&mut ws, false, "WHOIS proxied").await;
    let whois = ws_expect(&mut ws, false, "311").await;
    assert_eq!(whois.params[3], "192.0.2.7", "{whois}");
    // One connection per address: a second one from 192.0.2.7 is refused, another
    // address behind the same proxy is not.
    let err = tokio_tungstenite::connect_async(behind("192.0.2.7")).await.expect_err("over max_per_ip");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 503), "{err:?}");
    tokio_tungstenite::connect_async(behind("192.0.2.8")).await.expect("another client behind the proxy");
    srv.shutdown().await;
}
