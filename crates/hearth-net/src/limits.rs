//! Connection limits as objects: a [`Permit`] is taken before a connection is served
//! and moved into its task; dropping it (when the task ends) gives the slot back.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use parking_lot::Mutex;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    TooManyFromIp,
}

impl Refusal {
    /// The `ERROR` text the refused client gets.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::ServerFull => "Server is full, try again later",
            Refusal::TooManyFromIp => "Too many connections from your address",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Keyed by the address as IPv6 (IPv4 mapped): the same host counts once whichever
    /// way it connected, and a permit is 24 bytes instead of 32.
    per_ip: HashMap<Ipv6Addr, usize>,
}

fn key(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Counts live connections, in total and per address.
#[derive(Debug, Clone)]
pub struct Limits {
    max_total: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; gives its slot back on drop.
#[derive(Debug)]
pub struct Permit {
    ip: Ipv6Addr,
    counts: Arc<Mutex<Counts>>,
}

impl Limits {
    /// `0` means unlimited for either bound.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Limits { max_total, max_per_ip, counts: Arc::default() }
    }

    /// Admits a connection from `ip` or says why not.
    pub fn admit(&self, ip: IpAddr) -> Result<Permit, Refusal> {
        let mut c = self.counts.lock();
        if self.max_total != 0 && c.total >= self.max_total {
            return Err(Refusal::ServerFull);
        }
        let ip = key(ip);
        let n = c.per_ip.entry(ip).or_insert(0);
        if self.max_per_ip != 0 && *n >= self.max_per_ip {
            return Err(Refusal::TooManyFromIp);
        }
        *n += 1;
        c.total += 1;
        Ok(Permit { ip, counts: self.counts.clone() })
    }

    /// Live connections.
    pub fn current(&self) -> usize {
        self.counts.lock().total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self.counts.lock();
        c.total -= 1;
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_total_limits_and_release() {
        let limits = Limits::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = limits.admit(a).unwrap();
        let _p2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::TooManyFromIp);
        let _p3 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).unwrap_err(), Refusal::ServerFull);
        drop(p1);
        assert_eq!(limits.current(), 2);
        assert!(limits.admit(a).is_ok());
    }
}
