//! The control socket: how admin commands reach the running server.
//!
//! `hearth serve` listens on a Unix socket, `data_dir/control.sock`, mode 0600, so only
//! the machine's administrator (the user the server runs as, and root) can use it;
//! there is no network access. `hearth user …` and `hearth history …` send their
//! change here when a server runs, so that it is applied by the one process that owns
//! the data (and undone by nothing); `hearth export` asks the server to bring the
//! database up to date first. With no server running they lock the data directory and
//! do the same work themselves ([`apply_direct`]).
//!
//! The protocol is one JSON object per line each way: a [`Request`] (`{"cmd":"…",…}`),
//! answered by one [`Response`]. Passwords never travel here, only argon2id hashes made
//! by the command.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_core::Outbound;
use hearth_core::outbound::OpError;
use hearth_net::Shared;
use hearth_store::{Retention, Store, StoreError, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The answer to a live-only request when no server runs.
pub const NOT_RUNNING: &str = "no server is running on this data directory (its control socket does not answer); \
                               start it with `hearth serve`";

/// The socket inside the data directory.
pub const SOCKET: &str = "control.sock";
/// The longest request line.
const MAX_REQUEST: u64 = 64 * 1024;
/// How long a purge, trim or flush may take before the server answers anyway.
const OP_WAIT: Duration = Duration::from_secs(30);

/// One admin request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Is a server there? Answers with its pid and who is online.
    Status,
    UserAdd {
        name: String,
        hash: String,
        admin: bool,
    },
    UserDel {
        name: String,
    },
    UserPasswd {
        name: String,
        hash: String,
    },
    UserAdmin {
        name: String,
        admin: bool,
    },
    /// Registers a client-certificate fingerprint (SASL EXTERNAL) for an account.
    CertAdd {
        name: String,
        fingerprint: String,
    },
    CertDel {
        name: String,
        fingerprint: String,
    },
    /// Revokes a login token of an account by id, or all of them (`id: None`).
    TokenRevoke {
        name: String,
        id: Option<String>,
    },
    /// `target` is a conversation key; `before` milliseconds since the epoch.
    Purge {
        target: Option<String>,
        before: Option<i64>,
    },
    Trim {
        max_age_days: u64,
        max_per_target: u64,
    },
    /// Answers once everything delivered so far is in the database.
    Flush,
    /// People online (`hearth admin who`).
    Who,
    /// Rooms with members and message counts (`hearth admin rooms`).
    Rooms,
    /// Disconnects a person (every session) with a reason.
    Kick {
        nick: String,
        reason: String,
    },
    /// A server notice to everyone.
    Broadcast {
        text: String,
    },
    /// Warns everyone, waits `in_secs`, then stops the server gracefully.
    Shutdown {
        in_secs: u64,
        message: String,
    },
    /// Uptime, connections, messages/s, store lag, journal size, failed logins.
    Stats,
}

/// The answer: `ok`, a message for people, and a count where one applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Structured answers (`who`, `rooms`, `stats`), as `--json` prints them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Response {
    fn ok(message: impl Into<String>) -> Response {
        Response { ok: true, message: message.into(), count: None, data: None }
    }

    fn err(message: impl Into<String>) -> Response {
        Response { ok: false, message: message.into(), count: None, data: None }
    }

    fn counted(n: u64) -> Response {
        Response { ok: true, message: String::new(), count: Some(n), data: None }
    }

    fn data(value: impl Serialize) -> Response {
        Response { data: serde_json::to_value(value).ok(), ..Response::ok("") }
    }
}

/// The socket's path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Binds the control socket (replacing a stale one: the caller holds the data
/// directory's lock, so no other server can be using it) with mode 0600.
pub fn bind(data_dir: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// What the server side needs.
pub struct Handler {
    pub store: Arc<dyn Store>,
    pub shared: Shared,
    pub outbound: Outbound,
    /// Starts the graceful shutdown.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// The history journal's directory (for its size).
    pub journal_dir: PathBuf,
}

/// `hearth admin stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub uptime_secs: u64,
    pub connections: usize,
    pub users: usize,
    pub rooms: usize,
    pub messages_total: u64,
    /// Over the last second.
    pub messages_per_sec: u64,
    /// Bytes of journal the database has yet to store.
    pub store_lag_bytes: u64,
    pub store_failing: bool,
    pub journal_bytes: u64,
    pub logins_failed_last_hour: usize,
}

