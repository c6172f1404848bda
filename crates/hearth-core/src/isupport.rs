//! RPL_ISUPPORT (005) tokens, computed once from the config.

use crate::config::Config;

/// The tokens, in the order they are advertised.
pub fn tokens(cfg: &Config) -> Vec<String> {
    tokens_with(cfg, false)
}

/// The tokens; `history` adds CHATHISTORY and MSGREFTYPES.
pub fn tokens_with(cfg: &Config, history: bool) -> Vec<String> {
    let deny = cfg.client_tag_deny.join(",");
    let mut t = vec![
        "ACCOUNTEXTBAN=a".into(),
        format!("AWAYLEN={}", cfg.away_len),
        "BOT=B".into(),
        format!("CASEMAPPING={}", hearth_proto::CASEMAPPING),
        format!("CHANLIMIT=#&:{}", cfg.max_channels_per_user),
        "CHANMODES=beI,k,l,Himnst".into(),
        format!("CHANNELLEN={}", cfg.channel_len),
        "CHANTYPES=#&".into(),
        format!("CLIENTTAGDENY={deny}"),
        "ELIST=CMNTU".into(),
        "EXCEPTS=e".into(),
        format!("EXTBAN={},{}", crate::extban::PREFIX, crate::extban::TYPES),
        "INVEX=I".into(),
        format!("KICKLEN={}", cfg.kick_len),
        format!("MAXLIST=b:{m},e:{m},I:{m}", m = cfg.max_bans),
        format!("MAXTARGETS={}", cfg.max_targets),
        "MODES=6".into(),
        format!("MONITOR={}", cfg.max_monitor),
        format!("NETWORK={}", cfg.network),
        format!("NICKLEN={}", cfg.nick_len),
        "PREFIX=(ov)@+".into(),
        "STATUSMSG=@+".into(),
        format!(
            "TARGMAX=PRIVMSG:{t},NOTICE:{t},TAGMSG:{t},JOIN:,PART:,KICK:,WHOIS:1,NAMES:,ISON:,USERHOST:5,WHOWAS:1",
            t = cfg.max_targets
        ),
        format!("TOPICLEN={}", cfg.topic_len),
        "USERLEN=16".into(),
        "UTF8ONLY".into(),
        "WHOX".into(),
    ];
    if history && cfg.history {
        t.push(format!("CHATHISTORY={}", cfg.chathistory_max));
        t.push("MSGREFTYPES=timestamp,msgid".into());
    }
    if history && cfg.dm.policy != crate::chat::DmPolicy::Open {
        // Caller-ID as ircd-hybrid and InspIRCd advertise it: user mode +g, ACCEPT.
        t.push("CALLERID=g".into());
    }
    t.sort();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_required_tokens() {
        let t = tokens(&Config::default());
        for want in
            ["CHANTYPES=", "PREFIX=", "CHANMODES=", "NICKLEN=", "CHANNELLEN=", "TOPICLEN=", "CASEMAPPING=", "UTF8ONLY"]
        {
            assert!(t.iter().any(|x| x.starts_with(want)), "missing {want}");
        }
        for exact in ["BOT=B", "ELIST=CMNTU", "EXTBAN=~,aq", "ACCOUNTEXTBAN=a", "EXCEPTS=e", "INVEX=I"] {
            assert!(t.iter().any(|x| x == exact), "missing {exact}");
        }
    }
}
