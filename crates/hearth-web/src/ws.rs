//! IRC over WebSocket (<https://ircv3.net/specs/extensions/websocket>): the upgrade
//! checks the Origin, takes a connection slot by the client's real address, picks
//! `binary.ircv3.net` or `text.ircv3.net` in the client's order of preference, and
//! hands the socket to `hearth-net` as one more connection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{SinkExt, StreamExt, future};
use hearth_core::ConnInfo;
use hearth_net::connection::serve_parts;
use hearth_net::limits::Permit;
use hearth_net::messages::{MessageLines, MessageWriter};
use hearth_net::stats::Transport;

use crate::{Web, proxy};

pub const BINARY: &str = "binary.ircv3.net";
pub const TEXT: &str = "text.ircv3.net";

/// Longest WebSocket message taken: one IRC line with its tags.
const MAX_MESSAGE: usize = 16 * 1024;

/// The peer's socket address, put into each request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

pub async fn upgrade(
    State(web): State<Arc<Web>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&web.cfg.allowed_origins, &headers) {
        tracing::info!(%peer, origin = ?headers.get(header::ORIGIN), "WebSocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "this origin may not connect (see [web] allowed_origins)\n").into_response();
    }
    let ip = proxy::client_ip(&web.cfg.trusted_proxies, peer.ip(), &headers);
    let permit = match web.net.admit(ip) {
        Ok(p) => p,
        Err(refusal) => {
            tracing::info!(%ip, "WebSocket refused: {}", refusal.message());
            return (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", refusal.message())).into_response();
        }
    };
    let tls = web.tls || proxy::forwarded_https(&web.cfg.trusted_proxies, peer.ip(), &headers);
    let chosen = choose_protocol(&headers);
    let ws = match chosen {
        Some(p) => ws.protocols([p]),
        None => ws,
    };
    let binary = chosen == Some(BINARY);
    let tracker = web.net.tracker.clone();
    ws.max_message_size(MAX_MESSAGE).max_frame_size(MAX_MESSAGE).on_upgrade(move |socket| {
        tracker.track_future(serve(socket, web, ip, ConnInfo { tls, cert_fp: None }, binary, permit))
    })
}

/// The first subprotocol in the client's order that Hearth speaks. Without one the
/// connection goes on with text messages (the spec allows either).
fn choose_protocol(headers: &HeaderMap) -> Option<&'static str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| match p.trim() {
            BINARY => Some(BINARY),
            TEXT => Some(TEXT),
            _ => None,
        })
}

/// Same origin (the `Origin` names the `Host` the request went to), an allowed
/// origin, or no `Origin` at all (not a browser, so no page can abuse the user's
/// network position).
pub fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if allowed.iter().any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && authority.eq_ignore_ascii_case(host)
}

async fn serve(socket: WebSocket, web: Arc<Web>, ip: std::net::IpAddr, info: ConnInfo, binary: bool, permit: Permit) {
    web.net.stats().accepted(Transport::WebSocket);
    let (tx, rx) = socket.split();
    let input = Box::pin(rx.filter_map(|m| {
        future::ready(match m {
            Ok(Message::Text(t)) => Some(Ok(Bytes::copy_from_slice(t.as_str().as_bytes()))),
            Ok(Message::Binary(b)) => Some(Ok(b)),
            Ok(Message::Close(_)) => Some(Err(io::Error::from(io::ErrorKind::UnexpectedEof))),
            Ok(Message::Ping(_) | Message::Pong(_)) => None,
            Err(e) => Some(Err(io::Error::other(e))),
        })
    }));
    let output = tx
        .with(move |line: Bytes| {
            // Text messages must be UTF-8: anything else is replaced, never split.
            let msg = if binary {
                Message::Binary(line)
            } else {
                Message::Text(String::from_utf8_lossy(&line).into_owned().into())
            };
            future::ready(Ok::<_, axum::Error>(msg))
        })
        .sink_map_err(io::Error::other);
    let settings = web.net.settings.clone();
    serve_parts(MessageLines(input), MessageWriter::new(output), ip, info, web.net.shared.clone(), settings, permit)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn origins() {
        let none: Vec<String> = Vec::new();
        assert!(origin_allowed(&none, &h(&[("host", "chat.example.org")])), "no Origin: not a browser");
        assert!(origin_allowed(
            &none,
            &h(&[("host", "Chat.example.org:8080"), ("origin", "http://chat.example.org:8080")])
        ));
        assert!(!origin_allowed(&none, &h(&[("host", "chat.example.org"), ("origin", "https://evil.example")])));
        let allowed = vec!["https://evil.example".to_string()];
        assert!(origin_allowed(&allowed, &h(&[("host", "chat.example.org"), ("origin", "https://evil.example")])));
    }

    #[test]
    fn protocol_follows_client_preference() {
        assert_eq!(choose_protocol(&h(&[("sec-websocket-protocol", "text.ircv3.net, binary.ircv3.net")])), Some(TEXT));
        assert_eq!(choose_protocol(&h(&[("sec-websocket-protocol", "x, binary.ircv3.net")])), Some(BINARY));
        assert_eq!(choose_protocol(&h(&[("sec-websocket-protocol", "chat")])), None);
    }
}