/// `hearth admin rooms`: a room with its message count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomLine {
    pub name: String,
    pub members: Vec<String>,
    pub topic: Option<String>,
    pub messages: u64,
}

/// Serves control connections until the task is dropped.
pub async fn serve(listener: UnixListener, handler: Arc<Handler>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let handler = handler.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, &handler).await {
                        tracing::debug!("control connection: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("control socket accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, handler: &Handler) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut line = String::new();
    loop {
        line.clear();
        let n = (&mut rd).take(MAX_REQUEST).read_line(&mut line).await?;
        if n == 0 {
            return Ok(());
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(req) => handler.handle(req).await,
            Err(e) => Response::err(format!("not a control request: {e}")),
        };
        let mut out = serde_json::to_vec(&response).map_err(std::io::Error::other)?;
        out.push(b'\n');
        wr.write_all(&out).await?;
    }
}

impl Handler {
    async fn handle(&self, req: Request) -> Response {
        match req {
            Request::Status => {
                let online = self.shared.lock().sessions().len();
                Response { count: Some(online as u64), ..Response::ok(format!("running, pid {}", std::process::id())) }
            }
            Request::Who => Response::data(self.shared.lock().who()),
            Request::Rooms => {
                let rooms = self.shared.lock().rooms_overview();
                // Count what was said so far: the database follows the journal in
                // batches, so let it catch up first (a bounded wait; late is still shown).
                let _ = self.outbound.wait_stored(OP_WAIT).await;
                let counts: std::collections::HashMap<String, u64> =
                    self.store.message_counts().await.unwrap_or_default().into_iter().collect();
                let lines: Vec<RoomLine> = rooms
                    .into_iter()
                    .map(|r| RoomLine {
                        messages: counts.get(&hearth_store::casefold(&r.name)).copied().unwrap_or(0),
                        name: r.name,
                        members: r.members,
                        topic: r.topic,
                    })
                    .collect();
                Response::data(lines)
            }
            Request::Kick { nick, reason } => {
                if self.shared.lock().kick_user(&nick, &reason) {
                    Response::ok(format!("disconnected {nick} ({reason})"))
                } else {
                    Response::err(format!("nobody named {nick} is online; see `hearth admin who`"))
                }
            }
            Request::Broadcast { text } => {
                let n = self.shared.lock().broadcast(&text);
                Response { count: Some(n as u64), ..Response::ok(format!("sent to {n} connections")) }
            }
            Request::Shutdown { in_secs, message } => {
                let warning = if in_secs == 0 {
                    format!("The server is shutting down now: {message}")
                } else {
                    format!("The server will shut down in {in_secs} seconds: {message}")
                };
                self.shared.lock().broadcast(&warning);
                let stop = self.shutdown.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(in_secs)).await;
                    let _ = stop.send(true);
                });
                Response::ok(if in_secs == 0 {
                    "shutting down now".to_string()
                } else {
                    format!("everyone was warned; shutting down in {in_secs} seconds")
                })
            }
            Request::Stats => Response::data(self.stats().await),
            Request::UserAdd { ref name, .. } => {
                let r = account_op(&*self.store, &req).await;
                if r.ok {
                    self.shared.lock().add_account_name(name);
                }
                r
            }
            Request::UserDel { ref name } => {
                let mut r = account_op(&*self.store, &req).await;
                if r.ok {
                    let n = self.shared.lock().disconnect_account(name, "Account deleted by the administrator");
                    if n > 0 {
                        r.message.push_str(&format!("; {n} session{} disconnected", if n == 1 { "" } else { "s" }));
                    }
                }
                r
            }
            Request::UserPasswd { .. }
            | Request::UserAdmin { .. }
            | Request::CertAdd { .. }
            | Request::CertDel { .. }
            | Request::TokenRevoke { .. } => account_op(&*self.store, &req).await,
            Request::Purge { target, before } => {
                let id = self.shared.lock().purge_history(target.as_deref(), before.map(Timestamp));
                self.wait(id).await
            }
            Request::Trim { max_age_days, max_per_target } => {
                let id = self.shared.lock().trim_history(&retention(max_age_days, max_per_target), Timestamp::now());
                self.wait(id).await
            }
            Request::Flush => {
                if self.outbound.wait_stored(OP_WAIT).await {
                    Response::ok("the database has everything delivered so far")
                } else {
                    Response::err(format!(
                        "the database is more than {}s behind the history journal (is it reachable? see the server's \
                         log); try again later",
                        OP_WAIT.as_secs()
                    ))
                }
            }
        }
    }

    async fn stats(&self) -> Stats {
        let before = self.shared.lock().core_stats().messages_total;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let core = self.shared.lock().core_stats();
        Stats {
            uptime_secs: core.uptime_secs,
            connections: core.connections,
            users: core.users,
            rooms: core.rooms,
            messages_total: core.messages_total,
            messages_per_sec: core.messages_total.saturating_sub(before),
            store_lag_bytes: self.outbound.lag_bytes(),
            store_failing: self.outbound.store_failing(),
            journal_bytes: hearth_store::journal::size(&self.journal_dir),
            logins_failed_last_hour: core.logins_failed_last_hour,
        }
    }

    async fn wait(&self, id: Option<u64>) -> Response {
        let Some(id) = id else { return Response::err("history is not enabled on this server") };
        match self.outbound.wait_result(id, OP_WAIT).await {
            Ok(n) => Response::counted(n),
            Err(OpError::Refused) => Response::err(
                "the server cannot write its history journal right now (is the disk full? see the server's log); \
                 nothing was deleted",
            ),
            Err(OpError::Pending) => Response::err(format!(
                "queued, but the database did not finish within {}s (is it reachable? see the server's log); the \
                 deletion is in the journal and will be applied when the database is back",
                OP_WAIT.as_secs()
            )),
        }
    }
}

