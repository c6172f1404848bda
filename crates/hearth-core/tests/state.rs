//! The state machine without sockets: connections are `Sink`s, input is parsed
//! messages, output is read back from the sinks.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use hearth_core::{Config, ConnId, Server, Sink};
use hearth_proto::Message;

struct Conn {
    id: ConnId,
    sink: Arc<Sink>,
}

fn server() -> Server {
    Server::new(Config::default())
}

fn connect(s: &mut Server, sendq: usize) -> Conn {
    let sink: Arc<Sink> = Arc::new(Sink::new(sendq));
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let id = s.connect(ip, sink.clone());
    Conn { id, sink }
}

fn send(s: &mut Server, c: &Conn, line: &str) {
    s.handle(c.id, &Message::parse(line).unwrap());
}

/// Everything queued for `c` so far, as parsed messages.
fn take(c: &Conn) -> Vec<Message> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out: Vec<Bytes> = Vec::new();
    rt.block_on(async {
        // next_batch waits for data; only call it when something is queued.
        if c.sink.queued_bytes() > 0 || c.sink.is_closed() {
            c.sink.next_batch(&mut out).await;
        }
    });
    out.iter()
        .flat_map(|b| String::from_utf8(b.to_vec()).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .map(|l| Message::parse(&l).unwrap())
        .collect()
}

fn register(s: &mut Server, nick: &str) -> Conn {
    let c = connect(s, 64 * 1024);
    send(s, &c, &format!("NICK {nick}"));
    send(s, &c, &format!("USER {nick} 0 * :{nick}"));
    let burst = take(&c);
    assert_eq!(burst[0].command, "001", "{burst:?}");
    c
}

#[test]
fn a_channel_message_reaches_members_once_and_not_the_sender() {
    let mut s = server();
    let a = register(&mut s, "alice");
    let b = register(&mut s, "bob");
    let c = register(&mut s, "carol");
    for x in [&a, &b, &c] {
        send(&mut s, x, "JOIN #x");
    }
    for x in [&a, &b, &c] {
        take(x);
    }
    send(&mut s, &a, "PRIVMSG #x :hello");
    assert!(take(&a).is_empty(), "no echo without echo-message");
    for x in [&b, &c] {
        let got = take(x);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].params, ["#x", "hello"]);
    }
}

#[test]
fn labeled_response_wraps_several_replies_in_one_batch() {
    let mut s = server();
    let a = connect(&mut s, 64 * 1024);
    send(&mut s, &a, "CAP REQ :labeled-response batch");
    send(&mut s, &a, "NICK alice");
    send(&mut s, &a, "USER a 0 * :A");
    send(&mut s, &a, "CAP END");
    take(&a);
    send(&mut s, &a, "@label=L1 MOTD");
    let got = take(&a);
    assert_eq!(got[0].command, "BATCH");
    assert_eq!(got[0].tag("label"), Some("L1"));
    let id = got[0].params[0].trim_start_matches('+').to_string();
    assert!(got[1..got.len() - 1].iter().all(|m| m.tag("batch") == Some(id.as_str())));
    assert_eq!(got.last().unwrap().params[0], format!("-{id}"));
}

#[test]
fn a_client_that_does_not_read_is_disconnected_and_others_see_why() {
    let mut s = server();
    let a = register(&mut s, "alice");
    // A tiny send queue that is never drained.
    let slow = connect(&mut s, 4096);
    send(&mut s, &slow, "NICK slow");
    send(&mut s, &slow, "USER s 0 * :S");
    send(&mut s, &a, "JOIN #x");
    send(&mut s, &slow, "JOIN #x");
    take(&a);
    for i in 0..200 {
        send(&mut s, &a, &format!("PRIVMSG #x :message number {i} with some padding to fill the queue"));
    }
    assert!(slow.sink.is_closed(), "the slow client's session is over");
    let seen = take(&a);
    let quit = seen.iter().find(|m| m.command == "QUIT").expect("alice sees the QUIT");
    assert_eq!(quit.params, ["SendQ exceeded"]);
    // Alice was never blocked: the server still answers her.
    send(&mut s, &a, "PING :still-here");
    assert_eq!(take(&a)[0].params.last().unwrap(), "still-here");
}

#[test]
fn disconnect_is_idempotent_and_frees_the_nick() {
    let mut s = server();
    let a = register(&mut s, "alice");
    s.disconnect(a.id, "Connection closed");
    s.disconnect(a.id, "Connection closed");
    assert_eq!(s.connection_count(), 0);
    let again = register(&mut s, "alice");
    assert!(s.is_registered(again.id));
}

#[test]
fn shutdown_tells_everyone_and_closes_every_sink() {
    let mut s = server();
    let a = register(&mut s, "alice");
    let b = register(&mut s, "bob");
    s.shutdown("going down");
    for x in [&a, &b] {
        let got = take(x);
        assert_eq!(got[0].command, "NOTICE");
        assert_eq!(got.last().unwrap().command, "ERROR");
        assert!(x.sink.is_closed());
    }
}
