//! A buffered line splitter and a zero-copy IRC line view.
//!
//! The reader keeps one fixed buffer per connection and hands out `&[u8]`
//! slices into it, so the hot path (fan-out receivers) allocates nothing.

use std::io;
use std::ops::Range;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest line we accept (IRCv3 tags allow 8 KiB + 512 bytes).
const MAX_LINE: usize = 16 * 1024;

/// Splits a byte stream into CR-LF (or LF) terminated lines.
pub struct LineReader<R> {
    rd: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(rd: R) -> Self {
        Self { rd, buf: vec![0; 4096].into_boxed_slice(), start: 0, end: 0 }
    }

    /// Next line without its terminator, or `None` at end of stream.
    #[cfg(test)]
    pub async fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        Ok(self.next_range().await?.map(|r| self.get(r)))
    }

    /// The bytes of a range returned by [`next_range`](Self::next_range);
    /// valid until the next call to it.
    pub fn get(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// The next complete line already in the buffer, without reading: lets a
    /// receiver handle everything one read brought in a tight loop instead of
    /// going back through `select!` (and the clock) for every line.
    pub fn buffered_range(&mut self) -> Option<Range<usize>> {
        let s = self.start;
        let pos = memchr::memchr(b'\n', &self.buf[s..self.end])?;
        let mut e = s + pos;
        self.start = e + 1;
        if e > s && self.buf[e - 1] == b'\r' {
            e -= 1;
        }
        Some(s..e)
    }

    /// The bytes read but not yet handed out as lines (without consuming them).
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Position of the next line (without terminator) in the buffer, or
    /// `None` at end of stream. Returning a range instead of a slice lets
    /// callers decide what to do with a line while still borrowing `self`.
    ///
    /// Cancel-safe: state only changes after a read completes, so it can sit
    /// in a `tokio::select!` next to timers.
    pub async fn next_range(&mut self) -> io::Result<Option<Range<usize>>> {
        loop {
            if let Some(r) = self.buffered_range() {
                return Ok(Some(r));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_LINE {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
                }
                let mut bigger = vec![0; self.buf.len() * 2].into_boxed_slice();
                bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
                self.buf = bigger;
            }
            let n = self.rd.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Ok(None);
            }
            self.end += n;
        }
    }
}

/// A parsed view of one IRC line: `[@tags] [:prefix] COMMAND params...`.
pub struct Msg<'a> {
    pub tags: &'a [u8],
    pub command: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Msg<'a> {
    pub fn parse(mut line: &'a [u8]) -> Msg<'a> {
        let mut tags: &[u8] = b"";
        if line.first() == Some(&b'@') {
            let (t, r) = split_word(&line[1..]);
            tags = t;
            line = r;
        }
        if line.first() == Some(&b':') {
            line = split_word(&line[1..]).1;
        }
        let (command, rest) = split_word(line);
        Msg { tags, command, rest }
    }

    /// Parameter `n` (0-based), the trailing one included.
    pub fn param(&self, n: usize) -> Option<&'a [u8]> {
        self.params().nth(n)
    }

    /// The last parameter (usually the text).
    pub fn trailing(&self) -> Option<&'a [u8]> {
        self.params().last()
    }

    pub fn params(&self) -> Params<'a> {
        Params { rest: self.rest }
    }

    pub fn is(&self, cmd: &str) -> bool {
        self.command.eq_ignore_ascii_case(cmd.as_bytes())
    }

    /// Value of tag `key`, if present (escaping is not undone).
    pub fn tag(&self, key: &str) -> Option<&'a [u8]> {
        self.tags.split(|&b| b == b';').find_map(|kv| {
            let eq = kv.iter().position(|&b| b == b'=').unwrap_or(kv.len());
            (&kv[..eq] == key.as_bytes()).then(|| kv.get(eq + 1..).unwrap_or(b""))
        })
    }
}

pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let r = trim_spaces(self.rest);
        if r.is_empty() {
            return None;
        }
        if r[0] == b':' {
            self.rest = b"";
            return Some(&r[1..]);
        }
        let (w, rest) = split_word(r);
        self.rest = rest;
        Some(w)
    }
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_spaces(s);
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, b""),
    }
}

/// Parses an unsigned decimal number from ASCII.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_crlf_and_lf_across_reads() {
        let data: &[u8] = b"PING :a\r\nPRIVMSG #c :hello world\nlast";
        let mut r = LineReader::new(data);
        assert_eq!(r.next_line().await.unwrap(), Some(&b"PING :a"[..]));
        assert_eq!(r.next_line().await.unwrap(), Some(&b"PRIVMSG #c :hello world"[..]));
        assert_eq!(r.next_line().await.unwrap(), None);
    }

    /// What a receiver's inner loop relies on: after one read, the lines it brought in
    /// come out without another read, a partial line stays for the next read, and
    /// `buffered` peeks without consuming.
    #[tokio::test]
    async fn buffered_lines_come_out_without_reading() {
        let data: &[u8] = b"one\r\ntwo\nPING :x\r\nthr";
        let mut r = LineReader::new(data);
        let first = r.next_range().await.unwrap().unwrap();
        assert_eq!(r.get(first), b"one");
        let two = r.buffered_range().unwrap();
        assert_eq!(r.get(two), b"two");
        assert!(r.buffered().starts_with(b"PING"));
        let ping = r.buffered_range().unwrap();
        assert_eq!(r.get(ping), b"PING :x");
        assert!(r.buffered_range().is_none(), "a partial line is not a line");
        assert!(r.buffered().starts_with(b"thr"), "and stays buffered");
        assert_eq!(r.next_line().await.unwrap(), None, "the stream ends inside it");
    }

    #[test]
    fn parses_tags_prefix_params() {
        let m = Msg::parse(b"@time=x;batch=7 :n!u@h PRIVMSG #chan :b 1 2 3");
        assert_eq!(m.tag("batch"), Some(&b"7"[..]));
        assert!(m.is("privmsg"));
        assert_eq!(m.param(0), Some(&b"#chan"[..]));
        assert_eq!(m.trailing(), Some(&b"b 1 2 3"[..]));
        let m = Msg::parse(b":srv 001 me :Welcome");
        assert_eq!(m.command, b"001");
        assert_eq!(parse_u64(b"12345"), Some(12345));
    }
}