/// The retention policy of `[history]` settings (0 = no limit).
pub fn retention(max_age_days: u64, max_per_target: u64) -> Retention {
    Retention {
        max_age: (max_age_days > 0).then(|| Duration::from_secs(max_age_days.saturating_mul(86_400))),
        max_per_target: (max_per_target > 0).then_some(max_per_target),
    }
}

/// Account changes, the same with or without a server.
async fn account_op(store: &dyn Store, req: &Request) -> Response {
    let result = match req {
        Request::UserAdd { name, hash, admin } => match store.create_account(name, hash).await {
            Ok(account) if *admin => store
                .set_admin(&account.name, true)
                .await
                .map(|()| format!("created account {} (administrator)", account.name)),
            Ok(account) => Ok(format!("created account {}", account.name)),
            Err(e) => Err(e),
        },
        Request::UserDel { name } => match store.delete_account(name).await {
            Ok(true) => Ok(format!("deleted account {name} (its messages stay in the history)")),
            Ok(false) => Err(StoreError::NotFound { kind: "account", name: name.clone() }),
            Err(e) => Err(e),
        },
        Request::UserPasswd { name, hash } => {
            store.set_password_hash(name, hash).await.map(|()| format!("changed the password of {name}"))
        }
        Request::UserAdmin { name, admin } => store.set_admin(name, *admin).await.map(|()| {
            let what = if *admin { "is an administrator" } else { "is not an administrator" };
            format!("{name} {what} (from the next login)")
        }),
        Request::CertAdd { name, fingerprint } => match store.add_cert(name, fingerprint).await {
            Ok(true) => Ok(format!("{name} can now log in with the certificate {fingerprint} (SASL EXTERNAL)")),
            Ok(false) => Ok(format!("{name} already has the certificate {fingerprint}")),
            Err(StoreError::AlreadyExists { .. }) => {
                return Response::err(format!(
                    "the certificate {fingerprint} is registered to another account; remove it there first"
                ));
            }
            Err(e) => Err(e),
        },
        Request::CertDel { name, fingerprint } => match store.remove_cert(name, fingerprint).await {
            Ok(true) => Ok(format!("removed the certificate {fingerprint} from {name}")),
            Ok(false) => return Response::err(format!("{name} has no certificate {fingerprint}")),
            Err(e) => Err(e),
        },
        Request::TokenRevoke { name, id: None } => {
            store.delete_login_tokens(name).await.map(|n| format!("revoked {n} login token(s) of {name}"))
        }
        Request::TokenRevoke { name, id: Some(id) } => match store.delete_login_token(name, id).await {
            Ok(true) => Ok(format!("revoked the login token {id} of {name}")),
            Ok(false) => return Response::err(format!("{name} has no login token {id}")),
            Err(e) => Err(e),
        },
        _ => return Response::err("not an account request"),
    };
    match result {
        Ok(message) => Response::ok(message),
        Err(StoreError::AlreadyExists { name, .. }) => {
            Response::err(format!("an account named {name} already exists (names ignore case)"))
        }
        Err(StoreError::NotFound { name, .. }) => Response::err(format!("no account named {name}")),
        Err(e) => Response::err(format!("the database refused the change: {e}")),
    }
}

