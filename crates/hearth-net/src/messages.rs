//! Message transports (WebSocket): one IRC line per message, no CR/LF, as the IRCv3
//! WebSocket specification says (<https://ircv3.net/specs/extensions/websocket>).
//!
//! [`MessageLines`] turns incoming messages into the newline-terminated bytes the
//! connection's reader frames; [`MessageWriter`] turns the CRLF-terminated lines the
//! connection's writer produces into one outgoing message each. With these, a WebSocket
//! client is served by the same [`crate::connection`] code as a TCP one — same limits,
//! flood control and SendQ — and the core cannot tell them apart.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Sink, Stream, StreamExt as _};
use tokio::io::AsyncWrite;

use crate::connection::ReadSome;

/// Incoming messages as lines. The stream ends (`None`) when the peer closes.
pub struct MessageLines<St>(pub St);

impl<St> ReadSome for MessageLines<St>
where
    St: Stream<Item = io::Result<Bytes>> + Unpin + Send,
{
    fn poll_read_some(&mut self, cx: &mut Context<'_>, pending: &mut thin_vec::ThinVec<u8>) -> Poll<io::Result<usize>> {
        Poll::Ready(match ready!(self.0.poll_next_unpin(cx)) {
            None => Ok(0),
            Some(Err(e)) => Err(e),
            Some(Ok(msg)) => {
                // A client that ends its message with CRLF anyway still sends one line.
                let mut line = &msg[..];
                while let [rest @ .., b'\r' | b'\n'] = line {
                    line = rest;
                }
                pending.reserve(line.len() + 1);
                pending.extend_from_slice(line);
                pending.push(b'\n');
                Ok(line.len() + 1)
            }
        })
    }
}

/// Outgoing lines as messages: each `…\r\n` written becomes one message without its
/// line ending. A write returns once its complete lines are handed to the sink; a flush
/// waits until the sink has sent them.
pub struct MessageWriter<Si> {
    sink: Si,
    buf: Vec<u8>,
    /// Bytes of `buf` already sent.
    start: usize,
}

impl<Si> MessageWriter<Si> {
    pub fn new(sink: Si) -> Self {
        MessageWriter { sink, buf: Vec::new(), start: 0 }
    }
}

impl<Si> MessageWriter<Si>
where
    Si: Sink<Bytes, Error = io::Error> + Unpin,
{
    /// Sends every complete line held, then flushes the sink.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(pos) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
            if let Err(e) = ready!(Pin::new(&mut self.sink).poll_ready(cx)) {
                return Poll::Ready(Err(e));
            }
            let mut line = &self.buf[self.start..self.start + pos];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            Pin::new(&mut self.sink).start_send(Bytes::copy_from_slice(line))?;
            self.start += pos + 1;
        }
        if self.start == self.buf.len() {
            // Keep no capacity while idle.
            self.buf = Vec::new();
            self.start = 0;
        }
        Pin::new(&mut self.sink).poll_flush(cx)
    }
}

impl<Si> AsyncWrite for MessageWriter<Si>
where
    Si: Sink<Bytes, Error = io::Error> + Unpin,
{
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        // What was accepted earlier goes first; then this write is taken whole.
        ready!(self.poll_drain(cx))?;
        if self.start > 0 {
            let start = self.start;
            self.buf.drain(..start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        match self.poll_drain(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // Accepted; the rest is sent by the next write or flush.
            _ => Poll::Ready(Ok(data.len())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_drain(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.sink).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn lines_become_messages_and_back() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Bytes>();
        let sink = tx.sink_map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe));
        let mut w = MessageWriter::new(sink);
        w.write_all(b":a PING x\r\n:b PONG").await.unwrap();
        w.write_all(b" y\r\n").await.unwrap();
        w.flush().await.unwrap();
        drop(w);
        let got: Vec<Bytes> = rx.collect().await;
        assert_eq!(got, [Bytes::from_static(b":a PING x"), Bytes::from_static(b":b PONG y")]);

        let input =
            futures::stream::iter([Ok(Bytes::from_static(b"NICK a")), Ok(Bytes::from_static(b"USER a 0 * :A\r\n"))]);
        let mut lines = MessageLines(input);
        let mut pending = thin_vec::ThinVec::new();
        let mut read = |pending: &mut thin_vec::ThinVec<u8>| {
            let waker = std::task::Waker::noop();
            match lines.poll_read_some(&mut Context::from_waker(waker), pending) {
                Poll::Ready(r) => r.unwrap(),
                Poll::Pending => panic!("the input is all there"),
            }
        };
        assert_eq!(read(&mut pending), 7);
        read(&mut pending);
        assert_eq!(&pending[..], b"NICK a\nUSER a 0 * :A\n");
        assert_eq!(read(&mut pending), 0);
    }

    use futures::SinkExt;
}
