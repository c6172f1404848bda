//! One file per scenario. Each takes the shared [`Ctx`](crate::Ctx) and its
//! own clap arguments and returns a [`Report`](crate::report::Report).

pub mod history;
pub mod idle;
pub mod login;
pub mod smoke;
pub mod traffic;

use std::time::Duration;

use crate::conn::Client;
use crate::fleet::Fleet;
use crate::line::Msg;
use crate::report::Report;

/// Puts the fleet's registration failures into the report.
pub fn report_failures(rep: &mut Report, fleet: &Fleet, wanted: usize) {
    rep.add("registered", fleet.clients.len(), "clients");
    if fleet.failures > 0 {
        rep.fail(format!("{} of {wanted} clients failed to register: {}", fleet.failures, fleet.errors.join("; ")));
    }
}

/// JOINs `chan` and waits for the end of NAMES (366) or a refusal.
pub async fn join(c: &mut Client, chan: &str) -> anyhow::Result<()> {
    c.send(&format!("JOIN {chan}\r\n")).await?;
    let mut refused: Option<String> = None;
    c.wait_for(|m: &Msg| match m.command {
        b"366" => true,
        b"403" | b"405" | b"471" | b"473" | b"474" | b"475" | b"477" | b"489" => {
            refused = Some(String::from_utf8_lossy(m.command).into_owned());
            true
        }
        _ => false,
    })
    .await?;
    match refused {
        Some(code) => anyhow::bail!("JOIN {chan} refused with {code}"),
        None => Ok(()),
    }
}

/// JOINs every client to the channel `chan_of(i)`, concurrently, bounded by
/// `timeout`. Returns the clients that made it and the first errors.
pub async fn join_all(
    clients: Vec<Client>,
    chan_of: impl Fn(usize) -> String,
    timeout: Duration,
) -> (Vec<Client>, Vec<String>) {
    let mut handles = Vec::with_capacity(clients.len());
    for (i, mut c) in clients.into_iter().enumerate() {
        let chan = chan_of(i);
        handles.push(tokio::spawn(async move {
            match tokio::time::timeout(timeout, join(&mut c, &chan)).await {
                Ok(Ok(())) => Ok(c),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(_) => Err(format!("JOIN {chan} timed out")),
            }
        }));
    }
    let mut ok = Vec::with_capacity(handles.len());
    let mut errors = Vec::new();
    for h in handles {
        match h.await {
            Ok(Ok(c)) => ok.push(c),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}

/// Closes every client politely, in parallel.
pub async fn quit_all(clients: Vec<Client>) {
    let hs: Vec<_> = clients.into_iter().map(|c| tokio::spawn(c.quit())).collect();
    for h in hs {
        let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
    }
}
