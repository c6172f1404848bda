//! Masks on a channel's lists (+b bans, +e exceptions, +I invite exceptions):
//! `nick!user@host` globs and two extbans, UnrealIRCd-style (`EXTBAN=~,aq`):
//!
//! - `~a:<account glob>` matches users logged in to a matching account (on any list;
//!   announced as `ACCOUNTEXTBAN=a` too);
//! - `~q:<mask>` (+b only) is a mute: matching users may join but not speak, unless
//!   voiced. `<mask>` is a hostmask or `~a:…`.
//!
//! Modern IRC: "Extban masks SHOULD also be supported for the ban exception and invite
//! exception modes."

use hearth_proto::mask_matches;
use hearth_store::BanList;

/// The extban prefix and types, as ISUPPORT `EXTBAN=` announces them.
pub const PREFIX: char = '~';
pub const TYPES: &str = "aq";

/// Who a mask is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `nick!user@host`.
    pub mask: &'a str,
    pub account: Option<&'a str>,
}

/// Why a mask was refused (the text of ERR_INVALIDMODEPARAM).
pub type Invalid = &'static str;

/// Checks a mask given to MODE for `list` and completes hostmasks: `nick` →
/// `nick!*@*`, `user@host` → `*!user@host`, `nick!user` → `nick!user@*`.
pub fn normalize(list: BanList, mask: &str) -> Result<String, Invalid> {
    let Some(rest) = mask.strip_prefix(PREFIX) else {
        return Ok(normalize_hostmask(mask));
    };
    let (kind, arg) = rest.split_once(':').ok_or("Extbans look like ~a:account or ~q:mask")?;
    match kind {
        "a" if arg.is_empty() => Err("~a: needs an account name or pattern"),
        "a" => Ok(format!("~a:{arg}")),
        "q" if list != BanList::Ban => Err("~q: (mute) only goes on the ban list"),
        "q" if arg.starts_with("~q:") => Err("~q: cannot be nested"),
        "q" if arg.is_empty() => Err("~q: needs a mask"),
        "q" => Ok(format!("~q:{}", normalize(list, arg)?)),
        _ => Err("Unknown extban type (this server has ~a:account and ~q:mask)"),
    }
}

/// `nick` → `nick!*@*`, `user@host` → `*!user@host`, `nick!user` → `nick!user@*`.
pub fn normalize_hostmask(mask: &str) -> String {
    match (mask.find('!'), mask.find('@')) {
        (Some(_), Some(_)) => mask.to_string(),
        (Some(_), None) => format!("{mask}@*"),
        (None, Some(_)) => format!("*!{mask}"),
        (None, None) => format!("{mask}!*@*"),
    }
}

/// Whether `mask` (as [`normalize`] left it) matches `who`. A mute matches like the
/// mask inside it; [`is_mute`] tells the two apart.
pub fn matches(mask: &str, who: Subject<'_>) -> bool {
    if let Some(inner) = mask.strip_prefix("~q:") {
        return matches(inner, who);
    }
    if let Some(pattern) = mask.strip_prefix("~a:") {
        return who.account.is_some_and(|a| mask_matches(pattern, a));
    }
    mask_matches(mask, who.mask)
}

/// A `~q:` entry: it keeps people quiet, not out.
pub fn is_mute(mask: &str) -> bool {
    mask.starts_with("~q:")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Subject<'static> = Subject { mask: "alice!~a@10.0.0.1", account: Some("Alice") };
    const GUEST: Subject<'static> = Subject { mask: "guest!~g@10.0.0.2", account: None };

    #[test]
    fn hostmasks_are_completed() {
        assert_eq!(normalize(BanList::Ban, "bob").unwrap(), "bob!*@*");
        assert_eq!(normalize(BanList::Ban, "bob!u").unwrap(), "bob!u@*");
        assert_eq!(normalize(BanList::Exception, "u@h").unwrap(), "*!u@h");
        assert_eq!(normalize(BanList::Ban, "a!b@c").unwrap(), "a!b@c");
        assert_eq!(normalize(BanList::Ban, "~q:bob").unwrap(), "~q:bob!*@*");
    }

    #[test]
    fn extbans_are_checked() {
        assert_eq!(normalize(BanList::InviteException, "~a:alice").unwrap(), "~a:alice");
        assert_eq!(normalize(BanList::Ban, "~q:~a:ali*").unwrap(), "~q:~a:ali*");
        assert!(normalize(BanList::Exception, "~q:bob").is_err(), "mutes are bans only");
        assert!(normalize(BanList::Ban, "~z:x").is_err());
        assert!(normalize(BanList::Ban, "~a:").is_err());
        assert!(normalize(BanList::Ban, "~q:~q:x").is_err());
        assert!(normalize(BanList::Ban, "~a").is_err());
    }

    #[test]
    fn matching() {
        assert!(matches("~a:alice", ALICE), "accounts compare casefolded");
        assert!(matches("~a:AL*", ALICE));
        assert!(!matches("~a:*", GUEST), "not logged in matches no account");
        assert!(matches("*!*@10.0.0.*", GUEST));
        assert!(matches("~q:guest!*@*", GUEST) && is_mute("~q:guest!*@*"));
        assert!(matches("~q:~a:alice", ALICE));
        assert!(!is_mute("~a:alice"));
    }
}