/// Carries out `req` without a server: the caller holds the data directory's lock
/// and has drained the journal, so deleting from the database directly is final.
pub async fn apply_direct(store: &dyn Store, req: &Request) -> Response {
    let deleted = match req {
        Request::Purge { target, before } => store.purge(target.as_deref(), before.map(Timestamp)).await,
        Request::Trim { max_age_days, max_per_target } => {
            store.trim(&retention(*max_age_days, *max_per_target), Timestamp::now()).await
        }
        Request::Status | Request::Flush => return Response::ok("no server is running"),
        Request::Who
        | Request::Rooms
        | Request::Kick { .. }
        | Request::Broadcast { .. }
        | Request::Shutdown { .. }
        | Request::Stats => return Response::err(NOT_RUNNING),
        _ => return account_op(store, req).await,
    };
    match deleted {
        Ok(n) => Response::counted(n),
        Err(e) => Response::err(format!("the database refused the deletion: {e}")),
    }
}

/// The command side of the socket.
pub struct Client {
    rd: BufReader<tokio::net::unix::OwnedReadHalf>,
    wr: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    /// Connects to the server of `data_dir`; `None` when no server listens there.
    pub async fn connect(data_dir: &Path) -> anyhow::Result<Option<Client>> {
        match UnixStream::connect(socket_path(data_dir)).await {
            Ok(stream) => {
                let (rd, wr) = stream.into_split();
                Ok(Some(Client { rd: BufReader::new(rd), wr }))
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
                Ok(None)
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "cannot reach the running server's control socket {} (run this as the user the server runs as, \
                     or as root)",
                    socket_path(data_dir).display()
                )
            }),
        }
    }

    /// Sends one request and reads its answer.
    pub async fn call(&mut self, req: &Request) -> anyhow::Result<Response> {
        let mut line = serde_json::to_vec(req)?;
        line.push(b'\n');
        self.wr.write_all(&line).await.context("the server closed its control socket")?;
        let mut answer = String::new();
        let n = tokio::time::timeout(OP_WAIT + Duration::from_secs(10), self.rd.read_line(&mut answer))
            .await
            .context("the server did not answer on its control socket")??;
        if n == 0 {
            anyhow::bail!("the server closed its control socket without answering (did it stop?)");
        }
        Ok(serde_json::from_str(&answer)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_line() {
        let r = Request::Purge { target: Some("#general".into()), before: None };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r##"{"cmd":"purge","target":"#general","before":null}"##);
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        assert_eq!(serde_json::from_str::<Request>(r#"{"cmd":"flush"}"#).unwrap(), Request::Flush);
    }
}
