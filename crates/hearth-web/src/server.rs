//! The HTTP accept loop: one hyper HTTP/1.1 connection per client (with upgrades, for
//! WebSocket), over TLS when an acceptor is given. Connections close gracefully when
//! the server shuts down; WebSocket sessions end with the core's shutdown like any
//! other IRC connection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use hearth_net::listener::stopped;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::Web;
use crate::ws::Peer;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves HTTP (or HTTPS) on `listener` until the server starts shutting down.
pub async fn run(listener: TcpListener, acceptor: Option<TlsAcceptor>, web: Arc<Web>) {
    let router = crate::routes::router(web.clone());
    let mut stop = web.net.stopping();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("web: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let stop = web.net.stopping();
        web.net.tracker.spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                router.clone().oneshot(req)
            });
            match acceptor {
                None => connection(TokioIo::new(stream), svc, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(hearth_net::listener::HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => connection(TokioIo::new(tls), svc, stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "web: TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "web: TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn connection<I, S>(io: TokioIo<I>, svc: S, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("web: connection ended: {e}");
            }
        }
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}
