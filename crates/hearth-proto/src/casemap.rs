//! Case-insensitive names: Hearth uses `CASEMAPPING=ascii`.
//!
//! `ascii` folds only `A`-`Z`. It is what modern servers (and the IRCv3
//! UTF8ONLY world) use: `rfc1459`'s `[]\~` <-> `{}|^` folding surprises
//! users and buys nothing. Everything that compares nicks or channel names
//! must go through [`casefold`] so the rule lives in one place.

/// The value Hearth advertises as `CASEMAPPING` in `RPL_ISUPPORT`.
pub const CASEMAPPING: &str = "ascii";

/// Folds `s` for comparison: ASCII `A`-`Z` become `a`-`z`; every other
/// character (including non-ASCII) is kept as is.
pub fn casefold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Folds one byte the same way as [`casefold`], for allocation-free
/// comparisons such as mask matching.
#[inline]
pub fn casefold_byte(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_letters_only() {
        assert_eq!(casefold("NiCk[]\\~"), "nick[]\\~");
        // Non-ASCII letters are not folded: `ascii` means exactly that.
        assert_eq!(casefold("#ÉTÉ"), "#ÉtÉ");
    }

    #[test]
    fn advertised_name() {
        assert_eq!(CASEMAPPING, "ascii");
    }
}
