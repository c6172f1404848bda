//! `GET /metrics`: Prometheus text exposition format, from counters the core, the
//! history writer and the listeners already keep.

use std::fmt::Write;

use hearth_net::stats::{NetStats, Transport};

use crate::Web;

/// The whole exposition.
pub fn render(web: &Web) -> String {
    let (connections, users, login_failures) = {
        let core = web.net.shared.lock();
        (core.connection_count(), core.user_count(), core.login_failures())
    };
    let stats = web.net.stats();
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    metric("hearth_connections", "gauge", "Connections open now, registered or not.", &[("", connections as u64)]);
    metric(
        "hearth_users",
        "gauge",
        "Registered users online (each once, whatever its sessions).",
        &[("", users as u64)],
    );
    let accepted: Vec<(String, u64)> =
        Transport::ALL.iter().map(|t| (format!("{{transport=\"{}\"}}", t.label()), stats.accepted_total(*t))).collect();
    let accepted: Vec<(&str, u64)> = accepted.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    metric("hearth_connections_accepted_total", "counter", "Connections served since start.", &accepted);
    metric(
        "hearth_connections_refused_total",
        "counter",
        "Connections refused by max_clients or max_per_ip.",
        &[("", NetStats::get(&stats.refused))],
    );
    metric(
        "hearth_tls_handshake_failures_total",
        "counter",
        "TLS handshakes that failed or timed out.",
        &[("", NetStats::get(&stats.tls_failures))],
    );
    metric("hearth_lines_received_total", "counter", "IRC lines received.", &[("", NetStats::get(&stats.lines))]);
    metric(
        "hearth_messages_received_total",
        "counter",
        "PRIVMSG, NOTICE and TAGMSG lines received (rate() gives messages per second).",
        &[("", NetStats::get(&stats.messages))],
    );
    metric(
        "hearth_login_failures_total",
        "counter",
        "Logins refused for a wrong password or an unknown client certificate.",
        &[("", login_failures)],
    );
    if let Some(ob) = &web.outbound {
        metric(
            "hearth_store_lag_bytes",
            "gauge",
            "History journal bytes the database has not stored yet.",
            &[("", ob.lag_bytes())],
        );
        metric(
            "hearth_journal_appends_total",
            "counter",
            "Appends to the history journal.",
            &[("", ob.journal_appends())],
        );
        metric(
            "hearth_store_failing",
            "gauge",
            "1 while storing history in the database fails.",
            &[("", u64::from(ob.store_failing()))],
        );
    }
    metric(
        "hearth_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        &[("", web.started.elapsed().as_secs())],
    );
    out
}
